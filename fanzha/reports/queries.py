"""Reads of the dashboards: scoped lookups and KPI figures out of the pre-aggregated counts.

Every figure of a unit comes from that unit's own ``KpiCount`` rows, which hold its subtree's
totals (``kpis`` writes them), so a page reads a handful of units' rows whatever the size of the
tree below: one grouped query for the current figures of a unit and its children, one for the
unit's daily rows (the weekly trend).

Who is counted, per item: the person kinds the campaign tracks (``reach.queries.tracked_kinds``)
that the item concerns (``reach.queries.applies``). The awareness rate is the share of those
people with a passed quiz (item ``quiz_passed``, which ``reach`` records when a member passes).
Activity compliance is ``campaigns.compliance``'s tally of the subtree's obligations, summed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from fanzha.campaigns import compliance
from fanzha.campaigns import queries as campaign_queries
from fanzha.campaigns.documents import plan as plan_documents
from fanzha.campaigns.models import Campaign, Goal, GoalRecord
from fanzha.campaigns.outreach.queries import campaign_reach_value
from fanzha.campaigns.spec import RECORDED_METRICS
from fanzha.cases.models import Case
from fanzha.cases.queries import cases_for
from fanzha.cases.stats.queries import (
    CASE_METRICS,
    GoalProgress,
    Period,
    Tally,
    case_goals,
    goal_met,
    goal_periods,
    percent_change,
    tallies,
    year_earlier,
)
from fanzha.cases.stats.queries import goal_progress as case_goal_progress
from fanzha.core import singleflight
from fanzha.core.formats import yuan
from fanzha.org.models import PersonKind, Unit
from fanzha.org.scope import Cap, path_q, scope_paths, units_for
from fanzha.reach import queries as reach_queries
from fanzha.reach.models import Item

from .kpis import ACTIVITY_FIELDS, OBLIGATIONS, activity_metric, item_metric, people_metric
from .models import KpiCount

QUIZ = Item.QUIZ_PASSED
STAFF_KINDS = (PersonKind.TEACHER, PersonKind.STAFF)


# Scope -----------------------------------------------------------------------------------------


def campaigns_for(user: Any) -> QuerySet[Campaign]:
    """Campaigns whose dashboards the user may open: those of ``campaigns.queries`` (their scope's part)."""
    return campaign_queries.campaigns_for(user, Cap.VIEW)


def units_in(user: Any, campaign: Campaign) -> QuerySet[Unit]:
    """Units of the campaign's subtree that the user may see."""
    return units_for(user, Cap.VIEW).filter(path__startswith=campaign.unit.path)


# Figures ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    """``done`` out of ``due`` people; the percentage is capped at 100 (people who left still count
    until the next rebuild) and None when nobody is due."""

    done: int
    due: int

    @property
    def rate(self) -> float | None:
        return min(1.0, self.done / self.due) if self.due else None

    @property
    def percent(self) -> int | None:
        rate = self.rate
        return None if rate is None else int(100 * rate)  # floor: 99.6 % is not yet 100 %

    @property
    def missing(self) -> int:
        return max(0, self.due - self.done)


@dataclass
class Figures:
    """The KPIs of one unit's subtree for one campaign."""

    people: int
    items: dict[str, Ratio]
    tally: compliance.Tally
    obligations: int
    staff_app: Ratio = field(default_factory=lambda: Ratio(0, 0))
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def cells(self) -> list[tuple[str, Ratio]]:
        """(item label, ratio) in the campaign's item order."""
        return [(self.labels.get(item, item), ratio) for item, ratio in self.items.items()]

    @property
    def coverage(self) -> float | None:
        """The mean coverage over the campaign's items (None when nobody is due anything)."""
        rates = [r.rate for r in self.items.values() if r.rate is not None]
        return sum(rates) / len(rates) if rates else None

    @property
    def coverage_percent(self) -> int | None:
        rate = self.coverage
        return None if rate is None else int(100 * rate)

    @property
    def awareness(self) -> Ratio | None:
        return self.items.get(QUIZ)

    def rate_of(self, key: str) -> float | None:
        """The rate that ``key`` names: an item, "compliance" or "coverage"."""
        if key == "compliance":
            return self.tally.rate
        if key in self.items:
            return self.items[key].rate
        return self.coverage


