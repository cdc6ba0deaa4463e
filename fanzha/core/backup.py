"""Backups of a whole installation: the database and the uploaded files in one ``.tar.gz``.

Why one archive with a manifest: an operator restoring after a disk failure must be able to tell
that a file is a complete fanzha backup, made of which schema, with which field key, before anything
is overwritten. The archive holds, in this order:

``manifest.json``
    format, fanzha and Django versions, database vendor, the applied migrations per app, the
    creation time, a fingerprint of ``FANZHA_FIELD_KEY`` and every file below with its size and
    sha256. It is the first member, so a restore checks it without reading the rest.
``database/fanzha.sqlite3`` or ``database/fanzha.pgdump``
    a consistent snapshot taken while the server runs: SQLite's online backup API, or
    ``pg_dump -Fc``.
``media/…``
    every uploaded file under ``MEDIA_ROOT`` (file-system storage only), except the folders apps
    leave out with ``skip_media`` (short-lived uploads holding personal data).

The field key and the secret key are never in the archive: a stolen backup then reveals no ID or
phone number. The key must be kept separately; the fingerprint lets a restore refuse a wrong key
before it replaces a database whose encrypted fields would become unreadable.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

import django
from django.apps import apps
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.core.management import call_command
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

import fanzha

from .private import make_dirs

FORMAT = "fanzha-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/fanzha.sqlite3"
PG_MEMBER = "database/fanzha.pgdump"
MEDIA_PREFIX = "media/"
CHUNK = 1024 * 1024
KEY_ITERATIONS = 200_000
# Tables filled by ``migrate`` itself: rows there do not make a database "in use".
SCHEMA_ONLY_MODELS = {"contenttypes.contenttype", "auth.permission"}

Log = Callable[[str], None]


class BackupError(Exception):
    """A bad input or a refused operation; the commands print the message and exit with ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Entry:
    """One file of the archive as the manifest lists it."""

    name: str
    size: int
    sha256: str


@dataclass
class Plan:
    """What a backup will write: the database snapshot and the media files, hashed."""

    database: Entry
    database_file: Path
    media: list[tuple[Entry, Path]] = field(default_factory=list)


# Field key fingerprint -------------------------------------------------------------------------


def key_fingerprint(key: str, salt: str | None = None) -> str:
    """A salted, slow hash of the field key: enough to tell two keys apart, useless to recover one."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", key.encode(), bytes.fromhex(salt), KEY_ITERATIONS).hex()
    return f"pbkdf2_sha256${KEY_ITERATIONS}${salt}${digest}"


def key_matches(fingerprint: str, key: str) -> bool:
    """Whether ``key`` is the key that ``fingerprint`` was made from."""
    try:
        algorithm, iterations, salt, digest = fingerprint.split("$")
        if algorithm != "pbkdf2_sha256":
            return False
        computed = hashlib.pbkdf2_hmac("sha256", key.encode(), bytes.fromhex(salt), int(iterations)).hex()
    except ValueError:
        return False
    return hmac.compare_digest(computed, digest)


# Helpers ---------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _vendor() -> str:
    if connection.vendor not in {"sqlite", "postgresql"}:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {connection.vendor}")
    return connection.vendor


def _sqlite_path() -> Path:
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name:
        raise BackupError("the database is in memory: nothing to back up")
    return Path(name)


def media_storage() -> FileSystemStorage | None:
    """The uploads' storage when it is the file system (then backed up), else None (S3 and the like)."""
    if os.environ.get("FANZHA_MEDIA_STORAGE", "").strip().lower() not in {"", "file", "filesystem"}:
        return None
    storage = storages["default"]
    return storage if isinstance(storage, FileSystemStorage) else None


_skipped_media: set[str] = set()


def skip_media(*folders: str) -> None:
    """Leave the files under these folders of ``MEDIA_ROOT`` (relative, e.g. ``"uploads-tmp/"``) out of
    every backup. Apps call it from their ``AppConfig.ready()`` for short-lived uploads that hold
    personal data and that nothing needs after a restore; core names no app's folder itself."""
    for folder in folders:
        clean = PurePosixPath(folder.strip("/"))
        if not folder.strip("/") or clean.is_absolute() or ".." in clean.parts:
            raise ValueError(f"not a folder inside MEDIA_ROOT: {folder!r}")
        _skipped_media.add(clean.as_posix())


