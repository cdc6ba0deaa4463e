"""Background jobs on the Django Tasks API, and when the periodic ones run.

Each task calls the very function its cron-style command calls (``deliver-outbox``,
``escalate-alerts``, ``send-reminders``, ``post-tips``, ``followup-reminders``, ``rollup``), so
cron and the worker stay interchangeable. Tasks take no personal data as arguments (only days
and moments), since workers log their arguments; the rows they work on carry the rest.

Delivery is driven by the outbox, not by the queue: the queue only wakes a worker up.
``request_delivery`` enqueues ``deliver_outbox`` unless one is already waiting to run by the time
asked for, so a thousand messages queued in one request make one task. A ``deliver_outbox``
run that finds due rows first leaves a successor deferred past their lease (if the worker
dies mid-send, the successor retries the rows), and at the end asks for one at the next
future ``not_before`` (back-offs, tips posted at a schedule's time). On the immediate backend
deferral is impossible; the scheduler's minute tick covers it.

Imports of the apps are inside the tasks: core sits below every app, and only runs them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Min, Q
from django.utils import timezone
from django_tasks import task

log = logging.getLogger(__name__)

SLOW_QUEUE = "slow"
DELIVERY_ROUND_SECONDS = 50  # a long delivery run hands over to a fresh task after this
RQ_DELIVERY_FLAG = "fanzha:deliver-outbox:waiting"


def _day(value: str | None) -> date:
    return date.fromisoformat(value) if value else timezone.localdate()


def _moment(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else timezone.now()


# Delivery --------------------------------------------------------------------------------------


def _retriable() -> Q:
    from fanzha.notify.delivery import MAX_ATTEMPTS
    from fanzha.notify.models import Outbox

    return Q(status__in=[Outbox.Status.PENDING, Outbox.Status.FAILED], attempts__lt=MAX_ATTEMPTS)


@task()
def deliver_outbox() -> dict[str, int]:
    """Send every due outbox row (``notify.delivery.deliver_pending``, in rounds), then ask for the
    next run: past the lease of what this run claims, and at the next future ``not_before``."""
    from fanzha.notify.delivery import deliver_pending, lease
    from fanzha.notify.models import Outbox

    _clear_rq_flag()
    started = time.monotonic()
    now = timezone.now()
    due = Outbox.objects.filter(_retriable()).filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
    if due.exists():
        # The watchdog: if this worker dies mid-send, this successor retries once the leases run out.
        request_delivery(now + lease() + timedelta(seconds=1))
    sent = failed = 0
    while True:
        result = deliver_pending(limit=100)
        sent, failed = sent + result.sent, failed + result.failed
        if not (result.sent or result.failed):
            break
        if time.monotonic() - started > DELIVERY_ROUND_SECONDS and not _immediate():
            request_delivery()  # let other tasks run in between; a fresh task carries on
            break
    now = timezone.now()
    following = Outbox.objects.filter(_retriable(), not_before__gt=now).aggregate(at=Min("not_before"))["at"]
    if following is not None:
        request_delivery(following)
    if sent or failed:
        log.info("deliver_outbox: %s sent, %s failed", sent, failed)
    return {"sent": sent, "failed": failed}


def _immediate() -> bool:
    from django_tasks.backends.immediate import ImmediateBackend

    return isinstance(deliver_outbox.get_backend(), ImmediateBackend)


def _rq_connection() -> Any:
    import django_rq

    return django_rq.get_connection("default")


def _clear_rq_flag() -> None:
    if settings.FANZHA_TASKS_BACKEND == "rq":
        _rq_connection().delete(RQ_DELIVERY_FLAG)


def _claim_request(when: datetime | None) -> bool:
    """Whether a new ``deliver_outbox`` must be enqueued to run by ``when`` (None: now)."""
    backend = deliver_outbox.get_backend()
    if settings.FANZHA_TASKS_BACKEND == "db":
        from django_tasks_db.models import DBTaskResult, get_date_max

        waiting = DBTaskResult.objects.filter(
            status="READY", task_path=deliver_outbox.module_path, backend_name=backend.alias
        ).filter(Q(run_after=get_date_max()) | Q(run_after__lte=when or timezone.now()))
        return not waiting.exists()
    if settings.FANZHA_TASKS_BACKEND == "rq":
        # The flag stands for "a run is waiting"; the run clears it before it claims any row, so a
        # row committed while the flag is up is always seen. It expires in case that run is lost.
        if when is None:
            return bool(_rq_connection().set(RQ_DELIVERY_FLAG, "1", nx=True, ex=300))
        seconds = max(1, int((when - timezone.now()).total_seconds()))
        key = f"{RQ_DELIVERY_FLAG}:{int(when.timestamp())}"
        return bool(_rq_connection().set(key, "1", nx=True, ex=seconds + 60))
    return True


def request_delivery(at: datetime | None = None) -> bool:
    """Enqueue ``deliver_outbox`` to run at ``at`` (default now) unless one waiting runs by then.

    Returns whether a task was enqueued. Call it after commit (``request_delivery_on_commit``): a
    worker must find the rows it was woken for.
    """
    when = at if at is not None and at > timezone.now() else None
    if when is not None and _immediate():
        return False
    if not _claim_request(when):
        return False
    (deliver_outbox.using(run_after=when) if when else deliver_outbox).enqueue()
    return True


class _DeliveryRequest:
    """The one on-commit callback of a transaction that queued messages: the earliest time asked."""

    def __init__(self, at: datetime | None) -> None:
        self.at = at
        self.fired = False

    def ask(self, at: datetime | None) -> None:
        if self.at is not None and (at is None or at < self.at):
            self.at = at

    def __call__(self) -> None:
        self.fired = True
        try:
            request_delivery(self.at)
        except Exception:  # the queue may be down; the scheduler's minute tick still delivers
            log.warning("could not enqueue outbox delivery; the next scheduled run sends it", exc_info=True)


def request_delivery_on_commit(at: datetime | None = None, using: str = DEFAULT_DB_ALIAS) -> None:
    """Ask for a delivery once the current transaction commits; once per transaction however many
    messages it queued."""
    connection = connections[using]
    for entry in connection.run_on_commit:  # (savepoint ids, callback, robust)
        func = entry[1]
        if isinstance(func, _DeliveryRequest) and not func.fired:
            func.ask(at)
            return
    transaction.on_commit(_DeliveryRequest(at), using=using, robust=True)


# Periodic jobs ---------------------------------------------------------------------------------


@task()
def escalate_alerts(now: str | None = None) -> int:
    """Escalate unacknowledged stop-payment alerts (``cases.alert_actions.escalate_due``); their
    messages leave through ``deliver_outbox``, requested when they are queued."""
    from fanzha.cases.alerts.actions import escalate_due

    count = escalate_due(_moment(now), delivery="off")
    if count:
        log.info("escalate_alerts: %s alert(s) escalated", count)
    return count


@task()
def send_reminders(today: str | None = None) -> int:
    """Sync running campaigns with the tree, then queue reminders (as ``fanzha send-reminders``)."""
    from fanzha.campaigns import actions
    from fanzha.campaigns.models import Campaign

    for campaign in Campaign.objects.filter(status=Campaign.Status.ACTIVE):
        actions.sync_obligations(campaign)
    queued = actions.queue_reminders(_day(today), None)
    log.info("send_reminders: %s message(s) queued", queued)
    return queued


@task()
def post_tips(day: str | None = None) -> int:
    """Queue the day's tip for every chat-group schedule (``learn.actions.post_daily_tips``)."""
    from fanzha.learn.actions import post_daily_tips

    run = post_daily_tips(_day(day))
    log.info("post_tips: %s queued, %s skipped", run.queued, len(run.skipped))
    return run.queued


