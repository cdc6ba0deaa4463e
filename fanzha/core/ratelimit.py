"""Rate limits that every worker process shares: fixed-window counters in the database, or in Redis.

Why not the cache: the default cache is each process's own memory, so with four gunicorn workers a
limit of five failures granted twenty (the outside test got ten where five were meant). Counters
live where every process sees them: the database by default (``RateCounter``, one row per key,
updated by one atomic upsert that holds under concurrency on SQLite and PostgreSQL), Redis through
the Django cache when ``FANZHA_CACHE=redis``.

A window opens at the first hit of a key and lasts ``Limit.window`` seconds; the count restarts
after it. A key is a keyed hash (``core.crypto.keyed_hash``) of the limit's name and what is
counted, so no number, phone or address is ever stored in clear.

Count outside any transaction that is rolled back afterwards (a failed sign-in that raises inside
``transaction.atomic`` would take its own count with it on the database store).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from . import crypto
from .models import RateCounter

CACHE_PREFIX = "fanzha:rl:"


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` hits of one key within ``window`` seconds; ``name`` keeps limits apart."""

    name: str
    limit: int
    window: int

    def bucket(self, *parts: str) -> Bucket:
        """The counter of one thing under this limit (a typed number, an address, a person)."""
        return Bucket(self, crypto.keyed_hash("ratelimit\x1f" + self.name + "\x1f" + "\x1f".join(parts)))


@dataclass(frozen=True)
class Bucket:
    """One counter: a limit and the hashed key of what it counts (safe to keep in a session)."""

    limit: Limit
    key: str


def _now() -> int:
    return int(time.time())


def _use_cache() -> bool:
    return getattr(settings, "FANZHA_CACHE", "local") == "redis"


# The database store -------------------------------------------------------------------------------


def _db_hit(bucket: Bucket, now: int) -> int:
    """Add one to the key's open window (or open a new one) in one statement; the count after it."""
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    q = connection.ops.quote_name
    key, count, ends = q("key"), q("count"), q("window_ends")
    sql = (
        f"INSERT INTO {table} ({key}, {count}, {ends}) VALUES (%s, 1, %s) "
        f"ON CONFLICT ({key}) DO UPDATE SET "
        f"{count} = CASE WHEN {table}.{ends} <= %s THEN 1 ELSE {table}.{count} + 1 END, "
        f"{ends} = CASE WHEN {table}.{ends} <= %s THEN excluded.{ends} ELSE {table}.{ends} END"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [bucket.key, now + bucket.limit.window, now, now])
        cursor.execute(f"SELECT {count} FROM {table} WHERE {key} = %s", [bucket.key])
        row = cursor.fetchone()
    return int(row[0]) if row else 1


def _db_counts(buckets: list[Bucket], now: int) -> dict[str, int]:
    rows = RateCounter.objects.filter(key__in=[b.key for b in buckets], window_ends__gt=now)
    return dict(rows.values_list("key", "count"))


# The public verbs ---------------------------------------------------------------------------------


def hit(*buckets: Bucket) -> list[int]:
    """Count one hit on each bucket; the counts after it, in order."""
    now = _now()
    counts = []
    for bucket in buckets:
        if _use_cache():
            name = CACHE_PREFIX + bucket.key
            cache.add(name, 0, bucket.limit.window)  # opens the window (SET NX with expiry)
            try:
                counts.append(int(cache.incr(name)))  # INCR: atomic in Redis, seen by every worker
            except ValueError:  # the window closed between add and incr
                cache.add(name, 1, bucket.limit.window)
                counts.append(1)
        else:
            counts.append(_db_hit(bucket, now))
    return counts


def counts(*buckets: Bucket) -> list[int]:
    """The count of each bucket's open window (0 when none is open)."""
    if not buckets:
        return []
    if _use_cache():
        found = cache.get_many([CACHE_PREFIX + b.key for b in buckets])
        return [int(found.get(CACHE_PREFIX + b.key) or 0) for b in buckets]
    by_key = _db_counts(list(buckets), _now())
    return [by_key.get(b.key, 0) for b in buckets]


def exceeded(*buckets: Bucket) -> bool:
    """Whether any bucket has reached its limit in its open window."""
    return any(n >= b.limit.limit for b, n in zip(buckets, counts(*buckets), strict=True))


def reset(*buckets: Bucket) -> None:
    """Forget the buckets' counts (after a success that must not count against the next try)."""
    if _use_cache():
        cache.delete_many([CACHE_PREFIX + b.key for b in buckets])
    else:
        RateCounter.objects.filter(key__in=[b.key for b in buckets]).delete()


def purge_expired(now: int | None = None) -> int:
    """Delete the database rows whose window has ended (core's housekeeping); how many."""
    return RateCounter.objects.filter(window_ends__lte=_now() if now is None else now).delete()[0]
