"""The dashboards' background work: the nightly roll-up (as ``fanzha rollup``) and the weekly report
to the campaigns' admins. Registered in ``ReportsConfig.ready``."""

from __future__ import annotations

import logging
from datetime import timedelta

from django_tasks import task

from fanzha.campaigns.models import Campaign
from fanzha.core.jobs import SLOW_QUEUE, Job, day_arg, local_day

from . import kpis
from .actions import queue_weekly_reports
from .models import StaleCampaign

log = logging.getLogger(__name__)


@task(queue_name=SLOW_QUEUE)
def rollup_refresh() -> int:
    """Check and repair the dashboards' counts (as ``fanzha rollup``): home units, then every campaign.

    The counts follow every change as it happens (``kpis``), so this run should find nothing to do;
    what it does repair is logged, since it names a change that escaped the incremental update."""
    kpis.refresh_homes()
    campaigns = list(Campaign.objects.select_related("unit").order_by("pk"))
    repaired = 0
    for campaign in campaigns:
        result = kpis.rebuild(campaign)
        if result.counts:
            repaired += 1
            log.warning("rollup_refresh: campaign %s: %s count row(s) repaired", campaign.pk, result.counts)
    log.info("rollup_refresh: %s campaign(s) checked, %s repaired", len(campaigns), repaired)
    return len(campaigns)


@task()
def rollup_changes() -> int:
    """Recompute the compliance of the campaigns whose activities changed (``kpis.refresh_stale``)."""
    return len(kpis.refresh_stale())


def _enqueue_changes(slot: object) -> str:
    """Enqueue ``rollup_changes`` only when some campaign is marked: most minutes nothing changed."""
    return rollup_changes.enqueue().id if StaleCampaign.objects.exists() else ""


@task(queue_name=SLOW_QUEUE)
def weekly_report(week_start: str | None = None) -> int:
    """Queue each running campaign's weekly summary to its owners' admins (``actions``)."""
    day = day_arg(week_start)
    queued = queue_weekly_reports(day - timedelta(days=day.weekday()))
    log.info("weekly_report: %s message(s) queued", queued)
    return queued


JOBS = (
    Job("rollup_changes", _enqueue_changes, every=1, grace=timedelta(minutes=2)),
    Job("rollup_refresh", lambda slot: rollup_refresh.enqueue().id, at_setting="FANZHA_SCHEDULE_ROLLUP"),
    Job(
        "weekly_report",
        lambda slot: weekly_report.enqueue(local_day(slot)).id,
        at_setting="FANZHA_SCHEDULE_WEEKLY_REPORT",
        weekday=0,
        grace=timedelta(days=1),
    ),
)
