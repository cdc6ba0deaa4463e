"""The periodic-job scheduler: a small loop that enqueues each registered job (``core.jobs``) at its times.

Each (job, slot) is a ``ScheduledRun`` row, inserted in the same transaction that enqueues the task
(on the database queue the task is a row of that very transaction). Its unique constraint is the
whole coordination: two schedulers at once, or a restart in the middle of a minute, try to insert
the same row and only one succeeds; the other enqueues nothing. With the RQ backend the enqueue
reaches Redis before the row commits; if that commit then failed, the slot could run twice,
which every job tolerates (outbox keys make them idempotent).

A slot missed while no scheduler ran is caught up once (the latest one only) if it is no older
than its job's grace; older slots are skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from . import jobs as registry
from .jobs import Job
from .models import ScheduledRun

log = logging.getLogger(__name__)

KEEP = timedelta(days=30)  # ScheduledRun rows older than this are deleted


def latest_slot(job: Job, now: datetime) -> datetime | None:
    """The job's latest slot at or before ``now`` (aware), or None when it is older than the grace."""
    local = timezone.localtime(now)
    if job.every:
        minutes = local.hour * 60 + local.minute
        minutes -= minutes % job.every
        slot = local.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)
    else:
        hour, minute = job.at()
        slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if slot > local:
            slot -= timedelta(days=1)
        if job.weekday is not None:
            slot -= timedelta(days=(slot.weekday() - job.weekday) % 7)
        # Across a daylight-saving change the wall clock time is what counts: rebuild it in the zone.
        slot = timezone.make_aware(slot.replace(tzinfo=None))
    return slot if now - slot <= job.grace else None


def enqueue_slot(job: Job, slot: datetime, check_first: bool = True) -> ScheduledRun | None:
    """Record and enqueue one slot; None when it was already taken (by this or another scheduler).

    ``check_first`` only saves a failing insert in the common case; the unique constraint decides."""
    if check_first and ScheduledRun.objects.filter(job=job.name, slot=slot).exists():
        return None
    try:
        with transaction.atomic():
            run = ScheduledRun.objects.create(job=job.name, slot=slot)
            run.task_id = str(job.enqueue(slot) or "")[:64]
            run.save(update_fields=["task_id"])
    except IntegrityError:
        return None
    log.info("scheduler: %s enqueued for %s", job.name, slot.isoformat())
    return run


def tick(now: datetime | None = None, jobs: Iterable[Job] | None = None) -> list[ScheduledRun]:
    """Enqueue every job (default: every registered one) whose latest slot is due and not yet taken;
    returns the new runs."""
    now = now or timezone.now()
    runs = []
    for job in registry.registered() if jobs is None else jobs:
        slot = latest_slot(job, now)
        if slot is None:
            continue
        try:
            run = enqueue_slot(job, slot)
        except Exception:  # one job's broken enqueue (a queue down) must not stop the others
            log.exception("scheduler: could not enqueue %s for %s", job.name, slot.isoformat())
            continue
        if run is not None:
            runs.append(run)
    if timezone.localtime(now).minute == 0:
        ScheduledRun.objects.filter(slot__lt=now - KEEP).delete()
    return runs


def run(
    stop: threading.Event,
    interval: float = 10.0,
    clock: Callable[[], datetime] = timezone.now,
) -> None:
    """Tick every ``interval`` seconds until ``stop`` is set (a database error is logged, not fatal)."""
    log.info("scheduler: started (%d jobs, every %.0f s)", len(registry.registered()), interval)
    while not stop.is_set():
        close_old_connections()
        try:
            tick(clock())
        except Exception:
            log.exception("scheduler: tick failed; trying again")
        close_old_connections()
        stop.wait(interval - (time.time() % interval) if interval > 0 else 0)
    log.info("scheduler: stopped")
