"""An SMS is sent only when a gateway accepted it (security item 28): with no gateway configured (the
default) it ends "未发送：未配置短信网关", is never retried and never shown as sent; the number and a
sign-in code do not stay behind."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from fanzha.notify import delivery, sms
from fanzha.notify.actions import queue
from fanzha.notify.models import ChannelKind, Outbox
from tests.reach.conftest import CaptureBackend

pytestmark = pytest.mark.django_db


def test_with_no_gateway_an_sms_is_not_sent_and_says_why(settings, caplog):
    settings.FANZHA_SMS_BACKEND = "fanzha.notify.sms.LogBackend"  # the default
    assert not sms.configured()
    row = queue(ChannelKind.SMS, "13800138000", subject="【反诈】", body="你的验证码是 654321", key="otp:9")
    with caplog.at_level(logging.DEBUG):
        row = delivery.deliver_now(row)
    assert (row.status, row.last_error, row.sent_at) == (Outbox.Status.UNSENT, "no_sms_gateway", None)
    assert row.status_text == "未发送：未配置短信网关" and "已发送" not in row.status_text
    assert row.address == "138****8000" and "654321" not in row.body  # nothing left to send later
    assert "13800138000" not in caplog.text and "654321" not in caplog.text
    assert delivery.deliver_pending(timezone.now() + timedelta(days=3)).sent == 0  # never retried
    assert Outbox.objects.get(pk=row.pk).attempts == 1


def test_a_gateway_that_accepts_it_makes_it_sent(settings):
    settings.FANZHA_SMS_BACKEND = "tests.reach.conftest.CaptureBackend"
    CaptureBackend.sent.clear()
    assert sms.configured()
    row = delivery.deliver_now(
        queue(ChannelKind.SMS, "13800138000", subject="提醒", body="请完成答题", key="r:1")
    )
    assert row.status == Outbox.Status.SENT and row.status_text == "已发送"
    assert CaptureBackend.sent == [("13800138000", "提醒\n请完成答题")]
