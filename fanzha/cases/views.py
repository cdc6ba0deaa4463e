"""Case pages: the list, the intake with autosaved drafts, the case page, edit, timeline, files.

Thin: reads come from ``queries`` (a case outside the user's scope answers 404 like a missing one),
writes from ``actions`` (which check the permission again and raise ``PermissionDenied``: a 403).
Sensitive values are shown masked; a holder of ``CASE_REVEAL`` asks for them with a POST, which is
audited, and gets them once in that response: never in a URL, a redirect or the session.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from fanzha.campaigns.activities.queries import month_bounds
from fanzha.core import crypto
from fanzha.core.downloads import upload_response
from fanzha.core.paging import paginate
from fanzha.org.models import Unit
from fanzha.org.scope import Cap, people_for, scope_paths, units_for

from . import actions, queries
from .alerts import views as alert_views
from .callbacks import views as callback_views
from .followup import views as followup_views
from .forms import (
    INDICATOR_PREFIX,
    TRANSFER_PREFIX,
    AttachForm,
    CaseFilterForm,
    CaseForm,
    IndicatorFormSet,
    QuickCaseForm,
    StateForm,
    TransferFormSet,
    rows_from_draft,
)
from .models import (
    AccountabilityAction,
    Alert,
    CallbackOutcome,
    Case,
    CaseDraft,
    CaseEvent,
    CaseState,
    FundSource,
    IndicatorKind,
    Outcome,
    ReportedVia,
    Side,
)
from .traceback import views as traceback_views

PAGE_SIZE = 30
MAX_FILTER_UNITS = 300
MAX_DRAFT_BYTES = 200_000
TRANSFER_FIELDS = ("at", "amount", "method", "from_account", "to_account", "to_name")
INDICATOR_FIELDS = ("side", "kind", "value", "note")


def _case(request: HttpRequest, pk: int) -> Case:
    """A case in the user's scope, else 404 (the same answer as for a case that does not exist)."""
    return get_object_or_404(queries.cases_for(request.user).select_related("unit", "victim"), pk=pk)


def _no_store(response: HttpResponse) -> HttpResponse:
    """Pages that carry sensitive values: kept by no cache, not even the browser's."""
    response["Cache-Control"] = "no-store, private"
    return response


# The list ----------------------------------------------------------------------------------------


def _filter_units(user: Any, cases: QuerySet[Case]) -> list[Unit]:
    """Units worth filtering by: those with cases and the units above them, in scope, upper levels first."""
    paths = set(cases.order_by().values_list("unit__path", flat=True).distinct()[:2000])
    by_depth: dict[int, set[str]] = defaultdict(set)
    for path in paths:
        for end in range(Unit.steplen, len(path) + 1, Unit.steplen):
            by_depth[end].add(path[:end])
    chosen: set[str] = set()
    for end in sorted(by_depth):
        if len(chosen) + len(by_depth[end]) > MAX_FILTER_UNITS:
            break
        chosen |= by_depth[end]
    return list(units_for(user, Cap.CASE_VIEW).filter(path__in=chosen).order_by("path"))


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    """Cases in scope, newest first; victims masked, open alerts marked; the user's unsent drafts."""
    if not scope_paths(request.user, Cap.CASE_VIEW):
        raise PermissionDenied
    scoped = queries.cases_for(request.user)
    units = _filter_units(request.user, scoped)
    form = CaseFilterForm(request.GET or None, units=units)
    cases = scoped
    if form.is_valid():
        data = form.cleaned_data
        if data["state"]:
            cases = cases.filter(state=data["state"])
        if data["fraud_type"]:
            cases = cases.filter(fraud_type=data["fraud_type"])
        if data["unit"]:
            unit = next((u for u in units if u.pk == data["unit"]), None)
            cases = cases.filter(unit__path__startswith=unit.path) if unit else cases.none()
        bounds = month_bounds(data["month"] or "")
        if bounds:
            cases = cases.filter(reported_at__date__gte=bounds[0], reported_at__date__lt=bounds[1])
        if data["q"].strip():
            cases = cases.filter(number__icontains=data["q"].strip())
    open_alert = Alert.objects.filter(case=OuterRef("pk"), status=Alert.Status.OPEN)
    cases = (
        cases.select_related("unit").annotate(open_alert=Exists(open_alert)).order_by("-reported_at", "-id")
    )
    paged = paginate(request, cases, PAGE_SIZE)
    return render(
        request,
        "cases/case_list.html",
        {
            "form": form,
            "paged": paged,
            "filtered": form.is_valid() and any(form.cleaned_data.values()),
            "can_report": bool(scope_paths(request.user, Cap.CASE_EDIT)),
            "drafts": list(queries.drafts_for(request.user).select_related("unit")[:20]),
        },
    )


