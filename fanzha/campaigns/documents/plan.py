"""Plan documents (方案): DOCX in the Chinese official-document layout, and PDF with embedded CJK fonts.

Both formats are written from one list of blocks built by ``build_plan``, so the Word file
and the PDF never say different things. The layout follows GB/T 9704 (党政机关公文格式): A4,
margins 37/35/28/26 mm, title in a 小标宋 face at 二号 (22 pt), body in 仿宋 at 三号 (16 pt)
on a fixed 28.95 pt line (22 lines a page), headings numbered 一、（一）1.（1） by depth, and
the issuing organisation and date at the end on the right.

The goals, leadership group, department duties, obligations, accountability rules and
responsibility letters come from the template's data, not from its prose, so the document
always says what the campaign will measure and chase.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from ..plan_templates.spec import PLACEHOLDER, AccountabilityRule, Goal, ObligationRule, Section, TemplateSpec

if TYPE_CHECKING:
    from fanzha.org.models import Unit

    from ..models import Campaign

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEI_FONT = "黑体"
KAI_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
TITLE_SIZE = 22  # 二号
BODY_SIZE = 16  # 三号
LINE_PITCH = 28.95  # points: 22 lines in the 225 mm body height
BLANK = "＿＿＿＿"  # an empty placeholder: a line to fill in by hand
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"

_CN_DIGITS = "零一二三四五六七八九"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_CLOSING_PUNCTUATION = tuple("。！？；：:;!?")


class CJKFontMissing(RuntimeError):
    """No Chinese font is installed, so a PDF would show empty boxes instead of text."""


@dataclass(frozen=True)
class Block:
    """One paragraph of the plan.

    ``kind`` is ``"heading"`` for a heading on its own line, or ``"para"`` for body text,
    which may begin with an inline heading (``number`` + ``heading``) in the level's font.
    """

    kind: str
    level: int  # heading depth (1 = 一、); 0 for plain body text
    number: str = ""
    heading: str = ""
    text: str = ""


@dataclass(frozen=True)
class PlanDocument:
    """A plan ready to write: title, blocks, and the signature lines."""

    title: str
    blocks: tuple[Block, ...]
    issuer: str
    date: str


# Placeholders ---------------------------------------------------------------------------------


def chinese_date(day: date) -> str:
    """The date as official documents write it: 2026年11月30日."""
    return f"{day.year}年{day.month}月{day.day}日"


def plan_values(
    spec: TemplateSpec,
    unit: Unit | None = None,
    placeholders: Mapping[str, str] | None = None,
    today: date | None = None,
) -> dict[str, str]:
    """Placeholder values: the template's defaults, then the unit and today, then what the user set."""
    today = today or timezone.localdate()
    values = spec.placeholder_defaults()
    values.update(year=str(today.year), issue_date=chinese_date(today))
    if unit is not None:
        values["organisation"] = unit.name
    values.update({k: str(v) for k, v in (placeholders or {}).items()})
    return values


