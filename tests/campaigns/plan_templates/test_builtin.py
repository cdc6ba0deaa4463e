"""The six built-in templates: all load, and each carries the facts of its seed plan."""

from __future__ import annotations

import pytest

from fanzha.campaigns.models import CampaignTemplate
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
from fanzha.campaigns.spec import BUILTIN_DIR, Section, TemplateSpec, builtin_templates, parse_template
from fanzha.org.models import MembershipRole, UnitKind

SEEDS = ["篇一", "篇二", "篇三", "篇四", "篇五", "篇六"]


@pytest.fixture(scope="module")
def specs() -> dict[str, TemplateSpec]:
    return {spec.seed: spec for spec in builtin_templates().values()}


def all_text(spec: TemplateSpec) -> str:
    """Every piece of prose in the template, for fact checks."""
    parts = [spec.title, spec.summary]
    parts += [f"{x.role} {x.holder} {x.duty}" for x in spec.leadership]
    parts += [f"{d.name} {' '.join(d.duties)}" for d in spec.departments]
    parts += [g.description for g in spec.goals]
    parts += [f"{o.title} {o.description}" for o in spec.obligations]
    parts += [a.description for a in spec.accountability]
    parts += [f"{x.title} {x.body}" for x in spec.letters]

    def walk(sections: tuple[Section, ...]) -> None:
        for s in sections:
            parts.extend([s.heading, s.body])
            walk(s.children)

    walk(spec.sections)
    return "\n".join(parts)


def rules(spec: TemplateSpec) -> dict[str, tuple[str, str, int, str]]:
    return {o.code: (o.level, o.frequency, o.min_count, o.due) for o in spec.obligations}


def test_six_files_one_per_seed(specs):
    assert len(list(BUILTIN_DIR.glob("*.toml"))) == 6
    assert sorted(specs) == sorted(SEEDS)
    for spec in specs.values():
        assert spec.sections and spec.obligations and spec.goals, spec.code
        assert "{organisation}" in spec.title


def test_every_template_uses_known_levels_and_roles(specs):
    for spec in specs.values():
        for rule in spec.obligations:
            assert rule.level in spec.levels, (spec.code, rule.code)
            assert rule.level in UnitKind.values
            assert rule.responsible in MembershipRole.values
        for goal in spec.goals:
            assert goal.description


def test_kindergarten_lesson(specs):
    spec = specs["篇一"]
    text = all_text(spec)
    assert "class" in spec.levels and "kindergarten" in spec.issuer_kinds
    assert {"student", "parent"} <= set(spec.audiences)
    for fact in (
        "豆豆迷路了",
        "情景表演",
        "讨论",
        "110",
        "陌生人",
        "意外之财",
        "网上购物",
        "打折促销",
        "迷信",
    ):
        assert fact in text, fact
    headings = [s.heading for s in spec.sections]
    for heading in ("活动目标", "活动准备", "活动过程", "注意事项", "活动小结"):
        assert heading in headings
    assert "给家长的防骗提醒" in text and "公检法" not in spec.title
    assert "parent_notice_signed" in spec.attestations
    assert rules(spec)["scenario-lesson"][:2] == ("class", "once")


def test_university_fraud_free_campus(specs):
    spec = specs["篇二"]
    assert spec.levels == ("school", "college", "class", "dorm_room")
    goals = {g.metric: g.target for g in spec.goals}
    assert goals["awareness_rate"] == 100
    assert goals["case_change_yoy"] == -50
    assert goals["app_installed"] == goals["app_registered"] == goals["app_warnings_on"] == 100
    six = {code: v for code, v in rules(spec).items() if code.startswith("six-")}
    assert six == {
        "six-pledge": ("class", "yearly", 1, ""),
        "six-daily-tip": ("class", "daily", 1, ""),
        "six-weekly-article": ("college", "weekly", 1, ""),
        "six-monthly-meeting": ("class", "monthly", 1, ""),
        "six-semester-training": ("college", "semester", 1, ""),
        "six-yearly-evaluation": ("school", "yearly", 1, ""),
    }
    assert [(x.upper, x.lower) for x in spec.letters] == [
        ("school", "college"),
        ("college", "class"),
        ("class", "dorm_room"),
    ]
    text = all_text(spec)
    for fact in (
        "四必",
        "防骗课程必须讲",
        "倒查",
        "灵魂8问",
        "六个一律",
        "十个凡是",
        "志愿者",
        "咨询",
        "紧急止付",
        "校警快速联络机制",
        "家庭情况",
        "被骗资金来源",
        "心理",
        "约谈",
        "通报",
        "年终",
        "照片",
        "视频",
        "学工办主任",
        "三个方案",
    ):
        assert fact in text, fact
    assert spec.extra["four_musts"][3] == "发生电诈必倒查"
    assert {"pledge_signed", "app_installed", "app_registered", "app_warnings_on", "video_watched"} <= set(
        spec.attestations
    )
    assert [a.action for a in spec.accountability] == ["notice"]


