"""Files fanzha keeps on disk are readable by fanzha's own account only: directories 0700, files 0600.

Why: the SQLite database holds everything (names, cases, keyed hashes, sessions) and ``media/``
holds evidence and roster uploads with phone and ID numbers. Left to the usual umask (022) they were
readable by every account on the machine, while the keys beside them were 0600. Uploads get their
modes from ``FILE_UPLOAD_PERMISSIONS`` and ``FILE_UPLOAD_DIRECTORY_PERMISSIONS`` (settings); this
module covers the rest: the data and media directories at start-up, and the database file with its
write-ahead log whenever a connection opens (an older, world-readable file is tightened too).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700


def _tighten(path: Path, mode: int) -> None:
    """Take group and other bits off ``path`` if it is ours; never fails (a directory the operator
    gave to another owner, a read-only file system: left as it is, with a warning)."""
    try:
        info = path.stat()
        if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.geteuid():
            path.chmod(mode)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not make %s private (mode %o): %s", path, mode, exc)


def make_dirs(path: Path) -> None:
    """``mkdir -p`` with every directory it creates 0700 (``Path.mkdir(parents=True)`` gives the
    missing parents the umask's mode, 0755)."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass


def private_dir(path: Path | str, *, tighten: bool = False) -> Path:
    """Create ``path`` (and its missing parents) readable by this account only; with ``tighten`` an
    existing directory loses its group and other bits too.

    Why not always tighten: the data directory may also hold the collected static files, which an
    operator may have nginx serve; what in it is private (keys, database, media) is private itself.
    """
    path = Path(path)
    try:
        make_dirs(path)
    except OSError as exc:
        log.warning("could not create %s: %s", path, exc)
        return path
    if tighten:
        _tighten(path, DIR_MODE)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a new file that is 0600 from its first byte (no moment at the umask's 0644)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def secure_data_dirs() -> None:
    """At start-up: the data directory exists (0700 when new) and, for uploads on the file system, an
    existing media directory is 0700 (a new one is made 0700 by the storage on the first upload)."""
    private_dir(settings.DATA_DIR)
    default = settings.STORAGES.get("default", {}).get("BACKEND", "")
    if default == "django.core.files.storage.FileSystemStorage":
        _tighten(Path(settings.MEDIA_ROOT), DIR_MODE)


def sqlite_files(name: str) -> list[Path]:
    """The database file, its write-ahead log and shared-memory index (none for an in-memory base)."""
    if not name or name == ":memory:" or "mode=memory" in name or name.startswith("file:"):
        return []
    return [Path(name), Path(f"{name}-wal"), Path(f"{name}-shm"), Path(f"{name}-journal")]


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created``: make a SQLite database's files 0600 (SQLite creates the log and index
    with the database file's mode, so they follow once the file is right)."""
    if connection.vendor != "sqlite":
        return
    for path in sqlite_files(str(connection.settings_dict.get("NAME") or "")):
        _tighten(path, FILE_MODE)