def _filler(values: Mapping[str, str]) -> Any:
    """``fill`` that writes a blank line for an empty value, so a printed plan shows where to write."""

    def fill(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            value = values.get(match.group(1))
            if value is None:
                return match.group(0)
            return value if value.strip() else BLANK

        return PLACEHOLDER.sub(one, text)

    return fill


# Sections as JSON (a campaign keeps its edited copy in ``Campaign.sections``) ------------------


def section_to_dict(section: Section) -> dict[str, Any]:
    """One section as plain data for a JSON field."""
    data: dict[str, Any] = {"heading": section.heading, "body": section.body}
    if section.auto:
        data["auto"] = section.auto
    data["children"] = [section_to_dict(child) for child in section.children]
    return data


def sections_to_json(sections: Iterable[Section]) -> list[dict[str, Any]]:
    return [section_to_dict(s) for s in sections]


def sections_from_json(data: Iterable[Mapping[str, Any]]) -> tuple[Section, ...]:
    """Sections back from a JSON field; unknown keys are ignored."""
    return tuple(
        Section(
            heading=str(item.get("heading", "")),
            body=str(item.get("body", "")),
            children=sections_from_json(item.get("children") or ()),
            auto=str(item.get("auto", "")),
        )
        for item in data
    )


# Labels -----------------------------------------------------------------------------------------


def metric_labels() -> dict[str, str]:
    return {
        "awareness_rate": _("防诈知晓率"),
        "case_change_yoy": _("案件数同比变化"),
        "case_change_mom": _("案件数环比变化"),
        "app_installed": _("反诈APP安装率"),
        "app_registered": _("反诈APP实名注册率"),
        "app_warnings_on": _("反诈APP预警开启率"),
        "pledge_signed": _("倡议书签署率"),
        "parent_notice_signed": _("家长告知书签订率"),
        "staff_app_installed": _("教职工反诈APP安装率"),
        "activity_compliance": _("活动完成率"),
        "evaluation": _("无诈创建达标率"),
        "reach_count": _("覆盖人群"),
        "custom": "",
    }


def evidence_labels() -> dict[str, str]:
    return {
        "photos": _("照片"),
        "attendees": _("参加人员名单"),
        "link": _("链接"),
        "document": _("文档"),
        "video": _("视频"),
    }


def action_labels() -> dict[str, str]:
    return {"listing": _("挂牌督办"), "interview": _("约谈"), "notice": _("通报")}


def _kind_label(kind: str) -> str:
    from fanzha.org.models import UnitKind

    try:
        return str(UnitKind(kind).label)
    except ValueError:
        return kind


def _role_label(role: str) -> str:
    from fanzha.org.models import MembershipRole

    try:
        return str(MembershipRole(role).label)
    except ValueError:
        return role


def _units(kind: str, issuer_kinds: tuple[str, ...]) -> str:
    """The issuing level is one unit (“学校”); the levels below it are many (“各班级”)."""
    label = _kind_label(kind)
    return label if kind in issuer_kinds else _("各%(kind)s") % {"kind": label}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _mmdd(value: str, year: str) -> str:
    month, day = value.split("-")
    return _("%(year)s年%(month)d月%(day)d日") % {"year": year, "month": int(month), "day": int(day)}


def month_day(value: str) -> str:
    """“06-30” as 6月30日 (a date in every year of the campaign)."""
    month, day = value.split("-")
    return _("%(month)d月%(day)d日") % {"month": int(month), "day": int(day)}


def goal_target_text(goal: Goal) -> str:
    """The target as a reader expects it: 100%, 下降50%以上, 5, 100000元."""
    number = _number(abs(goal.target))
    if goal.metric in ("case_change_yoy", "case_change_mom"):
        if goal.target < 0:
            return _("下降%(percent)s%%以上") % {"percent": number}
        if goal.target == 0:
            return _("下降")
        return _("增幅不超过%(percent)s%%") % {"percent": number}
    if goal.unit == "percent":
        return f"{number}%"
    if goal.unit == "yuan":
        return _("%(amount)s元") % {"amount": number}
    return number


def _states_target(goal: Goal) -> bool:
    """Whether the goal's own wording already gives its target (then the document does not repeat it)."""
    if goal.metric in ("case_change_yoy", "case_change_mom") and goal.target == 0:
        return "下降" in goal.description
    number = _number(abs(goal.target))
    return (number + "%" if goal.unit == "percent" else number) in goal.description


def frequency_text(rule: ObligationRule, year: str) -> str:
    """How often, with the minimum count: 每月不少于1次, 每学期不少于2次, 2026年6月30日前完成."""
    if rule.frequency == "once":
        return _("%(date)s前完成") % {"date": _mmdd(rule.due, year)}
    period = {
        "daily": _("每天"),
        "weekly": _("每周"),
        "monthly": _("每月"),
        "semester": _("每学期"),
        "yearly": _("每年"),
    }.get(rule.frequency, rule.frequency)
    return _("%(period)s不少于%(count)d次") % {"period": period, "count": rule.min_count}


def _goal_section(goal: Goal, year: str) -> Section:
    deadline = _mmdd(goal.deadline, year) + _("前") if goal.deadline else _("专项行动结束前")
    metric = metric_labels().get(goal.metric, "")
    if metric and not _states_target(goal):
        detail = _("指标：%(metric)s，目标值%(target)s；完成时限：%(deadline)s。") % {
            "metric": metric,
            "target": goal_target_text(goal),
            "deadline": deadline,
        }
    else:
        detail = _("完成时限：%(deadline)s。") % {"deadline": deadline}
    return Section(heading=goal.description, body=detail)


def _obligation_section(rule: ObligationRule, year: str, issuer_kinds: tuple[str, ...]) -> Section:
    evidence = evidence_labels()
    detail = _("落实单位：%(level)s；频次：%(frequency)s；责任人：%(role)s") % {
        "level": _units(rule.level, issuer_kinds),
        "frequency": frequency_text(rule, year),
        "role": _role_label(rule.responsible),
    }
    if rule.evidence:
        detail += _("；佐证材料：%(evidence)s") % {
            "evidence": "、".join(evidence.get(e, e) for e in rule.evidence)
        }
    detail += "。"
    if rule.description:
        detail += rule.description
    return Section(heading=rule.title, body=detail)


def _loss_range(rule: AccountabilityRule) -> str:
    low, high = rule.min_loss, rule.max_loss
    if low is None and high is None:
        return _("所有被骗案件")
    if high is None:
        return _("被骗金额超过%(low)s元") % {"low": _number(low or 0)}
    if low is None:
        return _("被骗金额不超过%(high)s元") % {"high": _number(high)}
    return _("被骗金额%(low)s元至%(high)s元") % {"low": _number(low), "high": _number(high)}


def _accountability_section(rule: AccountabilityRule) -> Section:
    label = action_labels().get(rule.action, rule.action)
    return Section(
        heading=_("%(action)s（%(range)s）") % {"action": label, "range": _loss_range(rule)},
        body=rule.description,
    )


def _auto(spec: TemplateSpec, kind: str, year: str) -> tuple[list[str], list[Section]]:
    """What an ``auto`` section lists: (paragraphs, numbered child sections)."""
    if kind == "goals":
        return [], [_goal_section(g, year) for g in spec.goals]
    if kind == "leadership":
        lines = []
        for role in spec.leadership:
            line = f"{role.role}：{role.holder or BLANK}"
            if role.duty:
                line += "。" + role.duty if not role.holder.endswith(_CLOSING_PUNCTUATION) else role.duty
            lines.append(line)
        return lines, []
    if kind == "departments":
        return [], [Section(heading=d.name, body="；".join(d.duties) + "。") for d in spec.departments]
    if kind == "obligations":
        return [], [_obligation_section(o, year, spec.issuer_kinds) for o in spec.obligations]
    if kind == "accountability":
        return [], [_accountability_section(a) for a in spec.accountability]
    if kind == "letters":
        children = []
        for letter in spec.letters:
            parties = _("由%(upper)s与%(lower)s签订。") % {
                "upper": _units(letter.upper, spec.issuer_kinds),
                "lower": _units(letter.lower, spec.issuer_kinds),
            }
            children.append(Section(heading=f"《{letter.title}》", body=parties + "\n" + letter.body))
        return [], children
    return [], []


def _default_headings() -> dict[str, str]:
    return {
        "goals": _("工作目标"),
        "leadership": _("组织领导"),
        "departments": _("部门职责"),
        "obligations": _("工作安排"),
        "accountability": _("责任追究"),
        "letters": _("责任书"),
    }


def _with_missing_autos(spec: TemplateSpec, sections: Sequence[Section]) -> list[Section]:
    """Append a section for each part of the spec that no section lists, so nothing is left out."""
    used: set[str] = set()

    def walk(items: Iterable[Section]) -> None:
        for s in items:
            if s.auto:
                used.add(s.auto)
            walk(s.children)

    walk(sections)
    present = {
        "goals": spec.goals,
        "leadership": spec.leadership,
        "departments": spec.departments,
        "obligations": spec.obligations,
        "accountability": spec.accountability,
        "letters": spec.letters,
    }
    extra = [
        Section(heading=heading, auto=kind)
        for kind, heading in _default_headings().items()
        if present[kind] and kind not in used
    ]
    return [*sections, *extra]


# Building the blocks ----------------------------------------------------------------------------


def _chinese_numeral(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def heading_number(level: int, n: int) -> str:
    """一、 （一） 1. （1） ①, by depth."""
    if level == 1:
        return f"{_chinese_numeral(n)}、"
    if level == 2:
        return f"（{_chinese_numeral(n)}）"
    if level == 3:
        return f"{n}."
    if level == 4:
        return f"（{n}）"
    return _CIRCLED[n - 1] if n <= len(_CIRCLED) else f"({n})"


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _blocks(spec: TemplateSpec, sections: Sequence[Section], level: int, fill: Any, year: str) -> list[Block]:
    blocks: list[Block] = []
    counter = 0
    for section in sections:
        auto_lines, auto_children = _auto(spec, section.auto, year) if section.auto else ([], [])
        paragraphs = [fill(p) for p in _paragraphs(section.body)] + [fill(p) for p in auto_lines]
        children = [*section.children, *auto_children]
        heading = fill(section.heading).strip()
        if not heading:
            blocks += [Block("para", 0, text=p) for p in paragraphs]
            blocks += _blocks(spec, children, level, fill, year)
            continue
        counter += 1
        number = heading_number(level, counter)
        if level == 1 or len(paragraphs) != 1:
            blocks.append(Block("heading", level, number, heading))
            blocks += [Block("para", 0, text=p) for p in paragraphs]
        else:
            inline = heading if heading.endswith(_CLOSING_PUNCTUATION) else heading + "。"
            blocks.append(Block("para", level, number, inline, paragraphs[0]))
        blocks += _blocks(spec, children, level + 1, fill, year)
    return blocks


def build_plan(
    spec: TemplateSpec,
    unit: Unit | None = None,
    placeholders: Mapping[str, str] | None = None,
    sections: Sequence[Section] | None = None,
    today: date | None = None,
) -> PlanDocument:
    """The plan's title, numbered blocks and signature, with every placeholder filled.

    ``sections`` are the campaign's edited sections; by default the template's own.
    """
    values = plan_values(spec, unit, placeholders, today)
    fill = _filler(values)
    chosen = list(spec.sections if sections is None else sections)
    blocks = _blocks(spec, _with_missing_autos(spec, chosen), 1, fill, values["year"])
    return PlanDocument(
        title=fill(spec.title),
        blocks=tuple(blocks),
        issuer=values.get("organisation") or BLANK,
        date=values["issue_date"],
    )


def campaign_plan(campaign: Campaign, today: date | None = None) -> PlanDocument:
    """The plan of a running campaign: its own copy of the template, placeholders and sections."""
    sections = sections_from_json(campaign.sections) if campaign.sections else None
    plan = build_plan(campaign.spec(), campaign.unit, campaign.placeholders, sections, today)
    return replace(plan, title=campaign.title or plan.title)


# DOCX -------------------------------------------------------------------------------------------


def _set_fonts(rpr: Any, name: str) -> None:
    """Name the font for Latin and East Asian text alike; Word uses w:eastAsia for Chinese."""
    from docx.oxml.ns import qn

    rfonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), name)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)


