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

log = logging.getLogger(__name__)


@task(queue_name=SLOW_QUEUE)
def rollup_refresh() -> int:
    """Recompute the dashboards' counts (as ``fanzha rollup``): home units, then every campaign."""
    kpis.refresh_homes()
    campaigns = list(Campaign.objects.select_related("unit").order_by("pk"))
    for campaign in campaigns:
        kpis.rebuild(campaign)
    log.info("rollup_refresh: %s campaign(s) rebuilt", len(campaigns))
    return len(campaigns)


@task(queue_name=SLOW_QUEUE)
def weekly_report(week_start: str | None = None) -> int:
    """Queue each running campaign's weekly summary to its owners' admins (``actions``)."""
    day = day_arg(week_start)
    queued = queue_weekly_reports(day - timedelta(days=day.weekday()))
    log.info("weekly_report: %s message(s) queued", queued)
    return queued


JOBS = (
    Job("rollup_refresh", lambda slot: rollup_refresh.enqueue().id, at_setting="FANZHA_SCHEDULE_ROLLUP"),
    Job(
        "weekly_report",
        lambda slot: weekly_report.enqueue(local_day(slot)).id,
        at_setting="FANZHA_SCHEDULE_WEEKLY_REPORT",
        weekday=0,
        grace=timedelta(days=1),
    ),
)
