"""Compliance: for each obligation and each period of its frequency, done, due, overdue or upcoming.

A period is *done* when the non-deleted activities linked to the obligation with a date inside
it, each carrying the evidence the rule asks for (photos, attendees, a link, a document, a video),
reach the rule's ``min_count``; otherwise it is *overdue* once it has ended, *due* while it
runs and *upcoming* before it starts. Three refinements, so that the status says what happened:

- an activity entered after its period closed counts, but the period is *late* (逾期完成), counted
  apart from the periods done on time;
- an administrator may accept a period as an *exception* (``PeriodException``, with a reason);
- a rule with a ``measure`` (parent notices signed …) is done only when the unit's coverage figure,
  from ``core.hooks.measure``, reaches the rule's ``target``.

Every function takes ``today`` so that tests (and the reminder command) can travel in time.

Why a snapshot: a campaign over 4,000 dormitory rooms has tens of thousands of obligations.
A page reads the rules, the obligations (as plain tuples), the school calendars and the
activity counts grouped by obligation and day — four queries whatever the size — and works
out every period in Python, computing each rule's periods once per calendar.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from django.db import connections
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fanzha.core import hooks
from fanzha.core.dbdates import LocalDate
from fanzha.core.hooks import Measured
from fanzha.org.models import Membership, MembershipRole, Person, Role, RoleGrant, Unit, UnitKind

from . import periods as P
from .models import (
    Activity,
    Attendance,
    Campaign,
    Evidence,
    Obligation,
    ObligationRule,
    PeriodException,
    SchoolCalendar,
)
from .spec import TemplateSpec

STEP = Unit.steplen


class Status(StrEnum):
    DONE = "done"
    LATE = "late"
    EXCEPTED = "excepted"
    DUE = "due"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"


STATUS_LABELS: dict[str, Promise] = {
    Status.DONE: _("已完成"),
    Status.LATE: _("逾期完成"),
    Status.EXCEPTED: _("例外认可"),
    Status.DUE: _("进行中"),
    Status.OVERDUE: _("逾期未完成"),
    Status.UPCOMING: _("未开始"),
}
# Statuses in which a period's work is settled (nothing more to do).
SETTLED = frozenset({Status.DONE, Status.LATE, Status.EXCEPTED})

# What each evidence kind of a template asks of one activity.
EVIDENCE_LABELS: dict[str, Promise] = {
    "photos": _("照片"),
    "attendees": _("参加人员或人数"),
    "link": _("链接"),
    "document": _("文档"),
    "video": _("视频"),
}

# What a measured rule is measured by (the same words as reach's items).
MEASURE_LABELS: dict[str, Promise] = {
    "pledge_signed": _("签署承诺书"),
    "app_installed": _("安装国家反诈中心APP"),
    "app_registered": _("APP实名注册"),
    "app_warnings_on": _("APP开启预警"),
    "app_all": _("国家反诈中心APP“三个100%”"),
    "parent_notice_signed": _("家长告知书已签"),
    "training_attended": _("参加培训"),
    "video_watched": _("观看警示视频"),
    "quiz_passed": _("答题合格"),
    "first_lesson_attended": _("参加开学第一课"),
}


def status_of(
    period: P.Period,
    count: int,
    min_count: int,
    today: date,
    late: int = 0,
    excepted: bool = False,
    met: bool = True,
) -> Status:
    """The status of one period that holds ``count`` qualifying activities entered on time and ``late``
    entered after it closed; ``excepted`` when an administrator accepted it; ``met`` False when the
    rule's measured figure falls short of its target (then no count makes it done)."""
    if met and count >= min_count:
        return Status.DONE
    if met and count + late >= min_count:
        return Status.LATE
    if excepted:
        return Status.EXCEPTED
    if period.end < today:
        return Status.OVERDUE
    if period.start <= today:
        return Status.DUE
    return Status.UPCOMING


