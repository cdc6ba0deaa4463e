"""What a case report may contain, checked in one place: the intake's input as typed
(``CaseInput``, built by the forms, the API and commands) and ``clean_input``, which refuses every
bad value at its field and normalises the rest. No database writes here; ``actions`` writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from fanzha.core.identifiers import mask_account, normalize_bank_card, normalize_id_number, normalize_phone
from fanzha.org.models import Person, Unit

from .models import ContactChannel, FraudKind, FundSource, IndicatorKind, Side, TransferMethod

MAX_AMOUNT = Decimal("100000000")  # 1亿元: more than any one victim loses; a typo beyond it is refused
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock a little ahead is not "in the future"
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
