"""Reads behind the activity and letter pages, built on the scoped querysets of ``queries``.

Kept apart from the views so that the reports app can reuse the same roll-ups, and apart from
``queries`` because they shape data for display rather than decide what a user may see.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from fanzha.org.models import Unit
from fanzha.org.scope import units_for

from .. import queries
from ..models import Activity, ActivityKind, Attendance, Campaign, Evidence, Obligation
from ..outreach.options import record_options
from .actions import REACH_FIELDS, RECORD, snapshot


def _count(model: type[Any]) -> Coalesce:
    """Number of ``model`` rows per activity, as a correlated subquery (no join fan-out, no N+1)."""
    counted = (
        model.objects.filter(activity=OuterRef("pk"))
        .order_by()
        .values("activity")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_counts(activities: QuerySet[Activity]) -> QuerySet[Activity]:
    """Activities with their unit, obligation and recorder loaded, and evidence and attendee counts."""
    return activities.select_related("unit", "obligation__rule", "recorded_by").annotate(
        evidence_count=_count(Evidence), attendee_count=_count(Attendance)
    )


MAX_FILTER_UNITS = 2000


def filter_units(user: Any, activities: QuerySet[Activity]) -> QuerySet[Unit]:
    """Units worth filtering the list by: those with activities and the units above them, in scope.

    Upper levels come first when there are very many, so a school still filters by college.
    """
    paths = set(activities.order_by().values_list("unit__path", flat=True).distinct())
    by_depth: dict[int, set[str]] = defaultdict(set)
    for path in paths:
        for end in range(Unit.steplen, len(path) + 1, Unit.steplen):
            by_depth[end].add(path[:end])
    chosen: set[str] = set()
    for end in sorted(by_depth):
        if len(chosen) + len(by_depth[end]) > MAX_FILTER_UNITS:
            break
        chosen |= by_depth[end]
    return units_for(user).filter(path__in=chosen).order_by("path")


def obligation_choices(user: Any, units: QuerySet[Unit], keep: int | None = None) -> QuerySet[Obligation]:
    """Open obligations of ``units`` that the user may record activities against (and ``keep``,
    the one an edited activity already counts for, even if its campaign has ended since)."""
    is_open = Q(is_active=True, campaign__status=Campaign.Status.ACTIVE)
    return (
        queries.obligations_for(user, RECORD)
        .filter(is_open | Q(pk=keep) if keep else is_open, unit__in=units)
        .select_related("rule", "campaign", "unit")
        .order_by("unit__path", "campaign__title", "rule__title")
    )


def matching_obligations(obligations: list[Obligation], unit_id: int | None, kind: str) -> list[Obligation]:
    """The obligations that an activity of ``kind`` in the unit would count towards."""
    return [
        o
        for o in obligations
        if o.unit_id == unit_id and (not o.rule.activity_kinds or kind in o.rule.activity_kinds)
    ]


def obvious_obligation(obligations: list[Obligation], unit_id: int | None, kind: str) -> Obligation | None:
    """The obligation an activity of ``kind`` in the unit plainly counts for, to choose it beforehand
    ("计入工作任务" not left at 不关联): the only one matching, or else the only one whose rule names
    the kind (a rule that takes any kind is the less obvious home); None when it is not plain."""
    matches = matching_obligations(obligations, unit_id, kind)
    if len(matches) == 1:
        return matches[0]
    named = [o for o in matches if kind in (o.rule.activity_kinds or [])]
    return named[0] if len(named) == 1 else None


# History ---------------------------------------------------------------------------------------


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    at: Any
    actor: str
    deleted: bool
    changes: list[Change]


def _shown(data: dict[str, Any], name: str, names: dict[str, str] | None = None) -> str:
    value = data.get(name)
    names = names or {}
    if name == "kind":
        return str(ActivityKind(value).label) if value in ActivityKind.values else str(value or "")
    if name == "unit":
        return str(data.get("unit_name") or value or "")
    if name == "obligation":
        return str(data.get("obligation_title") or "") or _("（不关联工作任务）")
    if name == "target_groups":
        return "、".join(names.get(str(v), "—") for v in value or [])
    if name == "channel":
        return names.get(str(value), "—") if value else ""
    if name == "occurred_on" and isinstance(value, str):
        parsed = parse_date(value)
        return parsed.isoformat() if parsed else value
    return "" if value is None else str(value)


def _value(data: dict[str, Any], name: str) -> Any:
    """A snapshot's value, outreach fields blank alike (revisions older than them lack the keys)."""
    value = data.get(name)
    return (value or None) if name in REACH_FIELDS else value


def history(activity: Activity) -> list[HistoryEntry]:
    """The activity's revisions, newest first, each with what that edit changed."""
    labels = {
        "unit": _("单位"),
        "kind": _("类型"),
        "occurred_on": _("日期"),
        "title": _("标题"),
        "summary": _("内容摘要"),
        "link": _("链接"),
        "attendance_count": _("参加人数"),
        "obligation": _("工作任务"),
        "target_groups": _("重点人群"),
        "channel": _("宣传渠道"),
        "area": _("乡镇（村）"),
        "materials_count": _("发放宣传资料"),
    }
    revisions = list(activity.revisions.select_related("actor"))
    names: dict[str, str] = {}
    if any(r.data.get("target_groups") or r.data.get("channel") for r in revisions) or activity.channel:
        options = record_options([activity.unit])
        names = {o.code: o.name for o in (*options.groups, *options.channels)}
    after = snapshot(activity)
    entries = []
    for revision in revisions:
        before = revision.data
        deleted = before.get("event") == "deleted"
        changes = [
            Change(label, _shown(before, name, names), _shown(after, name, names))
            for name, label in labels.items()
            if not deleted and _value(before, name) != _value(after, name)
        ]
        actor = revision.actor
        entries.append(
            HistoryEntry(
                at=revision.at,
                actor=(actor.first_name or actor.username) if actor else "",
                deleted=deleted,
                changes=changes,
            )
        )
        after = before
    return entries


# Letters ---------------------------------------------------------------------------------------


def month_bounds(value: str) -> tuple[date, date] | None:
    """First day of ``YYYY-MM`` and of the month after it, or None for anything else."""
    try:
        year, month = (int(part) for part in value.split("-"))
        start = date(year, month, 1)
    except ValueError:
        return None
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end
