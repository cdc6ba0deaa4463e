"""Plan documents: DOCX in the official layout and PDF with embedded Chinese fonts, plus the commands."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Pt
from pypdf import PdfReader

from fanzha.campaigns.documents import formats
from fanzha.campaigns.documents import plan as documents
from fanzha.campaigns.spec import Section, builtin_templates
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def specs():
    return builtin_templates()


@pytest.fixture
def cjk():
    try:
        return formats.cjk_fonts()
    except formats.CJKFontMissing as exc:
        skip_or_fail(str(exc))


def open_docx(content: bytes):
    return Document(io.BytesIO(content))


def east_asia(element) -> str:
    rpr = element.find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
    return fonts.get(qn("w:eastAsia"), "") if fonts is not None else ""


def texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s", "", "".join(page.extract_text() for page in reader.pages))


def test_docx_page_title_and_fonts(cast, specs):
    doc = open_docx(formats.docx_bytes(specs["university-fraud-free-campus"], cast.uni, today=TODAY))
    page = doc.sections[0]
    mm = [round(x.mm) for x in (page.page_width, page.page_height)]
    assert mm == [210, 297]  # A4
    margins = [
        round(x.mm) for x in (page.top_margin, page.bottom_margin, page.left_margin, page.right_margin)
    ]
    assert margins == [37, 35, 28, 26]  # GB/T 9704

    title = doc.paragraphs[0]
    assert title.text == "示范大学防范电信网络诈骗“无诈校园”专项行动实施方案"
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert title.runs[0].font.size == Pt(22)
    assert east_asia(title.runs[0]._element) == formats.TITLE_FONT

    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(16)
    assert "仿宋" in east_asia(normal.element)
    assert normal.paragraph_format.line_spacing_rule == WD_LINE_SPACING.EXACTLY
    assert Pt(28) <= normal.paragraph_format.line_spacing <= Pt(29)

    body = [p for p in doc.paragraphs[2:] if p.text and not re.match(r"^[一二三四五六七八九十]+、", p.text)]
    assert body
    for paragraph in body[:20]:
        for run in paragraph.runs:
            assert run.font.size == Pt(16)
            assert east_asia(run._element) in {formats.BODY_FONT, formats.KAI_FONT, formats.HEI_FONT}
    plain = next(p for p in body if p.text.startswith("电信网络诈骗正把"))
    assert "仿宋" in east_asia(plain.runs[0]._element)
    ind = plain._element.pPr.find(qn("w:ind"))
    assert ind.get(qn("w:firstLineChars")) == "200"


def test_docx_headings_goals_obligations_and_signature(cast, specs):
    doc = open_docx(formats.docx_bytes(specs["university-fraud-free-campus"], cast.uni, today=TODAY))
    lines = texts(doc)
    headings = [t for t in lines if re.match(r"^[一二三四五六七八九十]+、", t)]
    assert headings[:3] == ["一、总体思路", "二、任务目标", "三、组织领导"]
    assert "六、相关要求" in headings
    level1 = next(p for p in doc.paragraphs if p.text == "一、总体思路")
    assert east_asia(level1.runs[0]._element) == formats.HEI_FONT
    level2 = next(p for p in doc.paragraphs if p.text.startswith("（一）"))
    assert east_asia(level2.runs[0]._element) == formats.KAI_FONT
    assert any(t.startswith("1.") for t in lines)

    joined = "\n".join(lines)
    for goal in specs["university-fraud-free-campus"].goals:
        assert goal.description in joined
    assert (
        "（一）全年师生被骗案件数比上一年度下降50%以上。完成时限：2026年12月31日前。" in joined
    )  # first due
    assert "每天不少于1次" in joined and "每周不少于1次" in joined and "每学期不少于1次" in joined
    assert "落实单位：各班级" in joined and "责任人：辅导员" in joined
    assert "{" not in joined

    tail = [t for t in lines if t][-2:]
    assert tail == ["示范大学", "2026年11月30日"]
    assert doc.paragraphs[-1].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert doc.core_properties.title.startswith("示范大学")


def test_docx_departments_accountability_and_placeholders(cast, specs):
    police = open_docx(
        formats.docx_bytes(
            specs["county-police-special-action"],
            cast.uni,
            {"leader": "王副局长", "area": "浦江"},
            today=TODAY,
        )
    )
    joined = "\n".join(texts(police))
    for dept in specs["county-police-special-action"].departments:
        assert re.search(rf"（[一二三四五六七八九十]+）{dept.name}。", joined), dept.name
    assert "王副局长" in joined and "“平安浦江”" in joined
    assert "落实单位：公安局；" in joined and "落实单位：各派出所；" in joined
    assert "办公室主任" in joined and "＿＿＿＿" in joined  # the office director is left to fill in

    district = open_docx(formats.docx_bytes(specs["district-education-system"], cast.uni, today=TODAY))
    joined = "\n".join(texts(district))
    assert "挂牌督办（被骗金额超过100000元）" in joined
    assert "约谈（被骗金额50000元至100000元）" in joined
    assert "通报（所有被骗案件）" in joined
    assert "2027年6月30日前完成" in joined  # the first 30 June after a November start
    assert "每学期不少于2次" in joined


def test_custom_sections_and_missing_autos(cast, specs):
    spec = specs["school-publicity"]
    sections = [
        Section(heading="", body="前言"),
        Section(heading="新的标题", body="正文", children=(Section("子项", "内容"),)),
    ]
    plan = documents.build_plan(spec, cast.uni, sections=sections, today=TODAY)
    numbered = [(b.number, b.heading) for b in plan.blocks if b.heading]
    assert numbered[0] == ("一、", "新的标题")
    assert ("（一）", "子项。") in numbered
    # Goals, leadership and obligations are not in the edited sections, so they are appended.
    assert [h for n, h in numbered if n.endswith("、")] == ["新的标题", "工作目标", "组织领导", "工作安排"]
    assert documents.sections_from_json(documents.sections_to_json(spec.sections)) == spec.sections


def test_heading_numbers():
    assert [documents.heading_number(1, n) for n in (1, 10, 11, 20, 23)] == [
        "一、",
        "十、",
        "十一、",
        "二十、",
        "二十三、",
    ]
    assert documents.heading_number(2, 3) == "（三）"
    assert documents.heading_number(3, 3) == "3."
    assert documents.heading_number(4, 2) == "（2）"
    assert documents.heading_number(5, 1) == "①"


def test_pdf_has_the_content_and_embedded_fonts(cast, specs, cjk):
    content = formats.pdf_bytes(specs["university-fraud-free-campus"], cast.uni, today=TODAY)
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for expected in (
        "示范大学防范电信网络诈骗",
        "一、总体思路",
        "二、任务目标",
        "全校师生对防范电信网络诈骗宣传的知晓率达到100%",
        "“六个一”之二",
        "2026年11月30日",
    ):
        assert expected in text, expected
    reader = PdfReader(io.BytesIO(content))
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            fonts.append(
                (font["/BaseFont"], any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")))
            )
    assert fonts
    assert all(embedded for _name, embedded in fonts), fonts
    assert any("CJK" in str(name) for name, _embedded in fonts)


def test_pdf_without_a_chinese_font_says_so(cast, specs, monkeypatch):
    formats.cjk_fonts.cache_clear()
    monkeypatch.setattr(formats, "_fc_match", lambda pattern: None)
    try:
        with pytest.raises(formats.CJKFontMissing, match="fonts-noto-cjk"):
            formats.pdf_bytes(specs["school-publicity"], cast.uni)
    finally:
        formats.cjk_fonts.cache_clear()


def test_templates_command_lists_the_builtins(capsys):
    call_command("templates")
    out = capsys.readouterr().out
    for code in (
        "kindergarten-lesson",
        "university-fraud-free-campus",
        "district-education-system",
        "school-publicity",
        "county-police-special-action",
        "bank-publicity-month",
    ):
        assert code in out
    assert "“无诈校园”专项行动实施方案" in out
    call_command("templates", "--sync")
    assert "6" in capsys.readouterr().out


def test_plan_doc_command_writes_docx_and_pdf(cast, tmp_path, cjk):
    out = tmp_path / "plan.docx"
    call_command(
        "plan-doc",
        "district-education-system",
        "--unit",
        "UNI",
        "--format",
        "docx",
        "-o",
        str(out),
        "--set",
        "leader=李局长",
    )
    joined = "\n".join(texts(open_docx(out.read_bytes())))
    assert joined.startswith("示范大学教育系统防范电信网络诈骗工作实施方案")
    assert "组长：李局长" in joined
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日$", joined)

    pdf = tmp_path / "plan.pdf"
    call_command("plan-doc", "bank-publicity-month", "--unit", "UNI/CS", "-o", str(pdf))
    text = pdf_text(pdf.read_bytes())
    assert "计算机学院打击治理电信网络诈骗集中宣传月活动实施方案" in text
    assert "农村居民" in text


def test_plan_doc_command_errors(cast, tmp_path):
    with pytest.raises(CommandError, match="nope"):
        call_command("plan-doc", "nope", "--unit", "UNI", "-o", str(tmp_path / "x.docx"))
    with pytest.raises(CommandError, match="NOPE"):
        call_command("plan-doc", "school-publicity", "--unit", "NOPE", "-o", str(tmp_path / "x.docx"))
    with pytest.raises(CommandError, match="--format"):
        call_command("plan-doc", "school-publicity", "--unit", "UNI", "-o", str(tmp_path / "x.txt"))
    with pytest.raises(CommandError, match="--set"):
        call_command(
            "plan-doc", "school-publicity", "--unit", "UNI", "-o", str(tmp_path / "x.docx"), "--set", "oops"
        )
