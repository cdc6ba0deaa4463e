"""The sign-in page offers a button for each configured provider, and only those."""

from __future__ import annotations

import pytest
from django.urls import reverse

BUTTONS = {
    "sso_cas_login": "统一身份认证登录",
    "sso_oidc_login": "统一认证平台登录",
    "sso_wecom_login": "企业微信登录",
    "sso_dingtalk_login": "钉钉登录",
}


def configure(settings, *providers: str) -> None:
    if "cas" in providers:
        settings.CAS_SERVER_URL = "https://cas.example.edu.cn/cas/"
        settings.FANZHA_CAS_ORGANISATION = "UNI"
    if "oidc" in providers:
        settings.FANZHA_OIDC_ISSUER = "https://idp.example.edu.cn"
        settings.FANZHA_OIDC_CLIENT_ID = "fanzha"
        settings.FANZHA_OIDC_CLIENT_SECRET = "secret"
        settings.FANZHA_OIDC_ORGANISATION = "UNI"
    if "wecom" in providers:
        settings.FANZHA_WECOM_CORP_ID = "ww1"
        settings.FANZHA_WECOM_AGENT_ID = "1000002"
        settings.FANZHA_WECOM_SECRET = "s"
        settings.FANZHA_WECOM_ORGANISATION = "UNI"
    if "dingtalk" in providers:
        settings.FANZHA_DINGTALK_CLIENT_ID = "ding1"
        settings.FANZHA_DINGTALK_CLIENT_SECRET = "s"
        settings.FANZHA_DINGTALK_ORGANISATION = "UNI"


def test_no_provider_no_button_and_no_page(client, db):
    page = client.get(reverse("login")).content.decode()
    assert "login-options" not in page
    for url_name, label in BUTTONS.items():
        assert label not in page
        assert client.get(reverse(url_name)).status_code == 404


@pytest.mark.parametrize(
    "providers", [("cas",), ("oidc",), ("wecom", "dingtalk"), ("cas", "oidc", "wecom", "dingtalk")]
)
def test_a_button_for_each_configured_provider(client, db, settings, providers):
    configure(settings, *providers)
    page = client.get(reverse("login"), {"next": "/people/"}).content.decode()
    for url_name, label in BUTTONS.items():
        configured = url_name.split("_")[1] in providers
        assert (label in page) is configured, label
        assert (reverse(url_name) + "?next=%2Fpeople%2F" in page) is configured


def test_half_a_configuration_offers_nothing(client, db, settings):
    """A CAS server without the organisation whose numbers it knows could match no one: no button."""
    settings.CAS_SERVER_URL = "https://cas.example.edu.cn/cas/"
    settings.FANZHA_WECOM_CORP_ID = "ww1"  # no secret
    page = client.get(reverse("login")).content.decode()
    assert "login-options" not in page
    assert client.get(reverse("sso_cas_login")).status_code == 404


def test_english_page(client, db, settings):
    configure(settings, "cas", "wecom")
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "WeCom" in page and "企业微信" not in page


def test_check_deploy_names_what_a_half_configured_provider_lacks(db, settings):
    from fanzha.sso.checks import half_configured

    assert half_configured() == []
    settings.CAS_SERVER_URL = "https://cas.example.edu.cn/cas/"
    settings.FANZHA_WECOM_CORP_ID = "ww1"
    messages = [w.msg for w in half_configured()]
    assert messages == [
        "Single sign-on through CAS is not offered: FANZHA_CAS_ORGANISATION not set.",
        "Single sign-on through WeCom is not offered: FANZHA_WECOM_AGENT_ID, FANZHA_WECOM_SECRET, "
        "FANZHA_WECOM_ORGANISATION not set.",
    ]
    configure(settings, "cas", "wecom")
    assert half_configured() == []
