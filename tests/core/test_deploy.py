"""Production settings pass Django's deployment checks, and settings come from the environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import skip_or_fail


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "fanzha", *args], env=full_env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean(tmp_path):
    """A deployment as docs/deploy/fanzha.env sets it up (a mail server of its own) has no warning."""
    result = _run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            "DJANGO_SETTINGS_MODULE": "fanzha.settings.prod",
            "FANZHA_DATA_DIR": str(tmp_path),
            "EMAIL_HOST": "smtp.example.edu.cn",
            "DEFAULT_FROM_EMAIL": "fanzha@example.edu.cn",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_secret_key_generated_once_and_kept(tmp_path):
    env = {"DJANGO_SETTINGS_MODULE": "fanzha.settings.prod", "FANZHA_DATA_DIR": str(tmp_path)}
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = _run(["shell", "-c", code], env).stdout.strip()
    second = _run(["shell", "-c", code], env).stdout.strip()
    assert first and first == second and len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_overrides(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "fanzha.settings.prod",
        "FANZHA_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 60,
        "ALLOWED_HOSTS": "fanzha.example.edu.cn, intranet.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}",
    }
    code = (
        "from django.conf import settings as s; "
        "print(s.SECRET_KEY == 'k'*60, s.ALLOWED_HOSTS, s.DATABASES['default']['NAME'], s.DEBUG)"
    )
    out = _run(["shell", "-c", code], env).stdout
    assert "True ['fanzha.example.edu.cn', 'intranet.local']" in out
    assert "other.sqlite3" in out and out.strip().endswith("False")


def test_postgresql_server_reachable():
    """CI starts a PostgreSQL server and runs the suite against it too; here we prove it answers."""
    url = os.environ.get("FANZHA_TEST_POSTGRES_URL")
    if not url:
        skip_or_fail("FANZHA_TEST_POSTGRES_URL is not set (no PostgreSQL server)")
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
