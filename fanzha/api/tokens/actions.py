"""Every write to tokens: issue one (the key is returned once, never stored), revoke, note a use."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import ApiToken, token_hash

log = logging.getLogger(__name__)

KEY_PREFIX = "fz_"
PREFIX_LENGTH = 8  # "fz_" and five characters: enough to tell a user's tokens apart, useless to guess
USE_EVERY = timedelta(minutes=1)  # ``last_used_at`` is written at most this often per token


@dataclass(frozen=True)
class Issued:
    """A new token and its key: show the key once, then forget it."""

    token: ApiToken
    key: str


def lifetime() -> timedelta:
    return timedelta(days=settings.FANZHA_API_TOKEN_DAYS)


@transaction.atomic
def issue_token(user: Any, name: str = "", now: datetime | None = None) -> Issued:
    """A new token for ``user``, valid ``FANZHA_API_TOKEN_DAYS`` days; only its hash is stored."""
    now = now or timezone.now()
    key = KEY_PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user,
        name=(name or "").strip()[:60],
        key_hash=token_hash(key),
        prefix=key[:PREFIX_LENGTH],
        created_at=now,
        expires_at=now + lifetime(),
    )
    log.info("API token %s issued to account %s", token.prefix, user.pk)
    return Issued(token, key)


@transaction.atomic
def revoke_token(token: ApiToken, now: datetime | None = None) -> bool:
    """Revoke ``token`` for good; False when it already was (nothing changes then)."""
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    if changed:
        log.info("API token %s of account %s revoked", token.prefix, token.user_id)
    return bool(changed)


@transaction.atomic
def revoke_tokens(tokens: Iterable[ApiToken], now: datetime | None = None) -> int:
    """Revoke several tokens (the admin site's action); returns how many were still valid."""
    return sum(revoke_token(token, now) for token in tokens)


@transaction.atomic
def revoke_all(user: Any, now: datetime | None = None) -> int:
    """Revoke every still valid token of ``user`` (the account was deactivated, or an administrator
    reset its password: ``core.hooks.sign_ins_ended``); how many."""
    count = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    if count:
        log.info("%s API tokens of account %s revoked with its sign-ins", count, user.pk)
    return count


def record_use(token: ApiToken, now: datetime | None = None) -> None:
    """Note that ``token`` was used, at most once a minute: an API client must not turn every read
    into a write."""
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= USE_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