@dataclass
class Tally:
    """How many periods are in each status (for one obligation, or summed over a unit's subtree)."""

    done: int = 0  # on time
    due: int = 0
    overdue: int = 0
    upcoming: int = 0
    late: int = 0  # done, but recorded after the period closed
    excepted: int = 0  # accepted by an administrator without the records

    def add(self, status: str, n: int = 1) -> None:
        setattr(self, str(status), getattr(self, str(status)) + n)

    def merge(self, other: Tally) -> None:
        self.done += other.done
        self.due += other.due
        self.overdue += other.overdue
        self.upcoming += other.upcoming
        self.late += other.late
        self.excepted += other.excepted

    @property
    def rate(self) -> float | None:
        """Periods done on time (or accepted as exceptions) among those settled or over; None before any
        period counts. Periods done late count in the denominator only: they are shown apart."""
        counted = self.done + self.excepted + self.late + self.overdue
        return (self.done + self.excepted) / counted if counted else None

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
    count: int  # qualifying activities entered on time
    status: Status
    late: int = 0  # qualifying activities entered after the period closed
    short: int = 0  # activities without the evidence the rule asks for (not counted)

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
    measured: Measured | None = None  # the coverage figure, for a rule with a measure


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


@dataclass(frozen=True)
class PlannedRule:
    """The periods one rule of a template will demand of each unit, before the campaign starts."""

    code: str
    title: str
    frequency: str
    level: str
    min_count: int
    periods: list[P.Period]
    department: str = ""


def planned_periods(
    spec: TemplateSpec, unit: Unit | None, starts_on: date, ends_on: date
) -> list[PlannedRule]:
    """Every period each rule of ``spec`` will demand if started on ``unit`` from ``starts_on`` to
    ``ends_on``: shown on the start page so that nobody starts a campaign blind.

    Why here and with the same calls: the periods are never stored; ``Schedule.for_rule`` computes them
    with ``periods.campaign_periods`` from the campaign's days, the rule's due date as ``start_campaign``
    sets it (``periods.month_day``) and the school calendar, so the preview calls the same function with
    the same arguments and cannot drift from what is demanded. A semester rule follows the issuing unit's
    calendar here (a school with its own calendar may differ; the calendar page shows it).
    """
    calendars = load_calendars(unit.path) if unit is not None else Calendars({})
    result = []
    for rule in spec.all_rules:
        semesters = None
        if rule.frequency == P.SEMESTER and unit is not None:
            semesters = calendars.for_path(unit.path)[1]
        due = P.month_day(rule.due, starts_on, ends_on) if rule.due else None
        listed = P.campaign_periods(rule.frequency, starts_on, ends_on, semesters=semesters, due=due)
        result.append(
            PlannedRule(
                rule.code, rule.title, rule.frequency, rule.level, rule.min_count, listed, rule.department
            )
        )
    return result


# Snapshot ---------------------------------------------------------------------------------------


# One group of activities of an obligation on one day: (day entered, evidence kinds carried, how many).
Entry = tuple[date, frozenset[str], int, str]  # day entered, evidence kinds, records, channel


# The evidence kinds ``activity_records`` reads, in the order of its columns.
EVIDENCE_FLAGS = ("photos", "video", "document", "link", "attendees")


def _has_evidence(kind: str) -> Exists:
    return Exists(Evidence.objects.filter(activity=OuterRef("pk"), kind=kind))


def _in_campaign(start: date) -> Q:
    """Records on or after the campaign's start, and earlier ones of one-off rules
    (``periods.record_period``: a plan filed before the start counts)."""
    return Q(occurred_on__gte=start) | Q(obligation__rule__frequency=P.ONCE)


