"""The demo's SMS gateway (issue 12, item 5): with FANZHA_SMS_BACKEND=demo nothing is sent; each message
is kept and shown to the system administrator on a page marked as the demo's, so that a demo parent
can sign in with the code; never on by default, and a warning when production has it on."""

from __future__ import annotations

import pytest
from django.core import checks
from django.urls import reverse

from fanzha.notify import delivery
from fanzha.notify.actions import queue
from fanzha.notify.models import ChannelKind, DemoSms, Outbox
from fanzha.org import actions as org_actions
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_demo_gateway_keeps_the_message_and_the_page_shows_it(client, settings, cast):
    settings.FANZHA_SMS_BACKEND = "demo"
    row = queue(
        ChannelKind.SMS,
        "13900139000",
        subject="【反诈工作平台】",
        body="你的登录验证码是 482913，10 分钟内有效。",
        key="otp:demo-1",
        sms_template="code",
        sms_params={"code": "482913", "minutes": 10},
    )
    row = delivery.deliver_now(row)
    assert row.status == Outbox.Status.SENT and row.provider_ref.startswith("demo-")
    kept = DemoSms.objects.get()
    assert kept.phone == "139****9000" and "482913" in kept.text

    root = org_actions.create_account(
        org_actions.save_person(root=cast.uni, name="系统管理员", kind="staff", external_number="R1"),
        PASSWORD,
    )
    root.is_superuser = True
    root.save()
    client.force_login(root)
    page = client.get(reverse("sms_demo"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "演示短信，未真实发送" in text and "482913" in text and "139****9000" in text
    assert "13900139000" not in text

    # anyone else: as if there were no such page
    client.force_login(cast.school_admin)
    assert client.get(reverse("sms_demo")).status_code == 404


def test_the_page_is_gone_when_the_demo_gateway_is_off(client, settings, cast):
    settings.FANZHA_SMS_BACKEND = "none"
    cast.school_admin.is_superuser = True
    cast.school_admin.save()
    client.force_login(cast.school_admin)
    assert client.get(reverse("sms_demo")).status_code == 404


def test_without_the_setting_nothing_is_a_gateway(settings):
    from fanzha.notify import sms

    del settings.FANZHA_SMS_BACKEND
    assert not sms.configured() and not sms.is_demo()


def _ids(found: list[checks.CheckMessage]) -> set[str]:
    return {m.id for m in found if m.id}


def test_demo_under_production_settings_warns(settings):
    from fanzha.notify.checks import sms_settings

    settings.FANZHA_SMS_BACKEND = "demo"
    settings.DEBUG = False
    settings.FANZHA_PLAIN_HTTP = False  # the production settings define it
    assert "fanzha.W010" in _ids(sms_settings())
    settings.FANZHA_PLAIN_HTTP = True  # `fanzha demo`: production settings on loopback, plain http
    assert "fanzha.W010" not in _ids(sms_settings())


def test_a_gateway_without_its_settings_is_an_error(settings):
    from fanzha.notify.checks import sms_settings

    settings.FANZHA_SMS_BACKEND = "tencent"
    settings.FANZHA_SMS_KEY_ID = ""
    settings.FANZHA_SMS_TEMPLATES = '{"code": "1", "alert": "2"}'
    found = _ids(sms_settings())
    assert {"fanzha.E010", "fanzha.W011"} <= found
    settings.FANZHA_SMS_TEMPLATES = "not json"
    assert "fanzha.E011" in _ids(sms_settings())


def test_fanzha_demo_serves_with_the_demo_gateway_and_says_where_codes_are(monkeypatch):
    from fanzha.demo.management.commands.demo import demo_env
    from fanzha.org.demo import format_logins

    monkeypatch.delenv("FANZHA_SMS_BACKEND", raising=False)
    assert demo_env() == {"FANZHA_SMS_BACKEND": "demo"}
    monkeypatch.setenv("FANZHA_SMS_BACKEND", "aliyun")  # an operator's own gateway is kept
    assert demo_env() == {"FANZHA_SMS_BACKEND": "aliyun"}
    assert "/notifications/sms-demo/" in format_logins([])