def skipped_media() -> tuple[str, ...]:
    """The folders of ``MEDIA_ROOT`` that backups leave out (``skip_media``), sorted."""
    return tuple(sorted(_skipped_media))


def _private_paths() -> set[Path]:
    """Files that must never go into an archive even if MEDIA_ROOT is set to hold them."""
    data = Path(settings.DATA_DIR)
    paths = {data / "field_key", data / "secret_key"}
    if connection.vendor == "sqlite":
        db = _sqlite_path()
        paths |= {db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")}
    return {p.resolve() for p in paths}


def _media_files(root: Path, skip_dirs: set[Path]) -> Iterator[tuple[str, Path]]:
    """(archive-relative name, path) of every regular file under ``root``, sorted, secrets left out."""
    if not root.is_dir():
        return
    private = _private_paths()
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if (here / d).resolve() not in skip_dirs)
        for name in sorted(filenames):
            path = here / name
            if path.is_symlink() or not path.is_file() or path.resolve() in private:
                continue
            yield path.relative_to(root).as_posix(), path


def applied_migrations() -> dict[str, list[str]]:
    """The applied migrations of the current database, per app (names sorted)."""
    result: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        result.setdefault(app, []).append(name)
    return result


# PostgreSQL tools ------------------------------------------------------------------------------


def find_pg_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: from PATH, else the newest in /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.split("/")[-3]) or [0])

    for path in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version, reverse=True):
        if os.access(path, os.X_OK):
            return path
    raise BackupError(
        f"{name} not found (looked in PATH and /usr/lib/postgresql/*/bin): install the PostgreSQL "
        "client tools of the server's version (Debian: apt-get install postgresql-client)",
        code=1,
    )


def pg_environ() -> dict[str, str]:
    """libpq environment for the default database. The password goes in PGPASSWORD, never in argv.

    The rest of the environment stays: what the URL leaves out (a socket directory, ~/.pgpass, a
    service file) libpq takes from it, as it does for the server's own connections.
    """
    s = connection.settings_dict
    env = dict(os.environ)
    values = {
        "PGHOST": s.get("HOST") or "",
        "PGPORT": str(s.get("PORT") or ""),
        "PGUSER": s.get("USER") or "",
        "PGPASSWORD": s.get("PASSWORD") or "",
        "PGDATABASE": s.get("NAME") or "",
    }
    options = s.get("OPTIONS") or {}
    for option, variable in {
        "sslmode": "PGSSLMODE",
        "sslrootcert": "PGSSLROOTCERT",
        "sslcert": "PGSSLCERT",
        "sslkey": "PGSSLKEY",
        "options": "PGOPTIONS",
    }.items():
        if options.get(option):
            values[variable] = str(options[option])
    env.update({k: v for k, v in values.items() if v})
    return env


def _run_pg(command: list[str], what: str) -> None:
    proc = subprocess.run(command, env=pg_environ(), capture_output=True, text=True)
    if proc.returncode != 0:
        detail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise BackupError(f"{what} failed (exit {proc.returncode}):\n{detail}", code=1)


# Backup ----------------------------------------------------------------------------------------


def default_backup_path(now: datetime | None = None) -> Path:
    """``$FANZHA_DATA_DIR/backups/fanzha-YYYYmmdd-HHMMSS.tar.gz`` (local time)."""
    now = now or datetime.now()
    return Path(settings.DATA_DIR) / "backups" / f"fanzha-{now:%Y%m%d-%H%M%S}.tar.gz"


def _snapshot_database(workdir: Path, log: Log) -> tuple[str, Path]:
    """Copy the database into ``workdir`` consistently while the server keeps running."""
    vendor = _vendor()
    if vendor == "sqlite":
        source_path = _sqlite_path()
        if not source_path.exists():
            raise BackupError(f"no database at {source_path}: run `fanzha migrate` first")
        target_path = workdir / "fanzha.sqlite3"
        log(f"backing up the SQLite database {source_path} (online backup API) …")
        source = sqlite3.connect(source_path, timeout=60)
        target = sqlite3.connect(target_path)
        try:
            source.backup(target)
            # One self-contained file: the restored database switches back to WAL when opened.
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
            source.close()
        return SQLITE_MEMBER, target_path
    target_path = workdir / "fanzha.pgdump"
    name = connection.settings_dict["NAME"]
    log(f"backing up the PostgreSQL database {name} (pg_dump -Fc) …")
    _run_pg([find_pg_tool("pg_dump"), "-Fc", "--file", str(target_path)], "pg_dump")
    return PG_MEMBER, target_path


