"""Roster uploads hold plain ID and phone numbers: created 0600 in 0700 folders, deleted when the job
ends and a day after upload whatever became of it (security issue item 9)."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

from fanzha.core import backup
from fanzha.core import jobs as core_jobs
from fanzha.org.models import ROSTER_UPLOADS, ImportJob
from fanzha.org.roster import tasks

from .files import student, xlsx
from .test_views import DATABASE, post_file

pytestmark = pytest.mark.django_db


def test_uploads_are_created_0600_in_0700_folders(client, cast, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    settings.TASKS = DATABASE  # the job waits for a worker: its file is still there
    client.force_login(cast.school_admin)
    post_file(client, cast.uni, xlsx([student("2023009")]))
    job = ImportJob.objects.get()
    path = Path(job.file.path)
    assert path.is_file() and path.is_relative_to(tmp_path / ROSTER_UPLOADS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    folder = path.parent
    while folder != tmp_path:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        folder = folder.parent


def test_uploads_are_deleted_a_day_after_whatever_became_of_them(client, cast):
    client.force_login(cast.school_admin)
    post_file(client, cast.uni, xlsx([student("2023009")]))  # checked, never committed
    checked = ImportJob.objects.get()
    assert checked.status == ImportJob.Status.CHECKED and checked.file
    storage = storages["default"]
    orphan = storage.save(ROSTER_UPLOADS + "2026/01/orphan.csv", ContentFile(b"name,phone\n"))
    later = timezone.now() + timedelta(hours=23)
    assert tasks.purge_uploads.call(later.isoformat()) == 0  # younger than a day: kept
    assert storage.exists(checked.file.name) and storage.exists(orphan)

    much_later = timezone.now() + timedelta(days=1, minutes=1)
    post_file(client, cast.uni, xlsx([student("2023010")]))
    fresh = ImportJob.objects.exclude(pk=checked.pk).get()
    ImportJob.objects.filter(pk=fresh.pk).update(created_at=much_later)
    name = checked.file.name
    assert tasks.purge_uploads.call(much_later.isoformat()) == 2
    checked.refresh_from_db()
    assert not checked.file and not storage.exists(name) and not storage.exists(orphan)
    assert checked.status == ImportJob.Status.FAILED and "超过一天" in checked.problems[0][2]
    fresh.refresh_from_db()
    assert fresh.file and storage.exists(fresh.file.name)  # uploaded "later": kept
    page = client.get(reverse("roster_import_job", args=[checked.pk])).content.decode()
    assert "roster_import_commit" not in page and f"/roster/import/{checked.pk}/commit/" not in page
    assert "超过一天" in page
    assert core_jobs.get("purge_roster_uploads").every == 60


def test_backups_leave_roster_uploads_out_by_registration():
    """core names no app's folder; org registers its uploads' (see tests/core/test_backup.py)."""
    assert ROSTER_UPLOADS.strip("/") in backup.skipped_media()
    core = Path(backup.__file__).parent
    assert not any("roster-imports" in p.read_text() for p in core.rglob("*.py"))
