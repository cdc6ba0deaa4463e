"""The jurisdiction overview as an XLSX workbook (openpyxl): the page's table, counts only."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from fanzha.core import sheets

from ..export import write_header
from .queries import Figures, Overview


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


def _cells(f: Figures) -> list[object]:
    return [f.cases, f.cases_before, _percent(f.cases_yoy), f.open_alerts, f.activities, f.reached]


def overview_xlsx(data: Overview) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("辖区概况")
    sheets.append(sheet, [data.unit.name, str(data.period)])
    sheet["A1"].font = Font(bold=True)
    first = [_("派出所"), _("辖区单位数")] if data.per_station else [_("辖区单位"), _("类型")]
    write_header(
        sheet,
        first + [_("本年案件"), _("去年同期"), _("同比"), _("待确认预警"), _("宣传活动"), _("覆盖人数")],
    )
    for row in data.rows:
        lead: list[object] = (
            [row.unit.name, row.places] if data.per_station else [row.unit.name, row.unit.get_kind_display()]
        )
        sheets.append(sheet, lead + _cells(row.figures))
    sheets.append(sheet, [_("合计"), ""] + _cells(data.total))
    sheet.column_dimensions["A"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
