"""The plan as a file: DOCX in the Chinese official-document layout (GB/T 9704: A4, margins
37/35/28/26 mm, title in a 小标宋 face at 二号 (22 pt), body in 仿宋 at 三号 (16 pt) on a fixed
28.95 pt line, 22 lines a page), and PDF with embedded CJK fonts, both written from the one
``plan.PlanDocument``, so the Word file and the PDF never say different things.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from ..spec import Section, TemplateSpec
from .plan import PlanDocument, build_plan

if TYPE_CHECKING:
    from fanzha.org.models import Unit

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEI_FONT = "黑体"
KAI_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
TITLE_SIZE = 22  # 二号
BODY_SIZE = 16  # 三号
LINE_PITCH = 28.95  # points: 22 lines in the 225 mm body height
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"


class CJKFontMissing(RuntimeError):
    """No Chinese font is installed, so a PDF would show empty boxes instead of text."""


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


def official_document(title: str, *, author: str = "", page_numbers: bool = True) -> Any:
    """A new Word document on the official page: A4, margins 37/35/28/26 mm (GB/T 9704), our fonts
    named everywhere, the title in its properties and, unless told otherwise, “— 1 —” page numbers.
    Plans, bulletins and reports share it so that what a unit prints has one layout."""
    from docx import Document
    from docx.enum.text import WD_LINE_SPACING
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

    doc.core_properties.title = title
    if author:
        doc.core_properties.author = author
    doc.core_properties.language = "zh-CN"
    if page_numbers:
        _page_number_footer(page)
    return doc


def write_docx(plan: PlanDocument) -> bytes:
    """The plan as a Word document in the official layout."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = official_document(plan.title, author=plan.issuer)
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
