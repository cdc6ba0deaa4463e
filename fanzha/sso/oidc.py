"""OpenID Connect through mozilla-django-oidc: the authorization code flow with PKCE, state and nonce
as the library keeps them, and the checks it leaves to us.

The library's request view is used as it is (its settings come from ``setting`` below instead of
``OIDC_*`` settings, so one provider is configured by ``FANZHA_OIDC_*``, with its endpoints discovered
from the issuer). Its backend is used as a client only (``Client.identity``), never through
``authenticate()`` (see ``backends.py``). The library checks the ID token's signature (the provider's
JWKS), its expiry and its nonce; it does not check the issuer or the audience, nor that the userinfo
answer is about the same subject; ``Client`` does, and refuses a number claim the provider marks
unverified (``<claim>_verified`` false).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import jwt
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from . import config, outbound
from .identity import Identity, Reason, Refusal
from .outbound import ProviderError

log = logging.getLogger(__name__)

_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": ("authorization_endpoint", "authorization_endpoint"),
    "OIDC_OP_TOKEN_ENDPOINT": ("token_endpoint", "token_endpoint"),
    "OIDC_OP_USER_ENDPOINT": ("userinfo_endpoint", "userinfo_endpoint"),
    "OIDC_OP_JWKS_ENDPOINT": ("jwks_endpoint", "jwks_uri"),
}


def discovery(cfg: config.Oidc) -> dict[str, Any]:
    """The issuer's OpenID configuration (cached for an hour); its ``issuer`` must be the configured one."""
    key = "sso:oidc:discovery:" + hashlib.sha256(cfg.issuer.encode()).hexdigest()
    document = cache.get(key)
    if document is None:
        status, document = outbound.call_json("GET", cfg.issuer + "/.well-known/openid-configuration")
        if status != 200 or not isinstance(document, dict):
            raise ProviderError("discovery")
        if str(document.get("issuer", "")).rstrip("/") != cfg.issuer:
            log.error("OpenID configuration of %s names another issuer", cfg.issuer)
            raise ProviderError("discovery issuer")
        cache.set(key, document, 3600)
    return dict(document)


def setting(name: str, *default: Any) -> Any:
    """mozilla-django-oidc's settings, from ``FANZHA_OIDC_*`` and the issuer's discovery document."""
    cfg = config.oidc()
    if cfg is None:
        return import_from_settings(name, *default) if default else ""
    if name in _DISCOVERED:
        field, discovered = _DISCOVERED[name]
        return getattr(cfg, field) or str(discovery(cfg).get(discovered) or "")
    options = outbound.requests_options()
    values: dict[str, Any] = {
        "OIDC_RP_CLIENT_ID": cfg.client_id,
        "OIDC_RP_CLIENT_SECRET": cfg.client_secret,
        "OIDC_RP_SIGN_ALGO": cfg.sign_algo,
        "OIDC_RP_SCOPES": cfg.scopes,
        "OIDC_RP_IDP_SIGN_KEY": None,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "sso_oidc_callback",
        "OIDC_USE_PKCE": True,
        "OIDC_USE_NONCE": True,
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_TOKEN_USE_BASIC_AUTH": False,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
        "OIDC_CREATE_USER": False,
        "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {},
        "OIDC_TIMEOUT": options["timeout"],
        "OIDC_PROXY": options["proxies"],
        "OIDC_VERIFY_SSL": options["verify"],
    }
    if name in values:
        return values[name]
    return import_from_settings(name, *default)


class Client(OIDCAuthenticationBackend):
    """The library's code exchange and ID token verification, ending in an ``Identity`` instead of
    an account (``actions.account_for`` decides on the account)."""

    get_settings = staticmethod(setting)  # type: ignore[assignment]

    def identity(self, request: HttpRequest, nonce: str, code_verifier: str | None) -> Identity:
        """Exchange the callback's code (with the PKCE verifier) and check what comes back."""
        try:
            result = self.authenticate(request, nonce=nonce, code_verifier=code_verifier)
        except (ProviderError, OSError, ValueError, KeyError) as exc:  # requests' errors are OSErrors
            log.warning("OpenID Connect code exchange failed: %s", type(exc).__name__)
            raise Refusal("provider", Reason.PROVIDER, status=502) from exc
        except (SuspiciousOperation, jwt.PyJWTError) as exc:  # signature, nonce, expiry, keys
            log.warning("OpenID Connect ID token refused: %s", exc)
            raise Refusal("unverified", Reason.UNVERIFIED) from exc
        if not isinstance(result, Identity):
            raise Refusal("unverified", Reason.UNVERIFIED)
        return result

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Identity:
        """Called by the library with the ID token's verified claims: check them, then the number."""
        cfg = config.oidc()
        assert cfg is not None
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        subject = str(payload.get("sub") or "")
        if (
            str(payload.get("iss", "")).rstrip("/") != cfg.issuer
            or cfg.client_id not in audiences
            or (len(audiences) > 1 and payload.get("azp") != cfg.client_id)
            or "exp" not in payload
            or not subject
        ):
            log.warning("OpenID Connect ID token for another issuer or client, or without exp/sub")
            raise Refusal("unverified", Reason.UNVERIFIED)
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if not isinstance(userinfo, dict) or str(userinfo.get("sub") or "") != subject:
                log.warning("OpenID Connect userinfo is about another subject")
                raise Refusal("unverified", Reason.UNVERIFIED)
            claims = {**userinfo, **payload}  # the signed ID token wins
        number = claims.get(cfg.number_claim)
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        if not isinstance(number, str) or not number.strip():
            raise Refusal("no_number", Reason.NO_NUMBER)
        verified = claims.get(cfg.number_claim + "_verified")
        if verified is not None and verified is not True:
            log.warning("OpenID Connect provider marks the number claim unverified")
            raise Refusal("unverified", Reason.UNVERIFIED)
        return Identity(config.OIDC, subject, number.strip(), cfg.organisation)
