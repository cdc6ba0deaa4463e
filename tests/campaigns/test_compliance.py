"""Compliance travelling in time: done / due / overdue / upcoming for every frequency, the dashboard
order, the calendar, and who is responsible."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from fanzha.campaigns import actions, compliance
from fanzha.campaigns.compliance import Status, Tally
from fanzha.campaigns.models import Obligation
from fanzha.campaigns.periods import Period, Semester
from fanzha.org import actions as org
from fanzha.org.models import MembershipRole, Person
from tests.campaigns.engine import END, START, obligation, record, start

pytestmark = pytest.mark.django_db

D = date


@pytest.fixture
def campaign(cast):
    return start(cast.uni)


def judge(ob: Obligation, today: date) -> compliance.ObligationState:
    snap = compliance.snapshot(ob.campaign, Obligation.objects.filter(pk=ob.pk), today)
    (item,) = snap.items
    return snap.state(item, detail=True)


def tally(state: compliance.ObligationState) -> tuple[int, int, int, int]:
    t = state.tally
    return (t.done, t.due, t.overdue, t.upcoming)


def test_status_of_a_period():
    period = Period(D(2026, 3, 2), D(2026, 3, 8))
    assert compliance.status_of(period, 0, 1, D(2026, 3, 1)) == Status.UPCOMING
    assert compliance.status_of(period, 0, 1, D(2026, 3, 2)) == Status.DUE
    assert compliance.status_of(period, 0, 1, D(2026, 3, 8)) == Status.DUE  # the last day still counts
    assert compliance.status_of(period, 0, 1, D(2026, 3, 9)) == Status.OVERDUE
    assert compliance.status_of(period, 1, 1, D(2026, 3, 9)) == Status.DONE
    assert compliance.status_of(period, 1, 2, D(2026, 3, 5)) == Status.DUE
    assert compliance.status_of(period, 0, 0, D(2026, 3, 9)) == Status.DONE


# Each frequency --------------------------------------------------------------------------------------


def test_daily(cast, campaign):
    ob = obligation(campaign, "daily-tip", cast.cs2301)
    record(ob, D(2026, 3, 1), D(2026, 3, 2))
    days = (END - START).days + 1
    assert tally(judge(ob, D(2026, 3, 3))) == (2, 1, 0, days - 3)
    state = judge(ob, D(2026, 3, 4))
    assert tally(state) == (2, 1, 1, days - 4)
    assert state.current is not None and state.current.period == Period(D(2026, 3, 4), D(2026, 3, 4))
    assert [p.status for p in state.periods[:4]] == [Status.DONE, Status.DONE, Status.OVERDUE, Status.DUE]


def test_weekly_with_a_short_first_week_merged_and_a_year_end(cast, campaign):
    ob = obligation(campaign, "weekly-article", cast.cs2301)
    record(ob, D(2026, 3, 5))
    state = judge(ob, D(2026, 3, 8))
    # A Sunday start: that one day joins the first full week instead of demanding a week's work.
    assert state.periods[0].period == Period(D(2026, 3, 1), D(2026, 3, 8))
    assert [p.status for p in state.periods[:2]] == [Status.DONE, Status.UPCOMING]
    assert state.current is not None and state.current.status == Status.DONE
    assert tally(state)[:3] == (1, 0, 0)
    # The ISO week across the new year is one period.
    record(ob, D(2026, 12, 29))
    state = judge(ob, D(2027, 1, 3))
    assert state.current is not None
    assert state.current.period == Period(D(2026, 12, 28), D(2027, 1, 3))
    assert state.current.status == Status.DONE
    assert judge(ob, D(2027, 1, 4)).current.status == Status.DUE


def test_monthly(cast, campaign):
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    record(ob, D(2026, 3, 31))
    assert judge(ob, D(2026, 3, 31)).current.status == Status.DONE
    state = judge(ob, D(2026, 4, 30))
    assert state.current.status == Status.DUE and tally(state)[:3] == (1, 1, 0)
    state = judge(ob, D(2026, 5, 1))
    assert tally(state)[:3] == (1, 1, 1)
    assert state.periods[1].period == Period(D(2026, 4, 1), D(2026, 4, 30))
    record(ob, D(2027, 2, 28))  # the leap-less February ends the campaign
    assert judge(ob, D(2027, 2, 28)).current.period == Period(D(2027, 2, 1), D(2027, 2, 28))


def test_semester_needs_two_and_skips_holidays(cast, campaign):
    ob = obligation(campaign, "semester-training", cast.cs2301)
    record(ob, D(2026, 3, 10))
    state = judge(ob, D(2026, 7, 15))
    assert state.current.status == Status.DUE and state.current.count == 1
    state = judge(ob, D(2026, 7, 16))  # summer holiday: no current period
    assert state.current is None and tally(state) == (0, 0, 1, 1)
    record(ob, D(2026, 3, 11))
    assert tally(judge(ob, D(2026, 8, 1))) == (1, 0, 0, 1)
    record(ob, D(2026, 8, 1))  # in the holiday: counts for no semester
    assert tally(judge(ob, D(2026, 9, 1)))[:2] == (1, 1)


def test_semester_follows_the_school_calendar_of_the_unit_or_its_ancestor(cast, campaign):
    ob = obligation(campaign, "semester-training", cast.cs2301)
    record(ob, D(2026, 7, 10), D(2026, 7, 12))
    actions.set_school_calendar(cast.uni, [Semester(D(2026, 2, 23), D(2026, 7, 5), "春季")])
    state = judge(ob, D(2026, 7, 20))
    assert state.periods[0].period == Period(D(2026, 3, 1), D(2026, 7, 5), "春季")  # clipped to the start
    assert tally(state) == (0, 0, 1, 0)  # the July activities fall after the semester
    actions.set_school_calendar(cast.cs, [Semester(D(2026, 3, 2), D(2026, 7, 19), "学院春季")])
    state = judge(ob, D(2026, 7, 20))
    assert [p.period.name for p in state.periods] == ["学院春季"]
    assert tally(state) == (1, 0, 0, 0)


def test_yearly(cast, campaign):
    ob = obligation(campaign, "yearly-evaluation", cast.cs2301)
    state = judge(ob, D(2026, 12, 1))
    assert state.current.period == Period(START, END) and state.current.status == Status.DUE
    assert tally(judge(ob, END + timedelta(days=1))) == (0, 0, 1, 0)
    record(ob, END)
    assert tally(judge(ob, END + timedelta(days=1))) == (1, 0, 0, 0)


def test_once(cast, campaign):
    ob = obligation(campaign, "pledge", cast.d1_101)
    assert judge(ob, D(2026, 3, 31)).current.period == Period(START, D(2026, 3, 31))
    assert tally(judge(ob, D(2026, 3, 31))) == (0, 1, 0, 0)
    assert tally(judge(ob, D(2026, 4, 1))) == (0, 0, 1, 0)
    record(ob, D(2026, 3, 15))
    assert tally(judge(ob, D(2026, 4, 1))) == (1, 0, 0, 0)


def test_before_the_start_everything_is_upcoming(cast, campaign):
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    state = judge(ob, D(2026, 2, 1))
    assert state.current is None and tally(state) == (0, 0, 0, 12)


def test_only_linked_live_activities_inside_the_campaign_count(cast, campaign):
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)
    record(ob, D(2026, 3, 5), is_deleted=True)
    record(ob, D(2026, 2, 27))  # before the campaign
    record(obligation(campaign, "monthly-meeting", cast.cs2302), D(2026, 3, 5))  # another class
    assert judge(ob, D(2026, 3, 20)).current.count == 0


# Aggregates -----------------------------------------------------------------------------------------


def test_tally_rate_and_lag_order():
    assert Tally().rate is None and Tally().lag_key() == (1.0, 0, 0)
    assert Tally(done=1, overdue=3).percent == 25
    laggards = sorted([Tally(done=3), Tally(done=1, overdue=1), Tally(overdue=2)], key=Tally.lag_key)
    assert [t.done for t in laggards] == [0, 1, 3]


def test_dashboard_puts_lagging_units_first(cast, campaign):
    today = D(2026, 3, 10)
    days = [START + timedelta(days=n) for n in range(9)]
    for code in ("daily-tip", "weekly-article"):
        record(obligation(campaign, code, cast.cs2301), *days)
        record(obligation(campaign, code, cast.cs2302), *days[:3])
        record(obligation(campaign, code, cast.ma2301), *days[:8])
    snap = compliance.snapshot(campaign, Obligation.objects.all(), today)
    board = compliance.dashboard(snap, cast.uni)
    # CS: 15 periods done, 6 overdue; MA: 9 done, 1 overdue; D1: nothing over yet.
    assert [row.unit for row in board.rows] == [cast.cs, cast.ma, cast.d1]
    assert [row.tally.percent for row in board.rows] == [71, 90, None]
    board = compliance.dashboard(snap, cast.cs)
    assert [row.unit for row in board.rows] == [cast.cs2302, cast.cs2301]
    assert board.rows[0].obligations == 5 and board.rows[0].tally.overdue == 6
    assert board.own == []
    totals = board.totals
    assert totals.done + totals.overdue + totals.due + totals.upcoming > 0
    # At a class: its own obligations, no rows.
    board = compliance.dashboard(snap, cast.cs2301)
    assert board.rows == [] and len(board.own) == 5
    # A viewer who cannot see the university: the rows start where their scope begins.
    board = compliance.dashboard(snap, None, roots=[cast.cs2302.path, cast.ma.path])
    assert [row.unit for row in board.rows] == [cast.cs2302, cast.ma]


def test_ending_between_counts_per_day_and_rule(cast, campaign):
    record(obligation(campaign, "weekly-article", cast.cs2301), D(2026, 3, 3))
    snap = compliance.snapshot(campaign, Obligation.objects.all(), D(2026, 3, 10))
    entries = compliance.ending_between(snap, D(2026, 3, 8), D(2026, 3, 8))
    weekly = next(e for e in entries if e.rule.code == "weekly-article")
    assert (weekly.tally.done, weekly.tally.overdue) == (1, 2)
    assert weekly.obligation_pk is None
    daily = next(e for e in entries if e.rule.code == "daily-tip")
    assert daily.tally.overdue == 3
    snap = compliance.snapshot(campaign, Obligation.objects.filter(unit=cast.cs2301), D(2026, 3, 10))
    entries = compliance.ending_between(snap, D(2026, 3, 1), D(2026, 3, 31))
    monthly = [e for e in entries if e.rule.code == "monthly-meeting"]
    assert len(monthly) == 1 and monthly[0].day == D(2026, 3, 31) and monthly[0].tally.due == 1
    assert monthly[0].obligation_pk == obligation(campaign, "monthly-meeting", cast.cs2301).pk


# Responsible people --------------------------------------------------------------------------------


def person(cast, name: str, unit, role: str) -> Person:
    return org.enrol_person(unit=unit, role=role, name=name, kind="teacher")


def test_responsible_person_in_the_unit_else_the_nearest_ancestor(cast, campaign):
    college_counsellor = person(cast, "院辅导员", cast.cs, MembershipRole.COUNSELLOR)
    class_counsellor = person(cast, "班辅导员", cast.cs2302, MembershipRole.COUNSELLOR)
    leader = person(cast, "校组长", cast.uni, MembershipRole.LEADER)
    people = compliance.responsible_people(
        [
            (cast.cs2301.path, "counsellor"),
            (cast.cs2302.path, "counsellor"),
            (cast.cs2301.path, "monitor"),
            (cast.cs2302.path, "monitor"),
            (cast.ma2301.path, "leader"),
            (cast.ma2301.path, "counsellor"),
        ]
    )
    # a class's own counsellor (here: granted there), never the one above the class
    assert people[(cast.cs2301.path, "counsellor")] == cast.counsellor.person != college_counsellor
    assert people[(cast.cs2302.path, "counsellor")] == class_counsellor
    assert people[(cast.cs2301.path, "monitor")] == cast.monitor
    assert people[(cast.cs2302.path, "monitor")] == class_counsellor  # no monitor: the class's counsellor
    assert people[(cast.ma2301.path, "leader")] is None  # nobody at 数学2301班: not the school's 组长
    assert compliance.responsible_people([(cast.ma.path, "leader")])[(cast.ma.path, "leader")] == leader
    assert people[(cast.ma2301.path, "counsellor")] is None
    state = judge(obligation(campaign, "daily-tip", cast.cs2301), D(2026, 3, 2))
    assert compliance.responsible_for(state, people) == cast.monitor


def test_class_work_names_the_class_counsellor_not_the_college_liaison(cast, campaign, client):
    """Issue 15: a class-level task whose plan role nobody holds in the class names the class's own
    counsellor (whose to-do lists it), not the college liaison above; the name links only where the
    viewer may open the person's page."""
    liaison = person(cast, "院联络员", cast.cs, MembershipRole.LIAISON)
    people = compliance.responsible_people([(cast.cs2301.path, "liaison"), (cast.cs.path, "liaison")])
    assert people[(cast.cs2301.path, "liaison")] == cast.counsellor.person
    assert people[(cast.cs.path, "liaison")] == liaison  # at the college itself: its liaison
    ob = obligation(campaign, "daily-tip", cast.cs2301)
    ob.rule.responsible = "liaison"
    ob.rule.save()
    url = reverse("campaign_obligation", args=[campaign.pk, ob.pk])
    client.force_login(cast.counsellor)
    response = client.get(url)
    assert response.context["person"] == cast.counsellor.person
    assert response.context["responsible"] == "辅导员"
    # a name links only to a page the viewer may open: the counsellor's record has no unit yet, so
    # nobody may open it (the old page linked to a 404) …
    page = reverse("person_detail", args=[cast.counsellor.person.pk])
    assert client.get(page).status_code == 404
    assert not response.context["person_linked"] and page not in response.content.decode()
    # … once the counsellor is a member of the class, the school's admin may, and the name links
    org.add_membership(cast.counsellor.person, cast.cs2301, MembershipRole.COUNSELLOR)
    client.force_login(cast.school_admin)
    response = client.get(url)
    assert response.context["person"] == cast.counsellor.person
    assert response.context["person_linked"] and page in response.content.decode()
