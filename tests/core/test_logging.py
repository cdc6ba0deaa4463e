"""Request ids and JSON logs: every line of a request carries its id, no number or query string leaks."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.db import OperationalError, connection

from fanzha.core.logging import JsonFormatter, PlainFormatter, RedactFilter, RequestIdFilter, redact
from fanzha.core.management.commands.serve import IGNORE_PATTERNS
from fanzha.core.middleware import clean_request_id

PHONE = "13800138000"
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Root-logger output in the production configuration (redact + request id filters, JSON)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactFilter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_have_the_fields_and_no_numbers(json_lines):
    log = logging.getLogger("fanzha.test")
    log.warning("reached %s about card %s", PHONE, "6222021234567890128")
    try:
        raise ValueError(f"bad id {ID_NUMBER}")
    except ValueError:
        log.exception("failed at /m/quiz/?token=s3cret-token")
    first, second = _records(json_lines)
    assert set(first) == {"time", "level", "logger", "message", "request_id"}
    assert first["level"] == "WARNING" and first["logger"] == "fanzha.test" and first["request_id"] == "-"
    assert first["message"] == "reached [redacted] about card [redacted]"
    assert first["time"][:4].isdigit() and "T" in first["time"]
    assert second["message"] == "failed at /m/quiz/?[query]"
    assert "ValueError: bad id [redacted]" in second["exc"]
    assert PHONE not in json_lines.getvalue() and ID_NUMBER not in json_lines.getvalue()
    assert "s3cret" not in json_lines.getvalue()


def test_plain_formatter_shows_the_request_id_and_redacts_tracebacks():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, None)
    try:
        raise RuntimeError(PHONE)
    except RuntimeError:
        record.exc_info = sys.exc_info()
    RequestIdFilter().filter(record)
    text = PlainFormatter().format(record)
    assert " ERROR x [-] boom" in text and PHONE not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /m/quiz/?token=abc HTTP/1.1", "GET /m/quiz/?[query] HTTP/1.1"),
        ("https://h.example/api/v1/people/?phone=1&x=2 ok", "https://h.example/api/v1/people/?[query] ok"),
        ("是否继续? 是", "是否继续? 是"),  # a question mark in prose is not a query string
    ],
)
def test_query_strings_are_cut(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("0f1e2d3c4b5a69788796a5b4c3d2e1f0", True),
        ("req-1.2:3_A", True),
        ("", False),
        ("a" * 65, False),
        ("abc\ndef", False),
        ("abc def", False),
        ('x"}, "level": "CRITICAL', False),
        ("-leading-dash", False),
    ],
)
def test_request_ids_from_the_proxy_are_validated(given, kept):
    assert (clean_request_id(given) == given) is kept


@pytest.mark.django_db
def test_the_proxys_id_is_on_the_response_and_on_every_log_line(client, json_lines, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz?token=secret-token", HTTP_X_REQUEST_ID="edge-42")
    assert response["X-Request-ID"] == "edge-42"
    lines = _records(json_lines)
    # the health check's own warning (in the view) and Django's 503 line (after the middleware)
    assert {line["logger"] for line in lines} >= {"fanzha.core.health", "django.request"}
    assert all(line["request_id"] == "edge-42" for line in lines), lines
    assert "secret-token" not in json_lines.getvalue()


@pytest.mark.django_db
def test_a_bad_id_from_outside_is_replaced(client):
    first = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\r\nSet-Cookie: x=1")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert len(first) == 32 and len(second) == 32 and first != second
    assert "Set-Cookie" not in first


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def link_static_files(root: Path) -> None:
    """Fill a STATIC_ROOT with links to the source files, so that ``fanzha serve`` finds it fresh.

    Why: ``collectstatic`` compresses the vendored bundles for a minute; this test is about logs.
    """
    for finder in finders.get_finders():
        for path, storage in finder.list(IGNORE_PATTERNS):
            target = root / (getattr(storage, "prefix", None) or "") / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(storage.path(path))


def test_fanzha_serve_writes_json_access_lines_with_the_request_id(tmp_path):
    """A real ``fanzha serve``: gunicorn's access line is JSON, carries the id, never the query string."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        {
            "FANZHA_DATA_DIR": str(tmp_path),
            "FANZHA_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            "DEBUG": "0",
            "FANZHA_STATIC_ROOT": str(tmp_path / "static"),
            "FANZHA_TASKS_BACKEND": "immediate",  # the queue check needs no table: no migrations to run
        }
    )
    link_static_files(tmp_path / "static")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fanzha", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        status = 0
        while time.monotonic() < deadline and proc.poll() is None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/healthz?token=secret-token", headers={"X-Request-ID": "probe-7"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    status = response.status
                    assert response.headers["X-Request-ID"] == "probe-7"
                    break
            except OSError:
                time.sleep(0.3)
        assert status == 200, "fanzha serve never answered /healthz"
        time.sleep(0.5)  # let gunicorn write the access line
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
    access = [
        json.loads(line)
        for line in output.splitlines()
        if line.startswith("{") and json.loads(line)["logger"] == "gunicorn.access"
    ]
    probes = [line for line in access if line["path"] == "/healthz"]
    assert probes, output[-3000:]
    line = probes[-1]
    assert line["request_id"] == "probe-7"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert isinstance(line["duration_ms"], float)
    assert "secret-token" not in output
    assert "127.0.0.1 -" not in output  # no client address in the access line
