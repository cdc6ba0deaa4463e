"""The statistics page as an XLSX workbook (openpyxl), with Chinese headers; laid out like the page."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from fanzha.core import sheets

from ..cardfraud.queries import CardFigures
from ..export import write_header
from .queries import Report, duration_text
from .results import ResultFigures, clearance_rate


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


def stats_xlsx(
    report: Report, cards: CardFigures | None = None, results: ResultFigures | None = None
) -> bytes:
    """The statistics page as a workbook: summary, by month, by type, by unit, goals, response times,
    and (``cards``) the students involved with cards by handling and unit: counts, never a name."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _("概况")
    c = report.change
    sheets.append(summary, [report.unit.name, str(report.period)])
    summary["A1"].font = Font(bold=True)
    write_header(summary, [_("项目"), _("本期"), _("上年同期"), _("同比"), _("上一期"), _("环比")])
    sheets.append(
        summary,
        [
            _("案件数"),
            c.current.cases,
            c.year_before.cases,
            _percent(c.cases_yoy),
            c.previous.cases,
            _percent(c.cases_mom),
        ],
    )
    sheets.append(
        summary,
        [_("损失金额（元）"), c.current.loss, c.year_before.loss, _percent(c.loss_yoy), c.previous.loss]
        + [_percent(c.loss_mom)],
    )
    sheets.append(summary, [])
    r = report.response
    write_header(summary, [_("止付预警"), _("数值")])
    for label, value in (
        (_("预警数"), r.alerts),
        (_("已确认"), r.acknowledged),
        (_("超时确认"), r.late),
        (_("报告至预警（中位数）"), duration_text(r.alert_median)),
        (_("报告至预警（90%）"), duration_text(r.alert_p90)),
        (_("预警至确认（中位数）"), duration_text(r.ack_median)),
        (_("预警至确认（90%）"), duration_text(r.ack_p90)),
        (_("止付冻结金额（元）"), r.frozen),
        (_("追回金额（元）"), r.recovered),
    ):
        sheets.append(summary, [label, value])
    summary.column_dimensions["A"].width = 24

    months = book.create_sheet(_("按月"))
    write_header(
        months,
        [
            _("月份"),
            _("%(y)d年案件数") % {"y": report.year},
            _("%(y)d年损失（元）") % {"y": report.year},
            _("%(y)d年案件数") % {"y": report.year - 1},
            _("%(y)d年损失（元）") % {"y": report.year - 1},
            _("同比"),
        ],
    )
    for m in report.months:
        sheets.append(
            months,
            [_("%(m)d月") % {"m": m.month}, m.this.cases, m.this.loss, m.last.cases, m.last.loss]
            + [_percent(m.cases_yoy)],
        )

    types = book.create_sheet(_("按类型"))
    write_header(types, [_("诈骗类型"), _("案件数"), _("损失金额（元）")])
    for t in report.types:
        sheets.append(types, [t.label, t.tally.cases, t.tally.loss])

    units = book.create_sheet(_("按单位"))
    write_header(units, [_("单位"), _("代码"), _("案件数"), _("损失金额（元）")])
    for row in report.units:
        name = _("%(unit)s（本级）") % {"unit": row.unit.name} if row.own else row.unit.name
        sheets.append(units, [name, row.unit.code, row.tally.cases, row.tally.loss])

    if report.campaigns:
        goals = book.create_sheet(_("目标进度"))
        write_header(
            goals,
            [
                _("专项行动"),
                _("目标"),
                _("目标值（%）"),
                _("统计期"),
                _("本期案件数"),
                _("对比期案件数"),
                _("实际变化"),
                _("是否达成"),
            ],
        )
        for cg in report.campaigns:
            for g in cg.goals:
                met = {True: _("已达成"), False: _("未达成"), None: "—"}[g.met]
                sheets.append(
                    goals,
                    [
                        cg.campaign.title,
                        g.goal.description,
                        g.goal.target,
                        str(g.period) if g.period else _("未开始"),
                        g.current.cases,
                        g.base.cases,
                        _percent(g.actual),
                        met,
                    ],
                )
    if cards is not None:
        _cards_sheet(book, cards)
    if results is not None:
        _results_sheet(book, report, results)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cards_sheet(book: Workbook, cards: CardFigures) -> None:
    """涉“两卡”学生: the totals, the records by handling, and by unit with a column per handling."""
    sheet = book.create_sheet(_("涉“两卡”学生"))
    t = cards.totals
    write_header(sheet, [_("项目"), _("数值")])
    for label, value in (
        (_("登记记录"), t["total"]),
        (_("涉及学生"), t["students"]),
        (_("涉银行卡"), t["bank"]),
        (_("涉手机卡"), t["phone"]),
        (_("已教育"), t["educated"]),
    ):
        sheets.append(sheet, [label, value])
    sheets.append(sheet, [])
    write_header(sheet, [_("处理方式"), _("记录数")])
    for _value, label, count in cards.handling:
        sheets.append(sheet, [label, count])
    sheets.append(sheet, [])
    write_header(
        sheet,
        [_("单位"), _("代码"), _("登记记录"), _("已教育")] + [label for _v, label, _n in cards.handling],
    )
    for row in cards.units:
        name = _("%(unit)s（本级）") % {"unit": row.unit.name} if row.own else row.unit.name
        counts = [row.handling[v] for v, _l, _n in cards.handling]
        sheets.append(sheet, [name, row.unit.code, row.total, row.educated, *counts])
    sheet.column_dimensions["A"].width = 24


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _results_sheet(book: Workbook, report: Report, results: ResultFigures) -> None:
    """破案战果: the totals against the year before and the previous period, then per unit (counted by
    the date of the result)."""
    sheet = book.create_sheet(_("破案战果"))
    c = results.change
    write_header(sheet, [_("项目"), _("本期"), _("上年同期"), _("同比"), _("上一期"), _("环比")])
    for label, name in (
        (_("破案数"), "cleared"),
        (_("抓获嫌疑人"), "suspects"),
        (_("打掉团伙"), "gangs"),
        (_("抓获团伙成员"), "gang_members"),
        (_("追回金额（元）"), "recovered"),
    ):
        sheets.append(
            sheet,
            [
                label,
                getattr(c.current, name),
                getattr(c.year_before, name),
                _percent(c.yoy(name)),
                getattr(c.previous, name),
                _percent(c.mom(name)),
            ],
        )
    sheets.append(sheet, [_("破案率"), _rate(clearance_rate(c.current.cleared, report.change.current.cases))])
    sheets.append(sheet, [])
    write_header(
        sheet,
        [
            _("单位"),
            _("代码"),
            _("接报案件"),
            _("破案数"),
            _("破案率"),
            _("抓获嫌疑人"),
            _("打掉团伙"),
            _("追回金额（元）"),
            _("发案排名"),
        ],
    )
    for row in results.units:
        name = _("%(unit)s（本级）") % {"unit": row.unit.name} if row.own else row.unit.name
        r = row.results
        sheets.append(
            sheet,
            [
                name,
                row.unit.code,
                row.cases.cases,
                r.cleared,
                _rate(row.rate),
                r.suspects,
                r.gangs,
                r.recovered,
            ]
            + [row.rank or "—"],
        )
    sheet.column_dimensions["A"].width = 24