def _manifest(plan: Plan, vendor: str, media: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fanzha_version": fanzha.__version__,
        "django_version": django.get_version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"vendor": vendor, "file": plan.database.name},
        "migrations": applied_migrations(),
        "field_key_fingerprint": key_fingerprint(settings.FANZHA_FIELD_KEY),
        "media": media,
        "files": [e.__dict__ for e in [plan.database, *[m[0] for m in plan.media]]],
    }


def _add_file(tar: tarfile.TarFile, entry: Entry, path: Path) -> None:
    info = tarfile.TarInfo(entry.name)
    info.size = entry.size
    info.mtime = int(path.stat().st_mtime)
    info.mode = 0o600
    with path.open("rb") as f:
        tar.addfile(info, f)


def create_backup(
    output: Path | None = None, *, include_media: bool = True, log: Log = print, warn: Log = print
) -> Path:
    """Write a backup archive and return its path (a directory ``output`` gets the default file name).

    The archive is written under a temporary name and renamed at the end, so a file with the final
    name is always complete. It is readable by its owner only: it holds personal data.
    """
    vendor = _vendor()
    storage = media_storage()
    if include_media and storage is None:
        raise BackupError(
            "uploaded files are not on the file system (FANZHA_MEDIA_STORAGE / STORAGES['default']), so "
            "this backup cannot include them: back up the bucket with the store's own tools, then run "
            "`fanzha backup --no-media`"
        )
    if output is None:
        output = default_backup_path()
    elif output.is_dir():
        output = output / default_backup_path().name
    output = output.resolve()
    make_dirs(output.parent)  # the folders it creates are 0700 (core/private.py)

    with tempfile.TemporaryDirectory(prefix=".fanzha-backup-", dir=output.parent) as tmp:
        workdir = Path(tmp)
        member, db_file = _snapshot_database(workdir, log)
        plan = Plan(Entry(member, db_file.stat().st_size, _sha256_file(db_file)), db_file)
        media_info: dict[str, Any] = {"included": False, "storage": "none"}
        if include_media and storage is not None:
            root = Path(storage.location).resolve()
            skip = {output.parent, Path(settings.DATA_DIR).resolve() / "backups"}
            skip |= {(root / folder).resolve() for folder in skipped_media()}
            for name, path in _media_files(root, skip):
                plan.media.append((Entry(MEDIA_PREFIX + name, path.stat().st_size, _sha256_file(path)), path))
            media_info = {"included": True, "storage": "filesystem"}
            total = sum(e.size for e, _ in plan.media)
            log(f"adding {len(plan.media)} uploaded files ({_human(total)}) from {root} …")
        elif storage is None:
            media_info = {"included": False, "storage": "external"}
            warn("uploaded files are not included (--no-media, external storage): back them up separately")
        else:
            warn("uploaded files are not included (--no-media)")

        partial = workdir / "archive.tar.gz"
        with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
            data = json.dumps(_manifest(plan, vendor, media_info), ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(datetime.now().timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            _add_file(tar, plan.database, plan.database_file)
            for entry, path in plan.media:
                try:
                    _add_file(tar, entry, path)
                except FileNotFoundError as exc:
                    raise BackupError(f"{entry.name} vanished during the backup: run it again", 1) from exc
        partial.chmod(0o600)
        os.replace(partial, output)
    log(f"wrote {output} ({_human(output.stat().st_size)})")
    warn(
        "FANZHA_FIELD_KEY is NOT in this backup. Keep a copy of it (the FANZHA_FIELD_KEY variable or "
        f"{Path(settings.DATA_DIR) / 'field_key'}) somewhere safe and apart from the backups: without it "
        "the ID and phone numbers in the backup can never be read."
    )
    return output


# Restore ---------------------------------------------------------------------------------------


def _corrupt(archive: Path, exc: BaseException) -> BackupError:
    return BackupError(f"{archive}: corrupt or truncated archive ({exc.__class__.__name__}: {exc})")


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest of a backup archive; BackupError when it is missing, not a backup, or unreadable."""
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    try:
        with tarfile.open(archive, "r|gz") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupError(f"{archive}: not a fanzha backup (no manifest)")
            f = tar.extractfile(first)
            manifest = json.loads(f.read()) if f else None
    except (tarfile.ReadError, gzip.BadGzipFile) as exc:
        raise BackupError(f"{archive}: not a fanzha backup (not a readable .tar.gz archive)") from exc
    except (EOFError, tarfile.TarError, zlib.error) as exc:
        raise _corrupt(archive, exc) from exc
    except ValueError as exc:
        raise BackupError(f"{archive}: not a fanzha backup (manifest is not JSON)") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive}: not a fanzha backup (unknown manifest)")
    if not isinstance(manifest.get("format_version"), int) or manifest["format_version"] > FORMAT_VERSION:
        version = manifest.get("format_version")
        raise BackupError(f"{archive}: backup format {version} is newer than this fanzha")
    try:
        files = [Entry(str(f["name"]), int(f["size"]), str(f["sha256"])) for f in manifest["files"]]
        vendor, migrations = manifest["database"]["vendor"], manifest["migrations"]
        complete = isinstance(vendor, str) and isinstance(migrations, dict)
    except (KeyError, TypeError, ValueError) as exc:
        raise BackupError(f"{archive}: not a fanzha backup (incomplete manifest)") from exc
    if not complete:
        raise BackupError(f"{archive}: not a fanzha backup (incomplete manifest)")
    for entry in files:
        if not _safe_name(entry.name):
            raise BackupError(f"{archive}: unsafe file name in the manifest: {entry.name!r}")
    manifest["entries"] = {e.name: e for e in files}
    return manifest


def _safe_name(name: str) -> bool:
    """A database member, or a relative path below ``media/`` with no ``..``: nothing lands elsewhere."""
    if name in {SQLITE_MEMBER, PG_MEMBER}:
        return True
    path = PurePosixPath(name)
    return (
        name.startswith(MEDIA_PREFIX)
        and not path.is_absolute()
        and len(path.parts) > 1
        and all(part not in {"", ".", ".."} for part in path.parts)
        and "\\" not in name
    )


def database_in_use() -> bool:
    """Whether the current database holds any data (rows beyond what ``migrate`` itself writes)."""
    tables = set(connection.introspection.table_names())
    for model in apps.get_models():
        if model._meta.label_lower in SCHEMA_ONLY_MODELS or model._meta.db_table not in tables:
            continue
        if not model._meta.managed or model._meta.proxy:
            continue
        if model._base_manager.using("default").exists():
            return True
    return False


def _check_migrations(manifest: dict[str, Any]) -> None:
    """Refuse a backup whose schema is newer than this code: ``migrate`` could not bring it back."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    unknown = [
        f"{app}.{name}"
        for app, names in manifest["migrations"].items()
        if app in loader.migrated_apps
        for name in names
        if (app, name) not in loader.disk_migrations and (app, name) not in loader.replacements
    ]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise BackupError(
            f"the backup was made by a newer fanzha (unknown migrations: {shown}): install fanzha "
            f"{manifest.get('fanzha_version', '?')} or later, then restore"
        )


class _HashingWriter:
    """Copy a member to a file while hashing it, so that verification costs no second read."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.sha = hashlib.sha256()
        self.size = 0

    def copy(self, source: IO[bytes]) -> None:
        while chunk := source.read(CHUNK):
            self.sha.update(chunk)
            self.size += len(chunk)
            self.target.write(chunk)


def _extract(archive: Path, manifest: dict[str, Any], staging: Path, log: Log) -> Path:
    """Extract and verify every listed file into ``staging``; returns the database file."""
    entries: dict[str, Entry] = manifest["entries"]
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                entry = entries.get(member.name)
                if entry is None or not member.isfile() or member.name in seen:
                    raise BackupError(f"{archive}: unexpected member {member.name!r}: not a fanzha backup")
                target = staging / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # a regular file
                with target.open("wb") as out:
                    writer = _HashingWriter(out)
                    writer.copy(source)
                    out.flush()
                    os.fsync(out.fileno())
                if writer.size != entry.size or writer.sha.hexdigest() != entry.sha256:
                    raise BackupError(f"{archive}: {member.name} does not match its checksum (corrupt)")
                seen.add(member.name)
    except (EOFError, tarfile.TarError, zlib.error, OSError) as exc:
        raise _corrupt(archive, exc) from exc
    missing = sorted(set(entries) - seen)
    if missing:
        raise BackupError(f"{archive}: truncated archive, {len(missing)} files missing (first: {missing[0]})")
    log(f"verified {len(seen)} files against the manifest")
    return staging / manifest["database"]["file"]


def _restore_sqlite(db_file: Path, log: Log) -> None:
    """Put the snapshot in place of the database file: a rename, so the file is never half-written."""
    target = _sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    connections.close_all()
    check = sqlite3.connect(db_file)
    try:
        if check.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError("the database in the backup fails SQLite's integrity check")
    finally:
        check.close()
    # A write-ahead log left from the old database would be replayed into the new one.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    db_file.chmod(0o600)  # the database is this account's only, as a new one is (core/private.py)
    os.replace(db_file, target)  # staged next to the target: same file system, an atomic rename
    log(f"restored the SQLite database {target}")


def _restore_postgresql(db_file: Path, log: Log) -> None:
    connections.close_all()
    name = connection.settings_dict["NAME"]
    log(f"restoring the PostgreSQL database {name} (pg_restore) …")
    _run_pg(
        [
            find_pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--dbname",
            str(name),
            str(db_file),
        ],
        "pg_restore",
    )
    log(f"restored the PostgreSQL database {name}")


def _restore_media(staging: Path, manifest: dict[str, Any], log: Log) -> int:
    names = [n for n in manifest["entries"] if n.startswith(MEDIA_PREFIX)]
    if not names:
        return 0
    storage = media_storage()
    if storage is None:
        raise BackupError("the backup holds uploaded files but uploads are not on the file system here", 1)
    root = Path(storage.location)
    for name in names:
        target = root / name[len(MEDIA_PREFIX) :]
        make_dirs(target.parent)  # 0700, as the folders of uploads are (settings)
        (staging / name).chmod(0o600)
        shutil.move(staging / name, target)
    log(f"restored {len(names)} uploaded files into {root}")
    return len(names)


def restore_backup(
    archive: Path,
    *,
    replace: bool = False,
    ignore_key_mismatch: bool = False,
    log: Log = print,
    warn: Log = print,
) -> dict[str, Any]:
    """Restore a backup into the configured database and media directory; returns its manifest.

    Everything that can be checked is checked before the first write: the manifest, the schema
    version, the field key, an empty target (unless ``replace``), every file's checksum.
    """
    manifest = read_manifest(archive)
    vendor = _vendor()
    log(
        f"backup of {manifest.get('created_at', '?')}: fanzha {manifest.get('fanzha_version', '?')}, "
        f"{manifest['database']['vendor']}, {len(manifest['entries']) - 1} uploaded files"
    )
    if manifest["database"]["vendor"] != vendor:
        raise BackupError(
            f"the backup holds a {manifest['database']['vendor']} database but this installation uses "
            f"{vendor}: restore it into the same kind of database"
        )
    expected = SQLITE_MEMBER if vendor == "sqlite" else PG_MEMBER
    if manifest["database"].get("file") != expected or expected not in manifest["entries"]:
        raise BackupError(f"{archive}: not a fanzha backup (no database file)")
    _check_migrations(manifest)
    if not key_matches(str(manifest.get("field_key_fingerprint", "")), settings.FANZHA_FIELD_KEY):
        if not ignore_key_mismatch:
            raise BackupError(
                "the backup was made with a different FANZHA_FIELD_KEY: set FANZHA_FIELD_KEY (or put the "
                f"key in {Path(settings.DATA_DIR) / 'field_key'}) to the key of the backed-up installation. "
                "--ignore-key-mismatch restores anyway, but its ID and phone numbers will be unreadable."
            )
        warn("restoring with a different FANZHA_FIELD_KEY: encrypted ID and phone numbers will be unreadable")
    if database_in_use():
        if not replace:
            raise BackupError(
                "the database is not empty: restoring replaces everything in it. Run again with --yes "
                "(stop the server and workers first)"
            )
        warn("replacing the data of a database in use (--yes)")

    staging_parent = _sqlite_path().parent if vendor == "sqlite" else Path(settings.DATA_DIR)
    staging_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fanzha-restore-", dir=staging_parent) as tmp:
        staging = Path(tmp)
        db_file = _extract(archive, manifest, staging, log)
        if vendor == "sqlite":
            _restore_sqlite(db_file, log)
        else:
            _restore_postgresql(db_file, log)
        _restore_media(staging, manifest, log)

    connections.close_all()
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        log(f"the backup's schema is older than this fanzha: applying {len(plan)} migrations …")
        call_command("migrate", interactive=False, verbosity=0)
    return manifest
