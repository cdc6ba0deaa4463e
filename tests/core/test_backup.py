"""``fanzha backup`` and ``fanzha restore``: a world restored into an empty installation is identical.

The round trips run the real commands in subprocesses against a file database (pytest-django's
SQLite test database lives in memory), seeded by this module's ``seed`` with real actions: the cast,
a case with an attachment, an activity with an evidence file. Every table is compared by row count
and a checksum of its rows, every uploaded file byte for byte. The checks on bad input run in
process against archives built here.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from fanzha.core import backup
from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
# The test settings' key, so that archives built in process match the subprocesses' installations.
KEY = "test-field-key-not-secret"
SCRIPT = """
import json, sys
import django
django.setup()
from tests.core import test_backup
if sys.argv[1] == "seed":
    test_backup.seed()
print(json.dumps(test_backup.digest()))
"""


# Run in the subprocesses -----------------------------------------------------------------------


def seed() -> None:
    """Migrate and build a small world with real actions, uploaded files included."""
    from fanzha.campaigns.activities.actions import record_activity
    from fanzha.cases.actions import report_case
    from tests.campaigns.files import jpeg, png, upload
    from tests.cases.conftest import intake
    from tests.conftest import build_cast

    call_command("migrate", interactive=False, verbosity=0)
    cast = build_cast()
    report_case(
        intake(cast.cs2301, cast.student),
        cast.counsellor,
        attachments=[upload("聊天记录.jpg", jpeg(), "image/jpeg")],
    )
    record_activity(
        unit=cast.cs2301,
        kind="class_meeting",
        occurred_on=timezone.localdate(),
        actor=cast.counsellor,
        summary="观看防骗视频并讨论。",
        files=[upload("合影.png", png(), "image/png")],
    )


def digest() -> dict[str, Any]:
    """Per table: row count and a checksum of the rows; and the id sequences' positions."""
    result: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names()):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = sorted(
                repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
                for row in cursor.fetchall()
            )
            result[table] = [len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()]
        if connection.vendor == "postgresql":
            cursor.execute("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")
        else:
            cursor.execute("SELECT name, seq FROM sqlite_sequence ORDER BY 1")
        result["<sequences>"] = [list(row) for row in cursor.fetchall()]
    return result


# Helpers ---------------------------------------------------------------------------------------


