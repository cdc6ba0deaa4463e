"""Reads of the consultation pages, scoped here: the convening unit's campaign runners (and those above)
see a meeting whole; a unit present at it or owning one of its decisions sees it with its own decisions."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from fanzha.org.models import RESIDENCE_KINDS, Unit
from fanzha.org.scope import Cap, in_tree_scope, path_q, scope_paths

from ..models import Campaign, Consultation, ConsultationDecision


def manages(user: Any, consultation: Consultation) -> bool:
    """Whether the user runs campaigns at the convening unit or above (sees all, records decisions)."""
    return in_tree_scope(user, consultation.unit, Cap.CAMPAIGN)


def consultations_for(user: Any) -> QuerySet[Consultation]:
    """Meetings convened inside the user's campaign scope, attended by a unit in their scope, or with a
    decision owned by one."""
    paths = scope_paths(user, Cap.VIEW)
    q = (
        path_q(scope_paths(user, Cap.CAMPAIGN), "unit__path")
        | Q(units_present__in=Unit.objects.filter(path_q(paths)))
        | Q(decisions__owner_unit__in=Unit.objects.filter(path_q(paths)))
    )
    return Consultation.objects.filter(pk__in=Consultation.objects.filter(q).values("pk"))


def decisions_for(user: Any, consultation: Consultation) -> QuerySet[ConsultationDecision]:
    """All decisions for a manager; for anyone else those owned by a unit in their scope."""
    qs = consultation.decisions.select_related("owner_unit", "owner_person")
    if manages(user, consultation):
        return qs
    return qs.filter(path_q(scope_paths(user, Cap.VIEW), "owner_unit__path"))


def overdue_decisions(user: Any, campaign: Campaign) -> QuerySet[ConsultationDecision]:
    """Open decisions past their due date that the user sees, in the campaign's meetings."""
    visible = consultations_for(user).filter(campaign=campaign)
    qs = ConsultationDecision.objects.filter(
        consultation__in=visible, status=ConsultationDecision.Status.OPEN, due_on__lt=timezone.localdate()
    ).select_related("consultation", "owner_unit")
    managed = path_q(scope_paths(user, Cap.CAMPAIGN), "consultation__unit__path")
    return qs.filter(managed | path_q(scope_paths(user, Cap.VIEW), "owner_unit__path"))


def campaign_units(campaign: Campaign) -> QuerySet[Unit]:
    """Units a meeting may name (present, owner): the active units of the campaign's subtree that answer
    for work. Dormitory buildings and rooms are where people live: they attend no meeting and own no
    decision (and a university's thousands of rooms made the form a 0.6 s page of checkboxes)."""
    return (
        Unit.objects.filter(path__startswith=campaign.unit.path, is_active=True)
        .exclude(kind__in=RESIDENCE_KINDS)
        .order_by("path")
    )


def convening_units(user: Any, campaign: Campaign) -> QuerySet[Unit]:
    """Units of the campaign where the user may convene a meeting (campaign runners there)."""
    return campaign_units(campaign).filter(path_q(scope_paths(user, Cap.CAMPAIGN)))
