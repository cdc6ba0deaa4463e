"""Reads of tokens: a user sees their own only; a key is found by its hash."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from ..models import ApiToken, token_hash


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    """The user's tokens, newest first. Nobody, an admin neither, lists another's here."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def own_token(user: Any, pk: int) -> ApiToken:
    """One of the user's tokens; another's answers 404 exactly like a missing one."""
    return get_object_or_404(tokens_of(user), pk=pk)


def find_by_key(key: str) -> ApiToken | None:
    """The token a presented key belongs to (with its account), or None."""
    if not key:
        return None
    return ApiToken.objects.select_related("user").filter(key_hash=token_hash(key)).first()
