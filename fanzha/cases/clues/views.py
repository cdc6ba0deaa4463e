"""Pages of the command centre's clues and of the stations' dissuasion tasks, mounted at /cases/clues/.
Thin: reads from ``queries`` (scope: out of scope answers 404), writes from ``actions``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fanzha.org.forms import apply_errors
from fanzha.org.scope import Cap, in_scope, scope_paths
from fanzha.org.views import AuthedRequest

from ..models import Clue, ClueState, DissuasionTask
from ..queries import cases_for
from . import actions, queries, warnlist
from .forms import AnswerForm, ClueForm, ConfirmForm, DispatchForm, DissuasionForm, UploadForm

LIST_LIMIT = 200


def _police(request: AuthedRequest) -> None:
    """Clue pages exist only for people with police powers somewhere (schools never see them)."""
    if not scope_paths(request.user, Cap.CASE_POLICE):
        raise Http404


def _clue(request: AuthedRequest, pk: int) -> Clue:
    return get_object_or_404(
        queries.clues_for(request.user).select_related("centre", "assignee", "case", "answered_by"), pk=pk
    )


def _centre(request: AuthedRequest) -> Any:
    centres = queries.centres_for(request.user)
    return centres[0] if centres else None


@login_required
def clue_list(request: AuthedRequest) -> HttpResponse:
    """The clues in scope: the open ones first, overdue ones marked; filter by state or "overdue"."""
    _police(request)
    now = timezone.now()
    scoped = queries.clues_for(request.user).select_related("centre", "assignee")
    shown = request.GET.get("state", "")
    rows = scoped
    if shown == "overdue":
        rows = (
            actions.overdue_clues(now).filter(pk__in=scoped.values("pk")).select_related("centre", "assignee")
        )
    elif shown in ClueState.values:
        rows = scoped.filter(state=shown)
    items = [(clue, clue.is_overdue(now)) for clue in rows[:LIST_LIMIT]]
    counts = {state: scoped.filter(state=state).count() for state in ClueState.values}
    return render(
        request,
        "cases/clues/clue_list.html",
        {
            "items": items,
            "counts": counts,
            "overdue": actions.overdue_clues(now).filter(pk__in=scoped.values("pk")).count(),
            "states": ClueState.choices,
            "shown": shown,
            "can_record": _centre(request) is not None,
            "limit": LIST_LIMIT,
            "section": "clues",
        },
    )


@login_required
def clue_new(request: AuthedRequest) -> HttpResponse:
    """Record a clue at the user's command centre."""
    _police(request)
    centre = _centre(request)
    if centre is None:
        raise Http404
    form = ClueForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            case = None
            if data["case_number"].strip():
                case = cases_for(request.user).filter(number=data["case_number"].strip()).first()
                if case is None:
                    form.add_error("case_number", _("没有找到该案件"))
            if not form.errors:
                try:
                    clue = actions.record_clue(
                        centre, data["source"], data["content"], request.user, data["indicators"], case
                    )
                except ValidationError as exc:
                    apply_errors(form, exc)
                else:
                    messages.success(request, _("线索%(number)s已登记。") % {"number": clue.number})
                    return redirect("clue_detail", pk=clue.pk)
        status = 400
    return render(
        request,
        "cases/clues/clue_form.html",
        {"form": form, "centre": centre, "section": "clues"},
        status=status,
    )


def _dispatch_form(clue: Clue, data: Any = None) -> DispatchForm:
    units = [(u.pk, u.name) for u in queries.receivers(clue.centre)]
    return DispatchForm(data, units=units, initial={"assignee": clue.assignee_id})


def _detail(request: AuthedRequest, clue: Clue, status: int = 200, **forms: Any) -> HttpResponse:
    direct = queries.can_direct(request.user, clue)
    answer = queries.can_answer(request.user, clue)
    open_ = clue.state in (ClueState.NEW, ClueState.DISPATCHED)
    return render(
        request,
        "cases/clues/clue_detail.html",
        {
            "clue": clue,
            "overdue": clue.is_overdue(timezone.now()),
            "dispatch_form": forms.get("dispatch_form")
            or (_dispatch_form(clue) if direct and open_ else None),
            "answer_form": forms.get("answer_form")
            or (
                AnswerForm(initial={"outcome": clue.outcome, "feedback": clue.feedback})
                if answer and clue.state in (ClueState.DISPATCHED, ClueState.ANSWERED)
                else None
            ),
            "can_close": direct and clue.state == ClueState.ANSWERED,
            "section": "clues",
        },
        status=status,
    )


@login_required
def clue_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _detail(request, _clue(request, pk))


