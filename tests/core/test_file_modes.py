"""What fanzha writes to disk is its own: the data directory 0700, the database and uploads 0600.

The outside test found the SQLite file (phone and ID numbers, if encrypted, and everything else in
clear) and ``media/`` readable by every account on the machine, while the keys beside them were 0600.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from fanzha.campaigns.activities import actions as activity_actions
from tests.campaigns import files

FILESYSTEM = "django.core.files.storage.FileSystemStorage"

REPORT = (
    "from pathlib import Path; from django.conf import settings; from django.db import connection; "
    "connection.ensure_connection(); "
    "db = Path(settings.DATABASES['default']['NAME']); "
    "[print(p.name, oct(p.stat().st_mode & 0o777)) for p in "
    "[settings.DATA_DIR, db, Path(f'{db}-wal'), Path(f'{db}-shm'), settings.MEDIA_ROOT] if p.exists()]"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def fanzha(data: Path, *args: str) -> str:
    """Run a ``fanzha`` command with production settings under the usual umask 022 (files 0644 by
    default): what fanzha makes private, it makes private itself."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "fanzha.settings.prod",
            "FANZHA_DATA_DIR": str(data),
            "FANZHA_TASKS_BACKEND": "immediate",
        }
    )
    for name in ("FANZHA_MEDIA_ROOT", "FANZHA_MEDIA_STORAGE", "SECRET_KEY", "FANZHA_FIELD_KEY"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "fanzha", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_fresh_installation_is_private(tmp_path):
    data = tmp_path / "data"
    fanzha(data, "migrate", "--no-input")
    assert mode(data) == 0o700
    assert mode(data / "secret_key") == 0o600 and mode(data / "field_key") == 0o600
    assert mode(data / "fanzha.sqlite3") == 0o600
    # While a connection is open the write-ahead log and its index exist: 0600 as well.
    lines = dict(line.split() for line in fanzha(data, "shell", "--no-imports", "-c", REPORT).splitlines())
    assert lines["fanzha.sqlite3"] == "0o600"
    assert lines["fanzha.sqlite3-wal"] == "0o600" and lines["fanzha.sqlite3-shm"] == "0o600"
    assert lines["data"] == "0o700"


def test_an_older_world_readable_database_and_media_are_tightened(tmp_path):
    data = tmp_path / "data"
    fanzha(data, "migrate", "--no-input")
    (data / "fanzha.sqlite3").chmod(0o644)
    (data / "media" / "evidence").mkdir(parents=True)
    (data / "media").chmod(0o755)
    lines = dict(line.split() for line in fanzha(data, "shell", "--no-imports", "-c", REPORT).splitlines())
    assert lines["fanzha.sqlite3"] == "0o600"
    assert lines["media"] == "0o700"
    assert mode(data / "fanzha.sqlite3") == 0o600


@pytest.mark.django_db
def test_an_uploaded_evidence_file_is_private(cast, settings, tmp_path):
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": FILESYSTEM}}
    old_umask = os.umask(0o022)
    try:
        activity = activity_actions.record_activity(
            unit=cast.cs2301, kind="class_meeting", occurred_on=timezone.localdate(), actor=cast.counsellor
        )
        evidence = activity_actions.add_evidence(
            activity, files.upload("记录.pdf", files.PDF), cast.counsellor
        )
    finally:
        os.umask(old_umask)
    path = Path(default_storage.path(evidence.file.name))
    assert path.is_file() and path.is_relative_to(media)
    assert mode(path) == 0o600
    directory = path.parent
    while directory != tmp_path:  # evidence/YYYY/MM/, evidence/YYYY/, evidence/, media/
        assert mode(directory) == 0o700, directory
        directory = directory.parent
