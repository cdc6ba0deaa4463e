"""The dashboard's table as an XLSX workbook (openpyxl): the viewpoint's totals, then each child unit."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from fanzha.core import sheets

from .queries import Board, Figures


def _cells(board: Board, name: str, code: str, figures: Figures) -> list[Any]:
    row: list[Any] = [name, code, figures.people]
    for item in board.kpis.items:
        ratio = figures.items[item]
        row += [ratio.done, ratio.due, ratio.percent]
    tally = figures.tally
    row += [
        figures.coverage_percent,
        tally.percent,
        tally.late,
        tally.excepted,
        tally.overdue,
        figures.obligations,
    ]
    return row


def board_xlsx(board: Board, today: date) -> bytes:
    """One sheet: a title line, the header, the totals row, then the children worst first."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("覆盖情况")
    title = f"{board.kpis.campaign.title} · {board.at.name if board.at else _('我负责的单位')}"
    sheets.append(sheet, [title, _("截至 %(day)s") % {"day": today.isoformat()}])
    sheet["A1"].font = Font(bold=True)
    header = [_("单位"), _("代码"), _("应覆盖人数")]
    for item in board.kpis.items:
        label = board.kpis.labels[item]
        header += [
            _("%(item)s：已完成") % {"item": label},
            _("%(item)s：应完成") % {"item": label},
            _("%(item)s：完成率（%%）") % {"item": label},
        ]
    header += [
        _("平均覆盖率（%）"),
        _("按时完成率（%）"),
        _("逾期完成周期"),
        _("例外认可周期"),
        _("逾期未完成周期"),
        _("工作任务数"),
    ]
    sheets.append(sheet, header)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    total_name = _("合计：%(unit)s") % {"unit": board.at.name if board.at else _("我负责的单位")}
    sheets.append(sheet, _cells(board, total_name, board.at.code if board.at else "", board.figures))
    for row in board.rows:
        sheets.append(sheet, _cells(board, row.unit.name, row.unit.code, row.figures))
    sheet.freeze_panes = "B3"
    sheet.column_dimensions["A"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
