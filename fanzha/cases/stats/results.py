"""Figures of the police results (破案战果): cases cleared, suspects caught, money recovered and gangs
broken, per child unit and period, beside the case figures of ``stats``.

Why counted by the date of the result: a case reported in December and cleared in March is March's
result; the month's bulletin must show what the police did that month. Scope: results count only
for cases the user may see (``queries.cases_for``), gangs only for units in the user's case scope.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from fanzha.org.models import Unit
from fanzha.org.scope import Cap, path_q, scope_paths

from .. import queries
from ..models import Case, CaseResult, Gang
from ..stats.queries import (
    Period,
    Tally,
    UnitRow,
    by_unit,
    month_period,
    percent_change,
    year_earlier,
    year_period,
)
from .queries import previous as previous_period

ZERO = Decimal("0")


def results_for(user: Any) -> QuerySet[CaseResult]:
    """Results of the cases the user may see."""
    return CaseResult.objects.filter(path_q(scope_paths(user, Cap.CASE_VIEW), "case__unit__path"))


def gangs_for(user: Any) -> QuerySet[Gang]:
    """Gangs recorded at units in the user's case scope."""
    return Gang.objects.filter(path_q(scope_paths(user, Cap.CASE_VIEW), "unit__path"))


@dataclass(frozen=True)
class Sources:
    """What the figures read: the cases, results and gangs someone may see."""

    cases: QuerySet[Case]
    results: QuerySet[CaseResult]
    gangs: QuerySet[Gang]


def sources_for(user: Any) -> Sources:
    """The user's case scope (``Cap.CASE_VIEW``)."""
    return Sources(queries.cases_for(user), results_for(user), gangs_for(user))


def all_sources() -> Sources:
    """Everything: for the operator's ``fanzha bulletin`` command run on the server without an account
    (the bulletin holds aggregates only, no victim's details)."""
    return Sources(Case.objects.all(), CaseResult.objects.all(), Gang.objects.all())


# Periods of a bulletin ----------------------------------------------------------------------------


def quarter_period(year: int, quarter: int) -> Period:
    last_month = quarter * 3
    return Period(
        date(year, last_month - 2, 1), date(year, last_month, calendar.monthrange(year, last_month)[1])
    )


def is_quarter(period: Period) -> bool:
    q = (period.first.month - 1) // 3 + 1
    return period.first.month % 3 == 1 and period == quarter_period(period.first.year, q)


def previous(period: Period) -> Period:
    """The period just before: the previous quarter for a quarter (``stats.previous`` otherwise)."""
    if is_quarter(period):
        q = (period.first.month - 1) // 3 + 1
        return quarter_period(period.first.year - (q == 1), 4 if q == 1 else q - 1)
    return previous_period(period)


def parse_period(month: str = "", quarter: str = "", year: str = "") -> Period | None:
    """``2026-03``, ``2026-Q1`` or ``2026`` (exactly one of them) as a period; None when malformed."""
    given = [v for v in (month, quarter, year) if v]
    if len(given) != 1:
        return None
    if month:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", month.strip())
        if m and 2000 <= int(m[1]) <= 2100 and 1 <= int(m[2]) <= 12:
            return month_period(int(m[1]), int(m[2]))
    elif quarter:
        m = re.fullmatch(r"(\d{4})-?[Qq]([1-4])", quarter.strip())
        if m and 2000 <= int(m[1]) <= 2100:
            return quarter_period(int(m[1]), int(m[2]))
    else:
        m = re.fullmatch(r"(\d{4})", year.strip())
        if m and 2000 <= int(m[1]) <= 2100:
            return year_period(int(m[1]))
    return None