# Intake ------------------------------------------------------------------------------------------


def _require_intake(request: HttpRequest) -> None:
    if not scope_paths(request.user, Cap.CASE_EDIT):
        raise PermissionDenied


def _case_form(request: HttpRequest, **kwargs: Any) -> CaseForm:
    return CaseForm(
        units=queries.units_for_intake(request.user).select_related(None),
        people=people_for(request.user),
        **kwargs,
    )


def _apply_errors(form: CaseForm, exc: ValidationError) -> dict[str, list[str]]:
    """Put an action's messages at their fields; the rows' messages are returned for their tables."""
    rows: dict[str, list[str]] = {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return rows
    for key, errors in exc.message_dict.items():
        if key in ("transfers", "indicators"):
            rows[key] = list(errors)
        elif key == "victim":
            form.add_error("victim_number", errors)
        elif key in ("funds", "funds_note"):
            form.add_error("fund_sources", errors)
        else:
            form.add_error(key if key in form.fields else None, errors)
    return rows


def _submit_token(owner: str, raw: str) -> str:
    """The token stored with the case: the form's random token, bound to who submits it."""
    raw = "".join(ch for ch in raw if ch.isalnum() or ch in "-_")[:40]
    return f"{owner}:{raw}" if raw else ""


def _intake_page(
    request: HttpRequest,
    form: CaseForm,
    transfers: Any,
    indicators: Any,
    *,
    case: Case | None = None,
    rows: dict[str, list[str]] | None = None,
    status: int = 200,
    revealed: bool = False,
) -> HttpResponse:
    context = {
        "form": form,
        "transfers": transfers,
        "indicators": indicators,
        "case": case,
        "creating": case is None,
        "row_errors": rows or {},
        "revealed": revealed,
        "can_reveal": case is not None and queries.can(request.user, case, Cap.CASE_REVEAL),
    }
    return _no_store(render(request, "cases/case_form.html", context, status=status))


def _draft_initial(draft: CaseDraft) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """A saved draft as the initial values of the form and its rows."""
    data = draft.data
    initial: dict[str, Any] = {}
    for name in CaseForm.base_fields:
        if name in ("attachments", "submit_token", "draft") or name not in data:
            continue
        value = data[name]
        if name == "fund_sources":
            value = [v for v in (value if isinstance(value, list) else [value]) if v in FundSource.values]
        elif isinstance(value, list):
            value = value[-1] if value else ""
        initial[name] = value
    initial["draft"] = draft.pk
    return (
        initial,
        rows_from_draft(data, TRANSFER_PREFIX, TRANSFER_FIELDS),
        rows_from_draft(data, INDICATOR_PREFIX, INDICATOR_FIELDS),
    )


@sensitive_post_parameters()
@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    """Record a case on one form; a double submit leads to the first case, a draft is restored by id."""
    _require_intake(request)
    if request.method != "POST":
        initial: dict[str, Any] = {"reported_at": timezone.localtime().replace(second=0, microsecond=0)}
        transfer_rows: list[dict[str, Any]] = []
        indicator_rows: list[dict[str, Any]] = []
        draft_id = request.GET.get("draft", "")
        if draft_id:
            if not draft_id.isdigit():
                raise Http404
            draft = get_object_or_404(queries.drafts_for(request.user), pk=int(draft_id))
            initial, transfer_rows, indicator_rows = _draft_initial(draft)
        initial["submit_token"] = secrets.token_urlsafe(24)
        form = _case_form(request, initial=initial)
        transfers = TransferFormSet(prefix=TRANSFER_PREFIX, initial=transfer_rows)
        indicators = IndicatorFormSet(prefix=INDICATOR_PREFIX, initial=indicator_rows)
        return _intake_page(request, form, transfers, indicators)

    form = _case_form(request, data=request.POST, files=request.FILES)
    transfers = TransferFormSet(request.POST, prefix=TRANSFER_PREFIX)
    indicators = IndicatorFormSet(request.POST, prefix=INDICATOR_PREFIX)
    rows: dict[str, list[str]] = {}
    if form.is_valid() and transfers.is_valid() and indicators.is_valid():
        token, earlier = _earlier_report(request, form.cleaned_data["submit_token"])
        if earlier is not None:
            messages.info(request, _("这份报告已经提交过了，没有重复记录。"))
            return redirect("case_detail", pk=earlier.pk)
        try:
            case = actions.report_case(
                form.case_input(transfers, indicators),
                request.user,
                via=ReportedVia.STAFF,
                submit_token=token,
                attachments=form.cleaned_data.get("attachments") or [],
            )
        except ValidationError as exc:
            rows = _apply_errors(form, exc)
        else:
            sent_draft = form.cleaned_data.get("draft")
            if sent_draft:
                done = queries.drafts_for(request.user).filter(pk=sent_draft).first()
                if done is not None:
                    actions.discard_draft(done, request.user)
            if case.state == CaseState.ALERTED:
                messages.success(
                    request,
                    _("案件 %(n)s 已记录，紧急止付预警已发出。") % {"n": case.number},
                )
            else:
                messages.success(request, _("案件 %(n)s 已记录。") % {"n": case.number})
            return redirect("case_detail", pk=case.pk)
    if request.FILES:
        form.add_error("attachments", _("提交未成功，请重新选择附件。"))
    return _intake_page(request, form, transfers, indicators, rows=rows, status=400)


def _earlier_report(request: HttpRequest, sent: str | None) -> tuple[str, Case | None]:
    """The stored token of a report form's submission, and the case it already made when the same
    form is sent twice (a double tap, a resend on a bad network), so that no case is recorded twice."""
    token = _submit_token(f"u{request.user.pk}", sent or "")
    return token, (queries.cases_for(request.user).filter(submit_token=token).first() if token else None)


def _quick_errors(form: QuickCaseForm, exc: ValidationError) -> None:
    """An action's messages at the step-1 field the user typed them in."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    where = {"victim": "victim_name", "indicators": "suspect_phone", "channel": None}
    for key, errors in exc.message_dict.items():
        if key == "transfers":
            if not (form.has_error("total_loss") or form.has_error("occurred_at")):
                form.add_error(None, errors)
            continue
        field = where.get(key, key)
        form.add_error(field if field in form.fields else None, errors)


@sensitive_post_parameters()
@login_required
def case_quick(request: HttpRequest) -> HttpResponse:
    """Step 1 of "立即录入": the essentials on one screen, recorded by ``actions.report_case`` (which
    raises the stop-payment alert), then straight to the edit page (step 2) for the rest."""
    _require_intake(request)
    units = queries.units_for_intake(request.user).select_related(None)
    people = people_for(request.user)
    if request.method != "POST":
        initial = {
            "occurred_at": timezone.localtime().replace(second=0, microsecond=0),
            "submit_token": secrets.token_urlsafe(24),
        }
        form = QuickCaseForm(units=units, people=people, initial=initial)
        return _no_store(render(request, "cases/case_quick.html", {"form": form}))
    form = QuickCaseForm(request.POST, units=units, people=people)
    if form.is_valid():
        token, earlier = _earlier_report(request, form.cleaned_data["submit_token"])
        if earlier is not None:
            messages.info(request, _("这份报告已经提交过了，没有重复记录。"))
            return redirect("case_edit", pk=earlier.pk)
        try:
            case = actions.report_case(
                form.case_input(), request.user, via=ReportedVia.STAFF, submit_token=token
            )
        except ValidationError as exc:
            _quick_errors(form, exc)
        else:
            if case.state == CaseState.ALERTED:
                messages.success(
                    request,
                    _("案件 %(n)s 已记录，紧急止付预警已发出。请接着补充下面的详细案情。")
                    % {"n": case.number},
                )
            else:
                messages.warning(
                    request,
                    _(
                        "案件 %(n)s 已记录。最后一笔转账已超过止付时限，未发止付预警。"
                        "请接着补充下面的详细案情。"
                    )
                    % {"n": case.number},
                )
            return redirect("case_edit", pk=case.pk)
    return _no_store(render(request, "cases/case_quick.html", {"form": form}, status=400))


@sensitive_post_parameters()
@login_required
@require_POST
def case_draft_save(request: HttpRequest) -> JsonResponse:
    """Autosave: the intake form's fields as JSON → an encrypted draft of the user's own."""
    _require_intake(request)
    if len(request.body) > MAX_DRAFT_BYTES:
        return JsonResponse({"error": _("草稿太大，未保存。")}, status=413)
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return JsonResponse({"error": _("草稿格式不正确。")}, status=400)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return JsonResponse({"error": _("草稿格式不正确。")}, status=400)
    data = {
        str(k): v
        for k, v in payload["data"].items()
        if k not in ("csrfmiddlewaretoken", "submit_token", "draft", "attachments")
        and isinstance(v, str | list)
    }
    draft = None
    draft_id = str(payload.get("draft") or "")
    if draft_id:
        if not draft_id.isdigit():
            raise Http404
        draft = get_object_or_404(queries.drafts_for(request.user), pk=int(draft_id))
    unit_id = str(data.get("unit") or "")
    units = queries.units_for_intake(request.user)
    unit = units.filter(pk=int(unit_id)).first() if unit_id.isdigit() else None
    saved = actions.save_draft(request.user, data, draft, unit)
    at = timezone.localtime(saved.updated_at).strftime("%H:%M")
    return JsonResponse({"id": saved.pk, "saved_at": at, "message": _("草稿已保存 %(t)s") % {"t": at}})


@login_required
@require_POST
def case_draft_delete(request: HttpRequest, pk: int) -> HttpResponse:
    draft = get_object_or_404(queries.drafts_for(request.user), pk=pk)
    actions.discard_draft(draft, request.user)
    messages.success(request, _("草稿已删除。"))
    return redirect("case_list")


@login_required
@require_GET
def case_person(request: HttpRequest) -> JsonResponse:
    """The name behind a student or staff number in the user's scope (the intake shows it)."""
    _require_intake(request)
    name = request.GET.get("name", "").strip()[:60]
    if name:  # the quick intake: the same-named people in scope, to pick one before submitting
        form = QuickCaseForm(
            {"victim_name": name}, units=Unit.objects.none(), people=people_for(request.user)
        )
        victim: Any = form.fields["victim"]
        choices = victim.choices
        return JsonResponse(
            {"found": bool(form.matches), "choices": [[v, str(label)] for v, label in choices]}
        )
    number = request.GET.get("number", "").strip()[:40]
    if not number:
        return JsonResponse({"found": False})
    people = list(people_for(request.user).filter(external_number=number, is_active=True)[:5])
    return JsonResponse(
        {"found": bool(people), "names": [{"name": p.name, "kind": p.get_kind_display()} for p in people]}
    )


# The case page -----------------------------------------------------------------------------------

TRANSITION_LABELS = {
    CaseState.FILED: gettext_lazy("立案"),
    CaseState.INVESTIGATING: gettext_lazy("开始侦办"),
    CaseState.CLOSED: gettext_lazy("结案"),
}


def _transitions(case: Case, user: Any) -> list[dict[str, Any]]:
    return [
        {
            "to": to,
            "label": TRANSITION_LABELS.get(CaseState(to), CaseState(to).label),
            "form": StateForm(initial={"to": to}, auto_id=f"id_{to}_%s"),
            "needs_number": to == CaseState.FILED,
            "needs_outcome": to == CaseState.CLOSED,
        }
        for to in actions.allowed_transitions(case, user)
    ]


def _revealed_view(values: dict[str, Any]) -> dict[str, Any]:
    """Revealed values made readable (fund source codes as labels, account kinds as labels)."""
    funds = values.get("funds") or {}
    kinds = dict(IndicatorKind.choices)
    return {
        "victim_phone": values.get("victim_phone", ""),
        "victim_id_number": values.get("victim_id_number", ""),
        "family": values.get("family", ""),
        "fund_sources": [
            str(FundSource(s).label) if s in FundSource.values else s for s in funds.get("sources", [])
        ],
        "funds_note": funds.get("note", ""),
        "accounts": [
            {
                "kind": str(kinds.get(a["kind"], _("转账付款账户"))),
                "value": a["value"],
                "note": a["note"],
            }
            for a in values.get("victim_accounts", [])
        ],
    }


def _detail(request: HttpRequest, case: Case, revealed: dict[str, Any] | None = None) -> HttpResponse:
    user = request.user
    indicators = list(case.indicators.all())
    context = {
        "case": case,
        "suspect_indicators": [i for i in indicators if i.side == Side.SUSPECT],
        "victim_indicators": [i for i in indicators if i.side == Side.VICTIM],
        "transfers": list(case.transfers.all()),
        "attachments": list(case.attachments.all()),
        "transitions": _transitions(case, user),
        "can_edit": case.is_open and queries.can(user, case, Cap.CASE_EDIT),
        "can_attach": queries.can(user, case, Cap.CASE_EDIT),
        "can_reveal": queries.can(user, case, Cap.CASE_REVEAL),
        "attach_form": AttachForm(),
        "revealed": _revealed_view(revealed) if revealed is not None else None,
        "alert_panel": alert_views.panel(case, user),
        "followup_panel": followup_views.panel(case, user),
        "traceback_panel": traceback_views.panel(case, user),
        "callback_panel": callback_views.panel(case, user),
    }
    return _no_store(render(request, "cases/case_detail.html", context))


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _case(request, pk))


