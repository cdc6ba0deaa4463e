"""Freeze-request pages: the list (the bank's inbox and the police's requests), one request with the
bank's answer form, the audited reveal of the full number, and the police's send forms on the alert
page (``section``) with the per-case times on the alert page and the case page (``figures_view``).

Thin: reads from ``queries`` (out of scope answers 404), writes from ``actions`` (which check again:
403). A bank contact reads these pages on a phone: tables stack, the form is one column.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case as CaseWhen
from django.db.models import IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fanzha.core.hooks import URGENT, WEEK, HomeLink, WorkItem
from fanzha.core.paging import paginate
from fanzha.org.forms import apply_errors
from fanzha.org.models import Unit
from fanzha.org.scope import Cap

from ..models import Case, FreezeRequest
from ..queries import cases_for
from . import actions, queries
from .forms import AnswerForm, SendAllForm, SendForm

PAGE_SIZE = 50


def minutes_text(minutes: float | None) -> str:
    """``12.4`` → ``12分钟``; ``None`` → ``—``."""
    if minutes is None:
        return "—"
    whole = max(int(round(minutes)), 0)
    if whole >= 60:
        return _("%(h)d小时%(m)02d分钟") % {"h": whole // 60, "m": whole % 60}
    return _("%(m)d分钟") % {"m": whole}


def figures_view(requests: list[FreezeRequest]) -> dict[str, Any]:
    """The per-case times as a page shows them."""
    f = queries.figures(requests)
    return {
        **f,
        "answer_median_text": minutes_text(f["answer_median"]),
        "answer_max_text": minutes_text(f["answer_max"]),
        "frozen_median_text": minutes_text(f["frozen_median"]),
        "frozen_max_text": minutes_text(f["frozen_max"]),
    }


def _row(req: FreezeRequest, now: Any) -> dict[str, Any]:
    return {
        "req": req,
        "overdue": req.is_overdue(now),
        "to_answer": minutes_text(req.minutes_to_answer),
        "to_frozen": minutes_text(req.minutes_to_frozen),
        "url": reverse("freeze_detail", args=[req.pk]),
    }


def section(case: Case, user: Any) -> dict[str, Any]:
    """The alert page's section (``cases/_freeze_section.html`` as ``fz``): the case's requests and
    times; for the police side, a send form per account or number not yet asked for."""
    now = timezone.now()
    requests = queries.case_requests(case)
    can_send = case.is_open and queries.can_send(user, case)
    sent = {(r.kind, r.target_hash) for r in requests}
    candidates = []
    if can_send:
        for target in queries.targets(case):
            kinds = (
                [FreezeRequest.Kind.NUMBER_BLOCK]
                if target.is_number
                else [FreezeRequest.Kind.FREEZE, FreezeRequest.Kind.STOP_PAYMENT]
            )
            kinds = [k for k in kinds if (k.value, target.key) not in sent]
            if not kinds:
                continue
            routed = queries.route(target, user)
            candidates.append(
                {
                    "target": target,
                    "kinds": [(k.value, k.label) for k in kinds],
                    "routed": routed,
                    "units": list(queries.unit_choices(target.is_number)),
                }
            )
    return {
        "case": case,
        "rows": [_row(r, now) for r in requests],
        "figures": figures_view(requests),
        "can_send": can_send,
        "can_list": queries.can_list(user),
        "show_rows": can_send or queries.requests_for(user).filter(case=case).exists(),
        "candidates": candidates,
        "send_url": reverse("freeze_send", args=[case.pk]),
        "send_all_url": reverse("freeze_send_all", args=[case.pk]),
        "send_all_form": SendAllForm(),
    }


# Pages -----------------------------------------------------------------------------------------------


@login_required
def freeze_list(request: HttpRequest) -> HttpResponse:
    """Requests addressed to the user's units and of the user's cases, unanswered first (overdue marked)."""
    user = request.user
    if not queries.can_list(user):
        raise PermissionDenied
    scoped = queries.requests_for(user)
    status = request.GET.get("status", "")
    shown = scoped.filter(status=status) if status in FreezeRequest.Status.values else scoped
    ordered = (
        shown.select_related("case", "unit")
        .annotate(
            rank=CaseWhen(
                When(status=FreezeRequest.Status.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "deadline", "-pk")
    )
    paged = paginate(request, ordered, PAGE_SIZE)
    now = timezone.now()
    return render(
        request,
        "cases/freeze_list.html",
        {
            "rows": [_row(r, now) for r in paged.page],
            "paged": paged,
            "status": status,
            "statuses": FreezeRequest.Status.choices,
        },
    )


def _request(request: HttpRequest, pk: int) -> FreezeRequest:
    return get_object_or_404(
        queries.requests_for(request.user).select_related("case", "unit", "requested_by", "answered_by"),
        pk=pk,
    )


def _detail(
    request: HttpRequest,
    req: FreezeRequest,
    *,
    form: AnswerForm | None = None,
    revealed: str = "",
    status: int = 200,
) -> HttpResponse:
    user = request.user
    can_answer = req.status == FreezeRequest.Status.PENDING and queries.can_answer(user, req)
    response = render(
        request,
        "cases/freeze_detail.html",
        {
            "row": _row(req, timezone.now()),
            "req": req,
            "case": req.case,
            "police_side": queries.can_send(user, req.case),
            "can_answer": can_answer,
            "form": form or (AnswerForm(req=req) if can_answer else None),
            "revealed": revealed,
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def freeze_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _request(request, pk))


@login_required
@require_POST
def freeze_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """The receiving contact's answer; errors go back onto the form with what was typed."""
    req = _request(request, pk)
    form = AnswerForm(request.POST, req=req)
    if form.is_valid():
        d = form.cleaned_data
        try:
            actions.answer_request(
                req,
                request.user,
                result=d["result"],
                frozen_amount=d["frozen_amount"],
                frozen_at=d["frozen_at"],
                reason=d["reason"],
            )
        except ValidationError as exc:
            if req.status != FreezeRequest.Status.PENDING or not hasattr(exc, "error_dict"):
                messages.error(request, " ".join(exc.messages))
                return redirect("freeze_detail", pk=req.pk)
            apply_errors(form, exc)
        else:
            messages.success(request, _("答复已提交，警方会立即看到。"))
            return redirect("freeze_detail", pk=req.pk)
    elif not queries.can_answer(request.user, req):
        raise PermissionDenied
    return _detail(request, req, form=form, status=400)


