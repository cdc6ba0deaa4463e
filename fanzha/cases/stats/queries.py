"""Statistics of the case ledger: cases and losses by unit, type and month, the change against last
year and the previous period, the campaigns' case goals, and how fast alerts go out and are
acknowledged.

Pure reads over a queryset the caller has already scoped (``queries.cases_for``) and restricted to
a unit's subtree (``unit_cases``); nothing here decides who may see what. Every figure is a handful
of aggregate queries whatever the number of units (children are told apart by a prefix of the
unit path), and the database is not asked for anything SQLite and PostgreSQL do differently:
months come from ``TruncMonth`` in the current time zone, medians are computed in Python.
"""

from __future__ import annotations

import calendar
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.campaigns.models import Campaign, Goal
from fanzha.org.models import RESIDENCE_KINDS, Unit
from fanzha.org.scope import Cap, area_q, scope_paths, subtree_jurisdiction, tree_paths, units_for

from .. import queries
from ..models import Alert, Case, CaseState, FraudKind, Outcome

CASE_METRICS = ("case_change_yoy", "case_change_mom")
ZERO = Decimal("0")
FIRST_YEAR = 2000


# What the page and the API are asked for ----------------------------------------------------------


def scoped_unit(user: Any, raw: str) -> Unit | None:
    """The unit ``raw`` (a pk) inside the user's case scope, or where that scope begins when ``raw`` is
    empty; None when it is not a pk, outside the scope or missing (the caller answers 404 alike)."""
    units = units_for(user, Cap.CASE_VIEW)
    if raw:
        return units.filter(pk=int(raw)).first() if raw.isdigit() else None
    # The user's own unit first: a station's jurisdiction (schools elsewhere in the tree) is reachable
    # but is not where its police start.
    roots = tree_paths(user, Cap.CASE_VIEW) or scope_paths(user, Cap.CASE_VIEW)
    return Unit.objects.filter(path__in=roots).order_by("path").first()


def period_of(params: Mapping[str, str]) -> tuple[int, int | None]:
    """The year (``year``, default this year) and the month (``month`` 1–12, or None: the whole year);
    out-of-range values fall back to the default rather than failing."""
    today = timezone.localdate()
    year, month = today.year, None
    raw_year = params.get("year", "") or ""
    if raw_year.isdigit() and FIRST_YEAR <= int(raw_year) <= today.year + 1:
        year = int(raw_year)
    raw_month = params.get("month", "") or ""
    if raw_month.isdigit() and 1 <= int(raw_month) <= 12:
        month = int(raw_month)
    return year, month


# Periods ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days ``first`` … ``last`` (inclusive); reads use [start, end) in aware datetimes."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def is_month(self) -> bool:
        return (
            self.first.day == 1
            and self.last.year == self.first.year
            and self.last.month == self.first.month
            and self.last.day == calendar.monthrange(self.first.year, self.first.month)[1]
        )

    @property
    def is_year(self) -> bool:
        return self.first == date(self.first.year, 1, 1) and self.last == date(self.first.year, 12, 31)

    def __str__(self) -> str:
        return f"{self.first:%Y-%m-%d} — {self.last:%Y-%m-%d}"


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31))


def month_period(year: int, month: int) -> Period:
    return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


Day = TypeVar("Day", bound=date)  # a date or a datetime


