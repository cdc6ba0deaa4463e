"""A self-report's SMS to the student's counsellor goes out as the approved stop-payment alert template
(issue 12, item 5): the case number, the loss and the deadline as its parameters, nothing about the
student (no name, account or ID number), while the alert page keeps the readable text."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fanzha.notify import delivery
from fanzha.notify.models import ChannelKind, Outbox
from fanzha.org import actions as org_actions
from tests.cases.member.test_report import link, report_data, sign_in  # noqa: F401  (the fixture too)
from tests.reach.conftest import CaptureBackend

pytestmark = pytest.mark.django_db


def test_the_counsellors_alert_sms_carries_only_the_templates_parameters(client, cast, link, settings):  # noqa: F811
    settings.FANZHA_SMS_BACKEND = "tests.reach.conftest.CaptureBackend"
    CaptureBackend.messages.clear()
    person = cast.counsellor.person
    org_actions.save_person(root=cast.uni, person=person, phone="13700137000")
    sign_in(client, link)
    assert client.post(reverse("member_report", args=[link.token]), report_data()).status_code == 302
    row = Outbox.objects.get(channel_kind=ChannelKind.SMS)
    assert row.sms_template == "alert"
    assert set(row.sms_params) == {"number", "loss", "deadline"}
    assert row.sms_params["number"].startswith("AJ") and row.sms_params["loss"] == "3000.00"
    assert all(len(v) <= 12 for v in row.sms_params.values())  # any provider's variable length
    assert delivery.deliver_now(row).status == Outbox.Status.SENT
    [message] = [m for m in CaptureBackend.messages if m.template == "alert"]
    assert message.phone == "13700137000" and message.params == row.sms_params
    flat = " ".join(message.params.values())
    assert cast.student.name not in flat and "2023001" not in flat