def period_label(period: Period) -> str:
    """二〇二六年三月 style is for titles; lists read 2026年3月, 2026年第1季度, 2026年."""
    if period.is_month:
        return _("%(y)d年%(m)d月") % {"y": period.first.year, "m": period.first.month}
    if is_quarter(period):
        return _("%(y)d年第%(q)d季度") % {"y": period.first.year, "q": (period.first.month - 1) // 3 + 1}
    if period.is_year:
        return _("%(y)d年") % {"y": period.first.year}
    return str(period)


def period_code(period: Period) -> str:
    """What the command takes: 2026-03, 2026-Q1, 2026."""
    if period.is_month:
        return f"{period.first:%Y-%m}"
    if is_quarter(period):
        return f"{period.first.year}-Q{(period.first.month - 1) // 3 + 1}"
    return str(period.first.year)


# Figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultTally:
    cleared: int = 0
    suspects: int = 0
    recovered: Decimal = ZERO
    gangs: int = 0
    gang_members: int = 0

    def __add__(self, other: ResultTally) -> ResultTally:
        return ResultTally(
            self.cleared + other.cleared,
            self.suspects + other.suspects,
            self.recovered + other.recovered,
            self.gangs + other.gangs,
            self.gang_members + other.gang_members,
        )


def clearance_rate(cleared: int, cases: int) -> float | None:
    """Cases cleared in the period over cases received in it, in percent (one decimal); None without
    cases. Can pass 100 when older cases are cleared in a quiet period: that is the police's work too."""
    if not cases:
        return None
    return round(cleared * 100 / cases, 1)


def _on(period: Period, field_name: str) -> Q:
    return Q(**{f"{field_name}__gte": period.first, f"{field_name}__lte": period.last})


def result_tallies(
    results: QuerySet[CaseResult], gangs: QuerySet[Gang], unit: Unit, periods: dict[str, Period]
) -> dict[str, ResultTally]:
    """The results of ``unit``'s subtree dated inside each named period: two queries, whatever the
    number of periods."""
    ragg: dict[str, Any] = {}
    gagg: dict[str, Any] = {}
    keys = list(periods)
    for i, key in enumerate(keys):
        on, broken = _on(periods[key], "on"), _on(periods[key], "broken_on")
        ragg[f"c{i}"] = Count("pk", filter=on & Q(kind=CaseResult.Kind.CLEARED))
        ragg[f"s{i}"] = Sum("count", filter=on & Q(kind=CaseResult.Kind.SUSPECTS))
        ragg[f"r{i}"] = Sum("amount", filter=on & Q(kind=CaseResult.Kind.RECOVERED))
        gagg[f"g{i}"] = Count("pk", filter=broken)
        gagg[f"m{i}"] = Sum("members_caught", filter=broken)
    r = results.filter(case__unit__path__startswith=unit.path).order_by().aggregate(**ragg)
    g = gangs.filter(unit__path__startswith=unit.path).order_by().aggregate(**gagg)
    return {
        key: ResultTally(
            r[f"c{i}"] or 0, r[f"s{i}"] or 0, r[f"r{i}"] or ZERO, g[f"g{i}"] or 0, g[f"m{i}"] or 0
        )
        for i, key in enumerate(keys)
    }


def results_by_branch(
    results: QuerySet[CaseResult], gangs: QuerySet[Gang], unit: Unit, period: Period
) -> dict[str, ResultTally]:
    """Results per child of ``unit`` (keyed by the child's path, or ``unit.path`` for the unit's own):
    two queries whatever the number of children."""
    width = len(unit.path) + Unit.steplen
    found: dict[str, ResultTally] = {}
    rows = (
        results.filter(_on(period, "on"), case__unit__path__startswith=unit.path)
        .annotate(branch=Substr("case__unit__path", 1, width))
        .values("branch")
        .annotate(
            cleared=Count("pk", filter=Q(kind=CaseResult.Kind.CLEARED)),
            suspects=Sum("count", filter=Q(kind=CaseResult.Kind.SUSPECTS)),
            recovered=Sum("amount", filter=Q(kind=CaseResult.Kind.RECOVERED)),
        )
        .order_by()
    )
    for row in rows:
        found[row["branch"]] = ResultTally(
            row["cleared"] or 0, row["suspects"] or 0, row["recovered"] or ZERO
        )
    grows = (
        gangs.filter(_on(period, "broken_on"), unit__path__startswith=unit.path)
        .annotate(branch=Substr("unit__path", 1, width))
        .values("branch")
        .annotate(n=Count("pk"), members=Sum("members_caught"))
        .order_by()
    )
    for row in grows:
        found[row["branch"]] = found.get(row["branch"], ResultTally()) + ResultTally(
            gangs=row["n"] or 0, gang_members=row["members"] or 0
        )
    return found


@dataclass
class ResultRow:
    """One child unit (or the unit's own row): its cases received and its results in the period."""

    unit: Unit
    cases: Tally
    results: ResultTally
    own: bool = False
    rank: int = 0  # by cases received, most first (1 = most)

    @property
    def rate(self) -> float | None:
        return clearance_rate(self.results.cleared, self.cases.cases)


@dataclass
class ResultChange:
    period: Period
    current: ResultTally
    year_before: ResultTally
    previous: ResultTally
    cases: Tally = field(default_factory=Tally)

    @property
    def rate(self) -> float | None:
        return clearance_rate(self.current.cleared, self.cases.cases)

    def yoy(self, name: str) -> float | None:
        return percent_change(getattr(self.current, name), getattr(self.year_before, name))

    def mom(self, name: str) -> float | None:
        return percent_change(getattr(self.current, name), getattr(self.previous, name))


@dataclass
class ResultFigures:
    change: ResultChange
    units: list[ResultRow]


def figures(src: Sources, unit: Unit, period: Period, received: list[UnitRow] | None = None) -> ResultFigures:
    """The results of ``unit``'s subtree in ``period`` and its year-on-year and previous-period bases,
    and per child unit beside the cases received (``received``: ``stats.by_unit`` of the same cases and
    period, when the caller has it already)."""
    results, gangs = src.results, src.gangs
    if received is None:
        received = by_unit(src.cases.filter(unit__path__startswith=unit.path), unit, period)
    branches = results_by_branch(results, gangs, unit, period)
    rows = [ResultRow(r.unit, r.tally, branches.get(r.unit.path, ResultTally()), own=r.own) for r in received]
    ranked = sorted(
        (r for r in rows if not r.own), key=lambda r: (-r.cases.cases, -r.cases.loss, r.unit.path)
    )
    for i, row in enumerate(ranked, start=1):
        row.rank = i
    total_cases = Tally(sum(r.cases.cases for r in rows), sum((r.cases.loss for r in rows), ZERO))
    t = result_tallies(
        results, gangs, unit, {"now": period, "yoy": year_earlier(period), "mom": previous(period)}
    )
    change = ResultChange(period, t["now"], t["yoy"], t["mom"], total_cases)
    return ResultFigures(change, rows)
