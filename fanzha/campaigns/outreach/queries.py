"""Reach of a campaign's outreach records: people reached and materials handed out per branch,
target group, channel and township or village, with the goal's groups covered.

Scope comes from ``campaigns.queries``: the head office sees every branch's records, a branch its own
(a campaign above the scope is visible, its records only inside it). A record reaching several groups
counts its people under each of them (the plan counts coverage per group); the totals count it once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from fanzha.org.models import Unit

from .. import queries
from ..models import Activity, Campaign, Evidence, Goal
from ..spec import Reach

# The goal of a reach_count metric whose template declares ``measure = "类"`` counts the groups covered;
# any other reach_count goal counts the people reached.
GROUP_MEASURE = "类"


def campaign_records(campaign: Campaign) -> QuerySet[Activity]:
    """The campaign's outreach records: those counted for its obligations, and free-standing ones in its
    subtree and days (a branch may record a counter talk without choosing a task)."""
    loose = Q(
        campaign__isnull=True,
        unit__path__startswith=campaign.unit.path,
        occurred_on__gte=campaign.starts_on,
        occurred_on__lte=campaign.ends_on,
    )
    return Activity.objects.filter(Q(campaign=campaign) | loose, is_deleted=False).exclude(
        target_groups=[], channel=""
    )


def records_for(user: Any, campaign: Campaign) -> QuerySet[Activity]:
    """The campaign's outreach records the user may see."""
    return campaign_records(campaign).filter(pk__in=queries.activities_for(user).values("pk"))


@dataclass
class Cell:
    records: int = 0
    people: int = 0
    materials: int = 0

    def add(self, activity: Activity) -> None:
        self.records += 1
        self.people += activity.attendance_count or 0
        self.materials += activity.materials_count or 0


@dataclass
class Row:
    """One branch (the unit just below the campaign's, or the campaign's own unit) and its reach."""

    unit: Unit
    total: Cell = field(default_factory=Cell)
    groups: dict[str, Cell] = field(default_factory=lambda: defaultdict(Cell))
    channels: dict[str, Cell] = field(default_factory=lambda: defaultdict(Cell))

    def group_cells(self, reach: Reach) -> list[Cell]:
        return [self.groups.get(g.code, Cell()) for g in reach.groups]

    def channel_cells(self, reach: Reach) -> list[Cell]:
        return [self.channels.get(c.code, Cell()) for c in reach.channels]


@dataclass
class Detail:
    """People and materials for one branch × township (village) × group × channel."""

    unit: Unit
    area: str
    group: str
    channel: str
    cell: Cell


@dataclass
class Totals:
    campaign: Campaign
    reach: Reach
    rows: list[Row]
    total: Row
    details: list[Detail]
    photos: list[Any]  # Evidence rows (photos) of the records, newest first, a few
    goals: list[GoalFigure]

    @property
    def groups_covered(self) -> int:
        return sum(1 for g in self.reach.groups if self.total.groups.get(g.code, Cell()).people > 0)


@dataclass
class GoalFigure:
    goal: Goal
    value: int
    text: str
    target_text: str
    met: bool


def branch_of(campaign: Campaign, unit: Unit, branches: dict[str, Unit]) -> Unit:
    """The unit just below the campaign's holding ``unit`` (the campaign's own unit for its own records)."""
    key = unit.path[: len(campaign.unit.path) + Unit.steplen]
    return branches.get(key, campaign.unit)


def group_goal_value(goal: Goal, measure: str, groups_covered: int, people: int) -> int:
    return groups_covered if measure == GROUP_MEASURE else people


def totals(campaign: Campaign, records: QuerySet[Activity], photos: int = 6) -> Totals | None:
    """The reach tables of ``records`` (already scoped); None when the campaign counts no reach."""
    reach = campaign.spec().reach
    if reach is None:
        return None
    depth = campaign.unit.depth + 1
    branches = {
        u.path: u
        for u in Unit.objects.filter(path__startswith=campaign.unit.path, depth=depth).order_by("path")
    }
    rows: dict[int, Row] = {}
    total = Row(campaign.unit)
    details: dict[tuple[int, str, str, str], Detail] = {}
    listed = list(records.select_related("unit").order_by("unit__path", "occurred_on", "pk"))
    for activity in listed:
        branch = branch_of(campaign, activity.unit, branches)
        row = rows.setdefault(branch.pk, Row(branch))
        for target in (row, total):
            target.total.add(activity)
            for code in activity.target_groups or []:
                target.groups[code].add(activity)
            if activity.channel:
                target.channels[activity.channel].add(activity)
        for code in activity.target_groups or [""]:
            key = (branch.pk, activity.area, code, activity.channel)
            details.setdefault(key, Detail(branch, activity.area, code, activity.channel, Cell())).cell.add(
                activity
            )
    shown = list(
        Evidence.objects.filter(activity__in=[a.pk for a in listed], kind=Evidence.Kind.PHOTO)
        .select_related("activity__unit")
        .order_by("-activity__occurred_on", "-pk")[:photos]
    )
    result = Totals(
        campaign,
        reach,
        sorted(rows.values(), key=lambda r: r.unit.path),
        total,
        sorted(details.values(), key=lambda d: (d.unit.path, d.area, d.group, d.channel)),
        shown,
        [],
    )
    measures = {g.code: g.measure for g in campaign.spec().goals}
    for goal in Goal.objects.filter(campaign=campaign, metric="reach_count").order_by("deadline", "pk"):
        measure = measures.get(goal.code, "")
        value = group_goal_value(goal, measure, result.groups_covered, total.total.people)
        number = format(goal.target.normalize(), "f")
        result.goals.append(
            GoalFigure(goal, value, f"{value}{measure}", f"{number}{measure}", Decimal(value) >= goal.target)
        )
    return result


def campaign_reach_value(campaign: Campaign, goal: Goal) -> int:
    """The value of a reach_count goal over all the campaign's records (what the dashboard shows)."""
    found = totals(campaign, campaign_records(campaign), photos=0)
    if found is None:
        return 0
    figure = next((g for g in found.goals if g.goal.pk == goal.pk), None)
    return figure.value if figure else 0
