"""Freeze, stop-payment and number-block requests (止付冻结与号码停机): send, answer, reveal, escalate.

Why: an alert gets the police moving; the money stops only when the bank holding the payee account
freezes it, and a number stops calling only when it is blocked. The police send one request per payee
account (freeze or stop-payment) and one per phone number (block) to the unit that must act, with a
deadline; the bank answers with what it found (frozen and how much, already empty, not found, or
refused and why) and when the freeze took effect. Every step is kept with its time, so the plan's
figures (request → answer → frozen) are measured per case. A request nobody answers by its deadline
is marked overdue once and escalated to the contacts above the unit and to the police who sent it.

Messages (in-app, and e-mail through ``core.hooks.postman``) are queued in the verb's transaction,
so they exist exactly when the change committed; they carry the account or number masked only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.core import crypto, hooks
from fanzha.core.models import AuditRecord
from fanzha.notify import actions as notify
from fanzha.notify.models import ChannelKind
from fanzha.org.models import Unit

from ..events import record_event
from ..intake import parse_amount
from ..models import Case, CaseEvent, FreezeRequest
from . import queries

MAX_DEADLINE_MINUTES = 24 * 60
ACCOUNT_KINDS = (FreezeRequest.Kind.FREEZE, FreezeRequest.Kind.STOP_PAYMENT)
ACCOUNT_RESULTS = (
    FreezeRequest.Result.FROZEN,
    FreezeRequest.Result.EMPTY,
    FreezeRequest.Result.NOT_FOUND,
    FreezeRequest.Result.REFUSED,
)
NUMBER_RESULTS = (FreezeRequest.Result.BLOCKED, FreezeRequest.Result.NOT_FOUND, FreezeRequest.Result.REFUSED)
STOPPED = (FreezeRequest.Result.FROZEN, FreezeRequest.Result.BLOCKED)


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _tell(req: FreezeRequest, users: list[Any], *, label: str, subject: str, body: str) -> int:
    """Queue the message to each user in-app, and by e-mail through the postman when they have an
    address; idempotent per request, step and user."""
    link = reverse("freeze_detail", args=[req.pk])
    count = 0
    for user in users:
        key = f"freeze:{req.pk}:{label}:{user.pk}"
        notify.queue(ChannelKind.IN_APP, user, subject=subject, body=body, key=key, link=link)
        count += 1
        if user.email:
            site = getattr(settings, "FANZHA_SITE_URL", "").rstrip("/")
            hooks.postman().queue(
                hooks.Letter("email", user.email, subject, body, key + ":email", site + link)
            )
            count += 1
    return count


def _message(req: FreezeRequest, case: Case, head: str) -> tuple[str, str]:
    subject = _("【%(kind)s请求】%(number)s %(target)s") % {
        "kind": req.get_kind_display(),
        "number": case.number,
        "target": req.target_masked,
    }
    lines = [
        head,
        _("案件编号：%(v)s") % {"v": case.number},
        _("请求类型：%(v)s") % {"v": req.get_kind_display()},
        _("账号/号码：%(v)s（完整号码请在平台查看）") % {"v": req.target_masked},
        _("接收单位：%(v)s") % {"v": req.unit.name},
        _("答复时限：%(v)s") % {"v": _when(req.deadline)},
    ]
    return subject, "\n".join(lines)


# Send --------------------------------------------------------------------------------------------


@transaction.atomic
def send_request(
    case: Case,
    actor: Any,
    *,
    key: str,
    kind: str,
    unit: Unit | None = None,
    minutes: int | None = None,
    now: datetime | None = None,
) -> FreezeRequest:
    """Send one request for the case's account or number named by ``key`` (``queries.Target.key``).

    ``unit`` None: routed (the account's bank, or the bureau's technical department for a number); a
    unit given is the police's own choice and must be of the right side. Sending the same kind for the
    same value again returns the first request and sends nothing.
    """
    now = now or timezone.now()
    case = Case.objects.select_for_update().select_related("unit").get(pk=case.pk)
    if not queries.can_send(actor, case):
        raise PermissionDenied(_("只有警方（警务联络员）可以进行此操作"))
    if not case.is_open:
        raise ValidationError(_("案件已结案，不能再发出止付冻结请求"))
    target = next((t for t in queries.targets(case) if t.key == key), None)
    if target is None:
        raise ValidationError({"key": [_("该账号或号码不属于本案，请刷新页面后重试")]})
    errors: dict[str, list[str]] = {}
    if target.is_number and kind != FreezeRequest.Kind.NUMBER_BLOCK:
        errors["kind"] = [_("电话号码只能申请号码停机")]
    elif not target.is_number and kind not in ACCOUNT_KINDS:
        errors["kind"] = [_("收款账户只能申请冻结或紧急止付")]
    minutes = settings.FANZHA_FREEZE_ANSWER_MINUTES if minutes is None else minutes
    if not 1 <= minutes <= MAX_DEADLINE_MINUTES:
        errors["minutes"] = [_("答复时限应在1至1440分钟之间")]
    routed = unit is None
    chosen = queries.route(target, actor) if unit is None else unit
    if chosen is None:
        errors["unit"] = [_("没有找到该账户所属银行的单位，请选择接收单位")]
    elif not queries.unit_choices(target.is_number).filter(pk=chosen.pk).exists():
        errors["unit"] = [
            _("号码停机请求只能发给公安局或警种部门")
            if target.is_number
            else _("冻结和止付请求只能发给银行的单位")
        ]
    if errors:
        raise ValidationError(errors)
    assert chosen is not None
    existing = FreezeRequest.objects.filter(case=case, kind=kind, target_hash=target.key).first()
    if existing is not None:
        return existing
    sealed = crypto.seal(target.value, lambda _v: target.masked)
    req = FreezeRequest.objects.create(
        case=case,
        kind=kind,
        target_enc=sealed.enc,
        target_hash=target.key,
        target_masked=target.masked,
        bank_text=target.bank_text[:200],
        unit=chosen,
        routed=routed,
        deadline=now + timedelta(minutes=minutes),
        requested_at=now,
        requested_by=actor,
    )
    subject, body = _message(req, case, _("公安机关请求贵单位协助办理，请在时限内答复办理结果。"))
    sent = _tell(req, queries.nearest_contacts(chosen), label="sent", subject=subject, body=body)
    record_event(
        case,
        CaseEvent.Kind.FREEZE_SENT,
        actor,
        at=now,
        request=req.pk,
        request_kind=kind,
        unit=chosen.name,
        routed=routed,
        messages=sent,
    )
    return req


def send_all(case: Case, actor: Any, *, account_kind: str, minutes: int | None = None) -> tuple[int, int]:
    """Send a request for every account and number of the case that routing can place and that has none
    yet; return (sent, left for the police to route by hand)."""
    sent = left = 0
    for target in queries.targets(case):
        kind = FreezeRequest.Kind.NUMBER_BLOCK if target.is_number else account_kind
        if FreezeRequest.objects.filter(case=case, kind=kind, target_hash=target.key).exists():
            continue
        if queries.route(target, actor) is None:
            left += 1
            continue
        send_request(case, actor, key=target.key, kind=kind, minutes=minutes)
        sent += 1
    return sent, left


# Answer ------------------------------------------------------------------------------------------


@transaction.atomic
def answer_request(
    req: FreezeRequest,
    actor: Any,
    *,
    result: str,
    frozen_amount: Any = None,
    frozen_at: datetime | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> FreezeRequest:
    """The receiving unit's answer: what it found and, when it froze the account or blocked the number,
    when that took effect (default: now) and how much it froze. Answered once; the police read it."""
    now = now or timezone.now()
    req = FreezeRequest.objects.select_for_update().select_related("case", "unit").get(pk=req.pk)
    if not queries.can_answer(actor, req):
        raise PermissionDenied(_("只有接收单位的联络人可以答复该请求"))
    if req.status != FreezeRequest.Status.PENDING:
        raise ValidationError(_("该请求已经答复过了"))
    allowed = NUMBER_RESULTS if req.is_number else ACCOUNT_RESULTS
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    amount = Decimal("0")
    if result not in allowed:
        errors["result"] = [_("请选择办理结果")]
    if frozen_amount not in (None, ""):
        try:
            amount = parse_amount(frozen_amount, _("冻结金额"))
        except ValidationError as exc:
            errors["frozen_amount"] = exc.messages
    if result == FreezeRequest.Result.FROZEN and "frozen_amount" not in errors and amount <= 0:
        errors["frozen_amount"] = [_("已冻结时请填写冻结金额（大于0）")]
    elif result != FreezeRequest.Result.FROZEN and amount > 0:
        errors["frozen_amount"] = [_("只有冻结成功时才填写冻结金额")]
    if result in STOPPED:
        frozen_at = frozen_at or now
        if frozen_at < req.requested_at:
            errors["frozen_at"] = [_("生效时间不能早于请求时间")]
        elif frozen_at > now:
            errors["frozen_at"] = [_("生效时间不能晚于现在")]
    elif frozen_at is not None:
        errors["frozen_at"] = [_("只有冻结或停机成功时才填写生效时间")]
    if result == FreezeRequest.Result.REFUSED and not reason:
        errors["reason"] = [_("不予办理时请说明理由")]
    if errors:
        raise ValidationError(errors)
    req.status = FreezeRequest.Status.ANSWERED
    req.answered_at = now
    req.answered_by = actor
    req.result = result
    req.frozen_amount = amount
    req.frozen_at = frozen_at if result in STOPPED else None
    req.reason = reason[:300]
    req.save()
    if result == FreezeRequest.Result.FROZEN:
        _carry_to_case(req.case)
    late = req.is_overdue(now)
    if req.requested_by is not None and req.requested_by.is_active:
        subject, body = _message(
            req, req.case, _("接收单位已答复：%(result)s") % {"result": req.get_result_display()}
        )
        _tell(req, [req.requested_by], label="answered", subject=subject, body=body)
    detail: dict[str, Any] = {
        "request": req.pk,
        "result": result,
        "minutes": round(req.minutes_to_answer or 0, 1),
        "frozen": str(amount),
    }
    if late:
        detail["late"] = True
    record_event(req.case, CaseEvent.Kind.FREEZE_ANSWERED, actor, at=now, **detail)
    return req


def _carry_to_case(case: Case) -> None:
    """The case's frozen amount is at least what the banks answered they froze (up to the loss: a payee
    account may hold other people's money too), the figure the alert page, the statistics and the
    bulletins read. Never lowered here: the police may have recorded a stop-payment made by other means."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    banked = FreezeRequest.objects.filter(case=case, result=FreezeRequest.Result.FROZEN).aggregate(
        total=Sum("frozen_amount")
    )["total"] or Decimal("0")
    banked = min(banked, case.total_loss)
    if banked > case.frozen_amount:
        case.frozen_amount = banked
        case.save(update_fields=["frozen_amount", "updated_at"])