@sensitive_post_parameters()
@login_required
@require_POST
def case_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the sensitive values once, in this response; audited by ``actions.reveal_case``."""
    case = _case(request, pk)
    values = actions.reveal_case(case, request.user)
    return _detail(request, case, values)


@login_required
@require_POST
def case_state(request: HttpRequest, pk: int) -> HttpResponse:
    """A state change; refused ones leave the case as it was, with the reason on the case page."""
    case = _case(request, pk)
    form = StateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请求不完整，请重试。"))
        return redirect("case_detail", pk=case.pk)
    d = form.cleaned_data
    try:
        actions.change_state(
            case,
            d["to"],
            request.user,
            police_case_number=d["police_case_number"],
            outcome=d["outcome"],
            frozen_amount=d["frozen_amount"],
            recovered_amount=d["recovered_amount"],
            note=d["note"],
        )
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("案件状态已改为“%(s)s”。") % {"s": CaseState(d["to"]).label})
    return redirect("case_detail", pk=case.pk)


@login_required
@require_POST
def case_attach(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    if not queries.can(request.user, case, Cap.CASE_EDIT):
        raise PermissionDenied
    form = AttachForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择要上传的文件。"))
        return redirect("case_detail", pk=case.pk)
    added = 0
    for upload in form.cleaned_data["attachments"]:
        try:
            actions.add_attachment(case, upload, request.user)
            added += 1
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
    if added:
        messages.success(request, _("已添加 %(n)s 个附件。") % {"n": added})
    return redirect("case_detail", pk=case.pk)


@login_required
def case_attachment(request: HttpRequest, pk: int, file_pk: int) -> HttpResponseBase:
    """One file of a case, after the case's scope check; always a download, never shown inline."""
    case = _case(request, pk)
    attachment = get_object_or_404(case.attachments.all(), pk=file_pk)
    return upload_response(
        attachment.file.open("rb"),
        attachment.content_type,
        attachment.original_name,
        inline_images=False,  # evidence of a crime, even a photo: a download, never shown in the browser
        cache="private, no-store",
    )