def _env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    drop = {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "FANZHA_MEDIA_STORAGE", "FANZHA_MEDIA_ROOT"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        FANZHA_DATA_DIR=str(data_dir),
        FANZHA_FIELD_KEY=KEY,
        FANZHA_ALERT_DELIVERY="off",
        DJANGO_SETTINGS_MODULE="fanzha.settings.dev",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _fanzha(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fanzha", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _script(env: dict[str, str], mode: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _media(data_dir: Path) -> dict[str, bytes]:
    root = data_dir / "media"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _roundtrip(tmp_path: Path, source_url: str | None = None, target_url: str | None = None) -> Path:
    """Seed, back up, restore into an empty installation, compare; returns the archive."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    source = _script(_env(src, source_url), "seed")
    assert source["cases_case"][0] == 1 and source["cases_attachment"][0] == 1
    assert source["campaigns_evidence"][0] == 1 and source["org_person"][0] > 5
    media = _media(src)
    assert len(media) == 2, media.keys()

    archive = tmp_path / "backup.tar.gz"
    made = _fanzha(_env(src, source_url), "backup", "-o", str(archive))
    assert made.returncode == 0, made.stderr
    assert "FANZHA_FIELD_KEY is NOT in this backup" in made.stderr
    members = _members(archive)
    assert next(iter(members)) == backup.MANIFEST
    assert {name for name in members if name.startswith("media/")} == {f"media/{n}" for n in media}
    secret_key = (src / "secret_key").read_bytes()
    assert not any(KEY.encode() in data or secret_key in data for data in members.values())
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    restored = _fanzha(_env(dst, target_url), "restore", str(archive))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert _script(_env(dst, target_url), "digest") == source
    assert _media(dst) == media
    return archive


# Round trips -----------------------------------------------------------------------------------


def test_sqlite_round_trip_refusals_and_older_schema(tmp_path):
    archive = _roundtrip(tmp_path)
    src, dst = tmp_path / "src", tmp_path / "dst"
    database = dst / "fanzha.sqlite3"
    # Restored files are as private as new ones: the database and uploads 0600, their folders 0700.
    assert oct(database.stat().st_mode & 0o777) == "0o600"
    for path in (dst / "media").rglob("*"):
        assert oct(path.stat().st_mode & 0o777) == ("0o700" if path.is_dir() else "0o600"), path
    before = database.read_bytes()

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    broken = _fanzha(_env(dst), "restore", "--yes", str(truncated))
    assert broken.returncode == 2 and "truncated" in broken.stderr, broken.stderr

    tampered = tmp_path / "tampered.tar.gz"
    members = _members(archive)
    db = bytearray(members[backup.SQLITE_MEMBER])
    db[-1] ^= 0xFF
    _write(tampered, {**members, backup.SQLITE_MEMBER: bytes(db)})
    refused = _fanzha(_env(dst), "restore", "--yes", str(tampered))
    assert refused.returncode == 2 and "checksum" in refused.stderr, refused.stderr
    assert database.read_bytes() == before  # nothing written by a failed restore

    # A backup of an older schema: restored over the data in use (--yes), then migrated.
    assert _fanzha(_env(src), "migrate", "org", "0003", "--no-input", "-v0").returncode == 0
    older = tmp_path / "older.tar.gz"
    assert _fanzha(_env(src), "backup", "-o", str(older)).returncode == 0
    restored = _fanzha(_env(dst), "restore", "--yes", str(older))
    assert restored.returncode == 0, restored.stderr
    assert "applying" in restored.stdout
    check = _fanzha(_env(dst), "migrate", "--check")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.postgres
def test_postgresql_round_trip(tmp_path):
    url = os.environ.get("FANZHA_TEST_POSTGRES_URL")
    if not url:
        skip_or_fail("FANZHA_TEST_POSTGRES_URL is not set (no PostgreSQL server)")
    import psycopg

    suffix = secrets.token_hex(4)
    names = [f"fanzha_backup_src_{suffix}", f"fanzha_backup_dst_{suffix}"]
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            source, target = (urlunsplit(parts._replace(path=f"/{name}")) for name in names)
            _roundtrip(tmp_path, source, target)
        finally:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Bad input, in process -------------------------------------------------------------------------


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _manifest(**changes: Any) -> dict[str, Any]:
    data = b"not really a database"
    member = backup.SQLITE_MEMBER if connection.vendor == "sqlite" else backup.PG_MEMBER
    manifest = {
        "format": backup.FORMAT,
        "format_version": backup.FORMAT_VERSION,
        "fanzha_version": "0.1.0",
        "created_at": "2026-01-01T00:00:00+00:00",
        "database": {"vendor": connection.vendor, "file": member},
        "migrations": backup.applied_migrations(),
        "field_key_fingerprint": backup.key_fingerprint(KEY),
        "media": {"included": True, "storage": "filesystem"},
        "files": [{"name": member, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}],
    }
    manifest.update(changes)
    return manifest


def _archive(tmp_path: Path, manifest: dict[str, Any], extra: dict[str, bytes] | None = None) -> Path:
    member = manifest["database"]["file"]
    members = {backup.MANIFEST: json.dumps(manifest).encode(), member: b"not really a database"}
    return _write(tmp_path / "synthetic.tar.gz", {**members, **(extra or {})})


def _restore_error(path: Path, *args: str) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("restore", str(path), *args)
    assert caught.value.returncode == 2
    return str(caught.value)


def test_key_fingerprint_tells_keys_apart_without_revealing_them():
    fingerprint = backup.key_fingerprint("the-key")
    assert "the-key" not in fingerprint
    assert backup.key_matches(fingerprint, "the-key")
    assert not backup.key_matches(fingerprint, "another-key")
    assert not backup.key_matches("garbage", "the-key")
    assert backup.key_fingerprint("the-key") != fingerprint  # salted


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", "no such file"),
        ("text", "not a fanzha backup"),
        ("gzip", "not a fanzha backup"),
        ("no_manifest", "no manifest"),
        ("bad_json", "manifest is not JSON"),
        ("other_format", "unknown manifest"),
        ("future_format", "newer than this fanzha"),
        ("incomplete", "incomplete manifest"),
        ("unsafe_name", "unsafe file name"),
        ("other_vendor", "restore it into the same kind of database"),
        ("newer_schema", "made by a newer fanzha"),
    ],
)
def test_restore_rejects_bad_input(tmp_path, case, expected):
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    path = tmp_path / "input.tar.gz"
    if case == "text":
        path.write_text("hello")
    elif case == "gzip":
        import gzip

        path.write_bytes(gzip.compress(b"just some text, not a tar archive" * 40))
    elif case == "no_manifest":
        _write(path, {"database/fanzha.sqlite3": b"x"})
    elif case == "bad_json":
        _write(path, {backup.MANIFEST: b"{not json"})
    elif case == "other_format":
        path = _archive(tmp_path, _manifest(format="something-else"))
    elif case == "future_format":
        path = _archive(tmp_path, _manifest(format_version=backup.FORMAT_VERSION + 1))
    elif case == "incomplete":
        path = _archive(tmp_path, _manifest(migrations=None))
    elif case == "unsafe_name":
        manifest = _manifest()
        manifest["files"].append({"name": "media/../../etc/cron.d/x", "size": 1, "sha256": "0" * 64})
        path = _archive(tmp_path, manifest)
    elif case == "other_vendor":
        member = backup.SQLITE_MEMBER if other == "sqlite" else backup.PG_MEMBER
        path = _archive(tmp_path, _manifest(database={"vendor": other, "file": member}))
    elif case == "newer_schema":
        migrations = backup.applied_migrations()
        migrations["org"] = [*migrations["org"], "9999_from_the_future"]
        path = _archive(tmp_path, _manifest(migrations=migrations))
    assert expected in _restore_error(path)


def test_restore_refuses_another_field_key(db, tmp_path):
    path = _archive(tmp_path, _manifest(field_key_fingerprint=backup.key_fingerprint("some other key")))
    assert "different FANZHA_FIELD_KEY" in _restore_error(path)


def test_restore_refuses_a_database_in_use(cast, tmp_path):
    path = _archive(tmp_path, _manifest())
    assert "not empty" in _restore_error(path)


def test_roster_uploads_are_left_out_of_backups(tmp_path):
    """Roster uploads hold plain ID and phone numbers and live a day: org has backups skip their folder
    (``backup.skip_media`` in ``OrgConfig.ready``); every other upload is in the archive."""
    src = tmp_path / "src"
    env = _env(src)
    assert _fanzha(env, "migrate", "-v", "0").returncode == 0
    roster = src / "media" / "roster-imports" / "2026" / "01" / "upload.csv"
    roster.parent.mkdir(parents=True)
    roster.write_text("姓名,手机号,身份证号\n张三,13800138000,110101200503010011\n")
    photo = src / "media" / "evidence" / "2026" / "01" / "photo.png"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\x89PNG\r\n\x1a\n")
    archive = tmp_path / "backup.tar.gz"
    made = _fanzha(env, "backup", "-o", str(archive))
    assert made.returncode == 0, made.stderr
    members = _members(archive)
    assert "media/evidence/2026/01/photo.png" in members
    assert not [name for name in members if "roster-imports" in name]
    assert not any(b"13800138000" in data for data in members.values())


@pytest.mark.django_db
def test_backup_refuses_to_leave_out_external_uploads_silently(tmp_path, monkeypatch):
    # The test settings keep uploads in memory: not the file system, like an S3 bucket.
    with pytest.raises(CommandError) as caught:
        call_command("backup", "-o", str(tmp_path))
    assert caught.value.returncode == 2 and "--no-media" in str(caught.value)
    monkeypatch.setenv("FANZHA_MEDIA_STORAGE", "s3")
    assert backup.media_storage() is None
    assert not list(tmp_path.iterdir())
