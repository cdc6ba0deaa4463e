"""The API's own table: its tokens.

Why our own and not ``rest_framework.authtoken``: those keys never expired, were stored in clear (one
per user, the same for ever) and their owner could neither list nor revoke them. Here only a keyed
hash of a key is stored, with a prefix to recognise it by; a key is shown once, when it is made.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fanzha.core import crypto


def token_hash(key: str) -> str:
    """The stored form of a key: an HMAC with the field key, apart from every other keyed hash."""
    return crypto.keyed_hash("api-token:" + key)


class ApiToken(models.Model):
    """A key for ``Authorization: Token …``: valid until ``expires_at`` unless revoked before."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("账号")
    )
    name = models.CharField(_("名称"), max_length=60, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("令牌开头"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("到期时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_created")]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())

    def is_usable(self, now: datetime | None = None) -> bool:
        """Neither revoked nor expired (the account's own state is checked on use)."""
        return self.revoked_at is None and not self.is_expired(now)
