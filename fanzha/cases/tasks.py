"""The case ledger's background work: escalating unacknowledged stop-payment alerts and overdue freeze
requests every minute and reminding counsellors of follow-ups due every morning. Each task calls what
its cron-style command (``escalate-alerts``, ``followup-reminders``) calls; the jobs are registered in
``CasesConfig.ready``."""

from __future__ import annotations

import logging
from datetime import timedelta

from django_tasks import task

from fanzha.core.jobs import Job, day_arg, local_day, moment_arg

from .alerts.actions import escalate_due
from .clues.tasks import escalate_clues
from .followup.actions import queue_followup_reminders
from .freeze.actions import escalate_overdue

log = logging.getLogger(__name__)


@task()
def escalate_alerts(now: str | None = None) -> int:
    """Escalate unacknowledged stop-payment alerts (``alerts.actions.escalate_due``); their messages
    leave through ``notify``'s delivery, requested when they are queued."""
    count = escalate_due(moment_arg(now), delivery="off")
    if count:
        log.info("escalate_alerts: %s alert(s) escalated", count)
    return count


@task()
def escalate_freeze_requests(now: str | None = None) -> int:
    """Mark unanswered freeze, stop-payment and number-block requests past their deadline overdue and
    escalate them (``freeze.actions.escalate_overdue``); the messages leave through ``notify``."""
    count = escalate_overdue(moment_arg(now))
    if count:
        log.info("escalate_freeze_requests: %s request(s) overdue", count)
    return count


@task()
def followup_reminders(today: str | None = None) -> int:
    """Remind counsellors of follow-ups due (``followup.actions.queue_followup_reminders``)."""
    queued = queue_followup_reminders(day_arg(today))
    log.info("followup_reminders: %s message(s) queued", queued)
    return queued


JOBS = (
    Job("escalate_alerts", lambda slot: escalate_alerts.enqueue().id, every=1, grace=timedelta(minutes=2)),
    Job(
        "escalate_freeze_requests",
        lambda slot: escalate_freeze_requests.enqueue().id,
        every=1,
        grace=timedelta(minutes=2),
    ),
    Job(
        "followup_reminders",
        lambda slot: followup_reminders.enqueue(local_day(slot)).id,
        at_setting="FANZHA_SCHEDULE_REMINDERS",
    ),
    # Clues past their feedback deadline: the command centre and the receiving unit are told.
    Job("escalate_clues", lambda slot: escalate_clues.enqueue().id, every=15, grace=timedelta(minutes=30)),
)