def activity_records(
    obligations: QuerySet[Obligation], start: date, end: date
) -> dict[int, dict[date, list[Entry]]]:
    """Non-deleted activities per obligation and day, grouped by the day they were entered and the
    evidence they carry, in one grouped query.

    Why the day entered: a record typed in after its period closed makes the period late, not done.
    Why a plain cursor: a campaign has tens of thousands of such groups, and Django's per-row
    converters (a date parsed per row and column on SQLite) cost more than the query; the few
    distinct days are parsed once each.
    """
    rows = (
        Activity.objects.filter(
            _in_campaign(start),
            obligation_id__in=obligations.values("pk"),
            is_deleted=False,
            occurred_on__lte=end,
        )
        .order_by()
        .annotate(
            entered=LocalDate("created_at"),  # native SQL on SQLite: no Python call per row
            ev_photos=_has_evidence(Evidence.Kind.PHOTO),
            ev_video=_has_evidence(Evidence.Kind.VIDEO),
            ev_document=_has_evidence(Evidence.Kind.DOCUMENT),
            ev_link=ExpressionWrapper(~Q(link=""), output_field=BooleanField()),
            ev_attendees=ExpressionWrapper(
                Q(attendance_count__gt=0) | Q(Exists(Attendance.objects.filter(activity=OuterRef("pk")))),
                output_field=BooleanField(),
            ),
        )
        .values_list(
            "obligation_id",
            "occurred_on",
            "entered",
            "ev_photos",
            "ev_video",
            "ev_document",
            "ev_link",
            "ev_attendees",
            "channel",
        )
        .annotate(n=Count("id"))
    )
    sql, params = rows.query.sql_with_params()
    days: dict[object, date] = {}
    kinds_of: dict[tuple[bool, ...], frozenset[str]] = {}

    def day_of(raw: object) -> date:
        found = days.get(raw)
        if found is None:
            found = days[raw] = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        return found

    result: dict[int, dict[date, list[Entry]]] = defaultdict(lambda: defaultdict(list))
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        for obligation_id, day, entered, *flags, channel, n in cursor.fetchall():
            key = tuple(bool(f) for f in flags)
            kinds = kinds_of.get(key)
            if kinds is None:
                kinds = kinds_of[key] = frozenset(
                    k for k, has in zip(EVIDENCE_FLAGS, key, strict=True) if has
                )
            occurred = day_of(day)
            result[obligation_id][occurred].append(
                (day_of(entered) if entered is not None else occurred, kinds, n, channel)
            )
    return result


# Records reused between requests --------------------------------------------------------------------

# Campaigns whose grouped records a process keeps (the most recently used first out last).
KEPT_CAMPAIGNS = 8
# Below this many obligations a page's own records are read directly: cheaper than the whole campaign's.
FEW_OBLIGATIONS = 200
_kept: OrderedDict[tuple[object, ...], dict[int, dict[date, list[Entry]]]] = OrderedDict()
_kept_lock = threading.Lock()


def campaign_records(campaign: Campaign) -> dict[int, dict[date, list[Entry]]]:
    """``activity_records`` of every obligation of ``campaign``, reused while its ``records_version``
    stays the same. The caller must not change what it gets.

    Why: the records of a campaign over a school's classes and rooms are tens of thousands of groups,
    and its dashboard, periods and calendar pages each read all of them on every request (about 0.4 s
    on the demo's university). Every write that changes them raises the version in its own
    transaction (``activities.actions``), and the version is read from the database here, so every
    server process sees a change at once; only the grouping is kept, per process, for the last
    ``KEPT_CAMPAIGNS`` campaigns.
    """
    row = (
        Campaign.objects.filter(pk=campaign.pk)
        .values_list("records_version", "created_at", "starts_on", "ends_on")
        .first()
    )
    if row is None:
        return {}
    version, created_at, starts_on, ends_on = row
    key = (connections[Campaign.objects.db].settings_dict["NAME"], campaign.pk, created_at, version)
    with _kept_lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return found
    records = activity_records(Obligation.objects.filter(campaign_id=campaign.pk), starts_on, ends_on)
    plain = {ob: dict(per_day) for ob, per_day in records.items()}  # no default that a reader could grow
    with _kept_lock:
        for old in [k for k in _kept if k[:3] == key[:3]]:
            del _kept[old]  # an older version of the same campaign
        _kept[key] = plain
        while len(_kept) > KEPT_CAMPAIGNS:
            _kept.popitem(last=False)
    return plain


