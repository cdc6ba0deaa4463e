"""The periodic bulletin (通报) of a unit: cases received and their change, the per-unit table of
cases, losses and results with a ranking, the results, the freeze/stop-payment figures, and a closing
paragraph; as data (for the printable page), and as DOCX in the plan documents' layout
(``campaigns.documents.formats``).

Everything is read through the issuing user's scope: a bulletin never counts a case, a result or a
freeze request the user could not see.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fanzha.campaigns.documents import formats
from fanzha.campaigns.documents.plan import chinese_date, heading_number
from fanzha.campaigns.models import Activity, ActivityKind
from fanzha.core.formats import yuan
from fanzha.org.models import Unit

from ..freeze.queries import figures as freeze_figures
from ..models import FreezeRequest
from ..stats import results as figures_q
from ..stats.queries import Period, percent_change, tallies, year_earlier


def change_text(current: int | Decimal, base: int | Decimal) -> str:
    """上升12.5% / 下降8.0% / 持平 / 无可比数据 (base 0)."""
    pct = percent_change(current, base)
    if pct is None:
        return _("无可比数据")
    if pct > 0:
        return _("上升%(p).1f%%") % {"p": pct}
    if pct < 0:
        return _("下降%(p).1f%%") % {"p": -pct}
    return _("持平")


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1f}%"


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Bulletin:
    unit: Unit
    period: Period
    title: str
    summary: str
    sections: list[Section]
    figures: figures_q.ResultFigures
    cases: int
    loss: Decimal
    freeze: dict[str, Any]
    issued_on: Any


def bulletin_title(unit: Unit, period: Period) -> str:
    """The bulletin's title, in the active language; also what tells an issued period (see ``issued``)."""
    label = figures_q.period_label(period)
    return _("%(unit)s关于%(period)s电信网络诈骗案件情况的通报") % {"unit": unit.name, "period": label}


def issued(unit: Unit, period: Period) -> Activity | None:
    """The notice that issued the unit's bulletin for ``period``, if one did (titled in the site's
    language whoever issued it, so one period has one title)."""
    with translation.override(settings.LANGUAGE_CODE):
        title = bulletin_title(unit, period)
    return (
        Activity.objects.filter(unit=unit, kind=ActivityKind.NOTICE, title=title, is_deleted=False)
        .select_related("recorded_by")
        .first()
    )


