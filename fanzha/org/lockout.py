"""The login lockout: failures counted per account, however the login is spelled, and per address.

Why not axes' default: axes counts per typed text, so ``+86 137…``, ``137.0000.1234`` and
``tel:137…`` each had five tries of their own against one account, and the typed phone stood in
clear in its tables. Here the text is first resolved to the accounts it names, exactly as
``auth.NumberOrPhoneBackend`` resolves it, and the counter is keyed ``user:<pk>``; a text that
names no account is kept only as a keyed hash of its normalised form. A second, higher limit per
client address stops one machine from spraying guesses over many accounts.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_session_hash, get_client_username, get_failure_limit
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet, Sum

from fanzha.core import crypto
from fanzha.core.identifiers import normalize_phone

from .auth import candidate_users

_CACHE = "_fanzha_lockout_keys"
SSO_BACKEND = "fanzha.sso.backends.SsoBackend"  # named, not imported: org knows no app above it
_SPACE = re.compile(r"\s+")


def normalised_login(login: str) -> str:
    """One text per login however it was typed: the phone in national digits, else the case-folded
    text without spaces."""
    try:
        return "phone:" + normalize_phone(unicodedata.normalize("NFKC", login or ""))
    except ValidationError:
        return "text:" + _SPACE.sub("", unicodedata.normalize("NFKC", login or "")).casefold()


def lockout_key(login: str) -> str:
    """The key a login's failures are counted under: ``user:<pk>`` (``user:<pk>,<pk>`` when a number
    names accounts in several organisations), or ``login:<keyed hash>`` when it names none."""
    pks = sorted(user.pk for user in candidate_users(login))
    if pks:
        return "user:" + ",".join(str(pk) for pk in pks)
    return "login:" + crypto.keyed_hash("axes-login:" + normalised_login(login))


def axes_username(request: Any, credentials: dict[str, Any] | None = None) -> str:
    """``AXES_USERNAME_CALLABLE``: the lockout key of the login in ``credentials`` (or the posted
    form), resolved once per request."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials is not None:
        login = credentials.get(field)
    else:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        login = data.get(field)
    login = str(login or "")
    cache: dict[str, str] | None = getattr(request, _CACHE, None) if request is not None else None
    if cache is None:
        cache = {}
        if request is not None:
            setattr(request, _CACHE, cache)
    if login not in cache:
        cache[login] = lockout_key(login)
    return cache[login]


def _account_filters(key: str) -> list[Q]:
    """One filter per account a key names: the rows counted against that account, including the rows
    of a number shared with accounts of other organisations."""
    if not key.startswith("user:"):
        return [Q(username=key)]
    filters = []
    for pk in key.removeprefix("user:").split(","):
        first = Q(username=f"user:{pk}") | Q(username__startswith=f"user:{pk},")
        inside = Q(username__endswith=f",{pk}") | Q(username__contains=f",{pk},")
        later = Q(username__startswith="user:") & inside
        filters.append(first | later)
    return filters


def _failures(rows: QuerySet[AccessAttempt]) -> int:
    return int(rows.aggregate(n=Sum("failures_since_start"))["n"] or 0)


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler, counting per account and per address (see the module's docstring)."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        """The account's failures within the cool-off; the failure limit itself once the client's
        address has reached ``FANZHA_LOGIN_ADDRESS_FAILURE_LIMIT`` over all logins."""
        key = get_client_username(request, credentials)
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        account = max((_failures(recent.filter(q)) for q in _account_filters(key)), default=0)
        address = getattr(request, "axes_ip_address", None)
        address_limit = settings.FANZHA_LOGIN_ADDRESS_FAILURE_LIMIT
        if address and _failures(recent.filter(ip_address=address)) >= address_limit:
            return max(account, get_failure_limit(request, credentials))
        return account

    def user_logged_in(self, sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        """Log the sign-in under ``user:<pk>`` (never the username, which holds the number) and, unless
        it was by single sign-on, clear the account's failures.

        Why not after single sign-on (``fanzha/sso``): the failures count guesses at the password, which
        a sign-in through the school's portal says nothing about; clearing them there would give whoever
        is guessing a fresh five tries each time the owner signs in that way."""
        self.clean_expired_user_attempts(request, None)
        key = f"user:{user.pk}"
        if not getattr(settings, "AXES_DISABLE_ACCESS_LOG", False):
            AccessLog.objects.create(
                username=key,
                ip_address=request.axes_ip_address,
                user_agent=request.axes_user_agent,
                http_accept=request.axes_http_accept,
                path_info=request.axes_path_info,
                attempt_time=request.axes_attempt_time,
                session_hash=get_client_session_hash(request),
            )
        session = getattr(request, "session", None)
        by_sso = session is not None and session.get(BACKEND_SESSION_KEY) == SSO_BACKEND
        if settings.AXES_RESET_ON_SUCCESS and not by_sso:
            AccessAttempt.objects.filter(username=key).delete()

    def user_logged_out(self, sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        """Close the sign-in's access log row, found by ``user:<pk>`` as it was written."""
        self.clean_expired_user_attempts(request, None)
        if user is not None and not getattr(settings, "AXES_DISABLE_ACCESS_LOG", False):
            AccessLog.objects.filter(
                username=f"user:{user.pk}",
                logout_time__isnull=True,
                session_hash=get_client_session_hash(request),
            ).update(logout_time=request.axes_attempt_time)
