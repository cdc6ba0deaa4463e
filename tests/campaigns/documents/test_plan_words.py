"""Plan documents say what the campaign will do: dates from the campaign's days, phases in calendar
order, names from the issuing unit, goals in words (no metric codes)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from docx import Document

from fanzha.campaigns.documents import plan as documents
from fanzha.campaigns.spec import builtin_templates

D = date


@pytest.fixture(scope="module")
def specs():
    return builtin_templates()


def text_of(plan: documents.PlanDocument) -> str:
    lines = [plan.title]
    lines += [f"{b.number}{b.heading}{b.text}" for b in plan.blocks]
    return "\n".join([*lines, plan.issuer, plan.date])


def test_district_dates_follow_a_september_start(specs, county_cast):
    """A plan issued 1 September 2026 runs to 31 August 2027: its June goal is June 2027, "到12月" is the
    end of December 2026, and the phases come in the order they fall due."""
    spec = specs["district-education-system"]
    plan = documents.build_plan(spec, county_cast.county, today=D(2026, 9, 1))
    goals = [b for b in plan.blocks if b.level == 2 and "完成时限" in b.text]
    june = next(b for b in goals if b.heading.startswith("到6月底"))
    assert "完成时限：2027年6月30日前" in june.text
    december = next(b for b in goals if b.heading.startswith("到12月"))
    assert "完成时限：2026年12月31日前" in december.text
    deadlines = [b.text.split("完成时限：")[1] for b in goals]
    parsed = [
        tuple(int(x) for x in d.replace("年", "-").replace("月", "-").split("日")[0].split("-"))
        for d in deadlines
    ]
    assert parsed == sorted(parsed)
    assert "2026年6月30日" not in text_of(plan)
    assert "2027年6月30日前完成" in text_of(plan)  # the parent notices, a one-off obligation


def test_campaign_plan_counts_from_the_campaigns_days(specs, county_cast):
    spec = specs["district-education-system"]
    plan = documents.build_plan(
        spec, county_cast.county, today=D(2026, 12, 7), starts_on=D(2027, 3, 1), ends_on=D(2027, 12, 31)
    )
    text = text_of(plan)
    assert "完成时限：2027年6月30日前" in text and "完成时限：2027年12月31日前" in text
    assert "2026年" not in text.replace(plan.date, "")


def test_county_plan_says_county(specs, county_cast):
    text = text_of(
        documents.build_plan(specs["district-education-system"], county_cast.county, today=D(2026, 9, 1))
    )
    assert "全县" in text and "县教育局" in text
    assert "全区" not in text and "区县" not in text and "省、市、区" not in text


def test_goals_read_as_sentences_without_codes(specs, county_cast):
    text = text_of(
        documents.build_plan(specs["bank-publicity-month"], county_cast.county, today=D(2026, 4, 20))
    )
    assert "指标" not in text and "目标值" not in text
    assert "目标：覆盖的重点人群达到5类" in text
    for code in ("reach_count", "activity_compliance", "custom"):
        assert code not in text


def test_a_kindergartens_plan_names_its_teacher(specs, county_cast):
    text = text_of(documents.build_plan(specs["kindergarten-lesson"], county_cast.k01, today=D(2026, 9, 1)))
    assert "由教师组织" in text and "班主任" not in text
    text = text_of(documents.build_plan(specs["kindergarten-lesson"], county_cast.m01, today=D(2026, 9, 1)))
    assert "由班主任组织" in text


def test_plan_doc_names_blanks_and_refuses_unknown_names(county_cast, tmp_path, capsys):
    out = tmp_path / "plan.docx"
    call_command(
        "plan-doc", "district-education-system", "--unit", "QS", "-o", str(out), "--set", "leader=李局长"
    )
    err = capsys.readouterr().err
    assert out.exists() and "联系电话（contact_phone）" in err and "leader" not in err
    with translation.override("en"):
        call_command("plan-doc", "district-education-system", "--unit", "QS", "-o", str(out))
    err = capsys.readouterr().err
    assert "--set" in err and "leader" in err and "未填写" not in err
    out.unlink()
    with pytest.raises(CommandError, match="leadr"):
        call_command(
            "plan-doc", "district-education-system", "--unit", "QS", "-o", str(out), "--set", "leadr=李"
        )
    assert not out.exists()
    with pytest.raises(CommandError, match="--start"):
        call_command(
            "plan-doc", "district-education-system", "--unit", "QS", "-o", str(out), "--start", "9/1"
        )


def test_plan_doc_counts_from_start(county_cast, tmp_path):
    out = tmp_path / "plan.docx"
    call_command(
        "plan-doc", "district-education-system", "--unit", "QS", "-o", str(out), "--start", "2026-09-01"
    )
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "完成时限：2027年6月30日前" in text and "完成时限：2026年12月31日前" in text


def test_a_kindergartens_publicity_plan_names_its_teacher(specs, county_cast):
    text = text_of(documents.build_plan(specs["school-publicity"], county_cast.k01, today=D(2026, 9, 1)))
    assert "教师带学生" in text and "班主任" not in text and "{class_teacher}" not in text
