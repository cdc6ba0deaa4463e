"""Item 11: a branch plan filed before the month starts counts for the plan obligation."""

from __future__ import annotations

from datetime import date

from fanzha.campaigns import compliance
from fanzha.campaigns import periods as P
from fanzha.campaigns.compliance import Status
from fanzha.campaigns.models import Obligation
from tests.campaigns.engine import record
from tests.conftest import Cast

from .helpers import start_bank


def test_a_plan_filed_before_the_start_counts(county_cast: Cast) -> None:
    campaign = start_bank(county_cast)
    plan = Obligation.objects.get(campaign=campaign, rule__code="branch-plan", unit=county_cast.branch)
    (activity,) = record(plan, date(2026, 4, 25), kind="notice")
    snap = compliance.snapshot(campaign, Obligation.objects.filter(pk=plan.pk), today=date(2026, 5, 20))
    state = snap.state(snap.items[0], detail=True)
    assert [p.status for p in state.periods] == [Status.DONE]
    assert state.tally.overdue == 0
    activity.refresh_from_db()
    standing = compliance.standing(activity)
    assert standing is not None and standing.period is not None and standing.counts and not standing.late


def test_recurring_work_before_the_start_does_not_count(county_cast: Cast) -> None:
    campaign = start_bank(county_cast)
    outdoor = Obligation.objects.get(campaign=campaign, rule__code="outdoor", unit=county_cast.branch)
    record(outdoor, date(2026, 4, 28), kind="outreach")
    snap = compliance.snapshot(campaign, Obligation.objects.filter(pk=outdoor.pk), today=date(2026, 6, 5))
    state = snap.state(snap.items[0], detail=True)
    assert state.periods[0].status == Status.OVERDUE


def test_record_period_maps_early_days_only_for_one_off_rules() -> None:
    periods = [P.Period(date(2026, 5, 1), date(2026, 5, 10))]
    assert P.record_period(periods, date(2026, 4, 20), P.ONCE) == periods[0]
    assert P.record_period(periods, date(2026, 4, 20), P.MONTHLY) is None
    assert P.record_period(periods, date(2026, 5, 11), P.ONCE) is None
