"""The campaigns' background work: every morning, keep running campaigns in step with the unit tree
and queue the reminders of obligations due (as ``fanzha send-reminders``), and, after a campaign that
counts outreach has ended, tell the head office and each branch their summary report is ready. Registered in
``CampaignsConfig.ready``."""

from __future__ import annotations

import logging

from django_tasks import task

from fanzha.core.jobs import Job, day_arg, local_day

from . import actions
from .models import Campaign
from .outreach import actions as outreach

log = logging.getLogger(__name__)


@task()
def send_reminders(today: str | None = None) -> int:
    """Sync running campaigns with the tree, then queue reminders (as ``fanzha send-reminders``)."""
    for campaign in Campaign.objects.filter(status=Campaign.Status.ACTIVE):
        actions.sync_obligations(campaign)
    day = day_arg(today)
    queued = actions.queue_reminders(day, None)
    reports = outreach.queue_reports(day)
    log.info("send_reminders: %s message(s) queued, %s report notice(s)", queued, reports)
    return queued


JOBS = (
    Job(
        "send_reminders",
        lambda slot: send_reminders.enqueue(local_day(slot)).id,
        at_setting="FANZHA_SCHEDULE_REMINDERS",
    ),
)