@task()
def followup_reminders(today: str | None = None) -> int:
    """Remind counsellors of follow-ups due (``cases.followup_actions.queue_followup_reminders``)."""
    from fanzha.cases.followup.actions import queue_followup_reminders

    queued = queue_followup_reminders(_day(today))
    log.info("followup_reminders: %s message(s) queued", queued)
    return queued


@task(queue_name=SLOW_QUEUE)
def rollup_refresh() -> int:
    """Recompute the dashboards' counts (as ``fanzha rollup``): home units, then every campaign."""
    from fanzha.campaigns.models import Campaign
    from fanzha.reports import kpis

    kpis.refresh_homes()
    campaigns = list(Campaign.objects.select_related("unit").order_by("pk"))
    for campaign in campaigns:
        kpis.rebuild(campaign)
    log.info("rollup_refresh: %s campaign(s) rebuilt", len(campaigns))
    return len(campaigns)


@task(queue_name=SLOW_QUEUE)
def weekly_report(week_start: str | None = None) -> int:
    """Queue each running campaign's weekly summary to its owners' admins (``reports.actions``)."""
    from fanzha.reports.actions import queue_weekly_reports

    day = _day(week_start)
    queued = queue_weekly_reports(day - timedelta(days=day.weekday()))
    log.info("weekly_report: %s message(s) queued", queued)
    return queued


