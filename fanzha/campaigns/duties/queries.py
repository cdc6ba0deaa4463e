"""Reads of department duties, scoped through ``campaigns.queries``: the office (campaign runners at the
issuing unit) sees every department; a department's own people see their own duties only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import QuerySet

from fanzha.org.models import Unit
from fanzha.org.scope import Cap, in_tree_scope

from .. import compliance
from .. import queries as campaign_queries
from ..models import Campaign, Obligation


def is_office(user: Any, campaign: Campaign) -> bool:
    """Whether the user runs the campaign at its issuing unit (the plan's office): sees and assigns all."""
    return in_tree_scope(user, campaign.unit, Cap.CAMPAIGN)


def duties_for(user: Any, campaign: Campaign) -> QuerySet[Obligation]:
    """The campaign's department-duty obligations the user sees."""
    return (
        campaign_queries.obligations_for(user)
        .filter(campaign=campaign, is_active=True)
        .exclude(rule__department="")
    )


@dataclass
class DepartmentRow:
    """One department unit's duties in their current period."""

    unit: Unit
    department: str
    duties: int = 0
    done: int = 0  # current period settled (done, late, accepted)
    due: int = 0  # current period running, not yet done
    overdue: int = 0  # periods closed without the work
    states: list[compliance.ObligationState] = field(default_factory=list)


def standing(
    campaign: Campaign, obligations: QuerySet[Obligation], today: date | None = None
) -> list[DepartmentRow]:
    """Per department unit: its duties, how many are done and due in the current period, and how many
    closed periods were missed; in the plan's order of departments, then by unit."""
    snap = compliance.snapshot(campaign, obligations, today)
    order = {d.name: i for i, d in enumerate(campaign.spec().departments)}
    rows: dict[int, DepartmentRow] = {}
    units = {u.pk: u for u in Unit.objects.filter(pk__in={i.unit_id for i in snap.items})}
    for item in snap.items:
        state = snap.state(item)
        row = rows.get(item.unit_id)
        if row is None:
            row = rows[item.unit_id] = DepartmentRow(units[item.unit_id], state.rule.department)
        row.duties += 1
        row.states.append(state)
        current = state.current
        if current is not None and current.status in compliance.SETTLED:
            row.done += 1
        elif current is not None and current.status == compliance.Status.DUE:
            row.due += 1
        row.overdue += state.tally.overdue
    return sorted(rows.values(), key=lambda r: (order.get(r.department, len(order)), r.unit.path))
