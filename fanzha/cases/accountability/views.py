"""Pages of accountability (问责): the list in scope, issuing and acknowledging. Thin: reads come from
``queries`` (scope), writes from ``actions``. Also the rows with the buttons a user may press, which
the trace-back pages show for their case."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from fanzha.org.models import RoleGrant
from fanzha.org.scope import Cap, in_scope
from fanzha.org.views import AuthedRequest

from .. import queries
from ..models import AccountabilityAction
from . import actions

LIST_LIMIT = 200


def _admin_units(user: Any) -> set[int]:
    """Units where the user holds an administrator grant (who may acknowledge for them), one query."""
    return set(
        RoleGrant.objects.filter(user=user, role__in=actions.ADMIN_ROLES).values_list("unit_id", flat=True)
    )


def rows(user: Any, found: list[AccountabilityAction]) -> list[dict[str, Any]]:
    admin_units = _admin_units(user)
    return [
        {
            "action": a,
            "can_issue": a.status == AccountabilityAction.Status.PROPOSED
            and in_scope(user, a.campaign.unit, Cap.ACCOUNTABILITY),
            "can_ack": a.status == AccountabilityAction.Status.ISSUED
            and in_scope(user, a.target, Cap.CASE_EDIT)
            and (user.is_superuser or a.target_id in admin_units),
        }
        for a in found
    ]


@login_required
def accountability_list(request: AuthedRequest) -> HttpResponse:
    """Accountability actions in scope: the issuing side issues proposals, the target side acknowledges."""
    scoped = queries.accountability_for(request.user, Cap.CASE_VIEW)
    status = request.GET.get("status", "")
    if status not in AccountabilityAction.Status.values:
        status = ""
    counts = dict(scoped.order_by().values_list("status").annotate(n=Count("pk")))
    shown = scoped.filter(status=status) if status else scoped
    found = list(
        shown.select_related("case", "campaign__unit", "target", "issued_by", "acknowledged_by").order_by(
            "status", "-case__reported_at", "pk"
        )[:LIST_LIMIT]
    )
    tabs = [{"status": "", "label": _("全部"), "n": sum(counts.values()), "current": not status}] + [
        {"status": value, "label": label, "n": counts.get(value, 0), "current": status == value}
        for value, label in AccountabilityAction.Status.choices
    ]
    return render(
        request,
        "cases/accountability_list.html",
        {
            "rows": rows(request.user, found),
            "tabs": tabs,
            "status": status,
            "limit": LIST_LIMIT,
            "next": request.get_full_path(),
        },
    )


def _action(request: AuthedRequest, pk: int) -> AccountabilityAction:
    return get_object_or_404(
        queries.accountability_for(request.user, Cap.CASE_VIEW).select_related(
            "case__unit", "campaign__unit", "target"
        ),
        pk=pk,
    )


def _back(request: AuthedRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(reverse("accountability_list"))


@login_required
def accountability_issue(request: AuthedRequest, pk: int) -> HttpResponse:
    action = _action(request, pk)
    if request.method != "POST":
        return redirect("accountability_list")
    try:
        actions.issue_accountability(action, request.user, request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("问责已下发，已通知被问责单位。"))
    return _back(request)


@login_required
def accountability_acknowledge(request: AuthedRequest, pk: int) -> HttpResponse:
    action = _action(request, pk)
    if request.method != "POST":
        return redirect("accountability_list")
    try:
        actions.acknowledge_accountability(action, request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已签收。"))
    return _back(request)
