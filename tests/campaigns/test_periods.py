"""Periods of every frequency, travelling in time: boundaries, leap years, ISO weeks, semesters."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fanzha.campaigns import actions, compliance
from fanzha.campaigns import periods as P
from fanzha.campaigns.periods import Period, Semester

D = date


# Daily, weekly, monthly ----------------------------------------------------------------------------


@pytest.mark.parametrize("day", [D(2024, 2, 29), D(2025, 12, 31), D(2026, 1, 1)])
def test_daily_period_is_the_day(day):
    assert P.period_containing("daily", day) == Period(day, day)


@pytest.mark.parametrize(
    ("day", "monday", "sunday"),
    [
        (D(2026, 3, 2), D(2026, 3, 2), D(2026, 3, 8)),  # a Monday starts its week
        (D(2026, 3, 8), D(2026, 3, 2), D(2026, 3, 8)),  # a Sunday ends it
        (D(2026, 3, 9), D(2026, 3, 9), D(2026, 3, 15)),
        (D(2025, 12, 31), D(2025, 12, 29), D(2026, 1, 4)),  # ISO week 2026-W01 starts in 2025
        (D(2026, 1, 1), D(2025, 12, 29), D(2026, 1, 4)),
        (D(2021, 1, 3), D(2020, 12, 28), D(2021, 1, 3)),  # 2020-W53
        (D(2024, 2, 29), D(2024, 2, 26), D(2024, 3, 3)),
    ],
)
def test_weekly_period_is_the_iso_week(day, monday, sunday):
    period = P.period_containing("weekly", day)
    assert period == Period(monday, sunday)
    assert period.start.isocalendar().weekday == 1
    assert period.start.isocalendar()[:2] == day.isocalendar()[:2]


@pytest.mark.parametrize(
    ("day", "first", "last"),
    [
        (D(2024, 2, 1), D(2024, 2, 1), D(2024, 2, 29)),  # leap February
        (D(2025, 2, 28), D(2025, 2, 1), D(2025, 2, 28)),
        (D(2100, 2, 15), D(2100, 2, 1), D(2100, 2, 28)),  # not a leap year
        (D(2000, 2, 15), D(2000, 2, 1), D(2000, 2, 29)),  # a leap year
        (D(2025, 12, 31), D(2025, 12, 1), D(2025, 12, 31)),
        (D(2026, 4, 30), D(2026, 4, 1), D(2026, 4, 30)),
    ],
)
def test_monthly_period_is_the_calendar_month(day, first, last):
    assert P.period_containing("monthly", day) == Period(first, last)


# Yearly and once -----------------------------------------------------------------------------------


def test_yearly_period_is_the_calendar_year_without_anchor():
    assert P.period_containing("yearly", D(2024, 12, 31)) == Period(D(2024, 1, 1), D(2024, 12, 31))
    assert P.period_containing("yearly", D(2025, 1, 1)) == Period(D(2025, 1, 1), D(2025, 12, 31))


def test_yearly_period_counts_from_the_campaign_start():
    anchor = D(2025, 9, 1)
    assert P.period_containing("yearly", D(2025, 9, 1), anchor=anchor) == Period(
        D(2025, 9, 1), D(2026, 8, 31)
    )
    assert P.period_containing("yearly", D(2026, 8, 31), anchor=anchor) == Period(
        D(2025, 9, 1), D(2026, 8, 31)
    )
    assert P.period_containing("yearly", D(2026, 9, 1), anchor=anchor) == Period(
        D(2026, 9, 1), D(2027, 8, 31)
    )


def test_yearly_period_from_a_leap_day():
    anchor = D(2024, 2, 29)
    assert P.period_containing("yearly", D(2025, 2, 27), anchor=anchor) == Period(
        D(2024, 2, 29), D(2025, 2, 27)
    )
    assert P.period_containing("yearly", D(2025, 2, 28), anchor=anchor) == Period(
        D(2025, 2, 28), D(2026, 2, 27)
    )


def test_once_runs_from_the_start_to_the_due_date():
    start, due = D(2026, 3, 1), D(2026, 3, 31)
    assert P.period_containing("once", D(2026, 3, 15), anchor=start, due=due) == Period(start, due)
    assert P.period_containing("once", D(2026, 4, 1), anchor=start, due=due) is None
    assert P.campaign_periods("once", start, D(2026, 12, 31), due=due) == [Period(start, due)]
    assert P.campaign_periods("once", start, D(2026, 12, 31)) == [Period(start, D(2026, 12, 31))]
    with pytest.raises(ValueError, match="one-off"):
        P.period_containing("once", D(2026, 3, 15))


def test_unknown_frequency_is_an_error():
    with pytest.raises(ValueError, match="unknown"):
        P.period_containing("hourly", D(2026, 1, 1))


# Semesters ---------------------------------------------------------------------------------------


def test_default_semesters_and_the_gaps_between_them():
    autumn = P.period_containing("semester", D(2025, 9, 1))
    assert autumn is not None and (autumn.start, autumn.end) == (D(2025, 9, 1), D(2026, 1, 31))
    assert "2025" in autumn.name and "第一学期" in autumn.name
    assert P.period_containing("semester", D(2026, 1, 31)) == autumn
    assert P.period_containing("semester", D(2026, 2, 1)) is None  # winter holiday
    assert P.period_containing("semester", D(2026, 2, 28)) is None
    spring = P.period_containing("semester", D(2026, 3, 1))
    assert spring is not None and (spring.start, spring.end) == (D(2026, 3, 1), D(2026, 7, 15))
    assert P.period_containing("semester", D(2026, 7, 16)) is None  # summer holiday
    assert P.period_containing("semester", D(2026, 8, 31)) is None


def test_semesters_from_a_school_calendar():
    calendar = [Semester(D(2025, 9, 8), D(2026, 1, 18), "秋"), Semester(D(2026, 2, 23), D(2026, 7, 5), "春")]
    assert P.period_containing("semester", D(2025, 9, 7), semesters=calendar) is None
    assert P.period_containing("semester", D(2025, 9, 8), semesters=calendar) == Period(
        D(2025, 9, 8), D(2026, 1, 18)
    )
    assert P.period_containing("semester", D(2026, 2, 23), semesters=calendar).name == "春"
    assert P.period_containing("semester", D(2026, 7, 6), semesters=calendar) is None


# Campaign periods --------------------------------------------------------------------------------


def test_campaign_periods_are_clipped_and_cover_the_campaign():
    start, end = D(2026, 3, 4), D(2026, 5, 20)  # a Wednesday to a Wednesday
    weeks = P.campaign_periods("weekly", start, end)
    assert weeks[0] == Period(D(2026, 3, 4), D(2026, 3, 8))
    assert weeks[-1] == Period(D(2026, 5, 18), D(2026, 5, 20))  # three days: long enough
    months = P.campaign_periods("monthly", start, end)
    assert months == [
        Period(D(2026, 3, 4), D(2026, 3, 31)),
        Period(D(2026, 4, 1), D(2026, 4, 30)),
        Period(D(2026, 5, 1), D(2026, 5, 20)),
    ]
    days = P.campaign_periods("daily", start, end)
    assert len(days) == (end - start).days + 1
    for listed in (weeks, months, days):
        assert all(a.end + timedelta(days=1) == b.start for a, b in zip(listed, listed[1:], strict=False))
    assert P.campaign_periods("yearly", start, end) == [Period(start, end)]
    assert P.campaign_periods("weekly", end, start) == []


def test_campaign_semesters_follow_the_calendar_and_skip_gaps():
    start, end = D(2025, 9, 1), D(2026, 8, 31)
    default = P.campaign_periods("semester", start, end)
    assert [(p.start, p.end) for p in default] == [
        (D(2025, 9, 1), D(2026, 1, 31)),
        (D(2026, 3, 1), D(2026, 7, 15)),
    ]
    calendar = [Semester(D(2025, 9, 8), D(2026, 1, 18), "秋"), Semester(D(2026, 2, 23), D(2026, 7, 5), "春")]
    own = P.campaign_periods("semester", start, end, semesters=calendar)
    assert [p.name for p in own] == ["秋", "春"]
    assert P.campaign_period_containing("semester", D(2026, 2, 10), start, end, semesters=calendar) is None


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly", "semester", "yearly", "once"])
def test_period_containing_agrees_with_the_list(frequency):
    start, end = D(2023, 11, 15), D(2025, 3, 10)  # over a leap year and two year ends
    due = D(2024, 3, 31)
    listed = P.campaign_periods(frequency, start, end, due=due)
    day = start
    while day <= end:
        found = P.campaign_period_containing(frequency, day, start, end, due=due)
        assert found == P.locate(listed, day), day
        day += timedelta(days=1)
    assert P.campaign_period_containing(frequency, start - timedelta(days=1), start, end, due=due) is None


def test_short_ends_merge_into_their_neighbours():
    # A six-month campaign from mid-September: the spring semester would hold 13 days of it.
    start, end = D(2026, 9, 14), D(2027, 3, 13)
    assert P.campaign_periods("semester", start, end) == [Period(start, end)]
    assert P.campaign_period_containing("semester", D(2027, 2, 10), start, end) == Period(start, end)
    # A Sunday start does not demand a week's work in one day; a one-day tail neither.
    weeks = P.campaign_periods("weekly", D(2026, 3, 1), D(2026, 3, 30))
    assert weeks[0] == Period(D(2026, 3, 1), D(2026, 3, 8))
    assert weeks[-1] == Period(D(2026, 3, 23), D(2026, 3, 30))
    months = P.campaign_periods("monthly", D(2026, 3, 25), D(2026, 6, 3))
    assert months == [Period(D(2026, 3, 25), D(2026, 4, 30)), Period(D(2026, 5, 1), D(2026, 6, 3))]
    # No period is shorter than the minimum unless the campaign itself is.
    for frequency, least in P.MIN_DAYS.items():
        for offset in range(0, 40, 3):
            listed = P.campaign_periods(frequency, D(2025, 8, 20) + timedelta(days=offset), D(2027, 1, 5))
            assert all(p.days >= least for p in listed), (frequency, offset)
    assert P.campaign_periods("monthly", D(2026, 3, 25), D(2026, 3, 28)) == [
        Period(D(2026, 3, 25), D(2026, 3, 28))
    ]


def test_month_day_falls_inside_the_campaign():
    assert P.month_day("06-30", D(2025, 9, 1), D(2026, 8, 31)) == D(2026, 6, 30)
    assert P.month_day("12-31", D(2025, 9, 1), D(2026, 8, 31)) == D(2025, 12, 31)
    assert P.month_day("09-01", D(2025, 9, 1)) == D(2025, 9, 1)
    assert P.month_day("02-29", D(2025, 1, 1)) == D(2025, 2, 28)
    assert P.month_day("02-29", D(2024, 1, 1)) == D(2024, 2, 29)
    assert P.month_day("12-31", D(2026, 5, 1), D(2026, 6, 30)) == D(2026, 6, 30)  # kept within the end


def test_add_months_keeps_month_ends():
    assert actions.add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert actions.add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert actions.add_months(D(2025, 9, 1), 12) == D(2026, 9, 1)
    assert actions.add_months(D(2025, 11, 15), 3) == D(2026, 2, 15)


# Calendars from the database: the unit's own, a parent's, the default -----------------------------


def test_school_calendar_of_the_unit_or_its_nearest_ancestor(cast):
    actions.set_school_calendar(cast.uni, [Semester(D(2025, 9, 8), D(2026, 1, 18), "大学秋季")])
    actions.set_school_calendar(cast.cs, [Semester(D(2025, 9, 15), D(2026, 1, 25), "学院秋季")])
    calendars = compliance.load_calendars(cast.uni.path)
    owner, semesters = calendars.for_path(cast.cs2301.path)
    assert owner == cast.cs.path and [s.name for s in semesters] == ["学院秋季"]
    owner, semesters = calendars.for_path(cast.ma2301.path)
    assert owner == cast.uni.path and [s.name for s in semesters] == ["大学秋季"]
    assert compliance.load_calendars(cast.oc01.path).for_path(cast.oc01.path) == ("", None)
    # Loading from deep in the tree still finds the ancestors' calendars.
    assert compliance.load_calendars(cast.ma2301.path).for_path(cast.ma2301.path)[0] == cast.uni.path
    # An empty calendar restores the default (the parent's, here).
    actions.set_school_calendar(cast.cs, [])
    assert compliance.load_calendars(cast.uni.path).for_path(cast.cs2301.path)[0] == cast.uni.path


def test_school_calendar_refuses_overlaps_and_reversed_dates(cast):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        actions.set_school_calendar(
            cast.uni,
            [Semester(D(2025, 9, 1), D(2026, 1, 31), "a"), Semester(D(2026, 1, 31), D(2026, 7, 1), "b")],
        )
    with pytest.raises(ValidationError):
        actions.set_school_calendar(cast.uni, [Semester(D(2026, 1, 31), D(2025, 9, 1), "a")])
    with pytest.raises(ValidationError):
        actions.set_school_calendar(cast.uni, [Semester(D(2025, 9, 1), D(2026, 1, 31), " ")])
    assert not cast.uni.semesters.exists()


def test_a_one_off_kindergarten_lesson_is_demanded_once(county_cast):
    """Started mid-September for its six months, the lesson, the parents' reminder and the meeting are each
    one period over the whole campaign: no 13-day "second semester" asks for them again."""
    from fanzha.campaigns.models import CampaignTemplate, Obligation
    from fanzha.campaigns.plan_templates.actions import sync_builtin_templates

    sync_builtin_templates()
    template = CampaignTemplate.objects.get(
        code="kindergarten-lesson", source=CampaignTemplate.Source.BUILTIN
    )
    campaign = actions.start_campaign(template, county_cast.k01, D(2026, 9, 14), None, {})
    assert campaign.ends_on == D(2027, 3, 13)
    snap = compliance.snapshot(campaign, Obligation.objects.filter(rule__campaign=campaign), D(2027, 3, 20))
    assert snap.items
    for item in snap.items:
        state = snap.state(item, detail=True)
        assert [p.period for p in state.periods] == [Period(D(2026, 9, 14), D(2027, 3, 13))]
