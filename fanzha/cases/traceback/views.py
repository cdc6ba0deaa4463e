"""Trace-back (倒查) and accountability (问责) pages: the printable trace-back report of a case with its
lessons, the accountability list of the issuing and the target side; ``panel`` for the case page.

Thin: the snapshot is read as stored and put into words here (``report``), so templates only show;
writes go through ``actions``. A case outside the user's scope answers 404; a visible
case the user may not change answers 403 on every write.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fanzha.campaigns import compliance
from fanzha.campaigns.models import ActivityKind, Frequency
from fanzha.org.forms import apply_errors
from fanzha.org.models import UnitKind
from fanzha.org.scope import Cap
from fanzha.org.views import AuthedRequest

from .. import queries
from ..accountability import actions as accountability
from ..accountability.views import rows
from ..followup.views import case_link
from ..models import Case, TraceBack
from . import actions
from .forms import LessonsForm

LIST_LIMIT = 200
ITEM_STATUS = {
    "": gettext_lazy("未完成"),
    "declared": gettext_lazy("本人已申报"),
    "verified": gettext_lazy("已核实"),
    "rejected": gettext_lazy("未通过核实"),
    "withdrawn": gettext_lazy("未完成"),
}


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _item_label(item: str) -> str:
    from fanzha.reach.models import Item

    return _label(Item, item)


def _when(value: str | None) -> datetime | date | None:
    if not value:
        return None
    return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)


def report(traceback: TraceBack) -> dict[str, Any]:
    """The stored snapshot, labelled and dated for display (the template only lays it out)."""
    snap = traceback.snapshot or {}
    campaigns = []
    for c in snap.get("campaigns", []):
        items = [
            {
                "label": _item_label(row["item"]),
                "status": str(ITEM_STATUS.get(row["status"], row["status"])),
                "done": row["done"],
                "at": _when(row["at"]),
            }
            for row in c.get("items", [])
        ]
        units = [
            {
                "unit": u["unit"],
                "kind": _label(UnitKind, u["kind"]),
                "done": u["done"],
                "due": u["due"],
                "overdue": u["overdue"],
                "percent": u["percent"],
                "rules": [
                    {
                        "title": r["title"],
                        "frequency": _label(Frequency, r["frequency"]),
                        "min": r["min"],
                        "done": r["done"],
                        "overdue": r["overdue"],
                        "percent": r["percent"],
                        "current": None
                        if r["current"] is None
                        else {
                            "start": _when(r["current"]["start"]),
                            "end": _when(r["current"]["end"]),
                            "count": r["current"]["count"],
                            "status": str(compliance.STATUS_LABELS.get(r["current"]["status"], "")),
                            "ok": r["current"]["status"] == compliance.Status.DONE,
                        },
                    }
                    for r in u["rules"]
                ],
            }
            for u in c.get("compliance", [])
        ]
        campaigns.append(
            {
                "title": c["title"],
                "unit": c["unit"],
                "starts_on": _when(c["starts_on"]),
                "ends_on": _when(c["ends_on"]),
                "items": items,
                "units": units,
            }
        )
    activities = snap.get("activities")
    if activities is not None:
        activities = {
            "since": _when(activities["since"]),
            "missed": activities["missed"],
            "attended": [
                {**a, "on": _when(a["on"]), "kind": _label(ActivityKind, a["kind"])}
                for a in activities["attended"]
            ],
            "missed_list": [
                {**a, "on": _when(a["on"]), "kind": _label(ActivityKind, a["kind"])}
                for a in activities["missed_list"]
            ],
        }
    return {
        "as_of": _when(snap.get("as_of")),
        "roster": snap.get("roster", False),
        "campaigns": campaigns,
        "quiz": snap.get("quiz"),
        "activities": activities,
        "findings": actions.findings(traceback),
    }


def _case(request: AuthedRequest, case_pk: int) -> Case:
    return get_object_or_404(
        queries.cases_for(request.user, Cap.CASE_VIEW).select_related("unit"), pk=case_pk
    )


def _traceback(case: Case, save: bool = False) -> TraceBack:
    """The case's trace-back. A case from before trace-backs gets one computed for the page (a read
    writes nothing) and stored when someone writes its lessons."""
    found = TraceBack.objects.filter(case=case).select_related("lessons_by").first()
    if found is not None:
        return found
    if save:
        return actions.generate_traceback(case)
    return TraceBack(
        case=case, generated_at=timezone.now(), as_of=case.occurred_at, snapshot=actions.build_snapshot(case)
    )


def _render_detail(
    request: AuthedRequest, case: Case, form: LessonsForm | None = None, status: int = 200
) -> HttpResponse:
    traceback = _traceback(case)
    can_edit = queries.can(request.user, case, Cap.CASE_EDIT)
    return render(
        request,
        "cases/traceback_detail.html",
        {
            "case": case,
            "case_url": case_link(case),
            "traceback": traceback,
            "report": report(traceback),
            "can_edit": can_edit,
            "form": form or (LessonsForm(initial={"lessons": traceback.lessons}) if can_edit else None),
            "rows": rows(request.user, list(accountability.actions_of(case).order_by("campaign_id", "pk"))),
            "next": request.get_full_path(),
        },
        status=status,
    )


@login_required
def traceback_detail(request: AuthedRequest, case_pk: int) -> HttpResponse:
    """The trace-back report of a case, laid out to be printed as the 倒查报告."""
    return _render_detail(request, _case(request, case_pk))


@login_required
def traceback_lessons(request: AuthedRequest, case_pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    if not queries.can(request.user, case, Cap.CASE_EDIT):
        raise PermissionDenied
    if request.method != "POST":
        return redirect("traceback_detail", case_pk=case.pk)
    form = LessonsForm(request.POST)
    if form.is_valid():
        try:
            actions.set_lessons(_traceback(case, save=True), request.user, form.cleaned_data["lessons"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("教训与整改已保存。"))
            return redirect("traceback_detail", case_pk=case.pk)
    return _render_detail(request, case, form, status=400)


@login_required
def traceback_regenerate(request: AuthedRequest, case_pk: int) -> HttpResponse:
    case = _case(request, case_pk)
    if not queries.can(request.user, case, Cap.CASE_EDIT):
        raise PermissionDenied
    if request.method == "POST":
        actions.regenerate_traceback(case, request.user)
        messages.success(request, _("倒查报告已重新生成。"))
    return redirect("traceback_detail", case_pk=case.pk)


def panel(case: Case, user: Any) -> dict[str, Any]:
    """Context of the traceback panel on the case page (template ``cases/_traceback_panel.html``): the
    findings, the lessons and the accountability actions with the buttons the user may press."""
    traceback = TraceBack.objects.filter(case=case).first()
    return {
        "case": case,
        "traceback": traceback,
        "findings": actions.findings(traceback) if traceback else [],
        "url": reverse("traceback_detail", args=[case.pk]),
        "rows": rows(user, list(accountability.actions_of(case).order_by("campaign_id", "pk"))),
        "next": case_link(case) or reverse("traceback_detail", args=[case.pk]),
    }
