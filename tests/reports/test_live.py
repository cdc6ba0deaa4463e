"""Live dashboards (issue 13, item 6): a campaign is counted the moment it starts, activity changes
reach the compliance figures through the minute job, and the nightly roll-up only repairs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from fanzha.campaigns.activities import actions as activity_actions
from fanzha.campaigns.models import Obligation
from fanzha.core import jobs
from fanzha.reports import queries
from fanzha.reports.models import KpiCount, PersonHome, StaleCampaign
from fanzha.reports.tasks import rollup_changes
from tests.campaigns import files
from tests.conftest import Cast

from .conftest import start_campaign

pytestmark = pytest.mark.django_db


def root_figures(campaign) -> queries.Figures:
    return queries.Kpis(campaign).figures(queries.sums(campaign, [campaign.unit_id])[campaign.unit_id])


def test_a_started_campaign_is_counted_at_once(cast: Cast, django_capture_on_commit_callbacks):
    assert not PersonHome.objects.exists()  # nobody seen by a nightly run yet
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start_campaign(cast)
    figures = root_figures(campaign)
    assert figures.people > 0
    assert figures.items["pledge_signed"].due == figures.people
    assert figures.obligations == Obligation.objects.filter(campaign=campaign).count() > 0


def test_an_activity_reaches_the_dashboard_through_the_minute_job(
    cast: Cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start_campaign(cast)
    before = root_figures(campaign).tally.done
    # An obligation that a record completes (nothing measured), recorded with every kind of evidence.
    obligation = next(
        ob for ob in Obligation.objects.filter(campaign=campaign).order_by("pk") if not ob.rule.measure
    )
    with django_capture_on_commit_callbacks(execute=True):
        activity_actions.record_activity(
            unit=obligation.unit,
            kind="class_meeting",
            occurred_on=timezone.localdate(),
            actor=cast.school_admin,
            obligation=obligation,
            attendance_count=30,
            link="https://example.org/meeting",
            files=[files.upload("合影.jpg", files.jpeg()), files.upload("通知.pdf", files.PDF)],
        )
    assert StaleCampaign.objects.filter(campaign=campaign).exists()
    job = jobs.get("rollup_changes")
    assert job.every == 1
    assert rollup_changes.call() == 1
    assert not StaleCampaign.objects.exists()
    assert root_figures(campaign).tally.done == before + 1
    assert job.enqueue(timezone.now()) == ""  # nothing marked: no task


def test_the_nightly_rollup_reports_what_it_repaired(cast: Cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start_campaign(cast)
    out = StringIO()
    call_command("rollup", "--campaign", str(campaign.pk), stdout=out)
    assert f"{campaign.pk} {campaign.title}: 0 count rows repaired" in out.getvalue()
    row = KpiCount.objects.filter(campaign=campaign, metric__startswith="people:").first()
    row.value += 5
    row.save()
    out = StringIO()
    call_command("rollup", "--campaign", str(campaign.pk), stdout=out)
    assert "0 count rows repaired" not in out.getvalue()
    assert "count rows repaired" in out.getvalue()


def test_the_demo_shows_coverage_for_every_campaign_without_a_rollup(db, django_capture_on_commit_callbacks):
    from fanzha.campaigns.models import Campaign
    from fanzha.reach.queries import tracked_kinds

    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", "--no-serve", "--scale", "0.02", stdout=StringIO())
    campaigns = list(Campaign.objects.select_related("unit"))
    assert len(campaigns) >= 6
    for campaign in campaigns:
        figures = root_figures(campaign)
        if tracked_kinds(campaign):
            assert figures.people > 0, campaign.title
        assert figures.obligations > 0 or not campaign.rules.exists(), campaign.title
        # every goal of every demo campaign is on its dashboard (item 5)
        rows = queries.goal_rows(queries.Kpis(campaign), figures)
        assert len(rows) == campaign.goals.count(), campaign.title