# Reveal ------------------------------------------------------------------------------------------


@transaction.atomic
def reveal_target(req: FreezeRequest, actor: Any) -> str:
    """The full account or number, to whoever must act on it (the receiving contacts, the police of the
    case), audited: an ``AuditRecord`` and a timeline event name who and which request, never the value."""
    if not (queries.can_answer(actor, req) or queries.can_send(actor, req.case)):
        raise PermissionDenied(_("您无权查看完整号码"))
    AuditRecord.objects.create(
        actor=actor,
        action=AuditRecord.Action.REVEAL,
        object_type="freeze_request",
        object_id=str(req.pk),
        detail="target",
    )
    record_event(req.case, CaseEvent.Kind.REVEALED, actor, fields=["freeze_target"], request=req.pk)
    return crypto.decrypt(req.target_enc)


# Overdue -----------------------------------------------------------------------------------------


def _escalate_one(pk: int, now: datetime) -> bool:
    with transaction.atomic():
        req = (
            FreezeRequest.objects.select_for_update()
            .filter(pk=pk, status=FreezeRequest.Status.PENDING, overdue_at__isnull=True, deadline__lt=now)
            .select_related("case", "unit")
            .first()
        )
        if req is None:
            return False
        claimed = FreezeRequest.objects.filter(pk=pk, overdue_at__isnull=True).update(overdue_at=now)
        if not claimed:
            return False
        req.overdue_at = now
        first = queries.nearest_contacts(req.unit)
        told = {u.pk for u in first}
        above = [u for u in queries.contacts(req.unit) if u.pk not in told]
        users = above or first
        if req.requested_by is not None and req.requested_by.is_active:
            users = [*users, req.requested_by]
        subject, body = _message(
            req,
            req.case,
            _("【超时未答复】该请求已超过答复时限，请立即办理并答复。"),
        )
        sent = _tell(req, users, label="overdue", subject=_("【超时】") + subject, body=body)
        record_event(req.case, CaseEvent.Kind.FREEZE_OVERDUE, None, at=now, request=req.pk, messages=sent)
    return True


def escalate_overdue(now: datetime | None = None) -> int:
    """Mark every request past its deadline without an answer as overdue, once, and tell the contacts
    above the receiving unit's first ones (those again when there is nobody above) and the police who
    sent it. Safe to run twice or in parallel (row locks and a conditional update as the claim)."""
    now = now or timezone.now()
    due = list(
        FreezeRequest.objects.filter(
            status=FreezeRequest.Status.PENDING, overdue_at__isnull=True, deadline__lt=now
        )
        .order_by("deadline", "pk")
        .values_list("pk", flat=True)
    )
    return sum(1 for pk in due if _escalate_one(pk, now))
