"""Names by level (issue "Everyone who must act can sign in and act", item 3): universities say 辅导员,
schools 班主任 and kindergartens 教师; a county says 县, a district 区 — on person pages, obligations,
plan documents and letters, taken from the unit rather than a fixed word."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns.actions import start_campaign
from fanzha.campaigns.documents.plan import campaign_plan
from fanzha.campaigns.letters.queries import letter_status
from fanzha.campaigns.models import CampaignTemplate
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
from fanzha.org import actions, names
from fanzha.org.models import MembershipRole

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("青山县教育局", "县"),
        ("江城市城东区教育局", "区"),
        ("江城市教育局", "市"),
        ("江南省教育厅", "省"),
        ("青山县公安局", "县"),
        ("东门社区", ""),
        ("城关派出所", ""),
        ("广西壮族自治区教育厅", "自治区"),
    ],
)
def test_place_word_from_the_name(name, word):
    assert names.place_word(name) == word


@pytest.mark.parametrize(
    ("chain", "stage"),
    [
        ([("class", "计科2301班"), ("college", "计算机学院"), ("school", "示范大学")], names.UNIVERSITY),
        ([("class", "一班"), ("school", "江城理工大学")], names.UNIVERSITY),
        ([("class", "七年级(1)班"), ("grade", "七年级"), ("school", "第一初级中学")], names.SCHOOL),
        ([("class", "小一班"), ("grade", "小班"), ("kindergarten", "实验幼儿园")], names.KINDERGARTEN),
        ([("bureau_district", "青山县教育局")], names.SCHOOL),
        ([("police_station", "城关派出所"), ("police_bureau", "青山县公安局")], ""),
    ],
)
def test_stage_from_the_unit_and_those_above(chain, stage):
    assert names.stage_of(chain) == stage


def test_the_class_teacher_is_named_by_level_on_person_pages(client, county_cast):
    c = county_cast
    actions.add_membership(c.counsellor.person, c.cs2301, MembershipRole.COUNSELLOR)
    client.force_login(c.school_admin)
    body = client.get(reverse("person_detail", args=[c.counsellor.person.pk])).content.decode()
    assert "辅导员" in body
    for teacher, unit, word, other in (
        (c.class_teacher, c.m0701, "班主任", "辅导员"),
        (c.kg_teacher, c.k0101, "教师", "辅导员"),
    ):
        client.force_login(teacher)
        body = client.get(reverse("person_detail", args=[teacher.person.pk])).content.decode()
        cell = '<td data-label="角色">'
        assert f"{cell}{word}</td>" in body and f"{cell}{other}</td>" not in body
        home = client.get(reverse("home")).content.decode()
        assert f'<span class="badge">{word}</span>' in home  # their grant, named the same way
        members = client.get(reverse("unit_detail", args=[unit.pk])).content.decode()
        assert f">{word}<" in members and f">{other}<" not in members
        listed = client.get(reverse("person_list")).content.decode()
        assert f"· {word}" in listed and f"· {other}" not in listed


def _start(code, unit, **placeholders):
    sync_builtin_templates()
    template = CampaignTemplate.objects.get(code=code, source=CampaignTemplate.Source.BUILTIN)
    return start_campaign(template, unit, timezone.localdate() - timedelta(days=7), None, placeholders)


def _plan_text(campaign) -> str:
    plan = campaign_plan(campaign)
    return "\n".join(f"{b.number}{b.heading}{b.text}" for b in plan.blocks)


@pytest.mark.parametrize(
    ("code", "unit", "word"),
    [
        ("school-publicity", "m01", "班主任"),
        ("kindergarten-lesson", "k01", "教师"),
        ("university-fraud-free-campus", "uni", "辅导员"),
    ],
)
def test_obligations_and_plans_name_the_class_teacher_by_level(client, county_cast, code, unit, word):
    c = county_cast
    campaign = _start(code, getattr(c, unit))
    client.force_login(_superuser())
    detail = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert f">{word}<" in detail
    obligation = campaign.obligations.filter(rule__responsible=MembershipRole.COUNSELLOR).first()
    page = client.get(reverse("campaign_obligation", args=[campaign.pk, obligation.pk])).content.decode()
    assert f"{word}：" in page
    text = _plan_text(campaign)
    assert f"责任人：{word}" in text
    for other in {"辅导员", "班主任", "教师"} - {word}:
        assert f"责任人：{other}" not in text


def _superuser():
    from fanzha.org.models import User

    return User.objects.create_superuser("root", "", "x")


def test_a_county_says_county_and_a_district_says_district(county_cast):
    c = county_cast
    county = _start("district-education-system", c.county)
    text = _plan_text(county)
    assert "全县教育系统" in text and "县教育局" in text
    assert "全区" not in text and "区县教育局" not in text and "{locality}" not in text
    assert "全县教育系统" in " ".join(county.goals.values_list("description", flat=True))
    levels = letter_status(_superuser(), county)
    assert levels[0].upper_kind == "县教育局"

    district = actions.create_unit(parent=None, name="江城市城东区教育局", code="CD", kind="bureau_district")
    school = actions.create_unit(parent=district, name="城东小学", code="S1", kind="school")
    actions.create_unit(parent=school, name="一(1)班", code="C1", kind="class")
    text = _plan_text(_start("district-education-system", district))
    assert "全区教育系统" in text and "区教育局" in text and "全县" not in text

    police = _start("county-police-special-action", c.police)
    text = _plan_text(police)
    assert "全县电信网络诈骗案件数" in text and "本县" in text and "{" not in text


def test_a_template_on_its_own_names_its_level(client, county_cast):
    sync_builtin_templates()
    client.force_login(county_cast.school_admin)
    for code, word in (("kindergarten-lesson", "教师"), ("university-fraud-free-campus", "辅导员")):
        body = client.get(reverse("template_detail", args=[code])).content.decode()
        assert f">{word}<" in body, code
    body = client.get(reverse("template_detail", args=["district-education-system"])).content.decode()
    assert "{locality}" not in body and ">班主任<" in body


def test_a_kindergartens_template_is_for_children(client, county_cast):
    """The audience tag of a kindergarten's plan says 幼儿; a school's says 学生."""
    sync_builtin_templates()
    client.force_login(county_cast.school_admin)
    body = client.get(reverse("template_detail", args=["kindergarten-lesson"])).content.decode()
    assert '<span class="tag">幼儿</span>' in body and '<span class="tag">学生</span>' not in body
    body = client.get(reverse("template_detail", args=["school-publicity"])).content.decode()
    assert '<span class="tag">学生</span>' in body
