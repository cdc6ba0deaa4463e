"""The jurisdiction overview: per place assigned to a station (per station for a unit above stations),
this year's cases against the same days last year, the alerts still awaiting the police, and the
publicity activities recorded at the place this year (all campaigns) with the people they reached.

Why here and not in ``org``: the figures are cases and campaign activities, which ``org`` must not
import. Counts only, never a person: the user reaches the places through ``org.scope`` (the case
scope's jurisdiction), and every queryset is cut to ``scope_paths(user, Cap.CASE_VIEW)`` so nothing
else widens. Three grouped queries whatever the number of places; the grouped unit paths are told
apart in Python by the place they lie in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from fanzha.campaigns.models import Activity
from fanzha.org.models import Unit, UnitKind
from fanzha.org.scope import POLICE_KINDS, Cap, path_q, scope_paths, subtree_jurisdiction, tree_paths

from .. import queries
from ..models import Alert
from ..stats.queries import Period, percent_change, year_earlier, year_period


def overview_unit(user: Any, raw: str) -> Unit | None:
    """The police unit ``raw`` (a pk) in the user's own case tree, or the first such unit where that
    tree begins when ``raw`` is empty; None otherwise (the caller answers 404). A school's or bank's
    user never has one: jurisdiction is the police side's."""
    units = Unit.objects.filter(
        path_q(tree_paths(user, Cap.CASE_VIEW)), kind__in=POLICE_KINDS, is_active=True
    ).order_by("path")
    if raw:
        return units.filter(pk=int(raw)).first() if raw.isdigit() else None
    return units.first()


def year_to_date(year: int, today: date | None = None) -> Period:
    """The whole ``year``, or 1 January to today for the current year (so the change against the same
    days of last year compares like with like)."""
    today = today or timezone.localdate()
    whole = year_period(year)
    if whole.first <= today < whole.last:
        return Period(whole.first, today)
    return whole


@dataclass
class Figures:
    cases: int = 0
    cases_before: int = 0  # the same days one year earlier
    open_alerts: int = 0
    activities: int = 0
    reached: int = 0  # people reached: the activities' attendance

    @property
    def cases_yoy(self) -> float | None:
        return percent_change(self.cases, self.cases_before)

    def add(self, other: Figures) -> None:
        self.cases += other.cases
        self.cases_before += other.cases_before
        self.open_alerts += other.open_alerts
        self.activities += other.activities
        self.reached += other.reached


@dataclass
class Row:
    unit: Unit  # a place (the station's view) or a station (a unit above stations)
    station: Unit | None = None  # a place's station
    places: int = 0  # a station's number of places
    figures: Figures = field(default_factory=Figures)


@dataclass
class Overview:
    unit: Unit
    period: Period
    base: Period
    per_station: bool  # rows are stations (a unit above stations), else places
    rows: list[Row]
    total: Figures


def _grouped(user: Any, places: list[str], period: Period, base: Period) -> dict[str, Figures]:
    """Figures per unit path inside ``places`` that the user may count: three queries."""
    found: dict[str, Figures] = {}
    if not places:
        return found
    where = path_q(places, "unit__path")
    now = Q(reported_at__gte=period.start, reported_at__lt=period.end)
    before = Q(reported_at__gte=base.start, reported_at__lt=base.end)
    cases = (
        queries.cases_for(user)
        .filter(where)
        .filter(now | before)
        .values("unit__path")
        .annotate(now=Count("pk", filter=now), before=Count("pk", filter=before))
        .order_by()
    )
    for r in cases:
        f = found.setdefault(r["unit__path"], Figures())
        f.cases, f.cases_before = r["now"], r["before"]
    alerts = (
        queries.alerts_for(user)
        .filter(path_q(places, "case__unit__path"), status=Alert.Status.OPEN)
        .values("case__unit__path")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for r in alerts:
        found.setdefault(r["case__unit__path"], Figures()).open_alerts = r["n"]
    # Activities are no case, but the station reaches the places only through its case scope.
    activities = (
        Activity.objects.filter(
            path_q(scope_paths(user, Cap.CASE_VIEW), "unit__path"),
            where,
            is_deleted=False,
            occurred_on__gte=period.first,
            occurred_on__lte=period.last,
        )
        .values("unit__path")
        .annotate(n=Count("pk"), people=Sum("attendance_count"))
        .order_by()
    )
    for r in activities:
        f = found.setdefault(r["unit__path"], Figures())
        f.activities, f.reached = r["n"], r["people"] or 0
    return found


def _sum(found: dict[str, Figures], prefixes: Iterable[str]) -> Figures:
    """The figures of every grouped path inside one of ``prefixes``, each path counted once."""
    heads = tuple(prefixes)
    total = Figures()
    for path, f in found.items():
        if heads and path.startswith(heads):
            total.add(f)
    return total


def overview(user: Any, unit: Unit, year: int, today: date | None = None) -> Overview:
    """The jurisdiction of ``unit`` (a station: a row per place; above stations: a row per station with
    places), and the total; four or five queries."""
    period = year_to_date(year, today)
    base = year_earlier(period)
    pairs = subtree_jurisdiction(unit)
    units = {u.path: u for u in Unit.objects.filter(path__in={p for pair in pairs for p in pair})}
    pairs = [(s, p) for s, p in pairs if p in units]
    found = _grouped(user, sorted({p for _, p in pairs}), period, base)
    per_station = unit.kind != UnitKind.POLICE_STATION
    rows: list[Row] = []
    if per_station:
        by_station: dict[str, list[str]] = {}
        for station, place in pairs:
            by_station.setdefault(station, []).append(place)
        for station, places in sorted(by_station.items()):
            rows.append(Row(units[station], places=len(places), figures=_sum(found, places)))
    else:
        for station, place in pairs:
            rows.append(Row(units[place], station=units.get(station), figures=_sum(found, [place])))
    rows.sort(key=lambda r: (-r.figures.cases, -r.figures.open_alerts, r.unit.path))
    return Overview(unit, period, base, per_station, rows, _sum(found, [p for _, p in pairs]))
