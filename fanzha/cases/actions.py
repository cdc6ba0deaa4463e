"""Every write of the case ledger's intake and workflow: drafts, report, edit, attach, change state,
reveal. Alerts, follow-up, trace-back and accountability have their own ``*_actions`` modules.

Each verb is atomic and writes its ``CaseEvent`` in the same transaction, so the timeline is
exactly the history of what committed. Permission is checked here (not only in views) through
``queries.can``, so the API, commands and pages refuse the same things the same way: a role
that may not make a change gets ``PermissionDenied`` and nothing changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from fanzha.campaigns.activities.actions import inspect_upload
from fanzha.core import crypto
from fanzha.core.identifiers import mask_account, normalize_bank_card, normalize_id_number, normalize_phone
from fanzha.core.models import AuditRecord
from fanzha.org.models import Person, Unit
from fanzha.org.scope import Cap, in_scope

from .models import (
    Attachment,
    Case,
    CaseDraft,
    CaseEvent,
    CaseState,
    ContactChannel,
    FraudKind,
    FundSource,
    Indicator,
    IndicatorKind,
    Outcome,
    ReportedVia,
    Side,
    Transfer,
    TransferMethod,
)

MAX_AMOUNT = Decimal("100000000")  # 1亿元: more than any one victim loses; a typo beyond it is refused
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock a little ahead is not "in the future"
MAX_ATTACHMENTS = 20
MAX_INDICATORS = 100
MAX_TRANSFERS = 200


# Input ----------------------------------------------------------------------------------------------


@dataclass
class TransferIn:
    """One transfer as typed: ``amount`` may still be a string."""

    at: datetime | None
    amount: Any
    method: str
    from_account: str = ""
    to_account: str = ""
    to_name: str = ""


@dataclass
class IndicatorIn:
    kind: str
    value: str
    side: str = Side.SUSPECT
    note: str = ""


@dataclass
class CaseInput:
    """Everything the intake records, as typed (forms, API and commands build one of these)."""

    unit: Unit | None
    victim: Person | None = None
    victim_name: str = ""
    victim_phone: str = ""
    victim_id_number: str = ""
    occurred_at: datetime | None = None
    reported_at: datetime | None = None
    place: str = ""
    channel: str = ""
    fraud_type: str = ""
    impersonated: str = ""
    narrative: str = ""
    total_loss: Any = None  # None or "": the sum of the transfers
    fund_sources: list[str] = field(default_factory=list)
    funds_note: str = ""
    family: str = ""
    indicators: list[IndicatorIn] = field(default_factory=list)
    transfers: list[TransferIn] = field(default_factory=list)


@dataclass
class _CleanIndicator:
    side: str
    kind: str
    value: str
    note: str


@dataclass
class _CleanTransfer:
    at: datetime
    amount: Decimal
    method: str
    from_account: str
    to_account: str
    to_name: str


@dataclass
class Cleaned:
    """A ``CaseInput`` that passed every check, values normalised."""

    unit: Unit
    victim: Person | None
    victim_name: str
    victim_phone: str
    victim_id_number: str
    occurred_at: datetime
    reported_at: datetime
    place: str
    channel: str
    fraud_type: str
    impersonated: str
    narrative: str
    total_loss: Decimal
    fund_sources: list[str]
    funds_note: str
    family: str
    indicators: list[_CleanIndicator]
    transfers: list[_CleanTransfer]


# Validation -----------------------------------------------------------------------------------------


def parse_amount(raw: Any, label: str) -> Decimal:
    """A money amount in yuan: a number ≥ 0 with at most two decimals and at most ``MAX_AMOUNT``."""
    text = str(raw).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    text = text.removesuffix("元")
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(_("%(label)s“%(value)s”不是金额") % {"label": label, "value": raw}) from exc
    if not value.is_finite():
        raise ValidationError(_("%(label)s“%(value)s”不是金额") % {"label": label, "value": raw})
    if value < 0:
        raise ValidationError(_("%(label)s不能为负数") % {"label": label})
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError(_("%(label)s最多保留两位小数（分）") % {"label": label})
    if value > MAX_AMOUNT:
        raise ValidationError(_("%(label)s超过1亿元，请核对是否多输了位数") % {"label": label})
    return value.quantize(Decimal("0.01"))


def normalize_indicator(kind: str, raw: str, *, secret: bool = False) -> str:
    """Normalise a suspect's (or victim's) number, account, URL or app name; ValidationError if malformed.

    Phone numbers accept the Chinese formats (+86, landlines, 400/800, 95xxx) and, since fraud
    calls often come from abroad, any valid international number (kept as +CC…). With ``secret``
    (the victim's own accounts) a message names the value masked, never in clear.
    """
    value = re.sub(r"\s+", " ", str(raw or "")).strip()
    if not value:
        raise ValidationError(_("内容为空"))
    try:
        return _normalize_indicator(kind, value)
    except ValidationError as exc:
        if not secret:
            raise
        shown = mask_account(value.replace(" ", ""))
        raise ValidationError(
            [m.replace(value, shown).replace(value[:20], shown) for m in exc.messages]
        ) from None


def _normalize_indicator(kind: str, value: str) -> str:
    if kind == IndicatorKind.PHONE:
        compact = re.sub(r"[\s\-()（）]", "", value)
        if compact.startswith("00") and not compact.startswith("0086"):
            compact = "+" + compact[2:]
        if compact.startswith("+") and not compact.startswith("+86"):
            try:
                parsed = phonenumbers.parse(compact)
            except phonenumbers.NumberParseException as exc:
                raise ValidationError(_("电话号码“%(v)s”格式不正确") % {"v": value}) from exc
            if not phonenumbers.is_valid_number(parsed):
                raise ValidationError(_("电话号码“%(v)s”格式不正确") % {"v": value})
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        try:
            return normalize_phone(compact)
        except ValidationError as exc:
            raise ValidationError(_("电话号码“%(v)s”格式不正确") % {"v": value}) from exc
    if kind == IndicatorKind.BANK_CARD:
        try:
            return normalize_bank_card(value)
        except ValidationError as exc:
            raise ValidationError(
                _("银行卡号“%(v)s”有误：%(why)s") % {"v": value, "why": " ".join(exc.messages)}
            ) from exc
    if kind == IndicatorKind.URL:
        url = value if "://" in value else "http://" + value
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise ValidationError(_("网址“%(v)s”格式不正确") % {"v": value}) from exc
        scheme, rest = url.split("://", 1)
        host, sep, path = rest.partition("/")
        return f"{scheme.lower()}://{host.lower()}{sep}{path}"
    if kind == IndicatorKind.QQ:
        if not re.fullmatch(r"[1-9]\d{4,10}", value):
            raise ValidationError(_("QQ号“%(v)s”应为5至11位数字") % {"v": value})
        return value
    if kind in (IndicatorKind.ALIPAY, IndicatorKind.WECHAT_PAY, IndicatorKind.WECHAT):
        compact = value.replace(" ", "")
        if re.fullmatch(r"\+?[\d\-]{7,16}", compact):
            try:
                return normalize_phone(compact)
            except ValidationError as exc:
                raise ValidationError(_("账号“%(v)s”看起来是手机号，但格式不正确") % {"v": value}) from exc
        if len(compact) > 100:
            raise ValidationError(_("账号“%(v)s”太长") % {"v": value[:20]})
        return compact.lower() if "@" in compact else compact
    if kind in (IndicatorKind.APP, IndicatorKind.OTHER_ACCOUNT):
        if len(value) > 200:
            raise ValidationError(_("内容太长（最多200字）"))
        return value
    raise ValidationError(_("未知的线索类型“%(k)s”") % {"k": kind})


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@sensitive_variables()
def clean_input(data: CaseInput, now: datetime | None = None) -> Cleaned:
    """Check every field of an intake; raise one ``ValidationError`` naming every problem by field."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}

    def err(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if data.unit is None:
        err("unit", _("请选择案件所属单位"))
    victim_name = (data.victim_name or "").strip()
    if data.victim is not None:
        victim_name = data.victim.name
    if not victim_name:
        err("victim_name", _("请填写受害人姓名，或从花名册中选择"))
    victim_phone = ""
    if data.victim_phone.strip():
        try:
            victim_phone = normalize_phone(data.victim_phone)
        except ValidationError as exc:
            err("victim_phone", " ".join(exc.messages))
    victim_id = ""
    if data.victim_id_number.strip():
        try:
            victim_id = normalize_id_number(data.victim_id_number)
        except ValidationError as exc:
            err("victim_id_number", " ".join(exc.messages))

    reported_at = _aware(data.reported_at) if data.reported_at else now
    occurred_at = _aware(data.occurred_at) if data.occurred_at else None
    if occurred_at is None:
        err("occurred_at", _("请填写发案时间"))
    elif occurred_at > now + CLOCK_SKEW:
        err("occurred_at", _("发案时间不能晚于现在"))
    if reported_at > now + CLOCK_SKEW:
        err("reported_at", _("报案时间不能晚于现在"))
    if occurred_at and occurred_at > reported_at:
        err("occurred_at", _("发案时间不能晚于报案时间"))
    if data.channel not in ContactChannel.values:
        err("channel", _("请选择接触方式"))
    if data.fraud_type not in FraudKind.values:
        err("fraud_type", _("请选择诈骗类型"))
    bad_sources = [s for s in data.fund_sources if s not in FundSource.values]
    if bad_sources:
        err("fund_sources", _("未知的资金来源：%(s)s") % {"s": "、".join(bad_sources)})

    indicators: list[_CleanIndicator] = []
    if len(data.indicators) > MAX_INDICATORS:
        err("indicators", _("线索最多%(n)d条") % {"n": MAX_INDICATORS})
    seen: set[tuple[str, str, str]] = set()
    for i, ind in enumerate(data.indicators[:MAX_INDICATORS], start=1):
        if not str(ind.value or "").strip():
            continue  # an empty row of a form is no indicator
        if ind.side not in Side.values or ind.kind not in IndicatorKind.values:
            err("indicators", _("第%(i)d条线索：类型不正确") % {"i": i})
            continue
        try:
            value = normalize_indicator(ind.kind, ind.value, secret=ind.side == Side.VICTIM)
        except ValidationError as exc:
            err("indicators", _("第%(i)d条线索：%(why)s") % {"i": i, "why": " ".join(exc.messages)})
            continue
        if (ind.side, ind.kind, value) not in seen:
            seen.add((ind.side, ind.kind, value))
            indicators.append(_CleanIndicator(ind.side, ind.kind, value, (ind.note or "").strip()[:200]))

    transfers: list[_CleanTransfer] = []
    if len(data.transfers) > MAX_TRANSFERS:
        err("transfers", _("转账记录最多%(n)d条") % {"n": MAX_TRANSFERS})
    for i, tr in enumerate(data.transfers[:MAX_TRANSFERS], start=1):
        if tr.at is None and str(tr.amount or "").strip() == "":
            continue  # an empty row
        label = _("第%(i)d笔转账") % {"i": i}
        problems: list[str] = []
        if tr.at is None:
            problems.append(_("请填写转账时间"))
        amount = Decimal("0")
        try:
            amount = parse_amount(tr.amount, _("金额"))
            if amount == 0:
                problems.append(_("金额应大于0"))
        except ValidationError as exc:
            problems.extend(exc.messages)
        if tr.method not in TransferMethod.values:
            problems.append(_("请选择转账方式"))
        at = _aware(tr.at) if tr.at else None
        if at is not None:
            if at > now + CLOCK_SKEW:
                problems.append(_("转账时间不能晚于现在"))
            elif at > reported_at:
                problems.append(_("转账时间不能晚于报案时间"))
            if occurred_at and at < occurred_at - timedelta(days=366):
                problems.append(_("转账时间早于发案时间一年以上，请核对"))
        from_account = ""
        if (tr.from_account or "").strip():
            from_account = re.sub(r"\s+", "", tr.from_account)[:100]
        if problems:
            err("transfers", f"{label}：" + "；".join(problems))
        elif at is not None:
            transfers.append(
                _CleanTransfer(
                    at,
                    amount,
                    tr.method,
                    from_account,
                    (tr.to_account or "").strip()[:100],
                    (tr.to_name or "").strip()[:100],
                )
            )

    total = sum((t.amount for t in transfers), Decimal("0"))
    if data.total_loss is None or str(data.total_loss).strip() == "":
        total_loss = total
    else:
        try:
            total_loss = parse_amount(data.total_loss, _("损失金额"))
        except ValidationError as exc:
            err("total_loss", " ".join(exc.messages))
            total_loss = Decimal("0")
    if total_loss > MAX_AMOUNT:
        err("total_loss", _("损失金额超过1亿元，请核对是否多输了位数"))

    if errors:
        raise ValidationError(errors)
    assert data.unit is not None and occurred_at is not None
    return Cleaned(
        unit=data.unit,
        victim=data.victim,
        victim_name=victim_name[:60],
        victim_phone=victim_phone,
        victim_id_number=victim_id,
        occurred_at=occurred_at,
        reported_at=reported_at,
        place=data.place.strip()[:200],
        channel=data.channel,
        fraud_type=data.fraud_type,
        impersonated=data.impersonated.strip()[:100],
        narrative=data.narrative.strip(),
        total_loss=total_loss,
        fund_sources=list(dict.fromkeys(data.fund_sources)),
        funds_note=data.funds_note.strip()[:500],
        family=data.family.strip(),
        indicators=indicators,
        transfers=transfers,
    )


# Events ---------------------------------------------------------------------------------------------


def record_event(
    case: Case,
    kind: str,
    actor: Any = None,
    *,
    before: str = "",
    after: str = "",
    at: datetime | None = None,
    **detail: Any,
) -> CaseEvent:
    """Append one row to the case's timeline (callers hold the transaction of the change)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        state_before=before,
        state_after=after,
        actor=user,
        at=at or timezone.now(),
        detail=detail,
    )


def _require_victim_in_scope(actor: Any, victim: Person) -> None:
    """A victim picked from the roster must be a person the recording user may see."""
    from fanzha.org.scope import people_for

    if not people_for(actor).filter(pk=victim.pk).exists():
        raise ValidationError({"victim": [_("所选受害人不在您的管理范围内")]})


def _require(actor: Any, unit: Unit, cap: Cap) -> None:
    if actor is None or not in_scope(actor, unit, cap):
        raise PermissionDenied(_("您没有权限进行此操作"))


# Intake ---------------------------------------------------------------------------------------------


def _write_details(case: Case, c: Cleaned) -> None:
    case.unit = c.unit
    case.victim = c.victim
    case.victim_name = c.victim_name
    phone = c.victim_phone or (c.victim.phone if c.victim is not None and not c.victim_phone else "")
    id_number = c.victim_id_number or (
        c.victim.id_number if c.victim is not None and not c.victim_id_number else ""
    )
    case.set_victim_phone(phone)
    case.set_victim_id(id_number)
    case.occurred_at = c.occurred_at
    case.reported_at = c.reported_at
    case.place = c.place
    case.channel = c.channel
    case.fraud_type = c.fraud_type
    case.impersonated = c.impersonated
    case.narrative = c.narrative
    case.total_loss = c.total_loss
    case.set_funds(c.fund_sources, c.funds_note)
    case.set_family(c.family)
    case.last_transfer_at = max((t.at for t in c.transfers), default=None)


def _write_lines(case: Case, c: Cleaned) -> None:
    Indicator.objects.filter(case=case).delete()
    Transfer.objects.filter(case=case).delete()
    Indicator.objects.bulk_create(
        [
            Indicator(
                case=case,
                side=i.side,
                kind=i.kind,
                value=i.value if i.side == Side.SUSPECT else "",
                value_enc=crypto.encrypt(i.value) if i.side == Side.VICTIM else "",
                value_hash=crypto.keyed_hash(i.value),
                value_masked=mask_account(i.value) if i.side == Side.VICTIM else "",
                note=i.note,
            )
            for i in c.indicators
        ]
    )
    Transfer.objects.bulk_create(
        [
            Transfer(
                case=case,
                at=t.at,
                amount=t.amount,
                method=t.method,
                from_enc=crypto.encrypt(t.from_account),
                from_masked=mask_account(t.from_account),
                to_account=t.to_account,
                to_name=t.to_name,
            )
            for t in c.transfers
        ]
    )


def needs_alert(case: Case, now: datetime | None = None) -> bool:
    """Whether a newly reported case starts the stop-payment flow: money moved in the last 24 hours.

    The window is ``settings.FANZHA_STOP_PAYMENT_WINDOW_HOURS``: beyond it the money has left the
    first accounts and an alert only adds noise.
    """
    from django.conf import settings

    now = now or timezone.now()
    if case.last_transfer_at is None:
        return False
    return now - case.last_transfer_at <= timedelta(hours=settings.FANZHA_STOP_PAYMENT_WINDOW_HOURS)


@transaction.atomic
@sensitive_variables()
def report_case(
    data: CaseInput,
    actor: Any,
    *,
    via: str = ReportedVia.STAFF,
    reporter: Person | None = None,
    submit_token: str = "",
    attachments: Sequence[File] = (),
    now: datetime | None = None,
) -> Case:
    """Record a case. Staff need ``CASE_EDIT`` at the unit; a member (``via=SELF``) reports only their
    own case, in their own unit, and their report always raises the alert at once.

    A second submit with the same ``submit_token`` (a double click, a retried request) returns the
    first case and changes nothing. A case with a transfer inside the stop-payment window raises the
    alert in the same transaction (``alert_actions.raise_alert``).
    """
    now = now or timezone.now()
    if submit_token:
        existing = Case.objects.filter(submit_token=submit_token).first()
        if existing is not None:
            return existing
    if via == ReportedVia.SELF:
        if reporter is None or data.victim is None or data.victim.pk != reporter.pk:
            raise PermissionDenied(_("只能报告本人被骗的情况"))
        actor = None
    else:
        if data.unit is None:
            raise ValidationError({"unit": [_("请选择案件所属单位")]})
        _require(actor, data.unit, Cap.CASE_EDIT)
        if data.victim is not None:
            _require_victim_in_scope(actor, data.victim)
    cleaned = clean_input(data, now)
    checked = [inspect_upload(f) for f in attachments[:MAX_ATTACHMENTS]]
    case = Case(
        number="",
        state=CaseState.REPORTED,
        reported_via=via,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        submit_token=submit_token,
    )
    _write_details(case, cleaned)
    case.number = "tmp-" + crypto.keyed_hash(f"{now.isoformat()}:{submit_token}:{id(case)}")[:16]
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        existing = Case.objects.filter(submit_token=submit_token).first() if submit_token else None
        if existing is not None:
            return existing
        raise
    case.number = f"AJ{case.reported_at:%Y}{case.pk:06d}"
    Case.objects.filter(pk=case.pk).update(number=case.number)
    _write_lines(case, cleaned)
    for upload, info in zip(attachments, checked, strict=False):
        _store_attachment(case, upload, info, actor)
    record_event(
        case,
        CaseEvent.Kind.REPORTED,
        actor,
        after=CaseState.REPORTED,
        at=now,
        via=via,
        transfers=len(cleaned.transfers),
        indicators=len(cleaned.indicators),
    )
    from .traceback.actions import on_case_reported

    on_case_reported(case, now)
    if via == ReportedVia.SELF or needs_alert(case, now):
        from .alerts.actions import raise_alert

        raise_alert(case, actor=None, now=now)
    return case


# What an edit compares, stored attribute → the name its event lists (hashes stand for the encrypted
# numbers; funds and family are compared decrypted, since encrypting the same text twice differs).
_TRACKED = {
    "victim_id": "victim",
    "victim_name": "victim_name",
    "victim_phone_hash": "victim_phone",
    "victim_id_hash": "victim_id_number",
    "occurred_at": "occurred_at",
    "reported_at": "reported_at",
    "place": "place",
    "channel": "channel",
    "fraud_type": "fraud_type",
    "impersonated": "impersonated",
    "narrative": "narrative",
    "total_loss": "total_loss",
    "unit_id": "unit",
    "funds": "funds",
    "family": "family",
}


@transaction.atomic
@sensitive_variables()
def edit_case(case: Case, data: CaseInput, actor: Any, now: datetime | None = None) -> Case:
    """Correct a case's intake (``CASE_EDIT`` at its unit, and at the new unit if it moves).

    Sensitive fields left empty (and the victim's accounts left masked) keep their stored values
    (``_keep_stored``). The event lists the names of the fields that changed, never their values.
    A closed case is not edited: reopen questions go through the police side.
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require(actor, case.unit, Cap.CASE_EDIT)
    if data.unit is not None and data.unit.pk != case.unit_id:
        _require(actor, data.unit, Cap.CASE_EDIT)
    if case.state == CaseState.CLOSED:
        raise ValidationError(_("案件已结案，不能再修改"))
    if data.victim is not None and data.victim.pk != case.victim_id:
        _require_victim_in_scope(actor, data.victim)
    before = {attr: getattr(case, attr) for attr in _TRACKED}
    before_lines = _lines_signature(case)
    cleaned = clean_input(_keep_stored(case, data), now)
    _write_details(case, cleaned)
    case.save()
    _write_lines(case, cleaned)
    changed = [name for attr, name in _TRACKED.items() if before[attr] != getattr(case, attr)]
    if before_lines != _lines_signature(case):
        changed.append("transfers_or_indicators")
    if changed:
        record_event(case, CaseEvent.Kind.EDITED, actor, at=now, fields=changed)
        from .traceback.actions import on_case_edited

        on_case_edited(case, now)
        if case.state == CaseState.REPORTED and needs_alert(case, now):
            # A transfer inside the stop-payment window learnt only now: the alert goes out now.
            from .alerts.actions import raise_alert

            raise_alert(case, actor=None, now=now)
    return case


def _keep_stored(case: Case, data: CaseInput) -> CaseInput:
    """Read what an edit form left unshown as "unchanged": the stored values stand in for it.

    Why: the edit form shows sensitive values only after an audited reveal. Without one, the
    victim's phone, ID number, family situation and source of funds come back empty, and the
    victim's own accounts come back masked (``****1234``, never a valid account); neither may
    erase what the intake recorded. A new victim from the roster brings their own numbers.
    Times come back to the minute: one in the minute of a stored time is that time, unchanged.
    """
    data = replace(data)
    data.occurred_at = _same_minute(data.occurred_at, [case.occurred_at])
    data.reported_at = _same_minute(data.reported_at, [case.reported_at])
    stored_times = list(Transfer.objects.filter(case=case).values_list("at", flat=True))
    if (data.victim.pk if data.victim is not None else None) == case.victim_id:
        if not data.victim_phone.strip():
            data.victim_phone = crypto.decrypt(case.victim_phone_enc)
        if not data.victim_id_number.strip():
            data.victim_id_number = crypto.decrypt(case.victim_id_enc)
    if not data.family.strip():
        data.family = case.family
    if not data.fund_sources and not data.funds_note.strip():
        funds = case.funds
        data.fund_sources = list(funds.get("sources") or [])
        data.funds_note = str(funds.get("note") or "")
    accounts = {
        (i.kind, i.value_masked): crypto.decrypt(i.value_enc)
        for i in Indicator.objects.filter(case=case, side=Side.VICTIM)
        if i.value_masked
    }
    data.indicators = [
        replace(i, value=accounts.get((i.kind, str(i.value or "").strip()), i.value))
        if i.side == Side.VICTIM
        else i
        for i in data.indicators
    ]
    payers = {
        t.from_masked: crypto.decrypt(t.from_enc) for t in Transfer.objects.filter(case=case) if t.from_masked
    }
    data.transfers = [
        replace(
            t,
            at=_same_minute(t.at, stored_times),
            from_account=payers.get(str(t.from_account or "").strip(), t.from_account),
        )
        for t in data.transfers
    ]
    return data


def _same_minute(value: datetime | None, stored: list[datetime]) -> datetime | None:
    """A time typed to the minute (as forms do) that matches a stored time keeps the stored one."""
    if value is None:
        return None
    typed = _aware(value).replace(second=0, microsecond=0)
    for at in stored:
        if at.replace(second=0, microsecond=0) == typed and typed == _aware(value):
            return at
    return value


def _lines_signature(case: Case) -> str:
    ind = sorted(Indicator.objects.filter(case=case).values_list("side", "kind", "value_hash"))
    tr = sorted(
        (t.at.isoformat(), str(t.amount), t.method, t.to_account, t.from_masked)
        for t in Transfer.objects.filter(case=case)
    )
    return json.dumps([ind, tr])


def _store_attachment(case: Case, upload: File, info: Any, actor: Any) -> Attachment:
    upload.seek(0)
    name = (
        timezone.now().strftime("cases/%Y/%m/")
        + f"{crypto.keyed_hash(info.sha256 + str(case.pk))[:24]}.{info.extension}"
    )
    stored = default_storage.save(name, upload)
    return Attachment.objects.create(
        case=case,
        file=stored,
        content_type=info.type.content_type,
        size=info.size,
        sha256=info.sha256,
        original_name=info.name,
        uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


@transaction.atomic
def add_attachment(case: Case, upload: File, actor: Any) -> Attachment:
    """Attach a file, checked by its content against its name; the same file twice is refused."""
    _require(actor, case.unit, Cap.CASE_EDIT)
    if case.attachments.count() >= MAX_ATTACHMENTS:
        raise ValidationError(_("每个案件最多%(n)d个附件") % {"n": MAX_ATTACHMENTS})
    info = inspect_upload(upload)
    if case.attachments.filter(sha256=info.sha256).exists():
        raise ValidationError(_("这个文件已经上传过了"))
    attachment = _store_attachment(case, upload, info, actor)
    record_event(case, CaseEvent.Kind.ATTACHED, actor, name=attachment.original_name, size=attachment.size)
    return attachment


# Workflow -------------------------------------------------------------------------------------------

# (from, to) → the capability the change needs. REPORTED → ALERTED is the alert's own (raise_alert).
TRANSITIONS: dict[tuple[str, str], Cap] = {
    (CaseState.REPORTED, CaseState.FILED): Cap.CASE_POLICE,
    (CaseState.ALERTED, CaseState.FILED): Cap.CASE_POLICE,
    (CaseState.FILED, CaseState.INVESTIGATING): Cap.CASE_POLICE,
    (CaseState.REPORTED, CaseState.CLOSED): Cap.CASE_POLICE,
    (CaseState.ALERTED, CaseState.CLOSED): Cap.CASE_POLICE,
    (CaseState.FILED, CaseState.CLOSED): Cap.CASE_POLICE,
    (CaseState.INVESTIGATING, CaseState.CLOSED): Cap.CASE_POLICE,
}


def allowed_transitions(case: Case, user: Any) -> list[str]:
    """The states the user may move the case to now (for the buttons of the case page)."""
    return [
        to for (frm, to), cap in TRANSITIONS.items() if frm == case.state and in_scope(user, case.unit, cap)
    ]


@transaction.atomic
def change_state(
    case: Case,
    to: str,
    actor: Any,
    *,
    police_case_number: str = "",
    outcome: str = "",
    frozen_amount: Any = None,
    recovered_amount: Any = None,
    note: str = "",
    now: datetime | None = None,
) -> Case:
    """Move a case along reported → (alerted) → filed → investigating → closed.

    Filing needs the police case number; closing needs the outcome, and the recovered amount must
    agree with it (all, part or none of the loss). A change the actor's role may not make raises
    ``PermissionDenied``; a change not allowed from the current state raises ``ValidationError``.
    """
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    cap = TRANSITIONS.get((case.state, to))
    if cap is None:
        raise ValidationError(
            _("案件当前状态为“%(a)s”，不能改为“%(b)s”")
            % {"a": CaseState(case.state).label, "b": CaseState(to).label if to in CaseState.values else to}
        )
    _require(actor, case.unit, cap)
    before = case.state
    fields = ["state", "updated_at"]
    if to == CaseState.FILED:
        number = police_case_number.strip()
        if not number:
            raise ValidationError({"police_case_number": [_("立案请填写公安立案编号")]})
        case.police_case_number = number[:40]
        fields.append("police_case_number")
    if to == CaseState.CLOSED:
        if outcome not in Outcome.values:
            raise ValidationError({"outcome": [_("结案请选择结果")]})
        recovered = parse_amount(recovered_amount if recovered_amount not in (None, "") else 0, _("追回金额"))
        frozen = (
            parse_amount(frozen_amount, _("止付冻结金额"))
            if frozen_amount not in (None, "")
            else case.frozen_amount
        )
        if recovered > case.total_loss or frozen > case.total_loss:
            raise ValidationError({"recovered_amount": [_("追回或冻结金额不能超过损失金额")]})
        if outcome == Outcome.RECOVERED and recovered != case.total_loss:
            raise ValidationError({"recovered_amount": [_("“全部追回”时追回金额应等于损失金额")]})
        if outcome == Outcome.PARTLY and not (0 < recovered < case.total_loss):
            raise ValidationError({"recovered_amount": [_("“部分追回”时追回金额应大于0且小于损失金额")]})
        if outcome == Outcome.UNRECOVERED and recovered != 0:
            raise ValidationError({"recovered_amount": [_("“未追回”时追回金额应为0")]})
        case.outcome = outcome
        case.recovered_amount = recovered
        case.frozen_amount = frozen
        case.closed_at = now
        fields += ["outcome", "recovered_amount", "frozen_amount", "closed_at"]
    case.state = to
    case.save(update_fields=fields)
    detail: dict[str, Any] = {}
    if note.strip():
        detail["note"] = note.strip()[:300]
    if to == CaseState.CLOSED:
        detail.update(outcome=outcome, recovered=str(case.recovered_amount), frozen=str(case.frozen_amount))
    record_event(case, CaseEvent.Kind.STATE, actor, before=before, after=to, at=now, **detail)
    return case


# Drafts ---------------------------------------------------------------------------------------------


@transaction.atomic
@sensitive_variables()
def save_draft(
    owner: Any, data: dict[str, Any], draft: CaseDraft | None = None, unit: Unit | None = None
) -> CaseDraft:
    """Keep an intake form as typed (autosave), encrypted; nothing is validated yet.

    Only the draft's owner may save over it; it holds whatever was typed, sensitive fields included.
    """
    if owner is None or not owner.is_authenticated:
        raise PermissionDenied(_("请先登录"))
    payload = crypto.encrypt(json.dumps(data, ensure_ascii=False, default=str)[:200_000])
    if draft is None:
        return CaseDraft.objects.create(owner=owner, unit=unit, data_enc=payload)
    draft = CaseDraft.objects.select_for_update().get(pk=draft.pk)
    if draft.owner_id != owner.pk:
        raise PermissionDenied(_("只能保存自己的草稿"))
    draft.data_enc = payload
    draft.unit = unit or draft.unit
    draft.save(update_fields=["data_enc", "unit", "updated_at"])
    return draft


@transaction.atomic
def discard_draft(draft: CaseDraft, owner: Any) -> None:
    if draft.owner_id != getattr(owner, "pk", None):
        raise PermissionDenied(_("只能删除自己的草稿"))
    CaseDraft.objects.filter(pk=draft.pk).delete()


# Reveal ---------------------------------------------------------------------------------------------

REVEALABLE = ("victim_phone", "victim_id_number", "family", "funds", "victim_accounts")


@transaction.atomic
@sensitive_variables()
def reveal_case(case: Case, actor: Any, fields: Iterable[str] = REVEALABLE) -> dict[str, Any]:
    """Return the case's sensitive values to a role that needs them (``CASE_REVEAL``), audited.

    Every call writes an ``AuditRecord`` (who, which fields, when) and a timeline event; the values
    themselves are never written anywhere.
    """
    _require(actor, case.unit, Cap.CASE_REVEAL)
    wanted = [f for f in fields if f in REVEALABLE]
    if not wanted:
        raise ValidationError(_("没有可查看的字段"))
    values: dict[str, Any] = {}
    for f in wanted:
        if f == "victim_phone":
            values[f] = crypto.decrypt(case.victim_phone_enc)
        elif f == "victim_id_number":
            values[f] = crypto.decrypt(case.victim_id_enc)
        elif f == "family":
            values[f] = case.family
        elif f == "funds":
            values[f] = case.funds
        elif f == "victim_accounts":
            values[f] = [
                {"kind": i.kind, "value": crypto.decrypt(i.value_enc), "note": i.note}
                for i in case.indicators.filter(side=Side.VICTIM)
            ] + [
                {"kind": "transfer_from", "value": crypto.decrypt(t.from_enc), "note": str(t.amount)}
                for t in case.transfers.all()
                if t.from_enc
            ]
    AuditRecord.objects.create(
        actor=actor,
        action=AuditRecord.Action.REVEAL,
        object_type="case",
        object_id=str(case.pk),
        detail=",".join(wanted),
    )
    record_event(case, CaseEvent.Kind.REVEALED, actor, fields=wanted)
    return values