class Kpis:
    """What a campaign counts: its items and the person kinds each concerns (parsed once)."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.items: tuple[str, ...] = reach_queries.campaign_items(campaign)
        self.kinds: tuple[str, ...] = reach_queries.tracked_kinds(campaign)
        self.item_kinds = {
            item: [k for k in self.kinds if reach_queries.applies(item, k)] for item in self.items
        }
        self.labels = {item: str(Item(item).label) for item in self.items}

    def figures(self, counts: Counter[str]) -> Figures:
        """The KPIs out of one unit's summed counts (metric → value)."""
        items = {
            item: Ratio(
                sum(counts[item_metric(item, k)] for k in kinds), sum(counts[people_metric(k)] for k in kinds)
            )
            for item, kinds in self.item_kinds.items()
        }
        staff = [k for k in self.kinds if k in STAFF_KINDS]
        tally = compliance.Tally(**{f: counts[activity_metric(f)] for f in ACTIVITY_FIELDS})
        return Figures(
            people=sum(counts[people_metric(k)] for k in self.kinds),
            items=items,
            tally=tally,
            obligations=counts[OBLIGATIONS],
            staff_app=Ratio(
                sum(counts[item_metric(Item.APP_INSTALLED, k)] for k in staff),
                sum(counts[people_metric(k)] for k in staff),
            ),
            labels=self.labels,
        )


def sums(campaign: Campaign, unit_ids: Iterable[int]) -> dict[int, Counter[str]]:
    """Each unit's current counts (metric → value, summed over days): one query."""
    ids = sorted(set(unit_ids))

    def compute() -> dict[int, Counter[str]]:
        result: dict[int, Counter[str]] = defaultdict(Counter)
        rows = (
            KpiCount.objects.filter(campaign=campaign, unit_id__in=ids)
            .values_list("unit_id", "metric")
            .annotate(total=Sum("value"))
            .order_by()
        )
        for unit_id, metric, total in rows:
            result[unit_id][metric] = total
        return result

    # Shared between the requests of the same moment (a crowd on the root dashboard): ``singleflight``.
    return singleflight.shared("kpi-sums", singleflight.key_of(campaign.pk, ids), compute)


def total(counters: Iterable[Counter[str]]) -> Counter[str]:
    result: Counter[str] = Counter()
    for counter in counters:
        result.update(counter)
    return result


# Weekly trend ----------------------------------------------------------------------------------


def week_ends(first: date, last: date) -> list[date]:
    """The last day of each 7-day week from ``first`` while before ``last``, then ``last`` itself."""
    ends = []
    day = first + timedelta(days=6)
    while day < last:
        ends.append(day)
        day += timedelta(days=7)
    ends.append(last)
    return ends


@dataclass
class Trend:
    weeks: list[date]
    series: dict[str, list[int | None]]  # item → percent at the end of each week


def trend(kpis: Kpis, unit_ids: Iterable[int], current: Counter[str], today: date | None = None) -> Trend:
    """Coverage of each item at the end of each week of the campaign so far: one query.

    The denominators are today's (the people of the units now); the numerators add up the
    weekly changes (rows keyed by the week's first day) to each week's end.
    """
    campaign = kpis.campaign
    today = today or timezone.localdate()
    last = min(today, campaign.ends_on)
    if last < campaign.starts_on:
        return Trend([], {item: [] for item in kpis.items})
    weeks = week_ends(campaign.starts_on, last)
    wanted = [item_metric(item, k) for item, kinds in kpis.item_kinds.items() for k in kinds]
    by_day: dict[str, Counter[date]] = defaultdict(Counter)
    ids = sorted(set(unit_ids))

    def compute() -> list[tuple[str, date, int]]:
        return list(
            KpiCount.objects.filter(campaign=campaign, unit_id__in=ids, metric__in=wanted)
            .values_list("metric", "day")
            .annotate(total=Sum("value"))
            .order_by()
        )

    rows = singleflight.shared("kpi-trend", singleflight.key_of(campaign.pk, ids, wanted), compute)
    for metric, day, value in rows:
        by_day[metric.split(":", 1)[0]][day] += value
    series: dict[str, list[int | None]] = {}
    for item, kinds in kpis.item_kinds.items():
        due = sum(current[people_metric(k)] for k in kinds)
        days = sorted(by_day[item].items())
        points: list[int | None] = []
        running, i = 0, 0
        for end in weeks:
            while i < len(days) and days[i][0] <= end:
                running += days[i][1]
                i += 1
            points.append(Ratio(running, due).percent)
        series[item] = points
    return Trend(weeks, series)


