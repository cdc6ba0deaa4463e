"""The callbacks page (回访), mounted at /cases/callbacks/: due and overdue callbacks of the cases in
scope, and recording one. Thin: reads from ``cases.queries``, writes from ``actions``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fanzha.org.scope import Cap, in_scope
from fanzha.org.views import AuthedRequest

from ..models import Callback, Case
from ..queries import callbacks_due, callbacks_for, due_filter
from . import actions
from .forms import CallbackForm

LIST_LIMIT = 200


def _rows(scoped: QuerySet[Callback]) -> QuerySet[Callback]:
    return scoped.select_related("case", "case__unit", "done_by")


@login_required
def callback_list(request: AuthedRequest) -> HttpResponse:
    """Callbacks not made yet (overdue first, marked), then the recent ones made."""
    scoped = callbacks_for(request.user)
    today = timezone.localdate()
    due = due_filter(request.GET.get("due"))  # the workbench's numbers link here with this filter
    waiting = callbacks_due(scoped, due, today) if due else scoped.filter(done_at__isnull=True)
    pending = list(_rows(waiting).order_by("due_on", "pk")[:LIST_LIMIT])
    # One form per callback the user may record, each with its own ids (many on one page).
    items = [
        (
            cb,
            cb.due_on < today,
            CallbackForm(auto_id=f"id_cb{cb.pk}_%s")
            if in_scope(request.user, cb.case.unit, Cap.CASE_EDIT)
            else None,
        )
        for cb in pending
    ]
    return render(
        request,
        "cases/clues/callback_list.html",
        {
            "items": items,
            "overdue": scoped.filter(done_at__isnull=True, due_on__lt=today).count(),
            # A filtered list shows only the callbacks the filter names (as many as the workbench says).
            "done": []
            if due
            else list(_rows(scoped.filter(done_at__isnull=False)).order_by("-done_at")[:50]),
            "due": due,
            "section": "callbacks",
        },
    )


@login_required
@require_POST
def callback_record(request: AuthedRequest, pk: int) -> HttpResponse:
    callback = get_object_or_404(_rows(callbacks_for(request.user)), pk=pk)
    if not in_scope(request.user, callback.case.unit, Cap.CASE_EDIT):
        raise Http404
    form = CallbackForm(request.POST)
    if form.is_valid():
        try:
            actions.record_callback(
                callback, form.cleaned_data["outcome"], request.user, form.cleaned_data["note"]
            )
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
        else:
            messages.success(request, _("案件%(number)s的回访已记录。") % {"number": callback.case.number})
            return redirect("callback_list")
    else:
        messages.error(request, _("请选择回访结果"))
    return redirect("callback_list")


def panel(case: Case, user: Any) -> dict[str, Any] | None:
    """The case page's callback panel: when it is due, whether it is late, its outcome; None before the
    case is closed (no callback yet)."""
    callback = Callback.objects.filter(case=case).select_related("done_by").first()
    if callback is None:
        return None
    return {
        "callback": callback,
        "overdue": callback.done_at is None and callback.due_on < timezone.localdate(),
        "url": reverse("callback_list"),
    }
