"""``/healthz``: public, uncached, at most two queries, 503 when the database or the queue fails."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError, connection
from django.utils import timezone

from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db

RQ_TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", "slow"]}}
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "slow"]}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_port(tmp_path) -> Iterator[int]:
    """A throwaway redis-server on loopback (Debian's package), stopped after the test."""
    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _get(client, **headers):
    response = client.get("/healthz", **headers)
    return response, json.loads(response.content)


def test_ok_anonymous_uncached_and_cheap(client, settings, django_assert_max_num_queries):
    settings.TASKS = DB_TASKS
    with django_assert_max_num_queries(2):
        response, body = _get(client)
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    queue = body["checks"]["queue"]
    assert (queue["status"], queue["backend"], set(queue)) == ("ok", "database", {"status", "backend", "ms"})
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == "application/json"
    assert "Set-Cookie" not in response  # no session, no CSRF cookie: nothing about anyone


def test_head_works_and_writes_are_refused(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_database_queue_reports_its_oldest_waiting_task(client, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DB_TASKS
    row = DBTaskResult.objects.create(
        task_path="fanzha.nothing", args_kwargs={"args": [], "kwargs": {}}, queue_name="default"
    )
    DBTaskResult.objects.filter(pk=row.pk).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    _response, body = _get(client)
    assert 295 <= body["checks"]["queue"]["oldest_ready_seconds"] <= 400


def test_queue_not_configured_is_not_a_failure(client, monkeypatch):
    monkeypatch.delattr(django_settings, "TASKS", raising=False)  # as before TASKS existed; no signal fired
    response, body = _get(client)
    assert response.status_code == 200
    assert body["checks"]["queue"] == {"status": "not configured"}


def test_database_down_answers_503(client, monkeypatch):
    monkeypatch.delattr(django_settings, "TASKS", raising=False)

    def broken_cursor(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response, body = _get(client)
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {"status": "fail", "error": "OperationalError"}
    assert "Connection refused" not in response.content.decode()  # details go to the log only


def test_missing_queue_table_answers_503(client, settings):
    settings.TASKS = DB_TASKS
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE django_tasks_database_dbtaskresult")  # rolled back after the test
    response, body = _get(client)
    assert response.status_code == 503
    assert body["checks"]["queue"]["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"


def test_redis_queue_up_and_down(client, settings, redis_port):
    settings.TASKS = RQ_TASKS
    url = f"redis://127.0.0.1:{redis_port}/0"
    settings.RQ_QUEUES = {"default": {"URL": url}, "slow": {"URL": url}}
    response, body = _get(client)
    assert response.status_code == 200, body
    assert body["checks"]["queue"]["backend"] == "rq"

    url = f"redis://127.0.0.1:{_free_port()}/0"  # nobody listens there
    settings.RQ_QUEUES = {"default": {"URL": url}, "slow": {"URL": url}}
    response, body = _get(client)
    assert response.status_code == 503
    assert body["checks"]["queue"] == {"status": "fail", "error": "ConnectionError"}