def minus_year(day: Day) -> Day:
    """The same day (or moment) a year earlier; 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def year_earlier(period: Period) -> Period:
    """The same days one year earlier (the base of a year-on-year change)."""
    if period.is_month:  # a whole February stays a whole February
        return month_period(period.first.year - 1, period.first.month)
    return Period(minus_year(period.first), minus_year(period.last))


def previous(period: Period) -> Period:
    """The period just before (the base of a month-on-month change): the previous calendar month or
    year for a month or a year, otherwise the same number of days right before."""
    if period.is_month:
        before = period.first - timedelta(days=1)
        return month_period(before.year, before.month)
    if period.is_year:
        return year_period(period.first.year - 1)
    return Period(period.first - timedelta(days=period.days), period.first - timedelta(days=1))


# Figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    cases: int = 0
    loss: Decimal = ZERO


def percent_change(current: int | Decimal, base: int | Decimal) -> float | None:
    """Change from ``base`` to ``current`` in percent, one decimal; None when the base is 0."""
    if not base:
        return None
    return round(float((Decimal(current) - Decimal(base)) / Decimal(base) * 100), 1)


def unit_cases(user: Any, unit: Unit) -> QuerySet[Case]:
    """The cases of ``unit``'s subtree (and of its stations' jurisdiction) that the user may see."""
    return queries.cases_for(user).filter(area_q(unit))


def _in(qs: QuerySet[Case], period: Period) -> QuerySet[Case]:
    return qs.filter(reported_at__gte=period.start, reported_at__lt=period.end)


def tallies(qs: QuerySet[Case], periods: dict[str, Period]) -> dict[str, Tally]:
    """Cases and loss of each named period: one query, whatever the number of periods."""
    if not periods:
        return {}
    keys = list(periods)
    aggregates: dict[str, Any] = {}
    for i, key in enumerate(keys):
        p = periods[key]
        where = Q(reported_at__gte=p.start, reported_at__lt=p.end)
        aggregates[f"n{i}"] = Count("pk", filter=where)
        aggregates[f"loss{i}"] = Sum("total_loss", filter=where)
    first = min(p.start for p in periods.values())
    last = max(p.end for p in periods.values())
    row = qs.filter(reported_at__gte=first, reported_at__lt=last).order_by().aggregate(**aggregates)
    return {key: Tally(row[f"n{i}"] or 0, row[f"loss{i}"] or ZERO) for i, key in enumerate(keys)}


@dataclass
class UnitRow:
    unit: Unit
    tally: Tally
    own: bool = False  # the unit's own cases, recorded at the unit itself and not at a child


def _add_jurisdiction(found: dict[str, Tally], qs: QuerySet[Case], unit: Unit, period: Period) -> None:
    """Add the cases of the places in the jurisdiction of ``unit``'s stations to the row of the child
    holding the station (a row per place when ``unit`` is the station): one query, none without."""
    pairs = subtree_jurisdiction(unit)
    if not pairs:
        return
    width = len(unit.path) + Unit.steplen
    aggregates: dict[str, Any] = {}
    for i, pair in enumerate(pairs):
        where = Q(unit__path__startswith=pair[1])
        aggregates[f"n{i}"] = Count("pk", filter=where)
        aggregates[f"loss{i}"] = Sum("total_loss", filter=where)
    row = _in(qs, period).order_by().aggregate(**aggregates)
    for i, (station, place) in enumerate(pairs):
        if row[f"n{i}"]:
            branch = place if station == unit.path else station[:width]  # the station: a row per place
            before = found.get(branch, Tally())
            found[branch] = Tally(before.cases + row[f"n{i}"], before.loss + (row[f"loss{i}"] or ZERO))


def by_unit(qs: QuerySet[Case], unit: Unit, period: Period) -> list[UnitRow]:
    """Cases and loss per child of ``unit`` (its whole subtree each), most cases first, and a row for
    cases recorded at ``unit`` itself when there are any: two queries. Dormitory buildings and rooms
    (``RESIDENCE_KINDS``) are listed only when cases were recorded under them."""
    width = len(unit.path) + Unit.steplen
    rows = (
        _in(qs.filter(unit__path__startswith=unit.path), period)
        .annotate(branch=Substr("unit__path", 1, width))
        .values("branch")
        .annotate(n=Count("pk"), loss=Sum("total_loss"))
        .order_by()
    )
    found = {r["branch"]: Tally(r["n"], r["loss"] or ZERO) for r in rows}
    _add_jurisdiction(found, qs, unit, period)
    children = Unit.objects.filter(parent_path=unit.path).filter(
        (Q(is_active=True) & ~Q(kind__in=RESIDENCE_KINDS)) | Q(path__in=list(found))
    )
    result = [UnitRow(child, found.get(child.path, Tally())) for child in children.order_by("path")]
    places = [p for p in found if not p.startswith(unit.path)]  # a station's jurisdiction
    if places:
        result += [UnitRow(u, found[u.path]) for u in Unit.objects.filter(path__in=places).order_by("path")]
    result.sort(key=lambda r: (-r.tally.cases, -r.tally.loss, r.unit.path))
    if unit.path in found:
        result.insert(0, UnitRow(unit, found[unit.path], own=True))
    return result


@dataclass
class TypeRow:
    code: str
    label: str
    tally: Tally


def by_type(qs: QuerySet[Case], period: Period) -> list[TypeRow]:
    """Cases and loss per fraud type that occurs, most cases first: one query."""
    rows = _in(qs, period).values("fraud_type").annotate(n=Count("pk"), loss=Sum("total_loss")).order_by()
    labels = dict(FraudKind.choices)
    result = [
        TypeRow(r["fraud_type"], str(labels.get(r["fraud_type"], r["fraud_type"])), Tally(r["n"], r["loss"]))
        for r in rows
    ]
    result.sort(key=lambda r: (-r.tally.cases, -r.tally.loss, r.code))
    return result


@dataclass
class MonthRow:
    month: int
    this: Tally
    last: Tally  # the same month a year earlier

    @property
    def cases_yoy(self) -> float | None:
        return percent_change(self.this.cases, self.last.cases)


def by_month(qs: QuerySet[Case], year: int) -> list[MonthRow]:
    """The twelve months of ``year`` beside the same months of the year before, in local time: one query."""
    span = Period(date(year - 1, 1, 1), date(year, 12, 31))
    rows = (
        _in(qs, span)
        .annotate(month=TruncMonth("reported_at", tzinfo=timezone.get_current_timezone()))
        .values("month")
        .annotate(n=Count("pk"), loss=Sum("total_loss"))
        .order_by()
    )
    found: dict[tuple[int, int], Tally] = {}
    for r in rows:
        month = r["month"]
        if isinstance(month, datetime) and timezone.is_aware(month):
            month = timezone.localtime(month)
        found[(month.year, month.month)] = Tally(r["n"], r["loss"] or ZERO)
    return [
        MonthRow(m, found.get((year, m), Tally()), found.get((year - 1, m), Tally())) for m in range(1, 13)
    ]


@dataclass
class Change:
    """A period against the same period a year earlier (yoy) and the period just before (mom)."""

    period: Period
    current: Tally
    year_before: Tally
    previous: Tally
    year_before_period: Period
    previous_period: Period

    @property
    def cases_yoy(self) -> float | None:
        return percent_change(self.current.cases, self.year_before.cases)

    @property
    def cases_mom(self) -> float | None:
        return percent_change(self.current.cases, self.previous.cases)

    @property
    def loss_yoy(self) -> float | None:
        return percent_change(self.current.loss, self.year_before.loss)

    @property
    def loss_mom(self) -> float | None:
        return percent_change(self.current.loss, self.previous.loss)


def change(qs: QuerySet[Case], unit: Unit | None, period: Period) -> Change:
    """Year-on-year and month-on-month change of the cases of ``unit``'s subtree: one query."""
    if unit is not None:
        qs = qs.filter(area_q(unit))
    yoy, mom = year_earlier(period), previous(period)
    t = tallies(qs, {"now": period, "yoy": yoy, "mom": mom})
    return Change(period, t["now"], t["yoy"], t["mom"], yoy, mom)