# Goals -----------------------------------------------------------------------------------------

COMPUTED = "computed"  # from the counts (attestations, compliance) or the case ledger
RECORDED = "recorded"  # a person's judgement (``campaigns.actions.record_goal_value``), with who and when
UNKNOWN = "unknown"  # no value here: ``GoalRow.reason`` says why

# Why a goal has no value: codes for scripts (``fanzha campaign-status --json``), each with the sentence
# the dashboard and the command's text show (one place, so page and command say the same).
NOT_RECORDED = "not_recorded"  # a goal only a person can judge, with no judgement recorded yet
NO_CASE_ACCESS = "no_case_access"  # the viewer may not see the cases of the viewed units
NOT_STARTED = "not_started"  # the campaign (so the goal's period) has not begun
NO_CASES = "no_cases"  # no case in the goal's period nor in the period it is compared with
NO_BASE = "no_base"  # cases now, none in the period compared with: no change in percent
NOT_TRACKED = "not_tracked"  # the campaign does not count the item the goal measures
NOBODY_DUE = "nobody_due"  # nobody in the viewed units is due the item (yet)
NO_PERIOD_SETTLED = "no_period_settled"  # no obligation period has closed or been done yet
REASONS: dict[str, Promise] = {
    NOT_RECORDED: gettext_lazy("尚未录入"),
    NO_CASE_ACCESS: gettext_lazy("无权查看本范围的案件数据"),
    NOT_STARTED: gettext_lazy("专项行动尚未开始"),
    NO_CASES: gettext_lazy("暂无案件数据"),
    NO_BASE: gettext_lazy("对比期没有案件，无法计算增减幅度"),
    NOT_TRACKED: gettext_lazy("本行动未统计该事项"),
    NOBODY_DUE: gettext_lazy("范围内暂无应完成的人员"),
    NO_PERIOD_SETTLED: gettext_lazy("暂无已到期的工作周期"),
}


@dataclass
class GoalRow:
    """A goal with its value as the dashboard shows it: a percent (``unit`` "percent"; for case goals
    the change in percent), a count or an amount; ``met`` None when there is no value yet, and then
    ``reason`` (a ``REASONS`` code) says why. ``owner`` is the unit the value belongs to when that is
    not the dashboard's own (a judgement of the campaign's whole unit shown on a college's page)."""

    goal: Goal
    actual: float | int | None
    met: bool | None = None
    source: str = COMPUTED
    record: GoalRecord | None = None  # the latest judgement of a recorded goal
    reason: str | None = None
    owner: Unit | None = None
    measure: str = ""  # what a count counts, as the template declares it ("类" in 5类)
    counted: bool = False  # a reach goal counted from the outreach records, never typed in

    @property
    def recordable(self) -> bool:
        return self.goal.metric in RECORDED_METRICS and not self.counted

    @property
    def reason_text(self) -> str:
        """Why there is no value, in the active language ("" with a value)."""
        return str(REASONS[self.reason]) if self.reason in REASONS else ""

    @property
    def value_unit(self) -> str:
        """What a value of the goal is measured in, for the record form's label: %, 元, or the count's
        measure ("" for a count that declares none)."""
        if self.goal.unit == "percent":
            return "%"
        if self.goal.unit == "yuan":
            return str(gettext_lazy("元"))
        return self.measure

    @property
    def target_text(self) -> str:
        """The target as written on the dashboard and by ``fanzha campaign-status``: a case goal as the
        plan words it (下降, 下降50%以上), never a bare "<0%" or "-50%"; the same words as the plan's."""
        return plan_documents.goal_target_text(self.goal, self.measure)

    @property
    def text(self) -> str:
        """The value as written on the dashboard and by ``fanzha campaign-status``."""
        if self.actual is None:
            return "—"
        if self.goal.metric in CASE_METRICS:
            return f"{self.actual:+.1f}%"
        if self.goal.unit == "yuan":
            return yuan(self.actual) + self.value_unit  # one money format, as in alerts and statistics
        number = format(Decimal(str(self.actual)).normalize(), "f")
        return f"{number}%" if self.goal.unit == "percent" else number + self.value_unit


