"""Writes of joint consultations (会商): record a meeting, add a decision (a task for its owner unit,
whose people are told in-app once the transaction commits), close a decision with a note."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.org.models import Person, RoleGrant, Unit
from fanzha.org.scope import Cap, in_tree_scope, role_caps

from ..models import Campaign, Consultation, ConsultationDecision
from . import queries

# Who is told of a decision: those granted at the owner unit who run or carry out the plan's work there.
NOTIFY_CAPS = (Cap.CAMPAIGN, Cap.RECORD)


def _check_in_campaign(campaign: Campaign, units: list[Unit], field: str) -> None:
    allowed = set(
        queries.campaign_units(campaign).filter(pk__in=[u.pk for u in units]).values_list("pk", flat=True)
    )
    if any(u.pk not in allowed for u in units):
        raise ValidationError({field: _("所选单位不在本专项行动范围内。")})


@transaction.atomic
def record_meeting(
    campaign: Campaign,
    unit: Unit,
    *,
    held_on: date,
    title: str,
    units_present: list[Unit],
    minutes: str = "",
    actor: Any = None,
) -> Consultation:
    """Record a consultation convened by ``unit``; the actor must run campaigns there."""
    if actor is not None and not in_tree_scope(actor, unit, Cap.CAMPAIGN):
        raise PermissionDenied
    _check_in_campaign(campaign, [unit], "unit")
    if not units_present:
        raise ValidationError({"units_present": _("请至少选择一个参会单位。")})
    _check_in_campaign(campaign, units_present, "units_present")
    if not title.strip():
        raise ValidationError({"title": _("请填写会商议题。")})
    meeting = Consultation.objects.create(
        campaign=campaign,
        unit=unit,
        held_on=held_on,
        title=title.strip(),
        minutes=minutes,
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    meeting.units_present.set(units_present)
    return meeting


def owner_people(unit: Unit) -> list[Person]:
    """Who may be named owner of a unit's decision: its members and those granted a role there."""
    return list(
        Person.objects.filter(Q(memberships__unit=unit) | Q(user__grants__unit=unit))
        .distinct()
        .order_by("pk")
    )


def _owner_users(decision: ConsultationDecision) -> list[Any]:
    users = {
        g.user
        for g in RoleGrant.objects.filter(unit=decision.owner_unit, user__is_active=True).select_related(
            "user"
        )
        if any(cap in role_caps(g.role, decision.owner_unit.kind) for cap in NOTIFY_CAPS)
    }
    owner = decision.owner_person.user if decision.owner_person is not None else None
    if owner is not None and owner.is_active:
        users.add(owner)
    return sorted(users, key=lambda u: u.pk)


def _queue_decision_notice(decision_pk: int) -> None:
    from fanzha.notify import actions as notify
    from fanzha.notify.models import ChannelKind

    decision = ConsultationDecision.objects.select_related(
        "consultation__campaign", "owner_unit", "owner_person__user"
    ).get(pk=decision_pk)
    meeting = decision.consultation
    subject = _("会商决定事项：%(title)s") % {"title": meeting.title}
    body = _("%(unit)s须在%(due)s前办结：%(text)s") % {
        "unit": decision.owner_unit.name,
        "due": decision.due_on.isoformat(),
        "text": decision.text,
    }
    link = reverse("consultation_detail", args=[meeting.pk])
    for user in _owner_users(decision):
        key = f"consultation-decision:{decision.pk}:{user.pk}"
        notify.queue(ChannelKind.IN_APP, user, subject=subject, body=body, key=key, link=link)


@transaction.atomic
def add_decision(
    meeting: Consultation,
    *,
    text: str,
    owner_unit: Unit,
    due_on: date,
    owner_person: Person | None = None,
    actor: Any = None,
) -> ConsultationDecision:
    """Add a decision to a meeting (the meeting's managers only); its owner unit is told on commit."""
    if actor is not None and not queries.manages(actor, meeting):
        raise PermissionDenied
    if not text.strip():
        raise ValidationError({"text": _("请填写决定事项。")})
    _check_in_campaign(meeting.campaign, [owner_unit], "owner_unit")
    if owner_person is not None and owner_person not in owner_people(owner_unit):
        raise ValidationError({"owner_person": _("责任人须是责任单位的成员。")})
    decision = ConsultationDecision.objects.create(
        consultation=meeting,
        text=text.strip(),
        owner_unit=owner_unit,
        owner_person=owner_person,
        due_on=due_on,
    )
    pk = decision.pk
    transaction.on_commit(lambda: _queue_decision_notice(pk), robust=True)
    return decision


def can_close(user: Any, decision: ConsultationDecision) -> bool:
    """The meeting's managers, or those who carry out work at the owner unit."""
    return queries.manages(user, decision.consultation) or in_tree_scope(
        user, decision.owner_unit, Cap.RECORD
    )


@transaction.atomic
def close_decision(decision: ConsultationDecision, *, note: str, actor: Any = None) -> ConsultationDecision:
    """Mark a decision done with a note saying what was done."""
    if actor is not None and not can_close(actor, decision):
        raise PermissionDenied
    decision = ConsultationDecision.objects.select_for_update().get(pk=decision.pk)
    if decision.status == ConsultationDecision.Status.DONE:
        raise ValidationError(_("该决定事项已办结。"), code="done")
    if not note.strip():
        raise ValidationError({"note": _("请填写办结情况。")})
    decision.status = ConsultationDecision.Status.DONE
    decision.done_note = note.strip()
    decision.closed_at = timezone.now()
    decision.closed_by = actor if actor is not None and actor.is_authenticated else None
    decision.save(update_fields=["status", "done_note", "closed_at", "closed_by"])
    return decision
