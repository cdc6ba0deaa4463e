"""Every goal computed (issue 13, item 5): each metric a template may declare has a value on the
dashboard with its target and deadline; one that cannot be computed is refused when the template is
validated; goals only a person can judge show a recorded judgement (who, when)."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns import actions as campaign_actions
from fanzha.campaigns.models import Campaign, CampaignTemplate, Goal, GoalRecord
from fanzha.campaigns.spec import GOAL_METRICS, ITEM_METRICS, RECORDED_METRICS, TemplateError, parse_template
from fanzha.cases.stats.queries import CASE_METRICS
from fanzha.reports import kpis, queries
from tests.conftest import Cast

from .conftest import TEMPLATE

pytestmark = pytest.mark.django_db

EXTRA_GOALS = """
[[goals]]
code = "can-say-110"
metric = "custom"
target = 100
unit = "percent"
deadline = ""
description = "每名孩子都能说出遇到危险要拨打110"

[[goals]]
code = "covered"
metric = "coverage"
target = 100
unit = "percent"
deadline = ""
description = "学生和教职工全部接受反诈宣传教育"

[[goals]]
code = "groups"
metric = "reach_count"
target = 5
unit = "count"
deadline = ""
description = "五类重点人群全部覆盖"
"""


def goals_template(extra: str = EXTRA_GOALS) -> str:
    head, sep, tail = TEMPLATE.partition("[[obligations]]")
    return head + extra + "\n" + sep + tail


@pytest.fixture
def campaign(cast: Cast) -> Campaign:
    template = CampaignTemplate.objects.create(code="goals-test", title="目标测试", text=goals_template())
    today = timezone.localdate()
    campaign = campaign_actions.start_campaign(
        template, cast.uni, today - timedelta(days=30), today + timedelta(days=300), {}
    )
    kpis.refresh_homes()
    kpis.rebuild(campaign)
    return campaign


def test_every_metric_a_template_may_declare_has_a_computation():
    computed = set(ITEM_METRICS) | set(RECORDED_METRICS) | set(CASE_METRICS)
    computed |= {"coverage", "activity_compliance"}
    assert set(GOAL_METRICS) == computed


@pytest.mark.parametrize(
    ("goal", "words"),
    [
        ('metric = "pledge_signed"\ntarget = 100\nunit = "percent"', "pledge_signed"),
        ('metric = "awareness_rate"\ntarget = 100\nunit = "count"', "percent"),
        ('metric = "app_registered"\ntarget = 100\nunit = "percent"', "attestations"),
    ],
)
def test_a_goal_that_cannot_be_computed_is_refused(goal, words):
    text = goals_template(f'[[goals]]\ncode = "x"\n{goal}\ndeadline = ""\ndescription = "x"\n').replace(
        '"pledge_signed", ', ""
    )
    with pytest.raises(TemplateError) as err:
        parse_template(text, "t.toml")
    assert words in str(err.value)


def test_compliance_without_obligations_is_refused():
    text = TEMPLATE.split("[[obligations]]")[0] + '[[sections]]\nheading = "一"\nbody = "二"\n'
    with pytest.raises(TemplateError, match="obligations"):
        parse_template(text, "t.toml")


def test_every_goal_is_on_the_dashboard_with_target_and_deadline(client, cast, campaign):
    client.force_login(cast.school_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    rows = {row.goal.code: row for row in response.context["goals"]}
    assert set(rows) == set(Goal.objects.filter(campaign=campaign).values_list("code", flat=True))
    assert rows["covered"].actual == response.context["board"].figures.coverage_percent
    assert rows["covered"].source == queries.COMPUTED
    assert rows["can-say-110"].actual is None and rows["can-say-110"].source == queries.UNKNOWN
    body = response.content.decode()
    assert "每名孩子都能说出遇到危险要拨打110" in body and "需由负责人判断后记录" in body
    assert reverse("dashboard_goal_record", args=[campaign.pk, rows["can-say-110"].goal.pk]) in body


def test_a_judgement_is_recorded_with_who_and_when_and_shown_as_such(client, cast, campaign):
    goal = Goal.objects.get(campaign=campaign, code="can-say-110")
    client.force_login(cast.school_admin)
    url = reverse("dashboard_goal_record", args=[campaign.pk, goal.pk])
    response = client.post(url, {"value": "80", "note": "班主任逐一询问"})
    assert response.status_code == 302
    record = GoalRecord.objects.get(goal=goal)
    assert record.value == 80 and record.recorded_by == cast.school_admin and record.recorded_at
    page = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    row = next(r for r in page.context["goals"] if r.goal.pk == goal.pk)
    assert (row.actual, row.met, row.source) == (80.0, False, queries.RECORDED)
    assert "人工记录" in page.content.decode() and "班主任逐一询问" in page.content.decode()

    out = StringIO()
    call_command("campaign-status", str(campaign.pk), "--json", stdout=out)
    data = {g["code"]: g for g in json.loads(out.getvalue())["goals"]}
    assert data["can-say-110"]["value"] == 80.0 and data["can-say-110"]["source"] == "recorded"
    assert data["can-say-110"]["recorded_by"] and data["can-say-110"]["recorded_at"]
    assert data["groups"]["unit"] == "count" and data["groups"]["value"] is None


def test_the_verb_refuses_what_is_computed_and_what_is_out_of_range(cast, campaign):
    with pytest.raises(ValidationError):
        campaign_actions.record_goal_value(Goal.objects.get(campaign=campaign, code="covered"), 90, None)
    custom = Goal.objects.get(campaign=campaign, code="can-say-110")
    for bad in ("101", "-1", "abc", "nan"):
        with pytest.raises(ValidationError):
            campaign_actions.record_goal_value(custom, bad, None)
    assert campaign_actions.record_goal_value(Goal.objects.get(campaign=campaign, code="groups"), 5, None)
    assert not GoalRecord.objects.filter(goal=custom).exists()


def test_only_those_running_the_campaign_may_record(client, cast, campaign):
    goal = Goal.objects.get(campaign=campaign, code="can-say-110")
    url = reverse("dashboard_goal_record", args=[campaign.pk, goal.pk])
    for who in ("counsellor", "outsider", "student"):
        client.force_login(cast.users()[who])
        assert client.post(url, {"value": "50"}).status_code == 404, who
    assert not GoalRecord.objects.exists()


def test_a_running_campaign_whose_template_predates_the_goal_check_keeps_working(cast, campaign):
    bad = goals_template('[[goals]]\ncode = "x"\nmetric = "app_registered"\ntarget = 1\ndeadline = ""\n')
    bad = bad.replace('[[goals]]\ncode = "x"', '[[goals]]\ncode = "x"\ndescription = "旧目标"', 1)
    with pytest.raises(TemplateError):
        parse_template(bad, "t.toml")
    Campaign.objects.filter(pk=campaign.pk).update(template_text=bad)
    campaign.refresh_from_db()
    assert [g.code for g in campaign.spec().goals][-1] == "x"
