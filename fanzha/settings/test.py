"""Test settings: fast hashing, in-memory files, the database from DATABASE_URL or SQLite."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = Path(tempfile.gettempdir()) / "fanzha-test-media"
FANZHA_FIELD_KEY = "test-field-key-not-secret"
SECRET_KEY = "test-secret-key-not-secret-" + "x" * 40
ALLOWED_HOSTS = ["*"]
LANGUAGE_CODE = os.environ.get("FANZHA_TEST_LANGUAGE", "zh-hans")
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None}}  # noqa: F405
STATIC_ROOT = Path(tempfile.gettempdir()) / "fanzha-test-static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
FANZHA_FIGURES_SECONDS = 0  # a test reads the figures its own writes just changed
FANZHA_WARM_ON_START = False  # a test starts no server process of its own

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory. The browser tests' live server writes from its own thread: an in-memory
    # database is shared between threads through SQLite's shared cache, which answers "database table
    # is locked" at once where a file database waits for the other writer (the busy timeout). One file
    # per process (pytest-django adds the xdist worker's suffix); Django deletes it at the end.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"fanzha-test-{os.getpid()}.sqlite3"),
    }
    DATABASES["default"]["OPTIONS"]["init_command"] = (  # noqa: F405
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA foreign_keys=ON;"
    )
