"""Follow-up pages (心理疏导): a case's follow-up with its plan, sessions and closure, and "my
follow-ups" for counsellors and psychologists; ``panel`` for the case page.

Thin: reads come from ``queries`` (scope) and ``actions.read_texts`` (the texts, for
``Cap.COUNSEL`` holders only), writes from ``actions``. A case outside the user's scope
answers 404; a visible case whose counselling texts the user may not touch answers 403 on every
write and shows no text.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fanzha.org.forms import apply_errors
from fanzha.org.scope import Cap, scope_paths
from fanzha.org.views import AuthedRequest

from .. import queries
from ..models import Case, FollowUp
from ..queries import followups_due
from . import actions
from .forms import CloseForm, PlanForm, SessionForm

LIST_LIMIT = 200


def case_link(case: Case) -> str:
    """The case page's address, when the case pages are mounted."""
    try:
        return reverse("case_detail", args=[case.pk])
    except NoReverseMatch:
        return ""


def _case(request: AuthedRequest, case_pk: int) -> Case:
    """A case in the user's scope (404 otherwise)."""
    return get_object_or_404(
        queries.cases_for(request.user, Cap.CASE_VIEW).select_related("unit"), pk=case_pk
    )


def _followup(case: Case) -> FollowUp | None:
    return FollowUp.objects.filter(case=case).select_related("counsellor", "psychologist").first()


def _counsel_case(request: AuthedRequest, case_pk: int) -> tuple[Case, FollowUp]:
    """For a write: the case (404) whose texts the user may write (403) and its follow-up (404)."""
    case = _case(request, case_pk)
    if not actions.can_counsel(request.user, case):
        raise PermissionDenied
    followup = _followup(case)
    if followup is None:
        raise PermissionDenied
    return case, followup


def _summary(followup: FollowUp | None) -> dict[str, Any]:
    """What anyone who sees the case may know of its follow-up: no text."""
    if followup is None:
        return {"followup": None, "sessions": 0}
    return {"followup": followup, "sessions": followup.sessions.count()}


def _render_detail(
    request: AuthedRequest, case: Case, followup: FollowUp | None, status: int = 200, **forms_: Any
) -> HttpResponse:
    counsel = actions.can_counsel(request.user, case)
    context: dict[str, Any] = {
        "case": case,
        "case_url": case_link(case),
        "can_counsel": counsel,
        "today": timezone.localdate(),
        **_summary(followup),
    }
    if counsel and followup is not None:
        texts = actions.read_texts(followup, request.user)
        context["texts"] = texts
        if followup.status == FollowUp.Status.OPEN:
            context["plan_form"] = forms_.get("plan_form") or PlanForm(
                case=case,
                initial={
                    "plan": texts.plan,
                    "planned_sessions": followup.planned_sessions,
                    "next_date": followup.next_date,
                    "counsellor": followup.counsellor_id,
                    "psychologist": followup.psychologist_id,
                },
            )
            context["session_form"] = forms_.get("session_form") or SessionForm(
                initial={"held_on": timezone.localdate()}
            )
            context["close_form"] = forms_.get("close_form") or CloseForm()
    return render(request, "cases/followup_detail.html", context, status=status)


@login_required
def followup_detail(request: AuthedRequest, case_pk: int) -> HttpResponse:
    """A case's follow-up: status and dates for everyone who sees the case; plan, notes and forms for
    the counsellor and psychologist roles."""
    case = _case(request, case_pk)
    return _render_detail(request, case, _followup(case))


@login_required
@require_POST
def followup_open(request: AuthedRequest, case_pk: int) -> HttpResponse:
    """Open a follow-up by hand (a victim not on the roster gets none automatically)."""
    case = _case(request, case_pk)
    if not actions.can_counsel(request.user, case):
        raise PermissionDenied
    actions.open_followup(case, request.user, counsellor=request.user)
    messages.success(request, _("已建立心理疏导计划。"))
    return redirect("followup_detail", case_pk=case.pk)


@login_required
@require_POST
def followup_plan(request: AuthedRequest, case_pk: int) -> HttpResponse:
    case, followup = _counsel_case(request, case_pk)
    form = PlanForm(request.POST, case=case)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_plan(
                followup,
                request.user,
                plan=data["plan"],
                planned_sessions=data["planned_sessions"],
                next_date=data["next_date"],
                counsellor=data["counsellor"],
                psychologist=data["psychologist"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("疏导计划已保存。"))
            return redirect("followup_detail", case_pk=case.pk)
    return _render_detail(request, case, followup, status=400, plan_form=form)


@login_required
@require_POST
def followup_session(request: AuthedRequest, case_pk: int) -> HttpResponse:
    case, followup = _counsel_case(request, case_pk)
    form = SessionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.add_session(followup, request.user, data["held_on"], data["notes"], data["next_date"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("疏导记录已添加。"))
            return redirect("followup_detail", case_pk=case.pk)
    return _render_detail(request, case, followup, status=400, session_form=form)


@login_required
@require_POST
def followup_close(request: AuthedRequest, case_pk: int) -> HttpResponse:
    case, followup = _counsel_case(request, case_pk)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            actions.close_followup(followup, request.user, form.cleaned_data["closing_note"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("心理疏导已结束。"))
            return redirect("followup_detail", case_pk=case.pk)
    return _render_detail(request, case, followup, status=400, close_form=form)


@login_required
def followup_list(request: AuthedRequest) -> HttpResponse:
    """My follow-ups: the open ones in the counselling scope, due first, those assigned to me marked."""
    if not scope_paths(request.user, Cap.COUNSEL):
        raise PermissionDenied
    scoped = queries.followups_for(request.user, Cap.COUNSEL)
    mine_only = request.GET.get("mine") == "1"
    today = timezone.localdate()
    due = queries.due_filter(request.GET.get("due"))  # the workbench's numbers link here with this filter
    rows = followups_due(scoped, due, today) if due else scoped.filter(status=FollowUp.Status.OPEN)
    if mine_only:
        rows = rows.filter(counsellor=request.user) | rows.filter(psychologist=request.user)
    followups = list(
        rows.select_related("case__unit", "counsellor", "psychologist")
        .annotate(session_count=Count("sessions"))
        # Dates first (the most overdue on top), then those with no date planned.
        .order_by(F("next_date").asc(nulls_last=True), "case__reported_at", "pk")[:LIST_LIMIT]
    )
    items = [
        {
            "followup": f,
            "case": f.case,
            "due": f.next_date is not None and f.next_date <= today,
            "mine": request.user.pk in (f.counsellor_id, f.psychologist_id),
        }
        for f in followups
    ]
    return render(
        request,
        "cases/followup_list.html",
        {"items": items, "mine_only": mine_only, "limit": LIST_LIMIT, "today": today, "due": due},
    )


def panel(case: Case, user: Any) -> dict[str, Any]:
    """Context of the followup panel on the case page (template ``cases/_followup_panel.html``):
    status, next date and session count for everyone who sees the case; no text."""
    followup = _followup(case)
    counsel = actions.can_counsel(user, case)
    today = timezone.localdate()
    return {
        **_summary(followup),
        "case": case,
        "url": reverse("followup_detail", args=[case.pk]),
        "can_counsel": counsel,
        "can_open": followup is None and counsel,
        "due": followup is not None
        and followup.status == FollowUp.Status.OPEN
        and followup.next_date is not None
        and followup.next_date <= today,
    }
