"""Consultation pages: a campaign's meetings (with its overdue decisions), recording one, a meeting with
its decisions, adding and closing decisions. Out of scope answers 404; in sight but not allowed, 403."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fanzha.org.forms import apply_errors

from .. import queries as campaign_queries
from ..models import Campaign, Consultation, ConsultationDecision
from . import actions, queries
from .forms import CloseForm, DecisionForm, MeetingForm


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    return get_object_or_404(campaign_queries.campaigns_for(request.user).select_related("unit"), pk=pk)


def _meeting(request: HttpRequest, pk: int) -> Consultation:
    return get_object_or_404(
        queries.consultations_for(request.user).select_related("campaign__unit", "unit"), pk=pk
    )


@login_required
def consultation_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The campaign's meetings the user sees, and its overdue decisions first."""
    campaign = _campaign(request, pk)
    meetings = (
        queries.consultations_for(request.user)
        .filter(campaign=campaign)
        .select_related("unit")
        .prefetch_related("units_present")
    )
    return render(
        request,
        "campaigns/consultations/list.html",
        {
            "campaign": campaign,
            "tab": "consultations",
            "meetings": meetings,
            "overdue": queries.overdue_decisions(request.user, campaign),
            "can_record": queries.convening_units(request.user, campaign).exists(),
        },
    )


@login_required
def consultation_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a meeting (those who run campaigns at one of the campaign's units)."""
    campaign = _campaign(request, pk)
    convening = queries.convening_units(request.user, campaign)
    if not convening.exists():
        raise PermissionDenied
    form = MeetingForm(request.POST or None, convening=convening, units=queries.campaign_units(campaign))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            meeting = actions.record_meeting(
                campaign,
                data["unit"],
                held_on=data["held_on"],
                title=data["title"],
                units_present=list(data["units_present"]),
                minutes=data["minutes"],
                actor=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("会商会议已记录。"))
            return redirect("consultation_detail", pk=meeting.pk)
    return render(request, "campaigns/consultations/form.html", {"campaign": campaign, "form": form})


def _detail(request: HttpRequest, meeting: Consultation, **forms: object) -> HttpResponse:
    manages = queries.manages(request.user, meeting)
    decisions = list(queries.decisions_for(request.user, meeting))
    rows = [(d, actions.can_close(request.user, d)) for d in decisions]
    context: dict[str, object] = {
        "meeting": meeting,
        "campaign": meeting.campaign,
        "units_present": meeting.units_present.order_by("path"),
        "rows": rows,
        "manages": manages,
        "decision_form": DecisionForm(units=queries.campaign_units(meeting.campaign)) if manages else None,
        "close_form": CloseForm(),
        **forms,
    }
    status = 400 if any(getattr(f, "errors", None) for f in forms.values()) else 200
    return render(request, "campaigns/consultations/detail.html", context, status=status)


@login_required
def consultation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _meeting(request, pk))


@login_required
@require_POST
def decision_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting(request, pk)
    if not queries.manages(request.user, meeting):
        raise PermissionDenied
    form = DecisionForm(request.POST, units=queries.campaign_units(meeting.campaign))
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.add_decision(
                meeting,
                text=data["text"],
                owner_unit=data["owner_unit"],
                owner_person=data["owner_person"],
                due_on=data["due_on"],
                actor=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("决定事项已添加，已通知责任单位。"))
            return redirect("consultation_detail", pk=meeting.pk)
    return _detail(request, meeting, decision_form=form)


@login_required
@require_POST
def decision_close(request: HttpRequest, pk: int) -> HttpResponse:
    decision: ConsultationDecision = get_object_or_404(
        ConsultationDecision.objects.select_related("consultation"), pk=pk
    )
    meeting = _meeting(request, decision.consultation_id)
    if not queries.decisions_for(request.user, meeting).filter(pk=decision.pk).exists():
        raise Http404
    if not actions.can_close(request.user, decision):
        raise PermissionDenied
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            actions.close_decision(decision, note=form.cleaned_data["note"], actor=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("决定事项已办结。"))
            return redirect("consultation_detail", pk=meeting.pk)
    return _detail(request, meeting, close_form=form, closing=decision.pk)