def build(src: figures_q.Sources, unit: Unit, period: Period) -> Bulletin:
    """Every figure and sentence of the bulletin of ``unit`` for ``period``, from what ``src`` holds."""
    label = figures_q.period_label(period)
    cases = src.cases.filter(unit__path__startswith=unit.path)
    t = tallies(cases, {"now": period, "yoy": year_earlier(period), "mom": figures_q.previous(period)})
    now, yoy, mom = t["now"], t["yoy"], t["mom"]
    fig = figures_q.figures(src, unit, period)
    res = fig.change.current
    requests = list(
        FreezeRequest.objects.filter(
            case__in=cases.order_by().values("pk"),
            requested_at__gte=period.start,
            requested_at__lt=period.end,
        )
    )
    freeze = freeze_figures(requests)
    title = bulletin_title(unit, period)
    overview = _(
        "%(period)s，全辖共接报电信网络诈骗案件%(n)d起，同比%(yoy)s（上年同期%(yn)d起），"
        "环比%(mom)s（上一期%(mn)d起）；群众损失%(loss)s元，同比%(lyoy)s。"
    ) % {
        "period": label,
        "n": now.cases,
        "yoy": change_text(now.cases, yoy.cases),
        "yn": yoy.cases,
        "mom": change_text(now.cases, mom.cases),
        "mn": mom.cases,
        "loss": yuan(now.loss),
        "lyoy": change_text(now.loss, yoy.loss),
    }
    table = Section(
        _("各单位发案及破案情况"),
        [_("按接报案件数由多到少排名，破案率为本期破案数与本期接报案件数之比。")],
        [
            _("排名"),
            _("单位"),
            _("接报案件"),
            _("损失金额（元）"),
            _("破案"),
            _("破案率"),
            _("抓获嫌疑人"),
            _("追回金额（元）"),
        ],
    )
    ordered = sorted(fig.units, key=lambda r: (r.own, r.rank))
    for row in ordered:
        name = _("%(unit)s（本级）") % {"unit": row.unit.name} if row.own else row.unit.name
        table.rows.append(
            [
                "—" if row.own else str(row.rank),
                name,
                str(row.cases.cases),
                yuan(row.cases.loss),
                str(row.results.cleared),
                rate_text(row.rate),
                str(row.results.suspects),
                yuan(row.results.recovered),
            ]
        )
    results = Section(
        _("打击战果"),
        [
            _(
                "本期共破获案件%(cleared)d起（同比%(cyoy)s），破案率%(rate)s；抓获犯罪嫌疑人%(suspects)d名"
                "（同比%(syoy)s）；打掉诈骗团伙%(gangs)d个，抓获团伙成员%(members)d名；"
                "追赃挽损%(recovered)s元（同比%(ryoy)s）。"
            )
            % {
                "cleared": res.cleared,
                "cyoy": change_text(res.cleared, fig.change.year_before.cleared),
                "rate": rate_text(fig.change.rate),
                "suspects": res.suspects,
                "syoy": change_text(res.suspects, fig.change.year_before.suspects),
                "gangs": res.gangs,
                "members": res.gang_members,
                "recovered": yuan(res.recovered),
                "ryoy": change_text(res.recovered, fig.change.year_before.recovered),
            }
        ],
    )
    stops = Section(
        _("止付冻结情况"),
        [
            _(
                "本期共发出止付冻结及停机请求%(count)d条，已答复%(answered)d条，超时%(overdue)d条；"
                "成功冻结或停机%(frozen)d条，冻结金额%(amount)s元。"
            )
            % {
                "count": freeze["count"],
                "answered": freeze["answered"],
                "overdue": freeze["overdue"],
                "frozen": freeze["frozen"],
                "amount": yuan(freeze["frozen_amount"]),
            }
        ],
    )
    top = [r for r in ordered if not r.own and r.cases.cases][:3]
    closing_lines = [
        _(
            "请各单位对照本通报查找差距：发案较多的单位要加强重点人群宣传和预警劝阻，"
            "对未破案件加快侦办进度，及时发出止付冻结请求，最大限度为群众挽回损失。"
        )
    ]
    if top:
        closing_lines.insert(
            0, _("本期发案较多的单位：%(units)s。") % {"units": "、".join(r.unit.name for r in top)}
        )
    closing = Section(_("工作要求"), closing_lines)
    summary = _("接报%(n)d起，破案%(c)d起，抓获%(s)d名，打掉团伙%(g)d个，追回%(r)s元") % {
        "n": now.cases,
        "c": res.cleared,
        "s": res.suspects,
        "g": res.gangs,
        "r": yuan(res.recovered),
    }
    return Bulletin(
        unit=unit,
        period=period,
        title=title,
        summary=summary,
        sections=[Section(_("案件总体情况"), [overview]), table, results, stops, closing],
        figures=fig,
        cases=now.cases,
        loss=now.loss,
        freeze=freeze,
        issued_on=timezone.localdate(),
    )


def numbered(bulletin: Bulletin) -> list[tuple[str, Section]]:
    """The sections with their heading numbers (一、二、…)."""
    return [(heading_number(1, i), s) for i, s in enumerate(bulletin.sections, start=1)]


def write_docx(bulletin: Bulletin) -> bytes:
    """The bulletin as a DOCX in the plan documents' layout (fonts, margins, page numbers)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = formats.official_document(bulletin.title)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    formats._run(title, bulletin.title, formats.TITLE_FONT, formats.TITLE_SIZE)
    for number, section in numbered(bulletin):
        heading = doc.add_paragraph()
        heading.paragraph_format.keep_with_next = True
        formats._indent(heading, 2)
        formats._outline_level(heading, 1)
        formats._run(heading, f"{number}{section.heading}", formats.HEI_FONT)
        for text in section.paragraphs:
            para = doc.add_paragraph()
            formats._indent(para, 2)
            formats._run(para, text)
        if section.header:
            grid = doc.add_table(rows=1, cols=len(section.header))
            grid.style = "Table Grid"
            for cell, text in zip(grid.rows[0].cells, section.header, strict=True):
                formats._run(cell.paragraphs[0], text, formats.HEI_FONT, 10.5)
            for row in section.rows:
                for cell, text in zip(grid.add_row().cells, row, strict=True):
                    formats._run(cell.paragraphs[0], text, formats.BODY_FONT, 10.5)
    signature = doc.add_paragraph()
    signature.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    signature.paragraph_format.space_before = Pt(24)
    formats._run(signature, bulletin.unit.name)
    day = doc.add_paragraph()
    day.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    formats._run(day, chinese_date(bulletin.issued_on))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
