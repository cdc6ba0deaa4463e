"""``core.ratelimit``: fixed-window counters that every worker process shares.

The outside test got ten guesses where five were meant, because each worker counted in its own
memory. These tests count through separate Python processes on one SQLite file (and through Redis
when ``FANZHA_TEST_REDIS_URL`` is set) and check the total where the other process wrote it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fanzha.core import ratelimit
from fanzha.core.models import RateCounter
from tests.conftest import skip_or_fail

LIMIT = ratelimit.Limit("test-limit", 5, 600)
REPO = Path(__file__).resolve().parents[2]

# Count ``hits`` on one bucket in a process of its own; print the count and whether it is exceeded.
HIT = """
import json, sys
import django
django.setup()
from django.db import connection
from fanzha.core import ratelimit
from fanzha.core.models import RateCounter
what, hits = sys.argv[1], int(sys.argv[2])
if sys.argv[3] == "create":
    with connection.schema_editor() as editor:
        editor.create_model(RateCounter)
bucket = ratelimit.Limit("test-limit", 5, 600).bucket(what)
for _ in range(hits):
    ratelimit.hit(bucket)
print(json.dumps({"count": ratelimit.counts(bucket)[0], "exceeded": ratelimit.exceeded(bucket)}))
"""


def process_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANZHA_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DJANGO_SETTINGS_MODULE="fanzha.settings.test", FANZHA_DATA_DIR=str(tmp / "data"), **extra)
    return env


def start(env: dict[str, str], what: str, hits: int, create: bool = False) -> subprocess.Popen[str]:
    args = [sys.executable, "-c", HIT, what, str(hits), "create" if create else "-"]
    return subprocess.Popen(
        args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def result(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


# In this process, on the test database -------------------------------------------------------------


@pytest.mark.django_db
def test_hits_count_up_and_the_limit_holds():
    bucket = LIMIT.bucket("2023001")
    assert ratelimit.counts(bucket) == [0] and not ratelimit.exceeded(bucket)
    assert [ratelimit.hit(bucket)[0] for _ in range(5)] == [1, 2, 3, 4, 5]
    assert ratelimit.exceeded(bucket)
    other = LIMIT.bucket("2023002")
    assert not ratelimit.exceeded(other)  # one key's count is its own
    ratelimit.reset(bucket)
    assert not ratelimit.exceeded(bucket) and RateCounter.objects.count() == 0


@pytest.mark.django_db
def test_a_window_ends_and_counting_starts_again(monkeypatch):
    now = [1_800_000_000]
    monkeypatch.setattr(ratelimit, "_now", lambda: now[0])
    bucket = LIMIT.bucket("x")
    for _ in range(5):
        ratelimit.hit(bucket)
    now[0] += 599
    assert ratelimit.exceeded(bucket)
    now[0] += 1  # the window that the first hit opened has ended
    assert not ratelimit.exceeded(bucket)
    assert ratelimit.hit(bucket) == [1]
    assert RateCounter.objects.get().window_ends == now[0] + 600
    assert ratelimit.purge_expired(now[0] + 599) == 0
    assert ratelimit.purge_expired(now[0] + 600) == 1


@pytest.mark.django_db
def test_keys_are_keyed_hashes():
    ratelimit.hit(LIMIT.bucket("13800138000"), ratelimit.Limit("other", 5, 600).bucket("13800138000"))
    keys = list(RateCounter.objects.values_list("key", flat=True))
    assert len(set(keys)) == 2  # the limit's name keeps two limits apart
    for key in keys:
        assert len(key) == 64 and "13800138000" not in key and "8000" not in key


# Across processes ------------------------------------------------------------------------------------


def test_processes_share_the_count_on_a_sqlite_file(tmp_path):
    """Three failures in one process and two in another lock the key; the test reads the file."""
    path = tmp_path / "shared.sqlite3"
    env = process_env(tmp_path, DATABASE_URL=f"sqlite:///{path}")
    assert result(start(env, "2023001", 3, create=True)) == {"count": 3, "exceeded": False}
    assert result(start(env, "2023001", 2)) == {"count": 5, "exceeded": True}
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT key, count FROM core_ratecounter").fetchall()
    assert len(rows) == 1 and rows[0][1] == 5
    assert "2023001" not in rows[0][0] and len(rows[0][0]) == 64


def test_concurrent_processes_lose_no_hit(tmp_path):
    """Two processes hitting one key at the same moment: every hit is counted once (one upsert each)."""
    path = tmp_path / "race.sqlite3"
    env = process_env(tmp_path, DATABASE_URL=f"sqlite:///{path}")
    result(start(env, "warm-up", 0, create=True))
    racers = [start(env, "race", 40) for _ in range(2)]
    counts = sorted(int(str(result(p)["count"])) for p in racers)
    assert counts[-1] == 80  # the later of the two reads comes after every hit of both
    with sqlite3.connect(path) as conn:
        assert conn.execute(
            "SELECT count FROM core_ratecounter WHERE count > 0 ORDER BY count"
        ).fetchall() == [(80,)]


def test_processes_share_the_count_in_redis(tmp_path, settings):
    """With FANZHA_CACHE=redis: three hits in another process, two here, and the key is locked here."""
    url = os.environ.get("FANZHA_TEST_REDIS_URL")
    if not url:
        skip_or_fail("FANZHA_TEST_REDIS_URL is not set")
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError:
        skip_or_fail(f"no Redis answers at {url}")
    settings.FANZHA_CACHE = "redis"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    bucket = LIMIT.bucket("redis-2023001")
    ratelimit.reset(bucket)
    try:
        env = process_env(tmp_path, FANZHA_CACHE="redis", REDIS_URL=url)
        assert result(start(env, "redis-2023001", 3)) == {"count": 3, "exceeded": False}
        assert ratelimit.counts(bucket) == [3]
        assert ratelimit.hit(bucket, bucket) == [4, 5]
        assert ratelimit.exceeded(bucket)
        names = [k.decode() for k in client.keys("*fanzha:rl:*")]
        assert names and all("2023001" not in name for name in names)
        assert 0 < client.ttl(next(k for k in client.keys("*fanzha:rl:*"))) <= 600
    finally:
        ratelimit.reset(bucket)
