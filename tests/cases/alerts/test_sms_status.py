"""The alert page tells per recipient whether the SMS went out (security item 28): with no SMS gateway
configured (the default) it says "未发送：未配置短信网关", never "已发送"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fanzha.cases import actions
from fanzha.cases.models import AlertRecipient
from fanzha.org import actions as org

pytestmark = pytest.mark.django_db


def test_an_alerts_sms_without_a_gateway_shows_not_sent(
    client, cast, make_intake, settings, django_capture_on_commit_callbacks
):
    settings.FANZHA_ALERT_DELIVERY = "sync"
    org.save_person(root=cast.uni, person=cast.police_liaison.person, phone="13700137000")
    with django_capture_on_commit_callbacks(execute=True):
        case = actions.report_case(make_intake(cast.cs2301, cast.student), cast.counsellor)
    sms = AlertRecipient.objects.get(alert=case.alert, channel_kind="sms")
    assert sms.outbox.status == "unsent"
    client.force_login(cast.police_liaison)
    response = client.get(reverse("alert_detail", args=[case.alert.pk]))
    rows = [r for tier in response.context["tiers"] for r in tier["rows"] if r["channel"] == "短信"]
    assert [r["status_label"] for r in rows] == ["未发送：未配置短信网关"]
    assert rows[0]["sent_at"] is None
    assert "未发送：未配置短信网关" in response.content.decode()
