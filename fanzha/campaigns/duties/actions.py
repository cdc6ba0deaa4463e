"""Writes of department duties: the office names the person in charge of a department's duty.

A duty is an ordinary obligation (its rule carries the department), so recording, evidence, periods,
exceptions and reminders are the obligation machinery's; only the person in charge is the duty's own.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fanzha.org.models import Membership, Person
from fanzha.org.scope import Cap, in_tree_scope

from ..actions import obligation_event
from ..models import Campaign, Obligation

EVENT_DUTY_PERSON = "duty_person_assigned"


def department_members(obligation: Obligation) -> list[Person]:
    """Who may be in charge of a duty: the active members of the department unit it falls on."""
    return list(
        Person.objects.filter(memberships__unit_id=obligation.unit_id, is_active=True)
        .distinct()
        .order_by("pk")
    )


@transaction.atomic
def assign_person_in_charge(obligation: Obligation, person: Person | None, actor: Any = None) -> Obligation:
    """Name (or with None clear) the person in charge of a department duty's obligation.

    Why the office only: the plan's office (those who run campaigns at the issuing unit) shares the work
    out; a department cannot name itself out of a duty. The person must belong to the department unit,
    so the duty never points at someone who cannot record it. The campaign's history keeps who named whom.
    """
    obligation = (
        Obligation.objects.select_for_update(of=("self",))
        .select_related("rule", "campaign__unit", "unit")
        .get(pk=obligation.pk)
    )
    campaign = obligation.campaign
    if actor is not None and not in_tree_scope(actor, campaign.unit, Cap.CAMPAIGN):
        raise PermissionDenied
    if not obligation.rule.department:
        raise ValidationError({"person": _("只有部门职责可以指定责任人。")})
    if campaign.status != Campaign.Status.ACTIVE:
        raise ValidationError(_("专项行动已结束，不能再修改"))
    if (
        person is not None
        and not Membership.objects.filter(person=person, unit_id=obligation.unit_id).exists()
    ):
        raise ValidationError({"person": _("责任人须是“%(unit)s”的成员。") % {"unit": obligation.unit.name}})
    before = obligation.person_in_charge_id
    new = person.pk if person is not None else None
    if before == new:
        return obligation
    obligation.person_in_charge = person
    obligation.save(update_fields=["person_in_charge"])
    obligation_event(obligation, EVENT_DUTY_PERSON, actor, person=new, before=before)
    return obligation