def _run(
    paragraph: Any, text: str, font: str = BODY_FONT, size: float = BODY_SIZE, bold: bool = False
) -> Any:
    from docx.shared import Pt

    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.font.bold = bold
    _set_fonts(run._element.get_or_add_rPr(), font)
    return run


def _indent(paragraph: Any, first_line_chars: int, right_chars: int = 0) -> None:
    """Indent in character units (what 首行缩进2字符 means), with the point value as a fallback."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    fmt = paragraph.paragraph_format
    fmt.first_line_indent = Pt(BODY_SIZE * first_line_chars)
    fmt.right_indent = Pt(BODY_SIZE * right_chars) if right_chars else None
    ind = fmt._element.get_or_add_pPr().get_or_add_ind()
    ind.set(qn("w:firstLineChars"), str(first_line_chars * 100))
    if right_chars:
        ind.set(qn("w:rightChars"), str(right_chars * 100))


def _outline_level(paragraph: Any, level: int) -> None:
    """Mark a heading for Word's navigation pane and table of contents (0 = top level)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    element = OxmlElement("w:outlineLvl")
    element.set(qn("w:val"), str(min(level, 9) - 1))
    paragraph.paragraph_format._element.get_or_add_pPr().append(element)


def _page_number_footer(section: Any) -> None:
    """“— 1 —” centred at the foot of every page."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _indent(paragraph, 0)
    _run(paragraph, "— ", PAGE_NUMBER_FONT, 14)
    run = _run(paragraph, "", PAGE_NUMBER_FONT, 14)
    for kind, text in (("begin", None), (None, " PAGE "), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._element.append(element)
    _run(paragraph, " —", PAGE_NUMBER_FONT, 14)


def write_docx(plan: PlanDocument) -> bytes:
    """The plan as a Word document in the official layout."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    page = doc.sections[0]
    page.page_width, page.page_height = Mm(210), Mm(297)
    page.top_margin, page.bottom_margin = Mm(37), Mm(35)
    page.left_margin, page.right_margin = Mm(28), Mm(26)
    page.footer_distance = Mm(24)

    # The defaults name theme fonts, which would win over ours in Word; name ours everywhere.
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
        if rpr is not None:
            _set_fonts(rpr, BODY_FONT)
            lang = rpr.find(qn("w:lang"))
            if lang is not None:
                lang.set(qn("w:eastAsia"), "zh-CN")  # Chinese line breaking and punctuation rules
    normal = doc.styles["Normal"]
    _set_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    normal.font.size = Pt(BODY_SIZE)
    fmt = normal.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(LINE_PITCH)
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.widow_control = True

    doc.core_properties.title = plan.title
    doc.core_properties.author = plan.issuer
    doc.core_properties.language = "zh-CN"

    title = doc.paragraphs[0] if doc.paragraphs else doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.line_spacing = Pt(36)
    _indent(title, 0)
    _run(title, plan.title, TITLE_FONT, TITLE_SIZE)
    _indent(doc.add_paragraph(), 0)  # one empty line under the title

    for block in plan.blocks:
        paragraph = doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        _indent(paragraph, 2)
        if block.level:
            _outline_level(paragraph, block.level)
        if block.kind == "heading":
            paragraph.paragraph_format.keep_with_next = True
            font = {1: HEI_FONT, 2: KAI_FONT}.get(block.level, BODY_FONT)
            _run(paragraph, block.number + block.heading, font, bold=block.level == 3)
            continue
        if block.heading:
            font = {1: HEI_FONT, 2: KAI_FONT}.get(block.level, BODY_FONT)
            _run(paragraph, block.number + block.heading, font, bold=block.level == 3)
        _run(paragraph, block.text)

    # The signature never stands alone on the last page: keep it with the last paragraph.
    if plan.blocks:
        doc.paragraphs[-1].paragraph_format.keep_with_next = True
    for _blank in range(2):
        blank = doc.add_paragraph()
        blank.paragraph_format.keep_with_next = True
        _indent(blank, 0)
    for line in (plan.issuer, plan.date):
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.keep_with_next = line == plan.issuer
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _indent(paragraph, 0, right_chars=4)
        _run(paragraph, line)

    _page_number_footer(page)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# PDF --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CJKFont:
    """A font that fontconfig found and that covers simplified Chinese."""

    family: str
    path: str
    index: int  # face inside a collection (.ttc); 0 for a single font file


