"""The sign-in page's buttons: one per configured provider (registered with ``core.menu``)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from fanzha.core.menu import LoginOption

from . import config

_OPTIONS = (
    (10, config.CAS, config.cas, "sso_cas_login", _("统一身份认证登录")),
    (20, config.OIDC, config.oidc, "sso_oidc_login", _("统一认证平台登录")),
    (30, config.WECOM, config.wecom, "sso_wecom_login", _("企业微信登录")),
    (40, config.DINGTALK, config.dingtalk, "sso_dingtalk_login", _("钉钉登录")),
)


def login_options(request: HttpRequest) -> Iterator[LoginOption]:
    """A button for each configured provider, passing on the page the visitor was going to."""
    next_url = request.GET.get("next", "")
    query = "?" + urlencode({"next": next_url}) if next_url else ""
    for order, key, configured, url_name, label in _OPTIONS:
        if configured() is not None:
            yield LoginOption(order, key, reverse(url_name) + query, label)
