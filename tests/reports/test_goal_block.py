"""The dashboards' goal block and obligation tiles as a 390-px phone shows them (issue 13, walk-through):
the same late / excepted figures as the campaign's own dashboard, a judged goal that says it has not
been recorded (and a record form of its own, labelled with the goal's unit), a value of a unit above
the dashboard's marked as such, and a case goal without a value that says why."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from fanzha.campaigns import actions as campaign_actions
from fanzha.campaigns.models import Campaign, CampaignTemplate, Goal, GoalRecord, Obligation
from fanzha.org.models import Role
from fanzha.reports import kpis, queries
from tests.campaigns.engine import record
from tests.conftest import Cast, make_staff

from .conftest import TEMPLATE
from .test_case_kpis import report

pytestmark = pytest.mark.django_db

GOALS = """
[[goals]]
code = "can-say-110"
metric = "custom"
target = 100
unit = "percent"
deadline = ""
description = "每名孩子都能说出遇到危险要拨打110"

[[goals]]
code = "groups"
metric = "reach_count"
target = 5
unit = "count"
measure = "类"
deadline = ""
description = "五类重点人群全部覆盖"

[[goals]]
code = "cases-down"
metric = "case_change_yoy"
target = -50
unit = "percent"
deadline = ""
description = "师生被骗案件数比上一年度下降50%以上"
"""


def start(cast: Cast, days_ago: int = 70) -> Campaign:
    head, sep, tail = TEMPLATE.partition("[[obligations]]")
    template = CampaignTemplate.objects.create(
        code="goal-block", title="目标", text=head + GOALS + sep + tail
    )
    today = timezone.localdate()
    campaign = campaign_actions.start_campaign(
        template, cast.uni, today - timedelta(days=days_ago), today + timedelta(days=300), {}
    )
    kpis.refresh_homes()
    kpis.rebuild(campaign)
    return campaign


@pytest.fixture
def campaign(cast: Cast) -> Campaign:
    return start(cast)


def tiles(html: str) -> dict[str, str]:
    """label → figure of every stat tile on a page."""
    found = re.findall(r'<span class="stat-num">([^<]*)</span><span class="stat-label">([^<]*)</span>', html)
    return {label: num for num, label in found}


def goal_cell(html: str, description: str) -> str:
    """The goal's title cell."""
    match = re.search(r'<td data-label="目标">(' + re.escape(description) + r".*?)</td>", html, re.S)
    assert match, description
    return match.group(1)


def dashboard(client, campaign: Campaign, unit) -> str:
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, unit.pk]))
    assert response.status_code == 200
    return response.content.decode()


def goal_row(response, code: str) -> queries.GoalRow:
    return next(r for r in response.context["goals"] if r.goal.code == code)


# 1. The same late / excepted tiles as the campaign's dashboard -------------------------------------------


def test_the_dashboard_shows_the_campaign_pages_period_tiles_with_the_same_figures(client, cast, campaign):
    today = timezone.localdate()
    late = Obligation.objects.get(campaign=campaign, unit=cast.cs2301)
    record(late, today - timedelta(days=40), entered=today, kind="class_meeting")
    excepted = Obligation.objects.get(campaign=campaign, unit=cast.cs2302)
    campaign_actions.accept_period(
        excepted, today - timedelta(days=40), "照片丢失，学院已核实", cast.school_admin
    )
    kpis.rebuild(campaign)
    client.force_login(cast.school_admin)

    ours = tiles(dashboard(client, campaign, cast.uni))
    theirs = tiles(
        client.get(
            reverse("campaign_dashboard", args=[campaign.pk]) + f"?unit={cast.uni.pk}"
        ).content.decode()
    )
    labels = [
        "按时完成周期",
        "逾期完成",
        "例外认可",
        "进行中未完成",
        "逾期未完成",
        "按时完成率（已到期周期）",
    ]
    assert {label: ours.get(label) for label in labels} == {label: theirs.get(label) for label in labels}
    assert (ours["逾期完成"], ours["例外认可"]) == ("1", "1")
    # … and the command prints the same figures.
    out = StringIO()
    call_command("campaign-status", str(campaign.pk), "--json", stdout=out)
    ob = json.loads(out.getvalue())["obligations"]
    assert (ob["late"], ob["excepted"], ob["overdue"]) == (1, 1, int(ours["逾期未完成"]))
    assert f"{ob['percent']}%" == ours["按时完成率（已到期周期）"]


# 2. A judged goal not recorded yet, and its record form ---------------------------------------------------


