"""``/healthz``: is this app server able to serve — database reachable, task queue reachable?

Why: load balancers and monitoring probe it every few seconds, so it is public, uncached,
makes at most two cheap queries and says nothing about anyone. Details of a failure go to the
log (redacted), the answer only names the exception class.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)

Check = dict[str, Any]


def _elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def check_database() -> Check:
    """One trivial query on the default database."""
    start = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        log.warning("health: database check failed: %s: %s", type(exc).__name__, exc)
        return {"status": "fail", "error": type(exc).__name__}
    return {"status": "ok", "ms": _elapsed_ms(start)}


def _check_db_queue() -> Check:
    """The database queue answers: the oldest task due and not yet taken (one indexed query)."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    oldest = (
        DBTaskResult.objects.ready().order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    )
    result: Check = {"status": "ok", "backend": "database"}
    if oldest is not None:
        result["oldest_ready_seconds"] = int((timezone.now() - oldest).total_seconds())
    return result


def _check_rq_queue(backend: Any) -> Check:
    """Every Redis server behind the backend's queues answers PING."""
    import django_rq

    seen: set[str] = set()
    for name in sorted(backend.queues):
        redis = django_rq.get_connection(name)
        key = repr(redis.connection_pool.connection_kwargs)
        if key not in seen:
            seen.add(key)
            redis.ping()
    return {"status": "ok", "backend": "rq"}


def check_queue() -> Check:
    """The configured Django Tasks backend is reachable; "not configured" while TASKS is unset."""
    if not getattr(settings, "TASKS", None):
        return {"status": "not configured"}
    start = time.perf_counter()
    try:
        from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        kind = type(backend).__module__.split(".")[0]
        if kind == "django_tasks_db":
            result = _check_db_queue()
        elif kind == "django_tasks_rq":
            result = _check_rq_queue(backend)
        else:  # immediate or dummy backends run in-process: nothing to reach
            result = {"status": "ok", "backend": type(backend).__name__}
    except Exception as exc:
        log.warning("health: queue check failed: %s: %s", type(exc).__name__, exc)
        return {"status": "fail", "error": type(exc).__name__}
    result["ms"] = _elapsed_ms(start)
    return result


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 ``{"status": "ok", ...}`` when every check passes, else 503 with ``"status": "fail"``."""
    checks = {"database": check_database(), "queue": check_queue()}
    ok = all(check["status"] != "fail" for check in checks.values())
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503)