def test_district_education_system(specs):
    spec = specs["篇三"]
    assert "bureau_district" in spec.issuer_kinds
    assert {"school", "class"} <= set(spec.levels)
    deadlines = {g.deadline for g in spec.goals}
    assert {"06-30", "12-31"} <= deadlines and "12-01" not in deadlines  # "到12月" is the end of December
    parent_goal = next(g for g in spec.goals if g.metric == "parent_notice_signed")
    assert (parent_goal.target, parent_goal.deadline) == (100, "06-30")
    assert any(g.metric == "staff_app_installed" and g.target == 100 for g in spec.goals)
    r = rules(spec)
    assert r["first-lesson"] == ("school", "semester", 1, "")
    assert r["semester-activities"] == ("school", "semester", 2, "")
    assert r["monthly-class-meeting"] == ("class", "monthly", 1, "")
    assert r["two-cards"] == ("school", "semester", 2, "")
    assert r["parent-outreach"] == ("school", "semester", 2, "")
    assert r["parent-notices"] == ("school", "once", 1, "06-30")
    assert r["works-contest"][:2] == ("school", "yearly")
    rules_by_action = {a.action: (a.min_loss, a.max_loss) for a in spec.accountability}
    assert rules_by_action == {
        "listing": (100000, None),
        "interview": (50000, 100000),
        "notice": (None, None),
    }
    text = all_text(spec)
    for fact in (
        "开学安全第一课",
        "绘画",
        "诗歌",
        "歌唱",
        "微视频",
        "舞台剧",
        "志愿宣传队",
        "机伶",
        "两卡",
        "挂牌",
        "平安校园",
        "校（园）长",
    ):
        assert fact in text, fact
    assert len(spec.letters) >= 2


def test_school_publicity(specs):
    spec = specs["篇四"]
    assert [x.role for x in spec.leadership] == ["组长", "副组长", "成员"]
    assert spec.placeholder_defaults()["theme"]
    kinds = {o.code: o.activity_kinds for o in spec.obligations}
    assert "notice" in kinds["notice"]
    assert "poster" in kinds["posters"]
    assert "staff_briefing" in kinds["staff-briefing"]
    assert "radio" in kinds["campus-radio"]
    assert "blackboard" in kinds["class-blackboard"]
    assert "class_meeting" in kinds["class-meeting"]
    assert "parent_letter" in kinds["parent-letter"]
    text = all_text(spec)
    for fact in ("活动主题", "宣传橱窗", "黑板报", "校园广播", "致学生家长的一封信", "一个孩子带动一个家庭"):
        assert fact in text, fact


def test_county_police_special_action(specs):
    spec = specs["篇五"]
    assert spec.issuer_kinds == ("police_bureau",)
    assert "police_station" in spec.levels
    names = [d.name for d in spec.departments]
    assert names == [
        "刑侦大队",
        "网警大队",
        "经侦大队",
        "治安大队",
        "指挥中心",
        "情报中心",
        "政治处",
        "督察大队",
        "看守所",
        "信通科",
        "法制大队",
        "警务保障室",
        "派出所",
    ]
    assert all(d.duties for d in spec.departments)
    office = next(x for x in spec.leadership if "办公室" in x.role)
    assert "刑侦大队" in office.holder
    station = next(d for d in spec.departments if d.name == "派出所")
    intake = " ".join(station.duties)
    for field in spec.extra["case_intake_fields"]:
        assert field in intake, field
    assert spec.extra["five_into"] == ["社区", "乡镇", "学校", "企业", "市场"]
    assert {g.metric for g in spec.goals} == {"case_change_yoy", "case_change_mom"}
    r = rules(spec)
    assert r["five-into"] == ("police_station", "monthly", 5, "")
    assert r["periodic-notice"][:2] == ("police_bureau", "monthly")
    assert r["year-end-assessment"][:2] == ("police_bureau", "yearly")
    text = all_text(spec)
    for fact in ("紧急止付", "串并", "预警分析", "封堵", "冻结", "典型案例", "五进", "通报", "年终"):
        assert fact in text, fact


def test_bank_publicity_month(specs):
    spec = specs["篇六"]
    assert spec.issuer_kinds == ("bank_head", "bank_branch")  # a branch files its own plan (issue 12)
    assert "bank_branch" in spec.levels
    assert spec.period_months == 2
    assert (spec.extra["period_start"], spec.extra["period_end"]) == ("05-01", "06-30")
    # What an outreach record counts by (issue 14): the five groups and the channels, the counter too.
    groups = [g.name for g in spec.reach.groups]
    assert groups == ["农村居民", "个体工商户", "在校学生", "进城务工人员", "老年人"]
    channels = [c.name for c in spec.reach.channels]
    assert channels == ["电视台", "广播电台", "报纸", "微信公众号", "网站", "户外集中宣传", "营业网点柜面"]
    assert "class_meeting" not in spec.record_kinds
    assert any(g.metric == "reach_count" for g in spec.goals)
    assert rules(spec)["branch-plan"] == ("bank_branch", "once", 1, "05-10")
    text = all_text(spec)
    for fact in ("5月至6月", "领导小组", "银行卡", "账户", "乡镇", *groups):
        assert fact in text, fact


@pytest.mark.django_db
def test_sync_upserts_rows_and_keeps_them_loadable():
    rows = sync_builtin_templates()
    assert len(rows) == 6
    assert CampaignTemplate.objects.filter(source="builtin", is_active=True).count() == 6
    again = sync_builtin_templates()
    assert [r.pk for r in again] == [r.pk for r in rows]
    for row in again:
        assert parse_template(row.text).code == row.code
        assert "{" not in row.title
    stale = CampaignTemplate.objects.create(code="retired", title="旧", source="builtin", text="x")
    sync_builtin_templates()
    stale.refresh_from_db()
    assert not stale.is_active