# Edit --------------------------------------------------------------------------------------------


def _edit_initial(case: Case, values: dict[str, Any] | None) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """The case as form values; sensitive ones only from an audited reveal (``values``)."""
    initial: dict[str, Any] = {
        "unit": case.unit_id,
        "victim_number": case.victim.external_number if case.victim else "",
        "victim_name": case.victim_name,
        "occurred_at": case.occurred_at,
        "reported_at": case.reported_at,
        "place": case.place,
        "channel": case.channel,
        "fraud_type": case.fraud_type,
        "impersonated": case.impersonated,
        "narrative": case.narrative,
        "total_loss": str(case.total_loss),
    }
    if values is not None:
        funds = values.get("funds") or {}
        initial.update(
            victim_phone=values.get("victim_phone", ""),
            victim_id_number=values.get("victim_id_number", ""),
            family=values.get("family", ""),
            fund_sources=funds.get("sources", []),
            funds_note=funds.get("note", ""),
        )
    transfers = []
    for t in case.transfers.all():
        from_account = _decrypt(t.from_enc) if values is not None and t.from_enc else t.from_masked
        transfers.append(
            {
                "at": t.at,
                "amount": str(t.amount),
                "method": t.method,
                "from_account": from_account,
                "to_account": t.to_account,
                "to_name": t.to_name,
            }
        )
    indicators = []
    for i in case.indicators.all():
        value = i.value if i.side == Side.SUSPECT else i.value_masked
        if values is not None and i.side == Side.VICTIM:
            value = _decrypt(i.value_enc)
        indicators.append({"side": i.side, "kind": i.kind, "value": value, "note": i.note})
    return initial, transfers, indicators


