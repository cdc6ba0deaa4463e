"""Compliance: for each obligation and each period of its frequency, done, due, overdue or upcoming.

A period is *done* when the non-deleted activities linked to the obligation with a date inside
it reach the rule's ``min_count``; otherwise it is *overdue* once it has ended, *due* while it
runs and *upcoming* before it starts. Every function takes ``today`` so that tests (and the
reminder command) can travel in time.

Why a snapshot: a campaign over 4,000 dormitory rooms has tens of thousands of obligations.
A page reads the rules, the obligations (as plain tuples), the school calendars and the
activity counts grouped by obligation and day — four queries whatever the size — and works
out every period in Python, computing each rule's periods once per calendar.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fanzha.org.models import Membership, Person, Unit

from . import periods as P
from .models import Activity, Campaign, Obligation, ObligationRule, SchoolCalendar

STEP = Unit.steplen


class Status(StrEnum):
    DONE = "done"
    DUE = "due"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"


STATUS_LABELS: dict[str, Promise] = {
    Status.DONE: _("已完成"),
    Status.DUE: _("进行中"),
    Status.OVERDUE: _("逾期未完成"),
    Status.UPCOMING: _("未开始"),
}


def status_of(period: P.Period, count: int, min_count: int, today: date) -> Status:
    """The status of one period that holds ``count`` activities."""
    if count >= min_count:
        return Status.DONE
    if period.end < today:
        return Status.OVERDUE
    if period.start <= today:
        return Status.DUE
    return Status.UPCOMING


@dataclass
class Tally:
    """How many periods are in each status (for one obligation, or summed over a unit's subtree)."""

    done: int = 0
    due: int = 0
    overdue: int = 0
    upcoming: int = 0

    def add(self, status: str, n: int = 1) -> None:
        setattr(self, str(status), getattr(self, str(status)) + n)

    def merge(self, other: Tally) -> None:
        self.done += other.done
        self.due += other.due
        self.overdue += other.overdue
        self.upcoming += other.upcoming

    @property
    def rate(self) -> float | None:
        """Done periods among those that are done or over; None before any period counts."""
        counted = self.done + self.overdue
        return self.done / counted if counted else None

    @property
    def percent(self) -> int | None:
        rate = self.rate
        return None if rate is None else round(100 * rate)

    def lag_key(self) -> tuple[float, int, int]:
        """Sort key that puts the lagging first: lowest rate, then most overdue, then most due."""
        rate = self.rate
        return (1.0 if rate is None else rate, -self.overdue, -self.due)


@dataclass(frozen=True)
class PeriodState:
    period: P.Period
    count: int
    status: Status

    @property
    def label(self) -> Promise:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class Item:
    """An obligation as the compliance code needs it: no model instance per row."""

    pk: int
    rule_id: int
    unit_id: int
    path: str


@dataclass
class ObligationState:
    item: Item
    rule: ObligationRule
    tally: Tally
    current: PeriodState | None
    periods: list[PeriodState] = field(default_factory=list)  # filled only when asked for


# School calendars --------------------------------------------------------------------------------


def ancestor_paths(path: str) -> list[str]:
    """``path`` and the paths of its ancestors, longest first."""
    return [path[:i] for i in range(len(path), 0, -STEP)]


class Calendars:
    """School calendars of a part of the tree: the semesters of the nearest unit that has any."""

    def __init__(self, by_path: dict[str, tuple[P.Semester, ...]]) -> None:
        self.by_path = by_path

    def for_path(self, path: str) -> tuple[str, tuple[P.Semester, ...] | None]:
        """(owner path, semesters) of the unit at ``path``; ("", None) means the default calendar."""
        if self.by_path:
            for prefix in ancestor_paths(path):
                found = self.by_path.get(prefix)
                if found:
                    return prefix, found
        return "", None


def load_calendars(root_path: str) -> Calendars:
    """The calendars that apply anywhere in ``root_path``'s subtree: its own, its ancestors', its units'."""
    rows = SchoolCalendar.objects.filter(
        Q(unit__path__startswith=root_path) | Q(unit__path__in=ancestor_paths(root_path)[1:])
    ).values_list("unit__path", "name", "starts_on", "ends_on")
    by_path: dict[str, list[P.Semester]] = defaultdict(list)
    for path, name, starts_on, ends_on in rows:
        by_path[path].append(P.Semester(starts_on, ends_on, name))
    return Calendars({path: tuple(sorted(s)) for path, s in by_path.items()})


# Periods per rule -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RulePeriods:
    periods: list[P.Period]
    starts: list[date]
    ends: list[date]


class Schedule:
    """Each rule's campaign periods, computed once per rule and calendar."""

    def __init__(self, campaign: Campaign, calendars: Calendars) -> None:
        self.campaign = campaign
        self.calendars = calendars
        self._cache: dict[tuple[int, str], RulePeriods] = {}

    def for_rule(self, rule: ObligationRule, unit_path: str) -> RulePeriods:
        owner, semesters = ("", None)
        if rule.frequency == P.SEMESTER:
            owner, semesters = self.calendars.for_path(unit_path)
        key = (rule.pk, owner)
        found = self._cache.get(key)
        if found is None:
            listed = P.campaign_periods(
                rule.frequency,
                self.campaign.starts_on,
                self.campaign.ends_on,
                semesters=semesters,
                due=rule.due,
            )
            found = RulePeriods(listed, [p.start for p in listed], [p.end for p in listed])
            self._cache[key] = found
        return found


# Snapshot ---------------------------------------------------------------------------------------


def activity_counts(obligations: QuerySet[Obligation], start: date, end: date) -> dict[int, dict[date, int]]:
    """Non-deleted activities per obligation and day, in one grouped query."""
    rows = (
        Activity.objects.filter(
            obligation_id__in=obligations.values("pk"),
            is_deleted=False,
            occurred_on__gte=start,
            occurred_on__lte=end,
        )
        .order_by()
        .values_list("obligation_id", "occurred_on")
        .annotate(n=Count("id"))
    )
    result: dict[int, dict[date, int]] = defaultdict(dict)
    for obligation_id, day, n in rows:
        result[obligation_id][day] = n
    return result


@dataclass
class Snapshot:
    """Everything needed to judge a set of obligations of one campaign on one day."""

    campaign: Campaign
    today: date
    rules: dict[int, ObligationRule]
    items: list[Item]
    schedule: Schedule
    counts: dict[int, dict[date, int]]

    def buckets(self, item: Item, rp: RulePeriods) -> dict[date, int]:
        """The obligation's activity count per period (keyed by the period's first day)."""
        buckets: dict[date, int] = defaultdict(int)
        for day, n in self.counts.get(item.pk, {}).items():
            found = P.locate(rp.periods, day)
            if found is not None:
                buckets[found.start] += n
        return buckets

    def state(self, item: Item, detail: bool = False) -> ObligationState:
        """The obligation's tally, current period and (with ``detail``) every period."""
        rule = self.rules[item.rule_id]
        rp = self.schedule.for_rule(rule, item.path)
        buckets = self.buckets(item, rp)
        today = self.today
        ended = bisect_left(rp.ends, today)  # periods[:ended] are over
        started = bisect_right(rp.starts, today)  # periods[:started] have begun
        current_index = started - 1 if started > ended else None
        tally = Tally()
        if rule.min_count == 0:
            tally.done = len(rp.periods)
        else:
            met = [start for start, n in buckets.items() if n >= rule.min_count]
            tally.done = len(met)
            met_ended = sum(1 for s in met if bisect_right(rp.starts, s) - 1 < ended)
            met_future = sum(1 for s in met if s > today)
            tally.overdue = ended - met_ended
            tally.upcoming = (len(rp.periods) - started) - met_future
        current = None
        if current_index is not None:
            period = rp.periods[current_index]
            count = buckets.get(period.start, 0)
            current = PeriodState(period, count, status_of(period, count, rule.min_count, today))
            if current.status == Status.DUE:
                tally.due = 1
        state = ObligationState(item=item, rule=rule, tally=tally, current=current)
        if detail:
            state.periods = [
                PeriodState(
                    p, buckets.get(p.start, 0), status_of(p, buckets.get(p.start, 0), rule.min_count, today)
                )
                for p in rp.periods
            ]
        return state

    def states(self) -> list[ObligationState]:
        return [self.state(item) for item in self.items]


def snapshot(
    campaign: Campaign,
    obligations: QuerySet[Obligation],
    today: date | None = None,
    calendar_root: str | None = None,
) -> Snapshot:
    """Load ``obligations`` (already scoped by the caller) of ``campaign`` for judging on ``today``.

    Only active obligations of active units inside the campaign's subtree count: a unit that
    moved away or was switched off drops out even before the next sync marks it.
    """
    today = today or timezone.localdate()
    root_path = campaign.unit.path
    scoped = obligations.filter(
        campaign=campaign, is_active=True, unit__is_active=True, unit__path__startswith=root_path
    )
    rules = {rule.pk: rule for rule in ObligationRule.objects.filter(campaign=campaign)}
    items = [
        Item(pk, rule_id, unit_id, path)
        for pk, rule_id, unit_id, path in scoped.order_by("unit__path", "rule_id").values_list(
            "pk", "rule_id", "unit_id", "unit__path"
        )
    ]
    calendars = load_calendars(calendar_root or root_path)
    counts = activity_counts(scoped, campaign.starts_on, campaign.ends_on)
    return Snapshot(campaign, today, rules, items, Schedule(campaign, calendars), counts)


# Responsible people ------------------------------------------------------------------------------


def responsible_people(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Person | None]:
    """For each (unit path, membership role): who holds the role in the unit, else in its nearest ancestor.

    One query per 500 distinct paths. When several people hold the role in one unit, the
    earliest membership wins, so the answer is stable.
    """
    pairs = list(dict.fromkeys(pairs))
    roles = {role for _path, role in pairs}
    paths = sorted({prefix for path, _role in pairs for prefix in ancestor_paths(path)})
    holders: dict[tuple[str, str], Person] = {}
    for start in range(0, len(paths), 500):
        chunk = paths[start : start + 500]
        memberships = (
            Membership.objects.filter(unit__path__in=chunk, role__in=roles, person__is_active=True)
            .select_related("person__user", "unit")
            .order_by("pk")
        )
        for membership in memberships:
            holders.setdefault((membership.unit.path, membership.role), membership.person)
    result: dict[tuple[str, str], Person | None] = {}
    for path, role in pairs:
        result[(path, role)] = next(
            (holders[(prefix, role)] for prefix in ancestor_paths(path) if (prefix, role) in holders), None
        )
    return result


def responsible_for(state: ObligationState, people: dict[tuple[str, str], Person | None]) -> Person | None:
    """The obligation's responsible person out of a ``responsible_people`` answer."""
    return people.get((state.item.path, state.rule.responsible))


# Dashboard --------------------------------------------------------------------------------------


@dataclass
class UnitRow:
    unit: Unit
    tally: Tally
    obligations: int


@dataclass
class Dashboard:
    totals: Tally
    rows: list[UnitRow]  # lagging units first
    own: list[ObligationState]  # the obligations of the unit itself


def dashboard(snap: Snapshot, at: Unit | None, roots: Sequence[str] = ()) -> Dashboard:
    """Per-unit compliance one level below ``at`` (or for each of ``roots``), lagging units first.

    ``at`` None means the viewer cannot see the campaign's own unit: the rows are then the
    units where the viewer's scope begins (``roots``), each summed over its subtree.
    """
    totals = Tally()
    tallies: dict[str, Tally] = defaultdict(Tally)
    sizes: dict[str, int] = defaultdict(int)
    own: list[ObligationState] = []
    ordered_roots = sorted(roots, key=len, reverse=True)
    for item in snap.items:
        if at is not None:
            if not item.path.startswith(at.path):
                continue
            key = item.path[: len(at.path) + STEP]
        else:
            key = next((r for r in ordered_roots if item.path.startswith(r)), "")
            if not key:
                continue
        state = snap.state(item)
        totals.merge(state.tally)
        if at is not None and item.path == at.path:
            own.append(state)
            continue
        tallies[key].merge(state.tally)
        sizes[key] += 1
    units = {u.path: u for u in Unit.objects.filter(path__in=list(tallies))}
    rows = [UnitRow(units[path], tally, sizes[path]) for path, tally in tallies.items() if path in units]
    rows.sort(key=lambda row: (*row.tally.lag_key(), row.unit.path))
    return Dashboard(totals, rows, own)


# Calendar ---------------------------------------------------------------------------------------


@dataclass
class DayEntry:
    """The periods of one rule that end on one day, counted by status."""

    day: date
    rule: ObligationRule
    tally: Tally
    obligation_pk: int | None = None  # when the entry is a single obligation's period


def ending_between(snap: Snapshot, first: date, last: date) -> list[DayEntry]:
    """Per day and rule, the statuses of the periods that end between ``first`` and ``last``."""
    grouped: dict[tuple[date, int], DayEntry] = {}
    single: dict[tuple[date, int], int] = {}
    for item in snap.items:
        rule = snap.rules[item.rule_id]
        rp = snap.schedule.for_rule(rule, item.path)
        lo, hi = bisect_left(rp.ends, first), bisect_right(rp.ends, last)
        if lo >= hi:
            continue
        buckets = snap.buckets(item, rp)
        for period in rp.periods[lo:hi]:
            count = buckets.get(period.start, 0)
            key = (period.end, rule.pk)
            entry = grouped.get(key)
            if entry is None:
                entry = grouped[key] = DayEntry(period.end, rule, Tally())
                single[key] = item.pk
            else:
                single.pop(key, None)
            entry.tally.add(status_of(period, count, rule.min_count, snap.today))
    for key, pk in single.items():
        grouped[key].obligation_pk = pk
    return sorted(grouped.values(), key=lambda e: (e.day, e.rule.title, e.rule.pk))
