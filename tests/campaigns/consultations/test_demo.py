"""The demo's county police plan (篇五) has joint consultations whose decisions are owned tasks:
one done, one open, one past its due date; built once, and the plan's consultations tab shows them."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns import demo as campaign_demo
from fanzha.campaigns.models import Consultation, ConsultationDecision
from fanzha.org import demo as org_demo

pytestmark = pytest.mark.django_db


def test_the_demo_police_plan_has_consultations_with_decisions(client) -> None:  # noqa: ANN001
    org_demo.build_world("small", 0.02, log=lambda _m: None)
    campaign_demo.build_campaigns(lambda _m: None)
    lines: list[str] = []
    assert campaign_demo.build_consultations(lines.append) == 2
    meetings = Consultation.objects.all()
    assert meetings.count() == 2
    assert {m.campaign.template.code for m in meetings} == {"county-police-special-action"}
    assert all(m.units_present.count() >= 2 for m in meetings)
    decisions = ConsultationDecision.objects.all()
    today = timezone.localdate()
    done = decisions.filter(status=ConsultationDecision.Status.DONE)
    still = decisions.filter(status=ConsultationDecision.Status.OPEN)
    assert done.exclude(done_note="").exists()
    assert still.filter(due_on__lt=today).exists() and still.filter(due_on__gte=today).exists()
    assert all(d.owner_person_id for d in decisions)
    assert campaign_demo.build_consultations(lines.append) == 0 and "already there" in lines[-1]

    client.force_login(campaign_demo.login_user("police_admin"))
    page = client.get(reverse("consultation_list", args=[meetings[0].campaign_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "电诈案件高发研判及预警劝阻联动" in html and "涉诈资金止付冻结" in html
