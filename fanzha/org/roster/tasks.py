"""The roster's background work: every upload's check and commit, and the hourly removal of uploads
older than a day.

Why here and not in ``org/tasks.py``: the roster's page enqueues the import task and the task runs
the roster, so an ``org.tasks`` module would import ``org.roster`` and be imported by it (the
import rules forbid a circle between an app's features). ``OrgConfig.ready`` registers ``JOBS``.

Imports go to the slow queue: one can take a minute, and a worker started with ``--queue default``
must not hold an alert's delivery behind it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from fanzha.core.jobs import SLOW_QUEUE, Job, moment_arg

from ..models import ImportJob
from . import jobs


@task(queue_name=SLOW_QUEUE)
def run_import(job_id: str, commit: bool) -> str:
    """Check (dry run) or commit one roster upload; status, progress and outcome go to its
    ``ImportJob`` row, which the page polls. Returns the job's final status."""
    return jobs.run_job(job_id, commit)


@task(queue_name=SLOW_QUEUE)
def purge_uploads(now: str | None = None) -> int:
    """Delete roster uploads older than a day, whatever became of their jobs; the number deleted."""
    return jobs.purge_uploads(moment_arg(now))


def _enqueue_purge(slot: datetime) -> str:
    return purge_uploads.enqueue(timezone.localtime(slot).isoformat()).id


JOBS = (Job("purge_roster_uploads", _enqueue_purge, every=60),)


def start_job(job: ImportJob, commit: bool) -> None:
    """Queue the check or the commit of ``job`` once the caller's writes are committed (the worker must
    find the row). With the immediate backend (tests, tiny installs) it runs there and then."""
    job_id = str(job.pk)
    transaction.on_commit(lambda: run_import.enqueue(job_id, commit))
