"""The periods of an obligation's frequency: pure date arithmetic, no clock and no database.

Why pure: compliance, reminders, the calendar page and the tests all ask "which period holds
this day?" for days they choose, so nothing here reads today's date or a table. The school
calendar is passed in as a list of ``Semester`` values (``compliance.load_calendars`` reads
them); days between semesters belong to no semester.

A campaign's periods are the frequency's periods that overlap the campaign, clipped to it:
a campaign that starts on a Wednesday has a first week of Wednesday to Sunday. A clipped period
shorter than ``MIN_DAYS`` of its frequency is merged into its neighbour (a short head into the
next period, a short tail into the one before): a campaign that starts on a Sunday would otherwise
demand a week's work in one day, and a six-month campaign would demand a second "semester" of
thirteen days. A campaign too short for even one full-length period keeps the one it has.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.translation import gettext as _

DAILY, WEEKLY, MONTHLY, SEMESTER, YEARLY, ONCE = "daily", "weekly", "monthly", "semester", "yearly", "once"


# The fewest days a clipped campaign period may have before it is merged into its neighbour: about
# the time a unit needs to hold the activity the period demands (a class meeting needs a few days'
# notice; a semester's lesson needs a month of school). Daily and one-off periods are never merged.
MIN_DAYS = {WEEKLY: 3, MONTHLY: 15, SEMESTER: 30, YEARLY: 60}


@dataclass(frozen=True, order=True)
class Period:
    """A closed range of days ``start`` … ``end`` (both included)."""

    start: date
    end: date
    name: str = field(default="", compare=False)  # a semester's name, when there is one

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def clip(self, start: date, end: date) -> Period | None:
        """The part of this period inside ``start`` … ``end``, or None when they do not meet."""
        lo, hi = max(self.start, start), min(self.end, end)
        return Period(lo, hi, self.name) if lo <= hi else None


@dataclass(frozen=True, order=True)
class Semester:
    """One semester of a school calendar."""

    start: date
    end: date
    name: str = field(default="", compare=False)


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def month_day(mmdd: str, start: date, end: date | None = None) -> date:
    """The first date on or after ``start`` that falls on ``mmdd`` ("MM-DD"), kept within ``end``.

    Why not simply ``start.year``: a campaign from September to August that names "06-30"
    means the June inside the campaign, not the one before it. 02-29 in a common year is 02-28.
    """
    month, day = (int(part) for part in mmdd.split("-"))
    year = start.year
    last = calendar.monthrange(year, month)[1]
    candidate = date(year, month, min(day, last))
    if candidate < start:
        year += 1
        candidate = date(year, month, min(day, calendar.monthrange(year, month)[1]))
    if end is not None and candidate > end:
        return end
    return candidate


def default_semesters(first_year: int, last_year: int) -> list[Semester]:
    """The default calendar when a school has none: 1 Sep – 31 Jan and 1 Mar – 15 Jul.

    Covers every semester that touches the years ``first_year`` … ``last_year``.
    """
    result = []
    for year in range(first_year - 1, last_year + 1):
        spring = _("%(first)s—%(second)s学年第二学期") % {"first": year - 1, "second": year}
        autumn = _("%(first)s—%(second)s学年第一学期") % {"first": year, "second": year + 1}
        result.append(Semester(date(year, 3, 1), date(year, 7, 15), spring))
        result.append(Semester(date(year, 9, 1), date(year + 1, 1, 31), autumn))
    return sorted(result)


def day_period(day: date) -> Period:
    """The day itself: daily work is judged day by day."""
    return Period(day, day)


def week_period(day: date) -> Period:
    """The ISO week (Monday to Sunday) holding ``day``; it may straddle the new year."""
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


def month_period(day: date) -> Period:
    """The calendar month holding ``day`` (28 to 31 days)."""
    last = calendar.monthrange(day.year, day.month)[1]
    return Period(day.replace(day=1), day.replace(day=last))


def year_period(day: date, anchor: date | None = None) -> Period:
    """The calendar year holding ``day``, or with ``anchor`` the anchor's anniversary year holding it.

    Why an anchor: a campaign that runs from September to August counts its "yearly" work
    over its own twelve months, not over two half calendar years.
    """
    if anchor is None:
        return Period(date(day.year, 1, 1), date(day.year, 12, 31))
    years = day.year - anchor.year
    start = add_years(anchor, years)
    if start > day:
        years -= 1
        start = add_years(anchor, years)
    return Period(start, add_years(anchor, years + 1) - timedelta(days=1))


def semester_period(day: date, semesters: Sequence[Semester] | None = None) -> Period | None:
    """The semester holding ``day`` (the default calendar when ``semesters`` is None); None in a gap."""
    if semesters is None:
        semesters = default_semesters(day.year, day.year)
    for semester in semesters:
        if semester.start <= day <= semester.end:
            return Period(semester.start, semester.end, semester.name)
    return None


def period_containing(
    frequency: str,
    day: date,
    *,
    semesters: Sequence[Semester] | None = None,
    anchor: date | None = None,
    due: date | None = None,
) -> Period | None:
    """The period of ``frequency`` that holds ``day``; None when no period does.

    ``anchor`` is the campaign's first day (yearly periods count from it; a one-off period
    starts on it); ``due`` ends a one-off period.
    """
    if frequency == DAILY:
        return day_period(day)
    if frequency == WEEKLY:
        return week_period(day)
    if frequency == MONTHLY:
        return month_period(day)
    if frequency == SEMESTER:
        return semester_period(day, semesters)
    if frequency == YEARLY:
        return year_period(day, anchor)
    if frequency == ONCE:
        if anchor is None or due is None:
            raise ValueError("a one-off period needs an anchor and a due date")
        return Period(anchor, due) if anchor <= day <= due else None
    raise ValueError(f"unknown frequency {frequency!r}")


def campaign_periods(
    frequency: str,
    start: date,
    end: date,
    *,
    semesters: Sequence[Semester] | None = None,
    due: date | None = None,
) -> list[Period]:
    """The periods of ``frequency`` that overlap the campaign ``start`` … ``end``, clipped to it, in order,
    with a period shorter than ``MIN_DAYS`` merged into its neighbour.

    A one-off obligation has one period, from the campaign's start to ``due`` (or its end).
    """
    if end < start:
        return []
    if frequency == ONCE:
        return [Period(start, min(max(due or end, start), end))]
    if frequency == SEMESTER:
        if semesters is None:
            semesters = default_semesters(start.year, end.year)
        found = (Period(s.start, s.end, s.name).clip(start, end) for s in semesters)
        return merge_short(sorted(p for p in found if p is not None), MIN_DAYS[SEMESTER])
    result: list[Period] = []
    day = start
    while day <= end:
        period = period_containing(frequency, day, anchor=start)
        assert period is not None
        clipped = period.clip(start, end)
        assert clipped is not None
        result.append(clipped)
        day = period.end + timedelta(days=1)
    return merge_short(result, MIN_DAYS.get(frequency, 1))


def merge_short(periods: list[Period], min_days: int) -> list[Period]:
    """Merge a first or last period shorter than ``min_days`` into its neighbour (see the module's
    docstring); the merged period keeps the longer one's name. Only the ends are clipped, so only they
    can be short."""
    result = list(periods)
    if len(result) > 1 and result[-1].days < min_days:
        last = result.pop()
        result[-1] = Period(result[-1].start, last.end, result[-1].name)
    if len(result) > 1 and result[0].days < min_days:
        first = result.pop(0)
        result[0] = Period(first.start, result[0].end, result[0].name)
    return result


def campaign_period_containing(
    frequency: str,
    day: date,
    start: date,
    end: date,
    *,
    semesters: Sequence[Semester] | None = None,
    due: date | None = None,
) -> Period | None:
    """The campaign period (as ``campaign_periods`` lists them, merged ends included) holding ``day``."""
    if not start <= day <= end:
        return None
    return locate(campaign_periods(frequency, start, end, semesters=semesters, due=due), day)


def record_period(periods: Sequence[Period], day: date, frequency: str) -> Period | None:
    """The campaign period a record of ``day`` counts for: the period holding it, or, for a one-off
    rule, its only period when the record is older than the campaign.

    Why only one-off rules: they ask for preparation (a branch's plan, a leadership group) that a
    diligent unit files before the month starts; clipping it away would mark the early unit overdue.
    Recurring work (a monthly outdoor event) done before the start belongs to no period of this campaign.
    """
    if frequency == ONCE and periods and day < periods[0].start:
        return periods[0]
    return locate(periods, day)


def locate(periods: Sequence[Period], day: date) -> Period | None:
    """The period of a sorted, non-overlapping list that holds ``day`` (binary search)."""
    index = bisect_right(periods, Period(day, date.max)) - 1
    if index >= 0 and day in periods[index]:
        return periods[index]
    return None
