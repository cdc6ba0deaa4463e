"""Pages of card fraud among students (涉"两卡"学生), mounted at /cases/cardfraud/: the list in scope with
its figures, recording a student, the record with its handling, education and history, and the
audited reveal of the card details. Thin: reads from ``queries`` (scope), writes from ``actions``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fanzha.org.forms import apply_errors
from fanzha.org.models import Membership, Person, UnitKind
from fanzha.org.scope import Cap, in_scope, people_for, units_for
from fanzha.org.views import AuthedRequest

from ..models import CardFraudRecord
from . import actions, queries
from .forms import HandleForm, RecordForm

LIST_LIMIT = 200


def _record(request: AuthedRequest, pk: int) -> CardFraudRecord:
    """A record in the user's scope; 404 otherwise, exactly like a missing one."""
    return get_object_or_404(
        queries.records_for(request.user).select_related("unit", "student", "recorded_by"), pk=pk
    )


@login_required
def cardfraud_list(request: AuthedRequest) -> HttpResponse:
    """Students involved with cards in the user's scope (names masked) and the figures of the statistics."""
    scoped = queries.records_for(request.user)
    rows = list(scoped.select_related("unit", "student")[:LIST_LIMIT])
    return render(
        request,
        "cases/cardfraud_list.html",
        {
            "rows": rows,
            "figures": queries.tally(scoped),
            "can_record": units_for(request.user, Cap.CASE_EDIT).exists(),
            "limit": LIST_LIMIT,
            "section": "cardfraud",
        },
    )


def _unit_of(request: AuthedRequest, student: Person) -> Any:
    """The student's unit where the user may record: their class first, else any unit in scope."""
    editable = units_for(request.user, Cap.CASE_EDIT)
    units = [
        m.unit for m in Membership.objects.filter(person=student, unit__in=editable).select_related("unit")
    ]
    units.sort(key=lambda u: (u.kind != UnitKind.CLASS, -len(u.path)))
    return units[0] if units else None


@login_required
def cardfraud_new(request: AuthedRequest) -> HttpResponse:
    """Record a student involved in renting or selling cards, by student number."""
    form = RecordForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            student = (
                people_for(request.user)
                .filter(external_number=data["number"].strip(), kind="student")
                .first()
            )
            unit = _unit_of(request, student) if student is not None else None
            if student is None or unit is None:
                form.add_error("number", _("没有找到学号为 %(number)s 的学生。") % {"number": data["number"]})
            else:
                try:
                    row = actions.record(
                        unit=unit,
                        student=student,
                        card_kind=data["card_kind"],
                        involvement=data["involvement"],
                        found_on=data["found_on"],
                        source=data["source"],
                        details=data["details"],
                        handling=data["handling"],
                        education=data["education"],
                        educated_on=data["educated_on"],
                        actor=request.user,
                    )
                except ValidationError as exc:
                    apply_errors(form, exc)
                else:
                    messages.success(request, _("已登记。"))
                    return redirect("cardfraud_detail", pk=row.pk)
        status = 400
    return render(request, "cases/cardfraud_form.html", {"form": form, "section": "cardfraud"}, status=status)


def _detail(
    request: AuthedRequest, row: CardFraudRecord, revealed: dict[str, str] | None = None, **extra: Any
) -> HttpResponse:
    can_edit = in_scope(request.user, row.unit, Cap.CASE_EDIT)
    context = {
        "row": row,
        "events": list(row.events.select_related("actor")),
        "form": extra.pop("form", None)
        or (
            HandleForm(
                initial={"handling": row.handling, "education": row.education, "educated_on": row.educated_on}
            )
            if can_edit
            else None
        ),
        "can_reveal": queries.can_reveal(request.user, row),
        "revealed": revealed,
        "section": "cardfraud",
    }
    response = render(request, "cases/cardfraud_detail.html", context, status=extra.pop("status", 200))
    response["Cache-Control"] = "no-store"  # a revealed name must not stay in a cache
    return response


@login_required
def cardfraud_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _detail(request, _record(request, pk))


@login_required
@require_POST
def cardfraud_handle(request: AuthedRequest, pk: int) -> HttpResponse:
    """Update the handling and the education given (``CASE_EDIT`` at the student's unit, else 403)."""
    row = _record(request, pk)
    form = HandleForm(request.POST)
    if form.is_valid():
        try:
            actions.handle(row, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("处理情况已保存。"))
            return redirect("cardfraud_detail", pk=row.pk)
    return _detail(request, row, form=form, status=400)


@login_required
@require_POST
def cardfraud_reveal(request: AuthedRequest, pk: int) -> HttpResponse:
    """Show the student's name and the card details once, in this response (403 for a role that may
    not, 404 out of scope); audited by ``actions.reveal``."""
    row = _record(request, pk)
    return _detail(request, row, revealed=actions.reveal(row, request.user))