@task(queue_name=SLOW_QUEUE)
def housekeeping() -> dict[str, int]:
    """Daily clean-up of rows nothing reads again: expired sessions (every member sign-in makes one),
    schedule slots older than 30 days, and finished database-queue task results older than 14 days."""
    from django.contrib.sessions.models import Session
    from django.core.management import call_command

    from fanzha.core.models import ScheduledRun

    now = timezone.now()
    removed = {
        "sessions": Session.objects.filter(expire_date__lt=now).delete()[0],
        "slots": ScheduledRun.objects.filter(slot__lt=now - timedelta(days=30)).delete()[0],
    }
    if settings.FANZHA_TASKS_BACKEND == "db":
        for queue in ("default", SLOW_QUEUE):
            call_command("prune_db_task_results", queue_name=queue, min_age_days=14, verbosity=0)
    log.info("housekeeping: %s", removed)
    return removed


# The schedule ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """A periodic job: every ``every`` minutes, or daily (on ``weekday`` only, if set) at the local
    time the setting ``at_setting`` holds. A slot missed by more than ``grace`` is not caught up."""

    name: str
    enqueue: Callable[[datetime], str]  # given the slot, enqueue; the task id ("" when none was needed)
    every: int | None = None
    at_setting: str = ""
    weekday: int | None = None
    grace: timedelta = timedelta(hours=12)

    def at(self) -> tuple[int, int]:
        hours, _sep, minutes = str(getattr(settings, self.at_setting)).partition(":")
        return int(hours), int(minutes or 0)


def _local_day(slot: datetime) -> str:
    return timezone.localtime(slot).date().isoformat()


def _enqueue_delivery(slot: datetime) -> str:
    request_delivery()
    return ""


SCHEDULE: tuple[Job, ...] = (
    Job("deliver_outbox", _enqueue_delivery, every=1, grace=timedelta(minutes=2)),
    Job(
        "escalate_alerts",
        lambda slot: escalate_alerts.enqueue().id,
        every=1,
        grace=timedelta(minutes=2),
    ),
    Job("post_tips", lambda slot: post_tips.enqueue(_local_day(slot)).id, at_setting="FANZHA_SCHEDULE_TIPS"),
    Job(
        "send_reminders",
        lambda slot: send_reminders.enqueue(_local_day(slot)).id,
        at_setting="FANZHA_SCHEDULE_REMINDERS",
    ),
    Job(
        "followup_reminders",
        lambda slot: followup_reminders.enqueue(_local_day(slot)).id,
        at_setting="FANZHA_SCHEDULE_REMINDERS",
    ),
    Job("rollup_refresh", lambda slot: rollup_refresh.enqueue().id, at_setting="FANZHA_SCHEDULE_ROLLUP"),
    Job("housekeeping", lambda slot: housekeeping.enqueue().id, at_setting="FANZHA_SCHEDULE_HOUSEKEEPING"),
    Job(
        "weekly_report",
        lambda slot: weekly_report.enqueue(_local_day(slot)).id,
        at_setting="FANZHA_SCHEDULE_WEEKLY_REPORT",
        weekday=0,
        grace=timedelta(days=1),
    ),
)