def campaign_goals(campaign: Campaign) -> list[Goal]:
    """The campaign's goals, earliest deadline first (loaded once per page: rates and cases both use them)."""
    return list(Goal.objects.filter(campaign=campaign).order_by("deadline", "pk"))


def _percent_met(goal: Goal, actual: float | int | None) -> bool | None:
    return None if actual is None else Decimal(str(actual)) >= goal.target


def latest_records(goals: Iterable[Goal]) -> dict[int, GoalRecord]:
    """The latest judgement of each recorded goal, by goal id: one query (none without such goals)."""
    wanted = [g.pk for g in goals if g.metric in RECORDED_METRICS]
    if not wanted:
        return {}
    result: dict[int, GoalRecord] = {}
    rows = GoalRecord.objects.filter(goal_id__in=wanted).select_related("recorded_by")
    for record in rows.order_by("goal_id", "-recorded_at", "-pk"):
        result.setdefault(record.goal_id, record)
    return result


def _measures(campaign: Campaign) -> dict[str, str]:
    """What each count goal counts, by goal code, as the campaign's template declares it."""
    return {g.code: g.measure for g in campaign.spec().goals if g.measure}


def _case_row(goal: Goal, progress: GoalProgress | None) -> GoalRow:
    if progress is None:
        return GoalRow(goal, None, None, UNKNOWN, reason=NO_CASE_ACCESS)
    if progress.period is None:
        return GoalRow(goal, None, None, UNKNOWN, reason=NOT_STARTED)
    if progress.actual is None:
        return GoalRow(goal, None, None, UNKNOWN, reason=NO_BASE if progress.current.cases else NO_CASES)
    return GoalRow(goal, round(progress.actual, 1), progress.met)


def _computed(goal: Goal, actual: int | None, missing: str) -> GoalRow:
    return GoalRow(goal, actual, _percent_met(goal, actual), reason=missing if actual is None else None)


def goal_rows(
    kpis: Kpis,
    figures: Figures,
    goals: Iterable[Goal] | None = None,
    cases: dict[int, GoalProgress] | None = None,
    at_path: str | None = None,
) -> list[GoalRow]:
    """Every goal of the campaign with its value for these counts, in deadline order. Case goals take
    their value from ``cases`` (``goal_progress`` over the cases the viewer may see; None: the viewer
    sees none); goals only a person can judge show the latest recorded judgement (the campaign's
    whole unit: a judgement is of the campaign, not of a part of it, so on the dashboard of a unit
    below, ``at_path``, "" for the viewer's scope roots, it is marked as the campaign unit's). A goal
    without a value carries the reason. At most two queries. Shared by the dashboard and ``fanzha
    campaign-status``, so both show the same figures."""
    campaign = kpis.campaign
    goals = campaign_goals(campaign) if goals is None else list(goals)
    records = latest_records(goals)
    measures = _measures(campaign)
    below = at_path is not None and at_path != campaign.unit.path
    rows = []
    reach_counted = campaign.spec().reach is not None  # the template says what outreach counts by
    for goal in goals:
        if goal.metric == "reach_count" and reach_counted:
            reached = campaign_reach_value(campaign, goal)
            owner = campaign.unit if below else None
            row = GoalRow(goal, reached, _percent_met(goal, reached), owner=owner, counted=True)
        elif goal.metric in RECORDED_METRICS:
            record = records.get(goal.pk)
            if record is None:
                row = GoalRow(goal, None, None, UNKNOWN, reason=NOT_RECORDED)
            else:
                value = float(record.value)
                owner = campaign.unit if below else None
                row = GoalRow(goal, value, _percent_met(goal, value), RECORDED, record, owner=owner)
        elif goal.metric == "coverage":
            row = _computed(goal, figures.coverage_percent, NOBODY_DUE)
        elif goal.metric in CASE_METRICS:
            row = _case_row(goal, cases.get(goal.pk) if cases is not None else None)
        elif goal.metric == "activity_compliance":
            row = _computed(goal, figures.tally.percent, NO_PERIOD_SETTLED)
        else:
            ratio: Ratio | None = None
            if goal.metric == "awareness_rate":
                ratio = figures.items.get(QUIZ)
            elif goal.metric == "staff_app_installed":
                ratio = figures.staff_app if Item.APP_INSTALLED in kpis.items else None
            else:
                ratio = figures.items.get(goal.metric)
            if ratio is None:
                row = GoalRow(goal, None, None, UNKNOWN, reason=NOT_TRACKED)
            else:
                row = _computed(goal, ratio.percent, NOBODY_DUE)
        row.measure = measures.get(goal.code, "")
        rows.append(row)
    return rows


