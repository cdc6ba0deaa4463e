"""Roster uploads as jobs: every check (dry run) and commit runs on the task queue (``tasks.run_import``),
never in the request, reporting progress in its ``ImportJob`` row; the page polls it.

The uploaded file holds ID and phone numbers, so it lives no longer than needed: deleted when the
job is committed, found invalid or failed, and by ``purge_uploads`` (hourly) a day after upload
whatever became of the job.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import ROSTER_UPLOADS, ImportJob
from .actions import ImportResult, import_roster
from .columns import Problem

log = logging.getLogger(__name__)

UPLOAD_LIFETIME = timedelta(days=1)  # an upload is deleted this long after it came, whatever its state
QUEUE_PATIENCE = timedelta(hours=1)  # a job no worker started within this is given up
STALE_AFTER = timedelta(minutes=15)  # a running job not heard from for this long was cut short
_KEEP_FILE = {ImportJob.Status.CHECKED, ImportJob.Status.ENCODING}  # the file is needed again


def run_job(job_id: Any, commit: bool) -> str:
    """Check (dry run) or commit an ``ImportJob``'s file, keeping status, progress and outcome on the job.

    The job is claimed first (queued → checking, or a commit not yet started → started), so a task
    run twice, or run after the page gave the job up, does nothing. Progress is written only outside
    the import transaction: inside it the row would stay invisible until the end, and on SQLite a
    second writer would have to wait for the lock. Returns the job's final status.
    """
    job = ImportJob.objects.select_related("root", "user").filter(pk=job_id).first()
    if job is None:
        return "missing"
    waiting = ImportJob.Status.COMMITTING if commit else ImportJob.Status.QUEUED
    running = ImportJob.Status.COMMITTING if commit else ImportJob.Status.CHECKING
    claimed = _retry_locked(
        lambda: ImportJob.objects.filter(pk=job.pk, status=waiting, stage="").update(
            status=running, stage="read", done=0, total=None, updated_at=timezone.now()
        )
    )
    if not claimed:
        job.refresh_from_db()
        return str(job.status)

    def progress(stage: str, done: int, total: int | None) -> None:
        if not connection.in_atomic_block:
            _retry_locked(
                lambda: ImportJob.objects.filter(pk=job.pk).update(
                    stage=stage, done=done, total=total, updated_at=timezone.now()
                )
            )

    result = _import(job, commit, progress)
    if result.encodings:
        status = ImportJob.Status.ENCODING
    elif result.problems:
        status = ImportJob.Status.FAILED if result.crashed else ImportJob.Status.INVALID
    else:
        status = ImportJob.Status.DONE if commit else ImportJob.Status.CHECKED
    job.status = status
    job.stage = ""
    job.problems = [p.as_list() for p in result.problems]
    job.problem_count = result.problem_total
    job.summary = result.summary
    if status not in _KEEP_FILE:
        _delete_file(job)
    _retry_locked(
        lambda: job.save(
            update_fields=["status", "stage", "problems", "problem_count", "summary", "file", "updated_at"]
        )
    )
    return str(status)


def _import(job: ImportJob, commit: bool, progress: Any) -> ImportResult:
    if not job.file:
        message = _("上传的文件已删除（超过一天未确认导入），未写入任何数据；请重新上传")
        return ImportResult([Problem(0, "-", message)], {}, problem_total=1, crashed=True)
    try:
        with job.file.open("rb") as handle:
            return import_roster(
                handle,
                job.root,
                filename=job.filename,
                size=job.size,
                dry_run=not commit,
                create_units=job.create_units,
                actor=job.user if commit else None,
                progress=progress,
                encoding=job.encoding or None,
            )
    except Exception:
        log.exception("roster import job %s failed", job.pk)
        problem = Problem(0, "-", _("导入时发生内部错误，未写入任何数据；请稍后重试或联系管理员"))
        return ImportResult([problem], {}, problem_total=1, crashed=True)


def _delete_file(job: ImportJob) -> None:
    """Delete the job's upload (the field is cleared; the caller saves the row)."""
    if job.file:
        try:
            job.file.delete(save=False)
        except OSError:  # already gone; the hourly purge retries any leftover
            log.warning("could not delete the upload of roster import job %s", job.pk)
            job.file.name = None


def _retry_locked(write: Any, attempts: int = 100) -> Any:
    """Run a short write of the job's row, retrying while SQLite says the table is locked.

    Why: the page polls the job's row while the worker writes it. A file database waits for the
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


def _give_up(job: ImportJob, message: str) -> None:
    job.status = ImportJob.Status.FAILED
    job.stage = ""
    job.problems = [[0, "-", message]]
    job.problem_count = 1
    _delete_file(job)
    job.save(update_fields=["status", "stage", "problems", "problem_count", "file", "updated_at"])


def expire_if_stale(job: ImportJob, now: datetime | None = None) -> bool:
    """Give up a job that no worker started within ``QUEUE_PATIENCE``, or that stopped reporting progress
    for ``STALE_AFTER`` (the worker died); its file is deleted. Whether the job was given up."""
    if not job.is_running:
        return False
    idle = (now or timezone.now()) - job.updated_at
    if not job.stage and idle > QUEUE_PATIENCE:
        message = _(
            "后台任务一小时内没有开始处理此文件（请管理员确认后台任务进程在运行），未写入任何数据；"
            "请稍后重新上传"
        )
    elif job.stage and idle > STALE_AFTER:
        message = _("处理被中断（服务器可能已重启），未写入任何数据；请重新上传")
    else:
        return False
    _give_up(job, message)
    return True


def choose_encoding(job: ImportJob, encoding: str) -> None:
    """Record the uploader's choice of a CSV's encoding and queue the check again (``tasks.start_job``)."""
    job.encoding = encoding
    job.status = ImportJob.Status.QUEUED
    job.stage = ""
    job.problems = []
    job.problem_count = 0
    job.save(update_fields=["encoding", "status", "stage", "problems", "problem_count", "updated_at"])


def purge_uploads(now: datetime) -> int:
    """Delete every roster upload older than ``UPLOAD_LIFETIME``: those of jobs (a job never committed
    is given up) and any file in the folder that no job holds (a job deleted, a crash between saving
    the file and the row). Returns how many files were deleted."""
    cutoff = now - UPLOAD_LIFETIME
    deleted = 0
    message = _("上传的文件已删除（超过一天未确认导入），未写入任何数据；请重新上传")
    for job in ImportJob.objects.filter(created_at__lt=cutoff).exclude(file=""):
        if job.is_running or job.status in _KEEP_FILE:
            _give_up(job, message)
        else:
            _delete_file(job)
            job.save(update_fields=["file", "updated_at"])
        deleted += 1
    storage = ImportJob._meta.get_field("file").storage  # type: ignore[union-attr]
    held = set(ImportJob.objects.exclude(file="").values_list("file", flat=True))
    for name in _files_below(storage, ROSTER_UPLOADS.rstrip("/")):
        if name in held:
            continue
        try:
            old = storage.get_modified_time(name) < cutoff
        except (NotImplementedError, OSError):
            old = True
        if old:
            storage.delete(name)
            deleted += 1
    if deleted:
        log.info("purge_roster_uploads: %s files deleted", deleted)
    return deleted


def _files_below(storage: Any, folder: str) -> list[str]:
    """Every file name under ``folder`` of ``storage``, recursively (empty when the folder is missing)."""
    try:
        folders, files = storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    names = [f"{folder}/{name}" for name in files]
    for sub in folders:
        names += _files_below(storage, f"{folder}/{sub}")
    return names