def test_a_judged_goal_not_recorded_says_so_with_a_form_of_its_own(client, cast, campaign):
    client.force_login(cast.school_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    body = response.content.decode()
    row = goal_row(response, "can-say-110")
    assert (row.actual, row.reason) == (None, queries.NOT_RECORDED)
    assert "无权查看" not in body and "尚未录入" in body
    # The form is not inside the goal's title cell: it has a row of its own under the goal's.
    cell = goal_cell(body, "每名孩子都能说出遇到危险要拨打110")
    assert "<form" not in cell
    action = reverse("dashboard_goal_record", args=[campaign.pk, row.goal.pk])
    form = re.search(r'<tr class="goal-record">\s*<td colspan="4">\s*<form[^>]*action="' + action, body)
    assert form, "no record form row under the goal"
    # Its value field is labelled with the goal's unit and bounded like it.
    percent = re.search(rf'<label for="goal-value-{row.goal.pk}">([^<]*)</label>', body)
    assert percent and "%" in percent.group(1)
    assert re.search(rf'id="goal-value-{row.goal.pk}"[^>]* min="0" max="100"', body)
    groups = goal_row(response, "groups").goal
    count = re.search(rf'<label for="goal-value-{groups.pk}">([^<]*)</label>', body)
    assert count and "类" in count.group(1)
    assert not re.search(rf'id="goal-value-{groups.pk}"[^>]* max=', body)


def test_those_who_may_not_record_read_not_recorded_yet(client, cast, campaign):
    client.force_login(cast.college_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.cs.pk]))
    body = response.content.decode()
    assert "尚未录入" in body and "无权查看" not in body
    assert (
        reverse("dashboard_goal_record", args=[campaign.pk, goal_row(response, "can-say-110").goal.pk])
        not in body
    )


@pytest.mark.parametrize(
    ("value", "chinese", "english"),
    [
        ("150", "百分比须在 0 到 100 之间", "A percentage must be between 0 and 100"),
        ("-1", "百分比须在 0 到 100 之间", "A percentage must be between 0 and 100"),
        ("abc", "请填写数字", "Please enter a number"),
    ],
)
def test_a_bad_value_is_refused_clearly_and_kept_in_the_form(client, cast, campaign, value, chinese, english):
    goal = Goal.objects.get(campaign=campaign, code="can-say-110")
    client.force_login(cast.school_admin)
    url = reverse("dashboard_goal_record", args=[campaign.pk, goal.pk])
    response = client.post(url, {"value": value, "note": "班主任逐一询问"})
    assert response.status_code == 400
    body = response.content.decode()
    assert chinese in body and f'value="{value}"' in body and "班主任逐一询问" in body
    assert not GoalRecord.objects.exists()
    with translation.override("en"):
        response = client.post(url, {"value": value}, HTTP_ACCEPT_LANGUAGE="en")
    assert english in response.content.decode()


# 3. A value of the unit above the dashboard's is marked as such ------------------------------------------


def test_a_judgement_of_the_school_is_marked_on_a_colleges_dashboard(client, cast, campaign):
    goal = Goal.objects.get(campaign=campaign, code="can-say-110")
    campaign_actions.record_goal_value(goal, 80, cast.school_admin)
    client.force_login(cast.college_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.cs.pk]))
    assert goal_row(response, "can-say-110").owner == cast.uni
    assert "示范大学整体数值" in response.content.decode()
    client.force_login(cast.school_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    assert goal_row(response, "can-say-110").owner is None
    assert "整体数值" not in response.content.decode()


# 4. A case goal without a value says why -------------------------------------------------------------------


def test_a_case_goal_without_a_value_says_why(client, cast, campaign):
    client.force_login(cast.school_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    assert goal_row(response, "cases-down").reason == queries.NO_CASES
    assert "暂无案件数据" in response.content.decode()
    assert response.context["cases"].goal_reason == queries.NO_CASES  # the case tiles say the same
    report(cast, cast.cs2301, 3, "800")  # a case now, none a year earlier: no change in percent
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    assert goal_row(response, "cases-down").reason == response.context["cases"].goal_reason == queries.NO_BASE
    # the goal row and the case tile both say why
    assert response.content.decode().count("对比期没有案件，无法计算增减幅度") == 2

    manager = make_staff(cast.uni, "T0100", "楼长甲", Role.DORM_MANAGER, cast.d1)
    client.force_login(manager)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.d1.pk]))
    assert goal_row(response, "cases-down").reason == queries.NO_CASE_ACCESS
    assert "无权查看本范围的案件数据" in response.content.decode()