# Goals ------------------------------------------------------------------------------------------


def goal_met(target: Decimal | float, actual: float | None) -> bool | None:
    """Whether a change in percent meets a case goal: a target of 0 means "down" (strictly fewer),
    any other target is a ceiling (−50: down by half or more). None when there is no figure."""
    if actual is None:
        return None
    if Decimal(str(target)) == 0:
        return actual < 0
    return actual <= float(target)


@dataclass
class GoalProgress:
    goal: Goal
    period: Period | None  # None: the campaign has not started yet
    base_period: Period | None
    current: Tally
    base: Tally
    actual: float | None
    met: bool | None

    @property
    def target_text(self) -> str:
        """The target as the plan document words it: 下降50%以上, 下降, 增幅不超过5%."""
        target = Decimal(self.goal.target)
        number = format(abs(target).normalize(), "f")
        if target < 0:
            return _("下降%(percent)s%%以上") % {"percent": number}
        if target == 0:
            return _("下降")
        return _("增幅不超过%(percent)s%%") % {"percent": number}


def goal_periods(campaign: Campaign, goal: Goal, today: date) -> tuple[Period, Period] | None:
    """The campaign's period up to today (or the goal's deadline), and the period it is measured against."""
    last = min(today, goal.deadline, campaign.ends_on)
    if last < campaign.starts_on:
        return None
    period = Period(campaign.starts_on, last)
    base = year_earlier(period) if goal.metric == "case_change_yoy" else previous(period)
    return period, base


