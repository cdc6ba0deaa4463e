"""The outbox's delivery task, and how a transaction that queued messages asks for it.

Delivery is driven by the outbox, not by the queue: the queue only wakes a worker up.
``request_delivery`` enqueues ``deliver_outbox`` unless one is already waiting to run by the time
asked for, so a thousand messages queued in one request make one task. A ``deliver_outbox``
run that finds due rows first leaves a successor deferred past their lease (if the worker
dies mid-send, the successor retries the rows), and at the end asks for one at the next
future ``not_before`` (back-offs, tips posted at a schedule's time). On the immediate backend
deferral is impossible; the scheduler's minute tick covers it (the job registered in
``NotifyConfig.ready``).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Min, Q
from django.utils import timezone
from django_tasks import task

from fanzha.core.jobs import Job

from .delivery import MAX_ATTEMPTS, deliver_pending, lease
from .models import Outbox

log = logging.getLogger(__name__)

DELIVERY_ROUND_SECONDS = 50  # a long delivery run hands over to a fresh task after this
RQ_DELIVERY_FLAG = "fanzha:deliver-outbox:waiting"


def _retriable() -> Q:
    return Q(status__in=[Outbox.Status.PENDING, Outbox.Status.FAILED], attempts__lt=MAX_ATTEMPTS)


@task()
def deliver_outbox() -> dict[str, int]:
    """Send every due outbox row (``notify.delivery.deliver_pending``, in rounds), then ask for the
    next run: past the lease of what this run claims, and at the next future ``not_before``."""
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


def _enqueue_delivery(slot: datetime) -> str:
    request_delivery()
    return ""


JOBS = (Job("deliver_outbox", _enqueue_delivery, every=1, grace=timedelta(minutes=2)),)
