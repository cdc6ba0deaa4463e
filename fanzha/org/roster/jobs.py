"""Roster imports started from the web run as background jobs (a thread of the server process),
reporting progress in their ``ImportJob`` row; the page polls it.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from .actions import ImportResult, import_roster
from .columns import Problem


def run_job(job_id: Any, commit: bool) -> None:
    """Check (dry run) or commit an ``ImportJob``'s file, keeping status, progress and outcome on the job.

    Progress is written only outside the import transaction: inside it the row would stay
    invisible until the end, and on SQLite a second writer would have to wait for the lock.
    """
    import logging

    from django.db import connection

    from ..models import ImportJob

    job = ImportJob.objects.select_related("root", "user").get(pk=job_id)
    running = ImportJob.Status.COMMITTING if commit else ImportJob.Status.CHECKING
    _retry_locked(
        lambda: ImportJob.objects.filter(pk=job.pk).update(status=running, stage="read", done=0, total=None)
    )

    def progress(stage: str, done: int, total: int | None) -> None:
        if not connection.in_atomic_block:
            _retry_locked(
                lambda: ImportJob.objects.filter(pk=job.pk).update(stage=stage, done=done, total=total)
            )

    try:
        with job.file.open("rb") as handle:
            result = import_roster(
                handle,
                job.root,
                filename=job.filename,
                size=job.size,
                dry_run=not commit,
                create_units=job.create_units,
                actor=job.user if commit else None,
                progress=progress,
            )
    except Exception:
        logging.getLogger(__name__).exception("roster import job %s failed", job.pk)
        problem = Problem(0, "-", _("导入时发生内部错误，未写入任何数据；请稍后重试或联系管理员"))
        result = ImportResult([problem], {}, problem_total=1)
        status = ImportJob.Status.FAILED
    else:
        if result.problems:
            status = ImportJob.Status.INVALID
        else:
            status = ImportJob.Status.DONE if commit else ImportJob.Status.CHECKED
    job.status = status
    job.stage = ""
    job.problems = [p.as_list() for p in result.problems]
    job.problem_count = result.problem_total
    job.summary = result.summary
    if status != ImportJob.Status.CHECKED and job.file:
        job.file.delete(save=False)  # the file holds ID and phone numbers: keep it no longer than needed
    _retry_locked(
        lambda: job.save(
            update_fields=["status", "stage", "problems", "problem_count", "summary", "file", "updated_at"]
        )
    )


def _retry_locked(write: Any, attempts: int = 100) -> Any:
    """Run a short write of the job's row, retrying while SQLite says the table is locked.

    Why: the page polls the job's row while this thread writes it. A file database waits for the
    lock by itself (busy timeout), but SQLite's shared-cache mode (the test database, some embedded
    set-ups) answers "table is locked" at once; the progress row must not be lost to that.
    """

    from django.db import OperationalError

    for attempt in range(attempts):
        try:
            return write()
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02)
    return None


def start_job(job: Any, commit: bool) -> None:
    """Run a job now when its file is small, else in a background thread once the request's data is saved.

    Why a thread and not a task queue: the project has no worker yet; an import of 100,000 rows
    takes under a minute and survives as long as the server process does (a job cut short is
    reported as interrupted, see ``views``). Switch to a Django task when workers exist.
    """
    import threading

    from django.db import connection

    inline_limit = getattr(settings, "FANZHA_IMPORT_INLINE_BYTES", 256 * 1024)
    if job.size <= inline_limit:
        run_job(job.pk, commit)
        return

    def work() -> None:
        try:
            run_job(job.pk, commit)
        finally:
            connection.close()

    def start() -> None:
        threading.Thread(target=work, name=f"roster-import-{job.pk}", daemon=True).start()

    transaction.on_commit(start)
