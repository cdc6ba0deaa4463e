"""The case ledger as an XLSX workbook (openpyxl), with Chinese headers (the statistics: ``stats.export``).

The ledger is masked unless ``reveal``: the victim's name shows its first character, phone and ID
numbers and the victim's own accounts their masked forms, family situation and source of funds
nothing at all. Who may reveal, and the audit record of every export, are ``actions.export_ledger``'s
business; this module only lays out rows. The narrative is never exported (it is free text and
may hold anything).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from fanzha.core import crypto, sheets
from fanzha.org.models import Unit

from .models import Case, CaseState, ContactChannel, FraudKind, FundSource, IndicatorKind, Outcome, Side

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONEY_FORMAT = "#,##0.00"
SUSPECT_ACCOUNTS = (
    IndicatorKind.BANK_CARD,
    IndicatorKind.ALIPAY,
    IndicatorKind.WECHAT_PAY,
    IndicatorKind.OTHER_ACCOUNT,
)


def _local(value: datetime | None) -> datetime | None:
    """Excel has no time zones: local wall-clock time, naive."""
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def load(qs: QuerySet[Case]) -> list[Case]:
    """The cases with everything the ledger shows: three queries."""
    return list(
        qs.select_related("unit", "alert")
        .prefetch_related("indicators", "transfers")
        .order_by("reported_at", "pk")
    )


def unit_names(units: Iterable[Unit]) -> dict[str, str]:
    """Each unit's path of names from its root (``示范大学 / 计算机学院 / 计科2301班``): one query."""
    step = Unit.steplen
    paths = {u.path for u in units}
    prefixes = {p[:i] for p in paths for i in range(step, len(p) + 1, step)}
    names = dict(Unit.objects.filter(path__in=prefixes).values_list("path", "name"))
    return {
        p: " / ".join(names.get(p[:i], "?") for i in range(step, len(p) + 1, step)) for p in sorted(paths)
    }


def write_header(sheet: Worksheet, header: list[str]) -> None:
    sheets.append(sheet, header)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def _format(sheet: Worksheet, columns: dict[int, str]) -> None:
    for row in sheet.iter_rows(min_row=2):
        for index, fmt in columns.items():
            row[index].number_format = fmt


def _alert_times(case: Case) -> tuple[float | None, float | None]:
    alert = getattr(case, "alert", None)  # a missing reverse one-to-one raises an AttributeError
    if alert is None:
        return None, None
    return alert.seconds_to_alert, alert.seconds_to_ack


def _victim(case: Case, reveal: bool) -> list[Any]:
    """Name, phone, ID, family, funds, the victim's own accounts: masked or decrypted."""
    own = [i for i in case.indicators.all() if i.side == Side.VICTIM]
    transfers = [t for t in case.transfers.all() if t.from_enc or t.from_masked]
    if not reveal:
        accounts = [i.value_masked for i in own] + [t.from_masked for t in transfers]
        return [
            case.victim_masked_name,
            case.victim_phone_masked,
            case.victim_id_masked,
            "",
            "",
            "、".join(dict.fromkeys(a for a in accounts if a)),
        ]
    funds = case.funds
    labels = dict(FundSource.choices)
    sources = "、".join(str(labels.get(s, s)) for s in funds.get("sources", []))
    note = funds.get("note", "")
    accounts = [crypto.decrypt(i.value_enc) for i in own] + [crypto.decrypt(t.from_enc) for t in transfers]
    return [
        case.victim_name,
        crypto.decrypt(case.victim_phone_enc),
        crypto.decrypt(case.victim_id_enc),
        case.family,
        f"{sources}（{note}）" if sources and note else sources or note,
        "、".join(dict.fromkeys(a for a in accounts if a)),
    ]


def _ledger_row(case: Case, names: dict[str, str], reveal: bool) -> list[Any]:
    suspect = [i for i in case.indicators.all() if i.side == Side.SUSPECT]

    def joined(kinds: Iterable[str]) -> str:
        return "、".join(i.value for i in suspect if i.kind in kinds)

    others = [k for k in IndicatorKind.values if k not in (IndicatorKind.PHONE, IndicatorKind.URL)]
    others = [k for k in others if k not in SUSPECT_ACCOUNTS]
    transfers = list(case.transfers.all())
    to_alert, to_ack = _alert_times(case)
    return [
        case.number,
        names.get(case.unit.path, case.unit.name),
        case.unit.code,
        str(CaseState(case.state).label),
        str(Outcome(case.outcome).label) if case.outcome else "",
        str(FraudKind(case.fraud_type).label) if case.fraud_type in FraudKind.values else case.fraud_type,
        str(ContactChannel(case.channel).label) if case.channel in ContactChannel.values else case.channel,
        _local(case.occurred_at),
        _local(case.reported_at),
        case.place,
        case.impersonated,
        *_victim(case, reveal),
        case.total_loss,
        case.frozen_amount,
        case.recovered_amount,
        joined([IndicatorKind.PHONE]),
        joined(SUSPECT_ACCOUNTS),
        joined([IndicatorKind.URL]),
        joined(others),
        len(transfers),
        sum((t.amount for t in transfers), Decimal("0")),
        case.police_case_number,
        _minutes(to_alert),
        _minutes(to_ack),
    ]


def export_cases(cases: QuerySet[Case] | list[Case], reveal: bool = False) -> bytes:
    """The ledger: one row per case, then a sheet of every transfer. Masked unless ``reveal``."""
    if isinstance(cases, QuerySet):
        cases = load(cases)
    names = unit_names(c.unit for c in cases)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("案件台账")
    write_header(
        sheet,
        [
            _("案件编号"),
            _("所属单位"),
            _("单位代码"),
            _("状态"),
            _("结果"),
            _("诈骗类型"),
            _("接触方式"),
            _("发案时间"),
            _("报案时间"),
            _("发案地点"),
            _("冒充身份"),
            _("受害人"),
            _("受害人电话"),
            _("受害人身份证号"),
            _("家庭情况"),
            _("资金来源"),
            _("受害人付款账户"),
            _("损失金额（元）"),
            _("止付冻结金额（元）"),
            _("追回金额（元）"),
            _("嫌疑电话"),
            _("嫌疑账户"),
            _("涉案网址"),
            _("其他线索"),
            _("转账笔数"),
            _("转账合计（元）"),
            _("公安立案编号"),
            _("报告至预警（分钟）"),
            _("预警至确认（分钟）"),
        ],
    )
    for case in cases:
        sheets.append(sheet, _ledger_row(case, names, reveal))
    _format(sheet, {7: DATETIME_FORMAT, 8: DATETIME_FORMAT, 17: MONEY_FORMAT, 18: MONEY_FORMAT})
    _format(sheet, {19: MONEY_FORMAT, 25: MONEY_FORMAT})
    sheet.freeze_panes = "B2"
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 36

    transfers = book.create_sheet(_("转账记录"))
    write_header(
        transfers,
        [
            _("案件编号"),
            _("转账时间"),
            _("金额（元）"),
            _("方式"),
            _("付款账户"),
            _("收款账户"),
            _("收款户名/银行"),
        ],
    )
    for case in cases:
        for t in case.transfers.all():
            source = crypto.decrypt(t.from_enc) if reveal and t.from_enc else t.from_masked
            sheets.append(
                transfers,
                [
                    case.number,
                    _local(t.at),
                    t.amount,
                    t.get_method_display(),
                    source,
                    t.to_account,
                    t.to_name,
                ],
            )
    _format(transfers, {1: DATETIME_FORMAT, 2: MONEY_FORMAT})
    transfers.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
