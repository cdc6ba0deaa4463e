"""Staff sign in with their external number (student or staff number) or their phone number."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from fanzha.core import crypto
from fanzha.core.identifiers import normalize_phone

from .models import Person, User

_SPACE = re.compile(r"\s+")


def login_variants(login: str) -> list[str]:
    """The forms of a typed number or username that name the same account: as typed (trimmed, NFKC:
    full-width letters and digits become ASCII), without spaces, in upper and in lower case.

    Why: ``t0777``, ``T 0777`` and ``Ｔ０７７７`` are the same staff number to the person typing it;
    the lockout (``lockout.py``) must count them as one login, so the sign-in takes them as one too.
    Exact matches only, so the lookups stay on the indexes.
    """
    text = unicodedata.normalize("NFKC", login or "").strip()
    compact = _SPACE.sub("", text)
    variants = [text, compact, compact.upper(), compact.lower()]
    return [v for i, v in enumerate(variants) if v and v not in variants[:i]]


def candidate_users(login: str) -> list[User]:
    """Active accounts that ``login`` may name: a username, an external number, or a phone number."""
    variants = login_variants(login)
    if not variants:
        return []
    users = list(User.objects.filter(username__in=variants, is_active=True))
    people = Person.objects.filter(external_number__in=variants, user__isnull=False)
    try:
        phone_hash = crypto.keyed_hash(normalize_phone(variants[0]))
    except ValidationError:
        phone_hash = ""
    if phone_hash:
        people = people | Person.objects.filter(phone_hash=phone_hash, user__isnull=False)
    seen = {u.pk for u in users}
    for person in people.select_related("user"):
        if person.user and person.user.is_active and person.user.pk not in seen:
            users.append(person.user)
            seen.add(person.user.pk)
    return users


class NumberOrPhoneBackend(ModelBackend):
    """Authenticate by username, external number or phone; the password decides among namesakes."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        for user in candidate_users(username):
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
        User().set_password(password)  # equal time whether or not the login exists
        return None