def _decrypt(token: str) -> str:
    return crypto.decrypt(token)


@sensitive_post_parameters()
@login_required
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct the intake. Sensitive fields stay empty ("unchanged") unless revealed, audited, first."""
    case = _case(request, pk)
    if not queries.can(request.user, case, Cap.CASE_EDIT):
        raise PermissionDenied
    if not case.is_open:
        messages.error(request, _("案件已结案，不能再修改"))
        return redirect("case_detail", pk=case.pk)
    if request.method == "POST" and "reveal" not in request.POST:
        form = _case_form(request, data=request.POST, with_files=False)
        transfers = TransferFormSet(request.POST, prefix=TRANSFER_PREFIX)
        indicators = IndicatorFormSet(request.POST, prefix=INDICATOR_PREFIX)
        rows: dict[str, list[str]] = {}
        if form.is_valid() and transfers.is_valid() and indicators.is_valid():
            try:
                actions.edit_case(case, form.case_input(transfers, indicators), request.user)
            except ValidationError as exc:
                rows = _apply_errors(form, exc)
            else:
                messages.success(request, _("修改已保存，修改记录见时间线。"))
                return redirect("case_detail", pk=case.pk)
        return _intake_page(request, form, transfers, indicators, case=case, rows=rows, status=400)
    values = None
    if request.method == "POST":  # "reveal": fill the sensitive fields, audited
        values = actions.reveal_case(case, request.user)
    initial, transfer_rows, indicator_rows = _edit_initial(case, values)
    form = _case_form(request, initial=initial, with_files=False)
    if values is None:
        for name, shown in (
            ("victim_phone", case.victim_phone_masked),
            ("victim_id_number", case.victim_id_masked),
        ):
            hint = _("不修改请留空（现为 %(v)s）") % {"v": shown} if shown else _("不修改请留空")
            form.fields[name].widget.attrs["placeholder"] = hint
        form.fields["family"].widget.attrs["placeholder"] = _("不修改请留空")
        form.fields["funds_note"].widget.attrs["placeholder"] = _("不修改请留空")
    transfers = TransferFormSet(prefix=TRANSFER_PREFIX, initial=transfer_rows)
    indicators = IndicatorFormSet(prefix=INDICATOR_PREFIX, initial=indicator_rows)
    return _intake_page(request, form, transfers, indicators, case=case, revealed=values is not None)


# Timeline ----------------------------------------------------------------------------------------

FIELD_LABELS = {
    "unit": gettext_lazy("所属单位"),
    "victim": gettext_lazy("受害人"),
    "victim_name": gettext_lazy("受害人姓名"),
    "victim_phone": gettext_lazy("受害人电话"),
    "victim_id_number": gettext_lazy("受害人身份证号"),
    "occurred_at": gettext_lazy("发案时间"),
    "reported_at": gettext_lazy("报案时间"),
    "place": gettext_lazy("发案地点"),
    "channel": gettext_lazy("接触方式"),
    "fraud_type": gettext_lazy("诈骗类型"),
    "impersonated": gettext_lazy("冒充身份"),
    "narrative": gettext_lazy("简要案情"),
    "total_loss": gettext_lazy("损失金额"),
    "funds": gettext_lazy("资金来源"),
    "family": gettext_lazy("家庭情况"),
    "transfers_or_indicators": gettext_lazy("转账记录或涉案线索"),
    "victim_accounts": gettext_lazy("受害人账户"),
    "freeze_target": gettext_lazy("止付冻结请求的账号/号码"),
}


def _state_label(value: str) -> str:
    return str(CaseState(value).label) if value in CaseState.values else value


def _alert_line(kind: str, d: dict[str, Any]) -> str:
    """The stop-payment alert's events: to whom, how fast, what was frozen."""
    from .alerts.views import human_duration

    if kind == CaseEvent.Kind.ALERT_SENT:
        if d.get("no_contacts"):
            return _("发出止付预警：未找到警务联络员或保卫处人员，仅发往群机器人")
        return _("发出止付预警，通知 %(n)s 条（报告后 %(t)s）") % {
            "n": d.get("recipients", 0),
            "t": human_duration(d.get("seconds_to_alert")),
        }
    if kind == CaseEvent.Kind.ESCALATED:
        return _("预警无人确认，升级至第 %(tier)s 级联系人，通知 %(n)s 条") % {
            "tier": int(d.get("tier", 0)) + 1,
            "n": d.get("recipients", 0),
        }
    if kind == CaseEvent.Kind.ACKNOWLEDGED:
        line = _("警方确认预警（预警后 %(t)s）") % {"t": human_duration(d.get("seconds"))}
        return line + (_("，超时确认") if d.get("late") else "")
    if kind == CaseEvent.Kind.OUTCOME:
        return _("记录止付结果：冻结 %(f)s 元，追回 %(r)s 元") % {
            "f": d.get("frozen", "0"),
            "r": d.get("recovered", "0"),
        }
    return ""


