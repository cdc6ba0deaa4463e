"""Error pages: in the user's language, with a way back, never a traceback or the URL map."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from fanzha.core.management.commands.serve import (
    DEV_SETTINGS,
    PROD_SETTINGS,
    check_plain_http,
    serve_settings,
)

pytestmark = pytest.mark.django_db


def test_404_is_ours_with_a_way_back_to_this_site_only(client):
    response = client.get("/no-such-page/", HTTP_REFERER="http://testserver/learn/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in body and 'href="http://testserver/learn/"' in body and "回到首页" in body
    assert "URLconf" not in body and "Page not found" not in body
    elsewhere = client.get("/no-such-page/", HTTP_REFERER="https://evil.example/x").content.decode()
    assert "evil.example" not in elsewhere and "返回上一页" not in elsewhere


def test_404_in_english(client):
    client.cookies["django_language"] = "en"
    body = client.get("/no-such-page/").content.decode()
    assert "Page not found" in body and "页面不存在" not in body


def test_403_says_why(cast):
    client = Client()
    client.force_login(cast.auditor)
    response = client.post(f"/units/{cast.cs.pk}/rename/", {"name": "x", "code": "CS"})
    assert response.status_code == 403  # an auditor only reads
    body = response.content.decode()
    assert "没有权限" in body and "回到首页" in body


def test_csrf_failure_page(client):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


@override_settings(ROOT_URLCONF="tests.core.urls_broken")
def test_500_page_has_no_traceback():
    response = Client(raise_request_exception=False).get("/broken/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "系统出错了" in body and "110" in body and "a bug" not in body and "Traceback" not in body


def test_serve_runs_production_settings_unless_told_dev():
    assert serve_settings(DEV_SETTINGS) == PROD_SETTINGS
    assert serve_settings(PROD_SETTINGS) == PROD_SETTINGS
    assert serve_settings("site.settings") == "site.settings"  # an operator's own module is kept
    assert serve_settings(PROD_SETTINGS, dev=True) == DEV_SETTINGS


@pytest.mark.parametrize("bind", ["0.0.0.0:8000", "10.0.0.5:80", "[::]:8000", "unix:/tmp/fanzha.sock"])
def test_plain_http_only_on_loopback(bind):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="loopback"):
        check_plain_http(bind)
    check_plain_http("127.0.0.1:8000")
    check_plain_http("[::1]:8000")
