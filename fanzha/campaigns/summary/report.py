"""The reach tables as the page, the workbook and the summary report show them: one list of tables,
so the three never say different things (篇六: 分人群、分渠道统计，宣传期结束后汇总上报).

The summary report (宣传月总结报告) is written for the head office (every branch) or one branch: the
goals against their targets, reach by branch × group, by branch × channel, the township (village)
detail, and a few photos of the records. DOCX through the plan document's layout helpers
(``documents.formats``), XLSX through ``core.sheets`` (no cell a user typed becomes a formula).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from fanzha.core import sheets
from fanzha.org.models import Unit

from ..documents import formats
from ..outreach.queries import Totals

logger = logging.getLogger(__name__)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Photos python-docx can place in a document (HEIC and video stay on the record's page).
DOCX_IMAGES = {"image/jpeg", "image/png", "image/gif"}


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]


def tables(totals: Totals) -> list[Table]:
    """Goals, branch × group, branch × channel, and the township (village) detail."""
    reach = totals.reach
    groups, channels = reach.group_names(), reach.channel_names()
    goals = Table(
        _("目标完成情况"),
        [_("目标"), _("目标值"), _("完成值"), _("是否达成")],
        [
            [g.goal.description, g.target_text, g.text, _("已达成") if g.met else _("未达成")]
            for g in totals.goals
        ],
    )
    goals.rows.append(
        [_("覆盖的重点人群"), str(len(reach.groups)), str(totals.groups_covered), ""],
    )
    everyone = [*totals.rows, totals.total]

    def name(row: Any) -> str:
        return _("合计") if row is totals.total else row.unit.name

    by_group = Table(
        _("分单位、分人群覆盖人数"),
        [_("单位"), *(g.name for g in reach.groups), _("覆盖人数合计"), _("活动次数")],
        [
            [name(r), *(c.people for c in r.group_cells(reach)), r.total.people, r.total.records]
            for r in everyone
        ],
    )
    by_channel = Table(
        _("分单位、分渠道覆盖人数"),
        [_("单位"), *(c.name for c in reach.channels), _("覆盖人数合计"), _("发放宣传资料（份）")],
        [
            [name(r), *(c.people for c in r.channel_cells(reach)), r.total.people, r.total.materials]
            for r in everyone
        ],
    )
    if reach.by_place:
        return [*places_tables(totals, everyone, name, channels), *([goals] if totals.goals else [])]
    detail = Table(
        _("分乡镇（村）明细"),
        [
            _("单位"),
            _("乡镇（村）"),
            _("重点人群"),
            _("宣传渠道"),
            _("活动次数"),
            _("覆盖人数"),
            _("发放宣传资料（份）"),
        ],
        [
            [
                d.unit.name,
                d.area or _("不分乡镇"),  # TV, papers, WeChat: no one township
                groups.get(d.group, _("（未填写）")),
                channels.get(d.channel, _("（未填写）")),
                d.cell.records,
                d.cell.people,
                d.cell.materials,
            ]
            for d in totals.details
        ],
    )
    return [goals, by_group, by_channel, detail]


def places_tables(totals: Totals, everyone: list[Any], name: Any, kinds: dict[str, str]) -> list[Table]:
    """A police campaign's "five into" (篇五): people reached and records per unit and kind of place,
    and each place visited; no target groups, no materials."""
    reach = totals.reach
    by_kind = Table(
        _("分单位、分场所类型（五进）覆盖人数"),
        [_("单位"), *(c.name for c in reach.channels), _("覆盖人数合计"), _("活动次数")],
        [
            [name(r), *(c.people for c in r.channel_cells(reach)), r.total.people, r.total.records]
            for r in everyone
        ],
    )
    records = Table(
        _("分单位、分场所类型活动次数"),
        [_("单位"), *(c.name for c in reach.channels), _("活动次数")],
        [[name(r), *(c.records for c in r.channel_cells(reach)), r.total.records] for r in everyone],
    )
    detail = Table(
        _("场所明细"),
        [_("单位"), _("场所类型"), _("场所名称"), _("活动次数"), _("覆盖人数")],
        [
            [
                d.unit.name,
                kinds.get(d.channel, _("（未填写）")),
                d.area or _("（未填写）"),
                d.cell.records,
                d.cell.people,
            ]
            for d in totals.details
        ],
    )
    return [by_kind, records, detail]


def report_title(totals: Totals, unit: Unit | None) -> str:
    who = unit.name if unit is not None else totals.campaign.unit.name
    if totals.reach.by_place:
        return _("%(unit)s“五进”宣传覆盖情况总结报告") % {"unit": who}
    return _("%(unit)s集中宣传月覆盖情况总结报告") % {"unit": who}


def period_text(totals: Totals) -> str:
    c = totals.campaign
    return _("宣传期：%(start)s至%(end)s") % {"start": c.starts_on.isoformat(), "end": c.ends_on.isoformat()}


def write_xlsx(totals: Totals, unit: Unit | None = None) -> bytes:
    """Every table on its own sheet, the report's title and period above each."""
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for table in tables(totals):
        sheet = book.create_sheet(table.title[:31])
        sheets.append(sheet, [report_title(totals, unit)])
        sheet["A1"].font = Font(bold=True)
        sheets.append(sheet, [period_text(totals)])
        sheets.append(sheet, table.header)
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheets.append(sheet, row)
        sheet.column_dimensions["A"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_docx(totals: Totals, unit: Unit | None = None) -> bytes:
    """The summary report in the plan document's layout: title, period, the tables, a few photos."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    title_text = report_title(totals, unit)
    doc = formats.official_document(title_text)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    formats._run(title, title_text, formats.TITLE_FONT, formats.TITLE_SIZE)
    intro = doc.add_paragraph()
    formats._indent(intro, 2)
    formats._run(intro, f"{period_text(totals)}。{totals.campaign.title}")
    for number, table in enumerate(tables(totals), start=1):
        heading = doc.add_paragraph()
        heading.paragraph_format.keep_with_next = True
        formats._run(heading, f"{number}. {table.title}", formats.HEI_FONT)
        grid = doc.add_table(rows=1, cols=len(table.header))
        grid.style = "Table Grid"
        for cell, text in zip(grid.rows[0].cells, table.header, strict=True):
            formats._run(cell.paragraphs[0], str(text), formats.HEI_FONT, 10.5)
        for row in table.rows:
            cells = grid.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                formats._run(cell.paragraphs[0], str(value), formats.BODY_FONT, 10.5)
        doc.add_paragraph()
    photos = [ev for ev in totals.photos if ev.content_type in DOCX_IMAGES]
    if photos:
        heading = doc.add_paragraph()
        formats._run(heading, _("活动照片"), formats.HEI_FONT)
        for ev in photos:
            try:
                with ev.file.open("rb") as handle:
                    doc.add_picture(io.BytesIO(handle.read()), width=Mm(120))
            except Exception:  # a file missing from storage or unreadable: the report still goes out
                logger.warning("outreach report: photo %s not placed", ev.pk)
                continue
            caption = doc.add_paragraph()
            caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
            text = f"{ev.activity.unit.name} {ev.activity.occurred_on.isoformat()} {ev.activity.title}"
            formats._run(caption, text, formats.KAI_FONT, 12)
    signature = doc.add_paragraph()
    signature.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    signature.paragraph_format.space_before = Pt(24)
    who = unit.name if unit is not None else totals.campaign.unit.name
    formats._run(signature, f"{who}　{timezone.localdate().isoformat()}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def render(totals: Totals, fmt: str, unit: Unit | None = None) -> tuple[bytes, str]:
    """The report as ``fmt`` ("docx" or "xlsx"): its bytes and content type."""
    if fmt == "docx":
        return write_docx(totals, unit), formats.DOCX_TYPE
    if fmt == "xlsx":
        return write_xlsx(totals, unit), XLSX_TYPE
    raise ValueError(fmt)