FOLLOWUP_STEPS = {
    "opened": gettext_lazy("开始心理疏导"),
    "plan": gettext_lazy("修改疏导计划"),
    "closed": gettext_lazy("结束心理疏导"),
}
WORK_STEPS = {
    "regenerated": gettext_lazy("重新生成倒查"),
    "lessons": gettext_lazy("填写倒查教训与整改"),
    "issued": gettext_lazy("下发问责"),
    "acknowledged": gettext_lazy("签收问责"),
}


def _work_line(kind: str, d: dict[str, Any]) -> str:
    """Follow-up, trace-back and accountability steps (the texts themselves are never in an event)."""
    step = d.get("step", "")
    if kind == CaseEvent.Kind.FOLLOWUP:
        if step == "session":
            return _("记录第 %(n)s 次心理疏导（%(day)s）") % {
                "n": d.get("number", ""),
                "day": d.get("held_on", ""),
            }
        return str(FOLLOWUP_STEPS.get(step, CaseEvent.Kind.FOLLOWUP.label))
    if kind in (CaseEvent.Kind.TRACEBACK, CaseEvent.Kind.ACCOUNTABILITY) and step in WORK_STEPS:
        action = d.get("action", "")
        labels = dict(AccountabilityAction.Action.choices)
        suffix = f"：{labels[action]}" if action in labels else ""
        return str(WORK_STEPS[step]) + suffix
    return ""