# Obligations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Obligations:
    """The obligations of a subtree and their periods: done, due (open now), overdue. The one place
    that says what the dashboard and ``fanzha campaign-status`` count of the activity work."""

    obligations: int
    done: int
    due: int
    overdue: int
    percent: int | None  # on time: (done + excepted) of the periods that have closed or are done
    late: int = 0  # done, but recorded after the period closed
    excepted: int = 0  # accepted by an administrator, with a reason, without the records


def obligation_status(figures: Figures) -> Obligations:
    tally = figures.tally
    return Obligations(
        figures.obligations, tally.done, tally.due, tally.overdue, tally.percent, tally.late, tally.excepted
    )


# Cases -----------------------------------------------------------------------------------------


@dataclass
class CaseKpis:
    """Cases and loss of the viewed units in a period against the same period a year earlier, and the
    campaign's case goal (``case_change_yoy``, else ``case_change_mom``) measured over its own period."""

    period: Period
    current: Tally
    year_before: Tally
    goal: Goal | None = None
    goal_actual: float | None = None
    goal_met: bool | None = None
    goal_reason: str | None = None  # why the goal has no value (a ``REASONS`` code), as on the goal row

    @property
    def goal_reason_text(self) -> str:
        return str(REASONS[self.goal_reason]) if self.goal_reason in REASONS else ""

    @property
    def goal_target_text(self) -> str:
        """The case goal's target as the plan and the goal table word it (下降, 下降50%以上), not "0%"."""
        return plan_documents.goal_target_text(self.goal) if self.goal else ""

    @property
    def cases_change(self) -> float | None:
        return percent_change(self.current.cases, self.year_before.cases)

    @property
    def loss_change(self) -> float | None:
        return percent_change(self.current.loss, self.year_before.loss)


def case_scope(user: Any, units: Iterable[Unit]) -> QuerySet[Case] | None:
    """The cases of ``units``' subtrees the user may see, or None when the user sees no case there."""
    paths = scope_paths(user, Cap.CASE_VIEW)
    wanted = [u.path for u in units]
    if not any(p.startswith(w) or w.startswith(p) for p in paths for w in wanted):
        return None
    return cases_for(user, Cap.CASE_VIEW).filter(path_q(wanted, "unit__path"))


def case_kpis(
    user: Any, campaign: Campaign, units: Iterable[Unit], goals: Iterable[Goal], today: date | None = None
) -> CaseKpis | None:
    """The case KPIs of a dashboard over the campaign's period so far: one aggregate query over
    ``cases_case`` (unit path prefix and ``reported_at``), none for a user without ``Cap.CASE_VIEW``
    there or before the campaign starts."""
    today = today or timezone.localdate()
    last = min(today, campaign.ends_on)
    units = list(units)
    qs = case_scope(user, units)
    if qs is None or last < campaign.starts_on:
        return None
    period = Period(campaign.starts_on, last)
    periods = {"now": period, "yoy": year_earlier(period)}
    wanted = sorted(case_goals(goals), key=lambda g: (g.metric != "case_change_yoy", g.deadline, g.pk))
    goal = wanted[0] if wanted else None
    span = goal_periods(campaign, goal, today) if goal is not None else None
    if span is not None:
        periods["goal"], periods["base"] = span
    # The case scope is the user's scope paths (``cases_for``) within the viewed units: the key.
    key = singleflight.key_of(
        sorted(scope_paths(user, Cap.CASE_VIEW)), sorted(u.path for u in units), sorted(periods.items())
    )
    t = singleflight.shared("case-tallies", key, lambda: tallies(qs, periods))
    result = CaseKpis(period, t["now"], t["yoy"], goal)
    if span is not None and goal is not None:
        result.goal_actual = percent_change(t["goal"].cases, t["base"].cases)
        result.goal_met = goal_met(goal.target, result.goal_actual)
        if result.goal_actual is None:
            result.goal_reason = NO_BASE if t["goal"].cases else NO_CASES
    elif goal is not None:
        result.goal_reason = NOT_STARTED
    return result