def _fc_match(pattern: str) -> CJKFont | None:
    """Ask fontconfig for the best font for ``pattern`` that covers simplified Chinese."""
    if shutil.which("fc-match") is None:
        return None
    result = subprocess.run(
        ["fc-match", "-f", "%{file}\n%{index}\n%{family}\n%{lang}", f"{pattern}:lang=zh-cn"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    lines = result.stdout.split("\n")
    if result.returncode != 0 or len(lines) < 4 or "zh-cn" not in lines[3].split("|"):
        return None
    family = lines[2].split(",")[0].strip()
    try:
        index = int(lines[1] or 0)
    except ValueError:
        index = 0
    return CJKFont(family=family, path=lines[0], index=index)


@lru_cache(maxsize=1)
def cjk_fonts() -> dict[str, CJKFont]:
    """Fonts for body, title, headings (黑体-like) and 楷体-like text; the body one is required.

    Raises ``CJKFontMissing`` when no installed font covers simplified Chinese.
    """
    body = _fc_match("Noto Serif CJK SC") or _fc_match("serif") or _fc_match("sans-serif")
    if body is None:
        raise CJKFontMissing(
            _("没有找到中文字体，无法生成 PDF；请安装 Noto CJK 字体（apt install fonts-noto-cjk）")
        )
    title = _fc_match(f"{body.family}:bold") or body
    hei = _fc_match("Noto Sans CJK SC") or _fc_match("sans-serif") or body
    kai = next(
        (
            found
            for pattern in ("KaiTi", "AR PL UKai CN", "AR PL KaitiM GB")
            if (found := _fc_match(pattern)) and "kai" in found.family.lower()
        ),
        body,
    )
    return {"body": body, "title": title, "hei": hei, "kai": kai}


def _css_name(text: str) -> str:
    return re.sub(r"[^\w \-]", "", text)


def _font_css(fonts: Mapping[str, CJKFont]) -> tuple[str, dict[str, str]]:
    """@font-face rules and the font-family value for each role.

    A single font file is loaded by @font-face from its path. A face inside a collection
    (.ttc) is named by its family instead: WeasyPrint loads the first face of a collection
    file, which for Noto CJK is the Japanese one, while fontconfig picks the right face by
    name. Either way WeasyPrint embeds a subset of the font in the PDF.
    """
    rules, families = [], {}
    for role, font in fonts.items():
        family = _css_name(font.family)
        weight = "bold" if role == "title" else "normal"
        if font.index == 0 and Path(font.path).is_file():
            name = f"fanzha-{role}"
            uri = Path(font.path).resolve().as_uri()
            rules.append(f'@font-face {{ font-family: "{name}"; src: url("{uri}"); font-weight: {weight}; }}')
            families[role] = f'"{name}", "{family}"'
        else:
            families[role] = f'"{family}"'
    return "\n".join(rules), families


def write_pdf(plan: PlanDocument) -> bytes:
    """The plan as a PDF with the same layout, its Chinese fonts embedded."""
    from weasyprint import HTML

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # one line per step is noise
    font_rules, families = _font_css(cjk_fonts())
    html = render_to_string(
        "campaigns/plan_document.html",
        {"plan": plan, "font_rules": font_rules, "fonts": families, "line": LINE_PITCH},
    )
    return HTML(string=html).write_pdf()


# One call per format ---------------------------------------------------------------------------


def docx_bytes(
    spec: TemplateSpec,
    unit: Unit | None = None,
    placeholders: Mapping[str, str] | None = None,
    sections: Sequence[Section] | None = None,
    today: date | None = None,
) -> bytes:
    """The plan of ``spec`` for ``unit`` as DOCX."""
    return write_docx(build_plan(spec, unit, placeholders, sections, today))


def pdf_bytes(
    spec: TemplateSpec,
    unit: Unit | None = None,
    placeholders: Mapping[str, str] | None = None,
    sections: Sequence[Section] | None = None,
    today: date | None = None,
) -> bytes:
    """The plan of ``spec`` for ``unit`` as PDF (raises ``CJKFontMissing`` without a Chinese font)."""
    return write_pdf(build_plan(spec, unit, placeholders, sections, today))


def render(plan: PlanDocument, fmt: str) -> tuple[bytes, str]:
    """(content, MIME type) of ``plan`` in ``fmt`` — ``docx`` or ``pdf``."""
    if fmt == "pdf":
        return write_pdf(plan), PDF_TYPE
    if fmt == "docx":
        return write_docx(plan), DOCX_TYPE
    raise ValueError(fmt)