def case_goals(goals: Iterable[Goal]) -> list[Goal]:
    return [g for g in goals if g.metric in CASE_METRICS]


def goal_progress(
    campaign: Campaign, qs: QuerySet[Case], today: date | None = None, goals: Iterable[Goal] | None = None
) -> list[GoalProgress]:
    """Each case goal of the campaign (``case_change_yoy`` / ``case_change_mom``) with the actual change
    of the cases in ``qs`` inside the campaign's unit, and whether it is met: one query."""
    today = today or timezone.localdate()
    if goals is None:
        goals = Goal.objects.filter(campaign=campaign).order_by("deadline", "pk")
    wanted = case_goals(goals)
    periods: dict[str, Period] = {}
    spans: dict[int, tuple[Period, Period] | None] = {}
    for goal in wanted:
        spans[goal.pk] = goal_periods(campaign, goal, today)
        span = spans[goal.pk]
        if span is not None:
            periods[f"{goal.pk}:now"], periods[f"{goal.pk}:base"] = span
    t = tallies(qs.filter(area_q(campaign.unit)), periods)
    result = []
    for goal in wanted:
        span = spans[goal.pk]
        if span is None:
            result.append(GoalProgress(goal, None, None, Tally(), Tally(), None, None))
            continue
        now, base = t[f"{goal.pk}:now"], t[f"{goal.pk}:base"]
        actual = percent_change(now.cases, base.cases)
        result.append(GoalProgress(goal, span[0], span[1], now, base, actual, goal_met(goal.target, actual)))
    return result


# Response times ---------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0–100) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def duration_text(seconds: float | None) -> str:
    """A duration as people read it: 45秒, 3分20秒, 2小时5分."""
    if seconds is None:
        return "—"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)d小时%(m)d分") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d分%(s)d秒") % {"m": minutes, "s": secs}
    return _("%(s)d秒") % {"s": secs}


@dataclass
class ResponseTimes:
    """How fast the stop-payment alerts went out and were acknowledged, and what they saved."""

    alerts: int = 0
    acknowledged: int = 0
    late: int = 0  # acknowledged after FANZHA_ALERT_ESCALATE_MINUTES
    to_alert: list[float] = field(default_factory=list)
    to_ack: list[float] = field(default_factory=list)
    cases: int = 0
    closed: int = 0
    loss: Decimal = ZERO
    frozen: Decimal = ZERO
    recovered: Decimal = ZERO
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def unacknowledged(self) -> int:
        return self.alerts - self.acknowledged

    @property
    def alert_median(self) -> float | None:
        return statistics.median(self.to_alert) if self.to_alert else None

    @property
    def alert_p90(self) -> float | None:
        return percentile(self.to_alert, 90)

    @property
    def ack_median(self) -> float | None:
        return statistics.median(self.to_ack) if self.to_ack else None

    @property
    def ack_p90(self) -> float | None:
        return percentile(self.to_ack, 90)

    @property
    def texts(self) -> dict[str, str]:
        return {
            "alert_median": duration_text(self.alert_median),
            "alert_p90": duration_text(self.alert_p90),
            "ack_median": duration_text(self.ack_median),
            "ack_p90": duration_text(self.ack_p90),
        }


