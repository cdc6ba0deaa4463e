"""Department duty pages: the office's standing of every department, one department's duties (with the
office's person-in-charge form), naming the person. Out of scope answers 404; in sight, not allowed, 403."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fanzha.org.scope import Cap, in_scope

from .. import queries as campaign_queries
from ..models import Campaign, Frequency
from . import actions, queries
from .forms import AssignForm

FREQUENCY_LABELS = dict(Frequency.choices)


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    return get_object_or_404(campaign_queries.campaigns_for(request.user).select_related("unit"), pk=pk)


@login_required
def duty_standing(request: HttpRequest, pk: int) -> HttpResponse:
    """Each department's duties in the current period: done, due, overdue; linked to its duty list."""
    campaign = _campaign(request, pk)
    rows = queries.standing(campaign, queries.duties_for(request.user, campaign))
    return render(
        request,
        "campaigns/duties/standing.html",
        {
            "campaign": campaign,
            "tab": "duties",
            "rows": [{"row": r, "url": reverse("duty_list", args=[campaign.pk, r.unit.pk])} for r in rows],
            "office": queries.is_office(request.user, campaign),
        },
    )


@login_required
def duty_list(request: HttpRequest, pk: int, unit_pk: int) -> HttpResponse:
    """One department unit's duties: status of the current period, person in charge, record and assign."""
    campaign = _campaign(request, pk)
    obligations = queries.duties_for(request.user, campaign).filter(unit_id=unit_pk)
    found = queries.standing(campaign, obligations)
    if not found:
        raise Http404
    row = found[0]
    office = queries.is_office(request.user, campaign) and campaign.status == Campaign.Status.ACTIVE
    by_pk = {o.pk: o for o in obligations.select_related("rule", "unit", "person_in_charge")}
    can_record = campaign.status == Campaign.Status.ACTIVE and in_scope(request.user, row.unit, Cap.RECORD)
    duties = []
    for state in row.states:
        obligation = by_pk[state.item.pk]
        record_url = ""
        if can_record:
            query = {"unit": obligation.unit_id, "obligation": obligation.pk}
            if obligation.rule.activity_kinds:
                query["kind"] = obligation.rule.activity_kinds[0]
            record_url = reverse("activity_record") + "?" + urlencode(query)
        current = state.current
        duties.append(
            {
                "obligation": obligation,
                "rule": obligation.rule,
                "frequency": FREQUENCY_LABELS.get(obligation.rule.frequency, obligation.rule.frequency),
                "status": current.label if current else _("当前不在任何周期内"),
                "css": compliance_css(current.status if current else ""),
                "overdue": state.tally.overdue,
                "url": reverse("campaign_obligation", args=[campaign.pk, obligation.pk]),
                "record_url": record_url,
                "form": AssignForm(
                    members=actions.department_members(obligation),
                    initial={"person": obligation.person_in_charge_id},
                    prefix=f"o{obligation.pk}",
                )
                if office
                else None,
            }
        )
    return render(
        request,
        "campaigns/duties/list.html",
        {"campaign": campaign, "tab": "duties", "row": row, "duties": duties, "office": office},
    )


# The badge of a period's status, as the campaign pages show it.
STATUS_CLASSES = {"done": "ok", "late": "warn", "excepted": "warn", "due": "warn", "overdue": "bad"}


def compliance_css(status: str) -> str:
    return STATUS_CLASSES.get(status, "muted")


@login_required
@require_POST
def duty_assign(request: HttpRequest, obligation_pk: int) -> HttpResponse:
    """The office names the person in charge of one duty."""
    obligation = get_object_or_404(
        campaign_queries.obligations_for(request.user)
        .exclude(rule__department="")
        .select_related("campaign"),
        pk=obligation_pk,
    )
    campaign = obligation.campaign
    if not queries.is_office(request.user, campaign):
        raise PermissionDenied
    form = AssignForm(
        request.POST, members=actions.department_members(obligation), prefix=f"o{obligation.pk}"
    )
    if not form.is_valid():
        messages.error(request, _("责任人须是该部门的成员。"))
    else:
        try:
            actions.assign_person_in_charge(obligation, form.cleaned_data["person"], request.user)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("已指定责任人。"))
    return redirect("duty_list", pk=campaign.pk, unit_pk=obligation.unit_id)
