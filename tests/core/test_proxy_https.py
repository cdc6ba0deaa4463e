"""``X-Forwarded-Proto`` is believed only from a trusted reverse proxy (``FANZHA_TRUSTED_PROXIES`` > 0).

With no proxy in front, anyone could send ``X-Forwarded-Proto: https`` over plain HTTP and be
treated as on HTTPS: no redirect to HTTPS, and secure-only decisions taken on a clear-text request.
"""

from __future__ import annotations

import os
import subprocess
import sys

CODE = (
    "from django.test import Client, RequestFactory; "
    "print(RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https').is_secure()); "
    "r = Client().get('/i18n/setlang/', HTTP_X_FORWARDED_PROTO='https', HTTP_HOST='fanzha.example.edu.cn'); "
    "print(r.status_code, r.get('Location', '-'))"
)


def _prod(tmp_path, **extra: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.pop("FANZHA_TRUSTED_PROXIES", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "fanzha.settings.prod",
            "FANZHA_DATA_DIR": str(tmp_path),
            "ALLOWED_HOSTS": "fanzha.example.edu.cn",
            "FANZHA_TASKS_BACKEND": "immediate",
            **extra,
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "fanzha", "shell", "--no-imports", "-c", CODE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 2, result.stdout + result.stderr
    return lines


def test_without_a_trusted_proxy_the_header_is_ignored(tmp_path):
    secure, response = _prod(tmp_path)
    assert secure == "False"
    assert response == "301 https://fanzha.example.edu.cn/i18n/setlang/"  # plain HTTP: sent to HTTPS


def test_behind_a_trusted_proxy_the_header_counts(tmp_path):
    secure, response = _prod(tmp_path, FANZHA_TRUSTED_PROXIES="1")
    assert secure == "True"
    assert response == "302 /"  # answered by the view (back to the site), not sent to HTTPS
