"""Core's own background work: the daily housekeeping of rows nothing reads again.

Every other task lives in the app that owns it (``<app>/tasks.py``) and is scheduled through the
registry in ``core.jobs``; core knows none of them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from django_tasks import task

from . import ratelimit
from .jobs import SLOW_QUEUE, Job
from .models import ScheduledRun

log = logging.getLogger(__name__)


@task(queue_name=SLOW_QUEUE)
def housekeeping() -> dict[str, int]:
    """Daily clean-up of rows nothing reads again: expired sessions (every member sign-in makes one),
    schedule slots older than 30 days, rate-limit windows that have ended, and finished
    database-queue task results older than 14 days."""
    now = timezone.now()
    removed = {
        "sessions": Session.objects.filter(expire_date__lt=now).delete()[0],
        "slots": ScheduledRun.objects.filter(slot__lt=now - timedelta(days=30)).delete()[0],
        "rate_counters": ratelimit.purge_expired(int(now.timestamp())),
    }
    if settings.FANZHA_TASKS_BACKEND == "db":
        for queue in ("default", SLOW_QUEUE):
            call_command("prune_db_task_results", queue_name=queue, min_age_days=14, verbosity=0)
    log.info("housekeeping: %s", removed)
    return removed


def _enqueue_housekeeping(slot: datetime) -> str:
    return housekeeping.enqueue().id


JOBS = (Job("housekeeping", _enqueue_housekeeping, at_setting="FANZHA_SCHEDULE_HOUSEKEEPING"),)