def scope_case_kpis(user: Any, today: date | None = None) -> CaseKpis | None:
    """This year so far against the same days of last year, over the user's whole case scope: one query."""
    today = today or timezone.localdate()
    roots = scope_paths(user, Cap.CASE_VIEW)
    if not roots:
        return None
    period = Period(date(today.year, 1, 1), today)
    t = tallies(cases_for(user, Cap.CASE_VIEW), {"now": period, "yoy": year_earlier(period)})
    return CaseKpis(period, t["now"], t["yoy"])


# What a dashboard page shows (built by ``views``, written out by ``export``) ----------------------


@dataclass
class Row:
    unit: Unit
    figures: Figures
    url: str

    @property
    def cells(self) -> list[tuple[str, Ratio]]:
        """(item label, ratio) in the campaign's item order."""
        return self.figures.cells


@dataclass
class Board:
    """Everything a dashboard shows for one viewpoint: a unit, or the roots of the user's scope."""

    kpis: Kpis
    at: Unit | None
    current: Counter[str]  # the viewpoint's counts (metric → value)
    figures: Figures
    rows: list[Row]
    sort: str


def worst_first(rows: list[Row], sort: str = "coverage") -> list[Row]:
    """Child rows with the lowest figure ``sort`` names first (no figure last), then by place."""

    def key(row: Row) -> tuple[bool, float, str]:
        rate = row.figures.rate_of(sort)
        return (rate is None, rate if rate is not None else 0.0, row.unit.path)

    return sorted(rows, key=key)


# The status of a campaign (``fanzha campaign-status``) ---------------------------------------------


@dataclass
class CampaignStatus:
    """What the dashboard of the campaign's unit shows, for scripts: the figures, every goal with its
    value, the obligations' periods, and the child units' standing (worst first)."""

    campaign: Campaign
    unit: Unit
    today: date
    figures: Figures
    goals: list[GoalRow]
    obligations: Obligations
    units: list[Row]


def case_progress(
    campaign: Campaign, cases: QuerySet[Case], goals: Iterable[Goal], today: date
) -> dict[int, GoalProgress]:
    """The case goals' progress over ``cases`` (inside the campaign's unit), by goal id: one query."""
    return {p.goal.pk: p for p in case_goal_progress(campaign, cases, today, list(goals))}


def campaign_status(campaign: Campaign, today: date | None = None) -> CampaignStatus:
    """The campaign's unit as its dashboard shows it to someone who sees the whole unit (its cases
    too): the same functions as the page (``Kpis.figures``, ``goal_rows``, ``obligation_status``)."""
    today = today or timezone.localdate()
    unit = campaign.unit
    kpis = Kpis(campaign)
    children = list(Unit.objects.filter(parent_path=unit.path, is_active=True).order_by("path"))
    counts = sums(campaign, [unit.pk, *(u.pk for u in children)])
    figures = kpis.figures(counts[unit.pk])
    goals = campaign_goals(campaign)
    rows = [Row(u, kpis.figures(counts[u.pk]), "") for u in children]
    return CampaignStatus(
        campaign,
        unit,
        today,
        figures,
        goal_rows(kpis, figures, goals, case_progress(campaign, Case.objects.all(), goals, today)),
        obligation_status(figures),
        worst_first(rows),
    )