@login_required
@require_POST
def clue_dispatch(request: AuthedRequest, pk: int) -> HttpResponse:
    clue = _clue(request, pk)
    if not queries.can_direct(request.user, clue):
        raise Http404
    form = _dispatch_form(clue, request.POST)
    if form.is_valid():
        unit = queries.receivers(clue.centre).filter(pk=form.cleaned_data["assignee"]).first()
        try:
            if unit is None:
                raise ValidationError({"assignee": [_("只能下发给本局的业务部门或派出所")]})
            actions.dispatch_clue(clue, unit, request.user, form.cleaned_data["deadline"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("线索已下发给%(unit)s。") % {"unit": unit.name})
            return redirect("clue_detail", pk=clue.pk)
    return _detail(request, clue, 400, dispatch_form=form)


@login_required
@require_POST
def clue_answer(request: AuthedRequest, pk: int) -> HttpResponse:
    clue = _clue(request, pk)
    if not queries.can_answer(request.user, clue):
        raise Http404
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            actions.answer_clue(
                clue, form.cleaned_data["feedback"], form.cleaned_data["outcome"], request.user
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("反馈已提交。"))
            return redirect("clue_detail", pk=clue.pk)
    return _detail(request, clue, 400, answer_form=form)


@login_required
@require_POST
def clue_close(request: AuthedRequest, pk: int) -> HttpResponse:
    clue = _clue(request, pk)
    if not queries.can_direct(request.user, clue):
        raise Http404
    try:
        actions.close_clue(clue, request.user)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("线索已办结。"))
    return redirect("clue_detail", pk=clue.pk)


# Warning lists and dissuasion tasks ---------------------------------------------------------------------


@login_required
def dissuasion_list(request: AuthedRequest) -> HttpResponse:
    """The dissuasion tasks in scope (names and phones masked): open first, with the figures."""
    _police(request)
    scoped = queries.tasks_for(request.user).select_related("unit")
    return render(
        request,
        "cases/clues/dissuasion_list.html",
        {
            "rows": list(scoped[:LIST_LIMIT]),
            "open": scoped.filter(closed_at__isnull=True).count(),
            "closed": scoped.filter(closed_at__isnull=False).count(),
            "can_import": _centre(request) is not None
            and in_scope(request.user, _centre(request), Cap.IMPORT),
            "limit": LIST_LIMIT,
            "section": "dissuasion",
        },
    )


@login_required
def warnlist_import(request: AuthedRequest) -> HttpResponse:
    """Upload a warning list, see every bad row with its reason, then import the good rows on confirmation."""
    _police(request)
    centre = _centre(request)
    if centre is None or not in_scope(request.user, centre, Cap.IMPORT):
        raise Http404
    context: dict[str, Any] = {"centre": centre, "section": "dissuasion"}
    if request.method == "POST" and "token" in request.POST:
        confirm = ConfirmForm(request.POST)
        if confirm.is_valid():
            try:
                key, rows = warnlist.open_rows(confirm.cleaned_data["token"])
                count = actions.import_warning_list(
                    centre, confirm.cleaned_data["batch"], rows, request.user, key=key
                )
            except ValidationError as exc:
                for text in exc.messages:
                    messages.error(request, text)
            else:
                messages.success(request, _("已导入%(n)d条劝阻任务。") % {"n": count})
                return redirect("dissuasion_list")
        context["form"] = UploadForm()
        return render(request, "cases/clues/warnlist_import.html", context, status=400)
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            checked = warnlist.check_rows(upload, upload.name, request.user)
            if checked.error:
                form.add_error("file", checked.error)
            else:
                status = 200
                context.update(
                    checked=checked,
                    confirm=ConfirmForm(
                        initial={
                            "batch": form.cleaned_data["batch"],
                            "token": warnlist.seal_rows(checked.good),
                        }
                    )
                    if checked.good
                    else None,
                )
    context["form"] = form
    return render(request, "cases/clues/warnlist_import.html", context, status=status)


def _task(request: AuthedRequest, pk: int) -> DissuasionTask:
    return get_object_or_404(queries.tasks_for(request.user).select_related("unit", "closed_by"), pk=pk)


def _task_page(
    request: AuthedRequest, task: DissuasionTask, phone: str = "", form: Any = None, status: int = 200
) -> HttpResponse:
    can_close = task.closed_at is None and in_scope(request.user, task.unit, Cap.CASE_POLICE)
    return render(
        request,
        "cases/clues/dissuasion_detail.html",
        {
            "task": task,
            "phone": phone,
            "can_reveal": bool(task.phone_enc) and in_scope(request.user, task.unit, Cap.CASE_REVEAL),
            "form": form or (DissuasionForm() if can_close else None),
            "section": "dissuasion",
        },
        status=status,
    )


@login_required
def dissuasion_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _task_page(request, _task(request, pk))


@login_required
@require_POST
def dissuasion_reveal(request: AuthedRequest, pk: int) -> HttpResponse:
    """Show the phone once, in this response; audited by ``actions.reveal_phone``."""
    task = _task(request, pk)
    if not in_scope(request.user, task.unit, Cap.CASE_REVEAL):
        raise Http404
    return _task_page(request, task, phone=actions.reveal_phone(task, request.user))


@login_required
@require_POST
def dissuasion_close(request: AuthedRequest, pk: int) -> HttpResponse:
    task = _task(request, pk)
    form = DissuasionForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            actions.close_dissuasion(task, d["outcome"], request.user, d["amount"], d["note"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("劝阻结果已记录。"))
            return redirect("dissuasion_detail", pk=task.pk)
    return _task_page(request, task, form=form, status=400)