def response_times(qs: QuerySet[Case]) -> ResponseTimes:
    """Seconds from report to alert and from alert to acknowledgement (median, p90), late
    acknowledgements, and the outcome sums of the cases: two queries."""
    late_after = settings.FANZHA_ALERT_ESCALATE_MINUTES * 60
    result = ResponseTimes()
    rows = Alert.objects.filter(case__in=qs.order_by().values("pk")).values_list(
        "raised_at", "acknowledged_at", "case__reported_at"
    )
    for raised_at, acknowledged_at, reported_at in rows:
        result.alerts += 1
        result.to_alert.append(max(0.0, (raised_at - reported_at).total_seconds()))
        if acknowledged_at is not None:
            seconds = max(0.0, (acknowledged_at - raised_at).total_seconds())
            result.acknowledged += 1
            result.to_ack.append(seconds)
            if seconds > late_after:
                result.late += 1
    sums = qs.order_by().aggregate(
        cases=Count("pk"),
        loss=Sum("total_loss"),
        frozen=Sum("frozen_amount"),
        recovered=Sum("recovered_amount"),
        closed=Count("pk", filter=Q(state=CaseState.CLOSED)),
        **{f"outcome_{o}": Count("pk", filter=Q(outcome=o)) for o in Outcome.values},
    )
    result.cases = sums["cases"] or 0
    result.closed = sums["closed"] or 0
    result.loss = sums["loss"] or ZERO
    result.frozen = sums["frozen"] or ZERO
    result.recovered = sums["recovered"] or ZERO
    result.outcomes = {o: sums[f"outcome_{o}"] or 0 for o in Outcome.values}
    return result


# The statistics page's whole report --------------------------------------------------------------


@dataclass
class CampaignGoals:
    campaign: Campaign
    goals: list[GoalProgress]


@dataclass
class Report:
    unit: Unit
    year: int
    month: int | None
    period: Period
    change: Change
    units: list[UnitRow]
    types: list[TypeRow]
    months: list[MonthRow]
    response: ResponseTimes
    campaigns: list[CampaignGoals]


def running_campaigns(campaigns: QuerySet[Campaign], unit: Unit) -> list[Campaign]:
    """Of ``campaigns``, the active ones issued at ``unit`` or above it that have a case goal."""
    step = Unit.steplen
    above = [unit.path[:i] for i in range(step, len(unit.path) + 1, step)]
    return list(
        campaigns.filter(unit__path__in=above, status=Campaign.Status.ACTIVE, goals__metric__in=CASE_METRICS)
        .distinct()
        .select_related("unit")
        .prefetch_related("goals")
        .order_by("-starts_on", "pk")
    )


def report(
    qs: QuerySet[Case],
    unit: Unit,
    year: int,
    month: int | None = None,
    campaigns: Iterable[Campaign] = (),
    today: date | None = None,
) -> Report:
    """Every figure of the statistics page for ``unit``'s subtree (``qs`` already restricted to it)."""
    period = month_period(year, month) if month else year_period(year)
    in_period = _in(qs, period)
    progress = []
    for campaign in campaigns:
        goals = sorted(campaign.goals.all(), key=lambda g: (g.deadline, g.pk))
        progress.append(CampaignGoals(campaign, goal_progress(campaign, qs, today, goals)))
    return Report(
        unit=unit,
        year=year,
        month=month,
        period=period,
        change=change(qs, None, period),
        units=by_unit(qs, unit, period),
        types=by_type(qs, period),
        months=by_month(qs, year),
        response=response_times(in_period),
        campaigns=progress,
    )