def describe(event: CaseEvent) -> str:
    """One readable line per event, from its kind and the names (never the values) in its detail."""
    d = event.detail or {}
    kind = event.kind
    if kind == CaseEvent.Kind.REPORTED:
        via = str(ReportedVia(d["via"]).label) if d.get("via") in ReportedVia.values else ""
        return _("报告案件（%(via)s），转账 %(t)s 笔，线索 %(i)s 条") % {
            "via": via,
            "t": d.get("transfers", 0),
            "i": d.get("indicators", 0),
        }
    if kind == CaseEvent.Kind.STATE:
        line = _("状态由“%(a)s”改为“%(b)s”") % {
            "a": _state_label(event.state_before),
            "b": _state_label(event.state_after),
        }
        if d.get("outcome") in Outcome.values:
            line += _("：%(o)s，追回 %(r)s 元，冻结 %(f)s 元") % {
                "o": Outcome(d["outcome"]).label,
                "r": d.get("recovered", "0"),
                "f": d.get("frozen", "0"),
            }
        return line
    if kind == CaseEvent.Kind.EDITED:
        fields = "、".join(str(FIELD_LABELS.get(f, f)) for f in d.get("fields", []))
        return _("修改了：%(f)s") % {"f": fields}
    if kind == CaseEvent.Kind.ATTACHED:
        return _("上传附件“%(n)s”") % {"n": d.get("name", "")}
    if kind == CaseEvent.Kind.REVEALED:
        fields = "、".join(str(FIELD_LABELS.get(f, f)) for f in d.get("fields", []))
        return _("查看了敏感信息：%(f)s") % {"f": fields}
    if kind == CaseEvent.Kind.CALLBACK and d.get("outcome") in CallbackOutcome.values:
        return _("回访：%(o)s") % {"o": CallbackOutcome(d["outcome"]).label}
    line = _alert_line(kind, d) or _work_line(kind, d)
    if line:
        return line
    label = str(CaseEvent.Kind(kind).label) if kind in CaseEvent.Kind.values else kind
    if event.state_before and event.state_after and event.state_before != event.state_after:
        label += _("（状态由“%(a)s”改为“%(b)s”）") % {
            "a": _state_label(event.state_before),
            "b": _state_label(event.state_after),
        }
    return label


@login_required
def case_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """Every event of the case in order: who, when, the state before and after, what happened."""
    case = _case(request, pk)
    events = list(case.events.select_related("actor").order_by("at", "id"))
    rows = [{"event": e, "line": describe(e), "note": (e.detail or {}).get("note", "")} for e in events]
    return render(request, "cases/case_timeline.html", {"case": case, "rows": rows})
