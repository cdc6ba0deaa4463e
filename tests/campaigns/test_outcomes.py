"""Outcomes, not records (issue 13): a period is done only when its records carry the evidence the
rule asks for, a measured obligation only when its coverage figure reaches the target, and a record
entered after its period closed makes the period late, not done."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns import actions, compliance
from fanzha.campaigns.compliance import Status
from fanzha.campaigns.models import Activity, CampaignEvent, Obligation
from fanzha.reach.models import Attestation
from tests.campaigns.engine import obligation, record, start

pytestmark = pytest.mark.django_db

D = date
SEPTEMBER = D(2026, 9, 1)


@pytest.fixture
def campaign(cast):
    return start(cast.uni)


def judge(ob: Obligation, today: date) -> compliance.ObligationState:
    snap = compliance.snapshot(ob.campaign, Obligation.objects.filter(pk=ob.pk), today)
    (item,) = snap.items
    return snap.state(item, detail=True)


def september(state: compliance.ObligationState) -> compliance.PeriodState:
    return next(p for p in state.periods if p.period.start == SEPTEMBER)


# 1. Evidence enforced ---------------------------------------------------------------------------------


def test_a_record_without_the_evidence_asked_for_does_not_complete_the_period(cast, campaign):
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)  # asks for photos and attendees
    record(ob, D(2026, 9, 10), evidence=False)  # no photo, no attendee, no count
    period = september(judge(ob, D(2026, 10, 5)))
    assert (period.status, period.count, period.short) == (Status.OVERDUE, 0, 1)
    record(ob, D(2026, 9, 11), evidence=False)
    # Attendance alone is not enough either: the rule also asks for photos.
    bare = ob.activities.filter(is_deleted=False).first()
    bare.attendance_count = 40
    bare.save()
    assert september(judge(ob, D(2026, 10, 5))).status == Status.OVERDUE
    record(ob, D(2026, 9, 12))  # photo and attendance
    period = september(judge(ob, D(2026, 10, 5)))
    assert (period.status, period.count, period.short) == (Status.DONE, 1, 2)


def test_a_rule_without_evidence_counts_bare_records(cast, campaign):
    ob = obligation(campaign, "yearly-evaluation", cast.cs2301)
    record(ob, D(2026, 3, 10), evidence=False)
    assert judge(ob, D(2026, 3, 11)).periods[0].status == Status.DONE


def test_an_administrator_accepts_a_period_as_an_exception_with_a_reason(client, cast, campaign):
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    record(ob, D(2026, 9, 10), evidence=False)
    with pytest.raises(ValidationError):
        actions.accept_period(ob, D(2026, 9, 15), "  ", cast.school_admin)
    url = reverse("campaign_obligation", args=[campaign.pk, ob.pk])
    accept = reverse("campaign_obligation_accept", args=[campaign.pk, ob.pk])
    # A counsellor cannot accept; the school's administrator can.
    client.force_login(cast.counsellor)
    assert client.post(accept, {"period": "2026-09-01", "reason": "照片丢失"}).status_code == 403
    client.force_login(cast.school_admin)
    response = client.post(accept, {"period": "2026-09-01", "reason": "照片随手机丢失，班会已由学院核实"})
    assert response.status_code == 302
    state = judge(ob, D(2026, 10, 5))
    assert september(state).status == Status.EXCEPTED
    assert state.tally.excepted == 1 and state.tally.done == 0
    event = CampaignEvent.objects.get(campaign=campaign, kind=actions.EVENT_PERIOD_EXCEPTED)
    assert event.actor == cast.school_admin and event.detail["reason"].startswith("照片随手机丢失")
    body = client.get(url).content.decode()
    assert "例外认可" in body and "照片随手机丢失" in body
    # who accepted it, by name: never the account's login code
    assert f"{cast.school_admin.first_name} 于" in body and f"{cast.school_admin.username} 于" not in body
    # Settled periods need no exception.
    with pytest.raises(ValidationError):
        actions.accept_period(ob, D(2026, 9, 15), "再认可一次", cast.school_admin)


# 2. Measured obligations -------------------------------------------------------------------------------


def test_a_measured_obligation_is_done_only_when_the_figure_reaches_the_target(client, cast, campaign):
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    ob.rule.measure, ob.rule.target = "parent_notice_signed", 100
    ob.rule.save()
    record(ob, D(2026, 9, 10))  # the records are complete
    Attestation.objects.create(
        campaign=campaign,
        person=cast.student,
        item="parent_notice_signed",
        status="declared",
        at=timezone.now(),
    )
    state = judge(ob, D(2026, 10, 5))
    assert state.measured is not None and (state.measured.done, state.measured.total) == (1, 2)
    assert september(state).status == Status.OVERDUE
    client.force_login(cast.school_admin)
    body = client.get(
        reverse("campaign_obligation", args=[campaign.pk, ob.pk]) + "?on=2026-10-05"
    ).content.decode()
    assert "1/2（50%）" in body and cast.monitor.name in body and "未达标" in body
    Attestation.objects.create(
        campaign=campaign,
        person=cast.monitor,
        item="parent_notice_signed",
        status="verified",
        at=timezone.now(),
    )
    assert september(judge(ob, D(2026, 10, 5))).status == Status.DONE


def test_the_district_template_measures_parent_notices():
    from fanzha.campaigns.spec import builtin_templates

    rules = {r.code: r for r in builtin_templates()["district-education-system"].obligations}
    assert rules["parent-notices"].measure == "parent_notice_signed"
    assert rules["parent-notices"].target == 100


# 3. Late is late ---------------------------------------------------------------------------------------


def test_a_record_entered_after_the_period_closed_makes_it_late(client, cast, campaign):
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    record(ob, D(2026, 9, 20), entered=D(2026, 12, 7))  # a September meeting typed in on 7 December
    state = judge(ob, D(2026, 12, 7))
    period = september(state)
    assert (period.status, period.count, period.late) == (Status.LATE, 0, 1)
    assert str(period.label) == "逾期完成"
    assert state.tally.late == 1 and state.tally.done == 0
    # Late periods are counted apart: they lower the on-time rate like an overdue one.
    assert state.tally.rate is not None and state.tally.rate == 0
    client.force_login(cast.school_admin)
    body = client.get(
        reverse("campaign_obligation", args=[campaign.pk, ob.pk]) + "?on=2026-12-07"
    ).content.decode()
    assert "逾期完成" in body
    dashboard = client.get(
        reverse("campaign_dashboard", args=[campaign.pk]) + "?on=2026-12-07"
    ).content.decode()
    assert "逾期完成" in dashboard


def test_a_record_entered_within_its_period_is_on_time(cast, campaign):
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    record(ob, D(2026, 9, 20), entered=D(2026, 9, 30))
    assert september(judge(ob, D(2026, 12, 7))).status == Status.DONE


def test_the_activity_page_says_a_record_is_late_or_short_of_evidence(client, cast, campaign):
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    (late,) = record(ob, D(2026, 9, 20), entered=D(2026, 12, 7))
    (bare,) = record(ob, D(2026, 10, 20), evidence=False)
    Activity.objects.filter(pk__in=[late.pk, bare.pk]).update(recorded_by=cast.counsellor)
    client.force_login(cast.school_admin)
    body = client.get(reverse("activity_detail", args=[late.pk])).content.decode()
    assert "逾期完成" in body and "2026-09-30" in body
    body = client.get(reverse("activity_detail", args=[bare.pk])).content.decode()
    assert "不计入" in body and "照片、参加人员或人数" in body


def test_the_campaign_page_names_evidence_measure_and_accepted_periods(client, cast, campaign):
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    ob.rule.measure = "parent_notice_signed"
    ob.rule.save()
    actions.accept_period(ob, D(2026, 9, 15), "学院已核实", cast.school_admin)
    client.force_login(cast.school_admin)
    body = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "佐证：照片、参加人员或人数" in body and "考核：家长告知书已签达到 100%" in body
    assert "例外认可工作周期" in body and "2026-09-01 至 2026-09-30：学院已核实" in body
    assert "period_excepted" not in body


def test_on_a_phone_only_a_period_that_may_be_accepted_shows_the_acceptance_cell(client, cast, campaign):
    """The periods table stacks into cards on a 390-px phone: a period that cannot be accepted (open, done,
    already accepted) shows no empty "例外认可" label, only one with the form does (walk-through)."""
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    client.force_login(cast.school_admin)
    body = client.get(reverse("campaign_obligation", args=[campaign.pk, ob.pk])).content.decode()
    forms = body.count(reverse("campaign_obligation_accept", args=[campaign.pk, ob.pk]))
    rows = body.count('data-label="周期"')
    assert forms and rows > forms  # the current period, at least, cannot be accepted
    assert body.count('data-label="例外认可"') == forms
