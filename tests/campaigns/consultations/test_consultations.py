"""Joint consultations (会商, issue 14 item 7): meetings with the units present, decisions as tasks with
an owner unit, overdue computed, the owner told on commit, scope (404 outside), form errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns.consultations import actions, queries
from fanzha.campaigns.models import Campaign, CampaignTemplate, Consultation, ConsultationDecision
from fanzha.notify.models import Outbox
from fanzha.org.models import Role
from tests.campaigns.conftest import TEMPLATE, make_campaign
from tests.conftest import Cast, make_staff


@pytest.fixture
def world(county_cast: Cast) -> Cast:
    c = county_cast
    template = CampaignTemplate.objects.create(code="police-test", title="打击治理", text=TEMPLATE)
    today = timezone.localdate()
    c.campaign = Campaign.objects.create(
        template=template,
        template_text=TEMPLATE,
        unit=c.police,
        title="青山县公安局打击治理电信网络诈骗专项行动",
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=300),
    )
    c.officer2 = make_staff(c.police, "P1003", "东岭所民警", Role.POLICE_OFFICER, c.station2, "police")
    return c


def _meeting(c: Cast) -> Consultation:
    return actions.record_meeting(
        c.campaign,
        c.police,
        held_on=timezone.localdate(),
        title="第一次联席会商",
        units_present=[c.centre, c.station],
        minutes="通报案情，部署走访。",
        actor=c.police_admin,
    )


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_verbs_record_add_close(world: Cast) -> None:
    c = world
    meeting = _meeting(c)
    assert set(meeting.units_present.all()) == {c.centre, c.station}
    decision = actions.add_decision(
        meeting,
        text="城关所一周内走访辖区全部高校",
        owner_unit=c.station,
        due_on=timezone.localdate() + timedelta(days=7),
        actor=c.police_admin,
    )
    assert decision.status == ConsultationDecision.Status.OPEN and not decision.is_overdue
    with pytest.raises(ValidationError):
        actions.close_decision(decision, note="  ", actor=c.police_officer)
    done = actions.close_decision(decision, note="已走访3所高校", actor=c.police_officer)
    assert done.status == ConsultationDecision.Status.DONE and done.closed_by == c.police_officer
    with pytest.raises(ValidationError):
        actions.close_decision(done, note="again", actor=c.police_admin)
    # Units outside the campaign, and actors who do not run the convening unit, are refused.
    with pytest.raises(ValidationError):
        actions.add_decision(
            meeting, text="x", owner_unit=c.branch, due_on=timezone.localdate(), actor=c.police_admin
        )
    with pytest.raises(PermissionDenied):
        actions.add_decision(
            meeting, text="x", owner_unit=c.station, due_on=timezone.localdate(), actor=c.police_officer
        )
    with pytest.raises(PermissionDenied):
        actions.record_meeting(
            c.campaign,
            c.police,
            held_on=timezone.localdate(),
            title="t",
            units_present=[c.station],
            actor=c.police_officer,
        )
    with pytest.raises(PermissionDenied):
        actions.close_decision(decision, note="n", actor=c.officer2)


def test_notice_queued_on_commit_to_owner_unit(world: Cast, django_capture_on_commit_callbacks) -> None:
    c = world
    meeting = _meeting(c)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decision = actions.add_decision(
            meeting,
            text="排查涉诈银行卡",
            owner_unit=c.station,
            due_on=timezone.localdate() + timedelta(days=3),
            actor=c.police_admin,
        )
    assert not Outbox.objects.filter(idempotency_key__startswith="consultation-decision:").exists()
    for callback in callbacks:
        callback()
    keys = set(
        Outbox.objects.filter(idempotency_key__startswith="consultation-decision:").values_list(
            "idempotency_key", flat=True
        )
    )
    assert keys == {f"consultation-decision:{decision.pk}:{c.police_officer.pk}"}


def test_scope_matrix(world: Cast) -> None:
    c = world
    meeting = _meeting(c)
    mine = actions.add_decision(
        meeting, text="城关所任务", owner_unit=c.station, due_on=timezone.localdate(), actor=c.police_admin
    )
    other = actions.add_decision(
        meeting, text="中心任务", owner_unit=c.centre, due_on=timezone.localdate(), actor=c.police_admin
    )
    detail = reverse("consultation_detail", args=[meeting.pk])
    page = _client(c.police_admin).get(detail)
    assert page.status_code == 200 and "城关所任务" in page.text and "中心任务" in page.text
    page = _client(c.police_officer).get(detail)  # the station attended: its decision only
    assert page.status_code == 200 and "城关所任务" in page.text and "中心任务" not in page.text
    assert set(queries.decisions_for(c.police_officer, meeting)) == {mine}
    for outsider in (c.officer2, c.outsider, c.school_admin):
        client = _client(outsider)
        assert client.get(detail).status_code == 404
        url = reverse("consultation_decision_close", args=[other.pk])
        assert client.post(url, {"note": "x"}).status_code == 404
    # The station officer sees the decision of the centre nowhere, and cannot close it.
    close = reverse("consultation_decision_close", args=[other.pk])
    assert _client(c.police_officer).post(close, {"note": "x"}).status_code == 404
    assert (
        _client(c.police_officer)
        .post(reverse("consultation_decision_add", args=[meeting.pk]), {"text": "x"})
        .status_code
        == 403
    )
    other.refresh_from_db()
    assert other.status == ConsultationDecision.Status.OPEN
    listing = _client(c.officer2).get(reverse("consultation_list", args=[c.campaign.pk]))
    assert listing.status_code == 200 and "第一次联席会商" not in listing.text


def test_overdue_listed(world: Cast) -> None:
    c = world
    meeting = _meeting(c)
    today = timezone.localdate()
    late = actions.add_decision(
        meeting,
        text="逾期的任务",
        owner_unit=c.station,
        due_on=today - timedelta(days=2),
        actor=c.police_admin,
    )
    actions.add_decision(
        meeting,
        text="未到期的任务",
        owner_unit=c.station,
        due_on=today + timedelta(days=2),
        actor=c.police_admin,
    )
    closed = actions.add_decision(
        meeting,
        text="已办结的任务",
        owner_unit=c.station,
        due_on=today - timedelta(days=5),
        actor=c.police_admin,
    )
    actions.close_decision(closed, note="完成", actor=c.police_admin)
    assert late.is_overdue
    assert list(queries.overdue_decisions(c.police_officer, c.campaign)) == [late]
    page = _client(c.police_admin).get(reverse("consultation_list", args=[c.campaign.pk]))
    section = page.text.split('data-testid="overdue"')[1].split("</section>")[0]
    assert "逾期的任务" in section and "未到期的任务" not in section and "已办结的任务" not in section


def test_form_errors_keep_input(world: Cast) -> None:
    c = world
    client = _client(c.police_admin)
    url = reverse("consultation_new", args=[c.campaign.pk])
    page = client.post(url, {"unit": c.police.pk, "held_on": "", "title": "保留的议题", "minutes": "纪要"})
    assert page.status_code == 200 and not Consultation.objects.exists()
    assert "请至少选择一个参会单位。" in page.text and "保留的议题" in page.text
    page = client.post(
        url,
        {"unit": c.police.pk, "held_on": "2026-01-05", "title": "t", "units_present": [c.branch.pk]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert not Consultation.objects.exists()
    assert "Select a valid choice" in page.text or "valid choice" in page.text
    page = client.post(
        url,
        {
            "unit": c.police.pk,
            "held_on": "2026-01-05",
            "title": "第二次会商",
            "units_present": [c.station.pk],
        },
    )
    meeting = Consultation.objects.get()
    assert page.status_code == 302
    add = reverse("consultation_decision_add", args=[meeting.pk])
    page = client.post(add, {"text": "", "owner_unit": c.station.pk, "due_on": ""})
    assert page.status_code == 400 and not meeting.decisions.exists()
    page = client.post(add, {"text": "", "owner_unit": c.station.pk, "due_on": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert "This field is required" in page.text


def test_dormitories_attend_no_meeting_and_own_no_decision(cast: Cast) -> None:
    campaign = make_campaign(cast)
    offered = set(queries.campaign_units(campaign))
    assert {cast.uni, cast.cs, cast.cs2301} <= offered
    assert cast.d1 not in offered and cast.d1_101 not in offered  # where people live, not who works
    with pytest.raises(ValidationError, match="不在本专项行动范围内"):
        actions.record_meeting(
            campaign,
            cast.uni,
            held_on=timezone.localdate(),
            title="宿舍安全会商",
            units_present=[cast.cs, cast.d1_101],
            actor=cast.school_admin,
        )
    page = _client(cast.school_admin).get(reverse("consultation_new", args=[campaign.pk])).content.decode()
    assert cast.cs.name in page and cast.d1_101.name not in page
