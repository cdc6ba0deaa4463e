"""``Authorization: Token <key>`` against our own tokens (``fanzha.api.models.ApiToken``).

The header is the one DRF's ``TokenAuthentication`` reads, so existing clients keep working; what
changed is behind it: a key is looked up by its keyed hash, and an expired or revoked token, or one
of a disabled account, is refused with 401 and a message that says which.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .tokens import actions, queries


class ApiTokenAuthentication(TokenAuthentication):
    """DRF authentication by an ``ApiToken``; notes its use (at most once a minute)."""

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        token = queries.find_by_key(key)
        if token is None:
            raise AuthenticationFailed(_("令牌无效。请重新获取令牌，或在“接口令牌”页面新建一个。"))
        if token.revoked_at is not None:
            raise AuthenticationFailed(_("该令牌已被撤销，不能再使用。请重新获取令牌。"))
        now = timezone.now()
        if token.is_expired(now):
            expired = timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M")
            raise AuthenticationFailed(_("该令牌已于 %(time)s 过期。请重新获取令牌。") % {"time": expired})
        if not token.user.is_active:
            raise AuthenticationFailed(_("该令牌所属的账号已停用。"))
        actions.record_use(token, now)
        return token.user, token


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the token header."""

    target_class = "fanzha.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <key>`: a key from POST /api/v1/auth/token/ or the page /account/tokens/. "
                "A key is valid for FANZHA_API_TOKEN_DAYS days (90 by default) unless revoked on that "
                "page; an expired or revoked key answers 401 with the reason."
            ),
        }
