"""Which sign-in providers are configured, read from the settings (``FANZHA_CAS_*``, ``FANZHA_OIDC_*``,
``FANZHA_WECOM_*``, ``FANZHA_DINGTALK_*``; see docs/deployment.md).

Read on every use, not once at start-up, so a test or an operator's settings change is seen at once.
A provider with any required value missing is not configured: no button, and its pages answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

CAS, OIDC, WECOM, DINGTALK = "cas", "oidc", "wecom", "dingtalk"


@dataclass(frozen=True)
class Cas:
    server_url: str
    version: str
    organisation: str
    number_attribute: str  # "": the CAS username is the number


@dataclass(frozen=True)
class Oidc:
    issuer: str
    client_id: str
    client_secret: str
    organisation: str
    number_claim: str
    scopes: str
    sign_algo: str
    authorization_endpoint: str  # "": discovered from the issuer
    token_endpoint: str
    userinfo_endpoint: str
    jwks_endpoint: str


@dataclass(frozen=True)
class Wecom:
    corp_id: str
    agent_id: str
    secret: str
    organisation: str
    number_field: str  # "userid", "alias", or the name of a custom text attribute
    api_url: str
    oauth_url: str
    qr_url: str


@dataclass(frozen=True)
class Dingtalk:
    client_id: str
    client_secret: str
    organisation: str
    number_field: str  # "job_number" or "userid"
    login_url: str
    api_url: str
    oapi_url: str


def cas() -> Cas | None:
    server = getattr(settings, "CAS_SERVER_URL", None) or ""
    organisation = settings.FANZHA_CAS_ORGANISATION
    if not server or not organisation:
        return None
    return Cas(server, str(settings.CAS_VERSION), organisation, settings.FANZHA_CAS_NUMBER_ATTRIBUTE)


def oidc() -> Oidc | None:
    values = (
        settings.FANZHA_OIDC_ISSUER,
        settings.FANZHA_OIDC_CLIENT_ID,
        settings.FANZHA_OIDC_CLIENT_SECRET,
        settings.FANZHA_OIDC_ORGANISATION,
        settings.FANZHA_OIDC_NUMBER_CLAIM,
    )
    if not all(values):
        return None
    return Oidc(
        settings.FANZHA_OIDC_ISSUER.rstrip("/"),
        settings.FANZHA_OIDC_CLIENT_ID,
        settings.FANZHA_OIDC_CLIENT_SECRET,
        settings.FANZHA_OIDC_ORGANISATION,
        settings.FANZHA_OIDC_NUMBER_CLAIM,
        settings.FANZHA_OIDC_SCOPES or "openid",
        settings.FANZHA_OIDC_SIGN_ALGO or "RS256",
        settings.FANZHA_OIDC_AUTHORIZATION_ENDPOINT,
        settings.FANZHA_OIDC_TOKEN_ENDPOINT,
        settings.FANZHA_OIDC_USERINFO_ENDPOINT,
        settings.FANZHA_OIDC_JWKS_ENDPOINT,
    )


def wecom() -> Wecom | None:
    values = (
        settings.FANZHA_WECOM_CORP_ID,
        settings.FANZHA_WECOM_AGENT_ID,
        settings.FANZHA_WECOM_SECRET,
        settings.FANZHA_WECOM_ORGANISATION,
    )
    if not all(values):
        return None
    return Wecom(
        *values,
        settings.FANZHA_WECOM_NUMBER_FIELD or "userid",
        settings.FANZHA_WECOM_API_URL.rstrip("/"),
        settings.FANZHA_WECOM_OAUTH_URL,
        settings.FANZHA_WECOM_QR_URL,
    )


def dingtalk() -> Dingtalk | None:
    values = (
        settings.FANZHA_DINGTALK_CLIENT_ID,
        settings.FANZHA_DINGTALK_CLIENT_SECRET,
        settings.FANZHA_DINGTALK_ORGANISATION,
    )
    if not all(values):
        return None
    return Dingtalk(
        *values,
        settings.FANZHA_DINGTALK_NUMBER_FIELD or "job_number",
        settings.FANZHA_DINGTALK_LOGIN_URL,
        settings.FANZHA_DINGTALK_API_URL.rstrip("/"),
        settings.FANZHA_DINGTALK_OAPI_URL.rstrip("/"),
    )