@login_required
@require_POST
def freeze_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The full account or number, once, in this response (audited; never in a URL or the session)."""
    req = _request(request, pk)
    value = actions.reveal_target(req, request.user)
    return _detail(request, req, revealed=value)


def _police_case(request: HttpRequest, case_pk: int) -> Case:
    return get_object_or_404(cases_for(request.user, Cap.CASE_POLICE), pk=case_pk)


def _back(case: Case) -> HttpResponse:
    alert = getattr(case, "alert", None)
    if alert is not None:
        return redirect("alert_detail", pk=alert.pk)
    return redirect("case_detail", pk=case.pk)


@login_required
@require_POST
def freeze_send(request: HttpRequest, case_pk: int) -> HttpResponse:
    """Send one request (the police side); refusals come back as messages on the alert page."""
    case = _police_case(request, case_pk)
    form = SendForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(text) for errors in form.errors.values() for text in errors))
        return _back(case)
    d = form.cleaned_data
    unit = Unit.objects.filter(pk=d["unit"]).first() if d["unit"] else None
    try:
        req = actions.send_request(
            case, request.user, key=d["key"], kind=d["kind"], unit=unit, minutes=form.deadline_minutes()
        )
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(
            request,
            _("已向%(unit)s发出%(kind)s请求。") % {"unit": req.unit.name, "kind": req.get_kind_display()},
        )
    return _back(case)


@login_required
@require_POST
def freeze_send_all(request: HttpRequest, case_pk: int) -> HttpResponse:
    """Send a request for every account and number that routing can place."""
    case = _police_case(request, case_pk)
    form = SendAllForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请求不完整，请重试。"))
        return _back(case)
    try:
        sent, left = actions.send_all(
            case,
            request.user,
            account_kind=form.cleaned_data["account_kind"],
            minutes=form.cleaned_data["minutes"],
        )
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return _back(case)
    messages.success(request, _("已发出%(n)d个请求。") % {"n": sent})
    if left:
        messages.warning(request, _("有%(n)d个账号未能自动确定接收单位，请逐个选择后发送。") % {"n": left})
    return _back(case)


def home_items(user: Any, caps: frozenset[str]) -> list[HomeLink | WorkItem]:
    """The workbench's freeze requests: for a bank's green-channel contact those waiting for their
    answer (urgent), for the police side those still waiting for the bank's. Counted on the list's own
    scope (``requests_for``, pending), so the number is the list's. No query for anybody else."""
    bank = not user.is_superuser and queries.is_contact(user, queries.BANK_ROLES)
    police = "case_police" in caps
    if not bank and not police:
        return []
    waiting = queries.requests_for(user).filter(status=FreezeRequest.Status.PENDING).count()
    url = reverse("freeze_list") + "?status=pending"
    if bank:
        hint = _("公安机关发来的冻结、止付和号码停机请求")
        return [
            HomeLink(32, _("止付冻结请求"), url, hint),
            WorkItem(5, _("待答复的止付冻结请求"), waiting, url, URGENT, hint),
        ]
    return [WorkItem(14, _("等待答复的止付冻结请求"), waiting, url, WEEK, _("已发往银行、运营商，尚未答复"))]
