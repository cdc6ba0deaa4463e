"""System checks of the single sign-on settings (``fanzha check --deploy`` reports them).

Why: a provider with one value missing is silently not offered (no button), which looks like a broken
sign-in page to the school that asked for it. The check names what is missing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

_REQUIRED = {
    "CAS": ("FANZHA_CAS_SERVER_URL", "FANZHA_CAS_ORGANISATION"),
    "OpenID Connect": (
        "FANZHA_OIDC_ISSUER",
        "FANZHA_OIDC_CLIENT_ID",
        "FANZHA_OIDC_CLIENT_SECRET",
        "FANZHA_OIDC_ORGANISATION",
        "FANZHA_OIDC_NUMBER_CLAIM",
    ),
    "WeCom": (
        "FANZHA_WECOM_CORP_ID",
        "FANZHA_WECOM_AGENT_ID",
        "FANZHA_WECOM_SECRET",
        "FANZHA_WECOM_ORGANISATION",
    ),
    "DingTalk": (
        "FANZHA_DINGTALK_CLIENT_ID",
        "FANZHA_DINGTALK_CLIENT_SECRET",
        "FANZHA_DINGTALK_ORGANISATION",
    ),
}
_DEFAULTED = {"FANZHA_OIDC_NUMBER_CLAIM"}  # has a default: set alone, it configures nothing


def _value(name: str) -> str:
    if name == "FANZHA_CAS_SERVER_URL":  # kept under django-cas-ng's name
        return str(getattr(settings, "CAS_SERVER_URL", None) or "")
    return str(getattr(settings, name, "") or "")


@register(Tags.security, deploy=True)
def half_configured(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A provider with some of its required settings and not all of them."""
    warnings = []
    for provider, names in _REQUIRED.items():
        given = [n for n in names if _value(n) and n not in _DEFAULTED]
        missing = [n for n in names if not _value(n)]
        if given and missing:
            warnings.append(
                Warning(
                    f"Single sign-on through {provider} is not offered: {', '.join(missing)} not set.",
                    hint='Set them all (docs/deployment.md, "Single sign-on"), or none.',
                    id="fanzha.W101",
                )
            )
    return warnings
