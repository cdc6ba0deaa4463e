"""Single-flight (``fanzha.core.singleflight``): many threads asking for one figure at once compute it
once, against the real cache backends (local memory; Redis when ``FANZHA_TEST_REDIS_URL`` is set)."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest
from django.core.cache import caches

from fanzha.core import singleflight
from tests.conftest import skip_or_fail

THREADS = 12


def crowd(name: str, key: str, fresh: float = 30, work: float = 0.3) -> tuple[int, list[object]]:
    """THREADS threads released at the same moment ask for (name, key): (computations, results)."""
    calls: list[int] = []
    lock = threading.Lock()
    results: list[object] = []
    start = threading.Barrier(THREADS)

    def compute() -> dict[str, int]:
        with lock:
            calls.append(1)
        time.sleep(work)  # an expensive aggregate
        return {"done": 42}

    def ask() -> None:
        start.wait()
        value = singleflight.shared(name, key, compute, fresh=fresh)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=ask) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(calls), results


def test_a_crowd_computes_once_in_local_memory(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    count, results = crowd("test", uuid.uuid4().hex)
    assert count == 1
    assert results == [{"done": 42}] * THREADS


def test_shared_for_fresh_seconds_only(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    key = uuid.uuid4().hex
    runs: list[int] = []
    assert singleflight.shared("test", key, lambda: runs.append(1) or len(runs), fresh=1) == 1
    assert singleflight.shared("test", key, lambda: runs.append(1) or len(runs), fresh=1) == 1
    time.sleep(1.1)
    assert singleflight.shared("test", key, lambda: runs.append(1) or len(runs), fresh=1) == 2


def test_nothing_shared_without_fresh_seconds(settings):
    """``FANZHA_FIGURES_SECONDS`` 0 (the tests' settings): every caller computes, figures never stale."""
    settings.FANZHA_FIGURES_SECONDS = 0
    count, _results = crowd("test", uuid.uuid4().hex, fresh=0, work=0.01)
    assert count == THREADS


def test_a_failed_leader_does_not_block_the_others(settings):
    """The leader's error is its own; the lock goes with it and the next caller computes."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    key = uuid.uuid4().hex

    def broken() -> int:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        singleflight.shared("test", key, broken, fresh=30)
    assert singleflight.shared("test", key, lambda: 7, fresh=30, wait=0.5) == 7


def test_a_crowd_computes_once_in_redis(settings):
    url = os.environ.get("FANZHA_TEST_REDIS_URL")
    if not url:
        skip_or_fail("FANZHA_TEST_REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError:
        skip_or_fail(f"no Redis answers at {url}")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    key = uuid.uuid4().hex
    try:
        count, results = crowd("test", key)
        assert count == 1
        assert results == [{"done": 42}] * THREADS
    finally:
        caches["default"].delete(f"{singleflight.PREFIX}test:{key}")
