"""``fanzha campaign-status`` (issue 13, item 11) prints what the dashboard shows: the same goals,
obligations and child units, from the same functions."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns.models import Obligation
from fanzha.reach import actions as reach_actions
from fanzha.reach.models import Attestation
from fanzha.reports import kpis
from tests.campaigns.engine import record

pytestmark = pytest.mark.django_db


def status_json(campaign) -> dict:
    out = StringIO()
    call_command("campaign-status", str(campaign.pk), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_command_prints_the_dashboards_figures(
    client, cast, campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.student, "quiz_passed", Attestation.Status.DECLARED)
    record(Obligation.objects.get(campaign=campaign, unit=cast.cs2301), timezone.localdate())
    kpis.refresh_compliance(campaign)

    data = status_json(campaign)
    client.force_login(cast.school_admin)
    response = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk]))
    assert response.status_code == 200
    page = response.context

    assert data["people"] == page["board"].figures.people > 0
    assert [(g["code"], g["value"], g["met"]) for g in data["goals"]] == [
        (row.goal.code, row.actual, row.met) for row in page["goals"]
    ]
    awareness = next(g for g in data["goals"] if g["metric"] == "awareness_rate")
    assert awareness["value"] == page["board"].figures.items["quiz_passed"].percent > 0
    assert awareness["target"] == 100 and awareness["deadline"] == campaign.ends_on.isoformat()
    ob = page["obligations"]
    assert data["obligations"] == {
        "obligations": ob.obligations,
        "done": ob.done,
        "due": ob.due,
        "overdue": ob.overdue,
        "late": ob.late,
        "excepted": ob.excepted,
        "percent": ob.percent,
    }
    assert data["obligations"]["done"] >= 1
    assert [u["id"] for u in data["units"]] == [row.unit.pk for row in page["board"].rows]
    assert [u["compliance_percent"] for u in data["units"]] == [
        row.figures.tally.percent for row in page["board"].rows
    ]
    for item in data["items"]:
        ratio = page["board"].figures.items[item["item"]]
        assert (item["done"], item["due"]) == (ratio.done, ratio.due)


def test_the_text_is_chinese_and_names_every_goal(cast, campaign):
    out = StringIO()
    call_command("campaign-status", str(campaign.pk), stdout=out)
    text = out.getvalue()
    assert campaign.title in text and "工作任务" in text and "目标" in text
    for goal in campaign.goals.all():
        assert goal.description in text
    assert "{" not in text


def test_an_unknown_campaign_is_an_error(db):
    with pytest.raises(CommandError):
        call_command("campaign-status", "999999", stdout=StringIO())