def test_a_case_goal_of_a_campaign_not_started_says_so(client, cast):
    campaign = start(cast, days_ago=-10)
    client.force_login(cast.school_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    assert goal_row(response, "cases-down").reason == queries.NOT_STARTED
    assert "专项行动尚未开始" in response.content.decode()


# 5. The command gives the same reasons ---------------------------------------------------------------------


def test_the_command_prints_the_pages_reasons(client, cast, campaign):
    out = StringIO()
    call_command("campaign-status", str(campaign.pk), "--json", stdout=out)
    goals = {g["code"]: g for g in json.loads(out.getvalue())["goals"]}
    client.force_login(cast.school_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    for row in response.context["goals"]:
        assert goals[row.goal.code]["reason"] == row.reason
    out = StringIO()
    call_command("campaign-status", str(campaign.pk), stdout=out)
    text = out.getvalue()
    assert "尚未录入" in text and "暂无案件数据" in text and "逾期完成 0 期" in text


def test_a_judgement_recorded_on_a_lower_units_dashboard_returns_to_it(client, cast, campaign):
    goal = Goal.objects.get(campaign=campaign, code="groups")
    client.force_login(cast.school_admin)
    body = dashboard(client, campaign, cast.cs)
    assert "记录的是示范大学的整体数值" in body  # the form says whose figure it records
    url = reverse("dashboard_goal_record", args=[campaign.pk, goal.pk])
    response = client.post(url, {"value": "4", "unit": str(cast.cs.pk)})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard_unit", args=[campaign.pk, cast.cs.pk])
    assert GoalRecord.objects.get(goal=goal).value == 4
    # A unit of another campaign's tree is not a place to return to.
    assert client.post(url, {"value": "4", "unit": str(cast.oc01.pk)}).status_code == 404


# 6. A case goal's target is worded as the plan words it (walk-through, 390 px) -----------------------------


def test_a_case_goals_target_reads_as_the_plan_words_it_on_the_dashboard_and_command(client, cast, campaign):
    Goal.objects.filter(campaign=campaign, code="cases-down").update(target=0)
    client.force_login(cast.school_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    assert goal_row(response, "cases-down").target_text == "下降"
    body = response.content.decode()
    assert "&lt;0%" not in body and "<0%" not in body
    Goal.objects.filter(campaign=campaign, code="cases-down").update(target=-50)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    assert goal_row(response, "cases-down").target_text == "下降50%以上"
    out = StringIO()
    call_command("campaign-status", str(campaign.pk), stdout=out)
    assert "目标 下降50%以上" in out.getvalue() and "-50%" not in out.getvalue()


def test_the_campaign_dashboard_names_columns_and_tiles_as_the_reports_dashboard(client, cast, campaign):
    """Walk-through at 390 px: with nothing accepted the campaign page hid its 例外认可 tile while the
    reports dashboard showed 0, and its unit cards said "已完成"/"逾期" for what the tiles call
    按时完成/逾期未完成."""
    client.force_login(cast.school_admin)
    ours = tiles(dashboard(client, campaign, cast.uni))
    url = reverse("campaign_dashboard", args=[campaign.pk]) + f"?unit={cast.uni.pk}"
    page = client.get(url).content.decode()
    theirs = tiles(page)
    labels = ["按时完成周期", "逾期完成", "例外认可", "进行中未完成", "逾期未完成"]
    labels.append("按时完成率（已到期周期）")
    assert [x for x in theirs if x in labels] == labels == [x for x in ours if x in labels]
    assert theirs["例外认可"] == ours["例外认可"] == "0"
    assert 'data-label="按时完成"' in page and 'data-label="逾期未完成"' in page
    assert 'data-label="已完成"' not in page and 'data-label="逾期"' not in page


def test_a_campaign_without_items_says_so_instead_of_an_empty_card(client, cast):
    """Walk-through at 390 px: the county police plan asks nobody to sign or install anything, and its
    dashboard showed a "各事项覆盖情况" card with nothing in it."""
    from .conftest import ITEMS

    text = TEMPLATE.replace(f"attestations = {list(ITEMS)!r}".replace("'", '"'), "attestations = []").replace(
        'metric = "awareness_rate"', 'metric = "custom"'
    )
    assert text != TEMPLATE
    template = CampaignTemplate.objects.create(code="no-items", title="无事项", text=text)
    today = timezone.localdate()
    campaign = campaign_actions.start_campaign(
        template, cast.uni, today - timedelta(days=30), today + timedelta(days=300), {}
    )
    kpis.refresh_homes()
    kpis.rebuild(campaign)
    client.force_login(cast.school_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    assert not response.context["summary"]
    body = response.content.decode()
    section = body[body.index("各事项覆盖情况") :]
    section = section[: section.index("</section>")]
    assert "本专项行动没有需要逐人完成的事项" in section