def activity_counts(obligations: QuerySet[Obligation], start: date, end: date) -> dict[int, dict[date, int]]:
    """Non-deleted activities per obligation and day, whatever their evidence, in one grouped query."""
    rows = (
        Activity.objects.filter(
            _in_campaign(start),
            obligation_id__in=obligations.values("pk"),
            is_deleted=False,
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
class Bucket:
    """The activities of one period: qualifying on time, qualifying late, and short of evidence."""

    on_time: int = 0
    late: int = 0
    short: int = 0


EMPTY = Bucket()


@dataclass
class Snapshot:
    """Everything needed to judge a set of obligations of one campaign on one day."""

    campaign: Campaign
    today: date
    rules: dict[int, ObligationRule]
    items: list[Item]
    schedule: Schedule
    counts: dict[int, dict[date, list[Entry]]]
    exceptions: dict[int, set[date]] = field(default_factory=dict)  # obligation → excepted period starts
    measures: dict[tuple[str, int], Measured] = field(default_factory=dict)  # (measure, unit id) → figure
    # (id of a rule's periods, day) → the period a record of that day counts for: thousands of units
    # share a rule's periods and their records share days, so each is searched for once.
    _located: dict[tuple[int, date], P.Period | None] = field(default_factory=dict, repr=False)

    def buckets(self, item: Item, rp: RulePeriods, lo: int = 0, hi: int | None = None) -> dict[date, Bucket]:
        """The obligation's activities per period (keyed by the period's first day), for the periods
        ``rp.periods[lo:hi]`` (all by default).

        Why the slice: a month's page needs a month of a daily rule's periods, not the other 300 days'
        records, each found by a binary search.
        """
        rule = self.rules[item.rule_id]
        need = frozenset(rule.evidence or ())
        buckets: dict[date, Bucket] = defaultdict(Bucket)
        # per_channel: the kinds of place reached on time and late (a kind counts once per period).
        on_time: dict[date, set[str]] = defaultdict(set)
        late: dict[date, set[str]] = defaultdict(set)
        hi = len(rp.periods) if hi is None else hi
        if lo >= hi:
            return buckets
        # A one-off rule's first period also takes the records older than it (``record_period``).
        first = date.min if lo == 0 else rp.periods[lo].start
        last = rp.periods[hi - 1].end
        located = self._located
        periods_id = id(rp.periods)  # alive as long as the schedule that holds it, i.e. this snapshot
        for day, entries in self.counts.get(item.pk, {}).items():
            if not first <= day <= last:
                continue
            key = (periods_id, day)
            if key in located:
                found = located[key]
            else:
                found = located[key] = P.record_period(rp.periods, day, rule.frequency)
            if found is None:
                continue
            bucket = buckets[found.start]
            for entered, kinds, n, channel in entries:
                if not need <= kinds:
                    bucket.short += n
                elif rule.per_channel:
                    if channel:
                        (late if entered > found.end else on_time)[found.start].add(channel)
                elif entered > found.end:
                    bucket.late += n
                else:
                    bucket.on_time += n
        if rule.per_channel:
            for start, bucket in buckets.items():
                bucket.on_time = len(on_time[start])
                bucket.late = len(late[start] - on_time[start])
        return buckets

    def measured(self, item: Item) -> Measured | None:
        rule = self.rules[item.rule_id]
        return self.measures.get((rule.measure, item.unit_id)) if rule.measure else None

    def met(self, item: Item) -> bool:
        """Whether the obligation's measure (if any) reaches the rule's target."""
        rule = self.rules[item.rule_id]
        if not rule.measure:
            return True
        measured = self.measured(item)
        return measured is not None and measured.reaches(rule.target)

    def state(self, item: Item, detail: bool = False) -> ObligationState:
        """The obligation's tally, current period and (with ``detail``) every period."""
        rule = self.rules[item.rule_id]
        rp = self.schedule.for_rule(rule, item.path)
        buckets = self.buckets(item, rp)
        excepted = self.exceptions.get(item.pk, set())
        met = self.met(item)
        today = self.today

        def judge(period: P.Period) -> PeriodState:
            b = buckets.get(period.start, EMPTY)
            status = status_of(
                period, b.on_time, rule.min_count, today, b.late, period.start in excepted, met=met
            )
            return PeriodState(period, b.on_time, status, b.late, b.short)

        ended = bisect_left(rp.ends, today)  # periods[:ended] are over
        started = bisect_right(rp.starts, today)  # periods[:started] have begun
        current_index = started - 1 if started > ended else None
        tally = Tally()
        if rule.min_count == 0:
            for period in rp.periods:
                tally.add(judge(period).status)
            tally.due = 0
        else:
            settled_ended = settled_future = 0
            for start in set(buckets) | excepted:
                index = bisect_left(rp.starts, start)
                if index >= len(rp.periods) or rp.starts[index] != start:
                    continue
                status = judge(rp.periods[index]).status
                if status in SETTLED:
                    tally.add(status)
                    settled_ended += index < ended
                    settled_future += index >= started
            tally.overdue = ended - settled_ended
            tally.upcoming = (len(rp.periods) - started) - settled_future
        current = None
        if current_index is not None:
            current = judge(rp.periods[current_index])
            if current.status == Status.DUE:
                tally.due = 1
        state = ObligationState(
            item=item, rule=rule, tally=tally, current=current, measured=self.measured(item)
        )
        if detail:
            state.periods = [judge(p) for p in rp.periods]
        return state

    def states(self) -> list[ObligationState]:
        return [self.state(item) for item in self.items]


def load_measures(
    campaign: Campaign, rules: dict[int, ObligationRule], items: Sequence[Item]
) -> dict[tuple[str, int], Measured]:
    """The coverage figures of the units whose rules have a measure, from ``core.hooks.measure``."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for item in items:
        measure = rules[item.rule_id].measure
        if measure:
            wanted[measure].add(item.unit_id)
    result: dict[tuple[str, int], Measured] = {}
    for measure, unit_ids in wanted.items():
        units = list(Unit.objects.filter(pk__in=unit_ids))
        for unit_id, figure in hooks.measure(campaign, measure, units).items():
            result[(measure, unit_id)] = figure
    return result


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
    if len(items) < FEW_OBLIGATIONS:
        counts = activity_records(scoped, campaign.starts_on, campaign.ends_on)
    else:
        counts = campaign_records(campaign)
    exceptions: dict[int, set[date]] = defaultdict(set)
    for obligation_id, start in PeriodException.objects.filter(
        obligation__in=scoped.values("pk")
    ).values_list("obligation_id", "period_start"):
        exceptions[obligation_id].add(start)
    measures = load_measures(campaign, rules, items)
    return Snapshot(
        campaign, today, rules, items, Schedule(campaign, calendars), counts, exceptions, measures
    )


# One record ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """How one record counts for its obligation: its period, whether it was entered late, what it lacks.

    One truth, the one ``Snapshot.buckets`` applies: a record that lacks the evidence its rule asks for
    does not count (late or not); a complete record entered after its period closed counts, marked late
    (逾期完成); any other complete record counts. ``counts`` and ``counts_late`` say which, so a page
    shows one status and never "done late" beside "not counted".
    """

    period: P.Period | None
    late: bool
    missing: list[Promise]

    @property
    def counts(self) -> bool:
        return not self.missing

    @property
    def counts_late(self) -> bool:
        return self.counts and self.late


def standing(activity: Activity) -> Standing | None:
    """How ``activity`` counts towards its obligation (None when it has none): shown on its page and when
    it is recorded, so the recorder learns at once that it is late or short of evidence."""
    obligation = activity.obligation
    if obligation is None:
        return None
    rule, campaign = obligation.rule, obligation.campaign
    schedule = Schedule(campaign, load_calendars(obligation.unit.path))
    periods = schedule.for_rule(rule, obligation.unit.path).periods
    period = P.record_period(periods, activity.occurred_on, rule.frequency)
    carried = {str(kind) for kind in activity.evidence.values_list("kind", flat=True)}
    kinds = {
        "photos": Evidence.Kind.PHOTO in carried,
        "video": Evidence.Kind.VIDEO in carried,
        "document": Evidence.Kind.DOCUMENT in carried,
        "link": bool(activity.link),
        "attendees": bool(activity.attendance_count) or activity.attendances.exists(),
    }
    missing = [EVIDENCE_LABELS.get(k, _("其他")) for k in rule.evidence if not kinds.get(k, False)]
    entered = timezone.localtime(activity.created_at).date() if activity.created_at else timezone.localdate()
    late = period is not None and entered > period.end
    return Standing(period, late, missing)


# Responsible people ------------------------------------------------------------------------------


# Who answers for an obligation at a unit of this kind when the unit itself has nobody in the plan's
# role: a class's work is done, recorded and listed in the to-do of its counsellor (a school's class
# teacher), not of the college liaison that the plan's role would otherwise find above the class.
LEVEL_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    UnitKind.CLASS: (MembershipRole.COUNSELLOR, (Role.COUNSELLOR, Role.CLASS_TEACHER)),
}


def acting_role(role: str, kind: str | None, found_in_unit: bool = False) -> str:
    """The role named beside the responsible person of an obligation of ``role`` at a unit of ``kind``
    (``found_in_unit``: the unit itself has someone in ``role``)."""
    level = LEVEL_ROLES.get(kind or "")
    return role if level is None or found_in_unit else level[0]


def responsible_people(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Person | None]:
    """For each (unit path, the rule's role): the person responsible at that level.

    Whoever holds the rule's role in the unit itself. Failing that, at a unit of a kind in
    ``LEVEL_ROLES`` (a class), the unit's own counsellor or class teacher (their membership, else their
    grant there: the person whose to-do lists the work), never someone above; elsewhere, the holder of
    the role in the nearest ancestor. Three queries per 500 distinct paths. When several people hold
    the role in one unit, the earliest membership (grant) wins, so the answer is stable.
    """
    pairs = list(dict.fromkeys(pairs))
    own = sorted({path for path, _role in pairs})
    kinds: dict[str, str] = {}
    for start in range(0, len(own), 500):
        kinds.update(Unit.objects.filter(path__in=own[start : start + 500]).values_list("path", "kind"))
    roles = {role for _path, role in pairs} | {level[0] for level in LEVEL_ROLES.values()}
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
    leveled = [path for path in own if kinds.get(path) in LEVEL_ROLES]
    granted: dict[str, Person] = {}
    for start in range(0, len(leveled), 500):
        grant_roles = {r for level in LEVEL_ROLES.values() for r in level[1]}
        for grant in (
            RoleGrant.objects.filter(
                unit__path__in=leveled[start : start + 500],
                role__in=grant_roles,
                user__is_active=True,
                user__person__isnull=False,
                user__person__is_active=True,
            )
            .select_related("user__person", "unit")
            .order_by("pk")
        ):
            granted.setdefault(grant.unit.path, grant.user.person)
    result: dict[tuple[str, str], Person | None] = {}
    for path, role in pairs:
        if (path, role) in holders:
            result[(path, role)] = holders[(path, role)]
            continue
        level = LEVEL_ROLES.get(kinds.get(path, ""))
        if level is not None:
            result[(path, role)] = holders.get((path, level[0])) or granted.get(path)
            continue
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
        buckets = snap.buckets(item, rp, lo, hi)
        excepted = snap.exceptions.get(item.pk, set())
        met = snap.met(item)
        for period in rp.periods[lo:hi]:
            b = buckets.get(period.start, EMPTY)
            key = (period.end, rule.pk)
            entry = grouped.get(key)
            if entry is None:
                entry = grouped[key] = DayEntry(period.end, rule, Tally())
                single[key] = item.pk
            else:
                single.pop(key, None)
            entry.tally.add(
                status_of(
                    period, b.on_time, rule.min_count, snap.today, b.late, period.start in excepted, met=met
                )
            )
    for key, pk in single.items():
        grouped[key].obligation_pk = pk
    return sorted(grouped.values(), key=lambda e: (e.day, e.rule.title, e.rule.pk))
