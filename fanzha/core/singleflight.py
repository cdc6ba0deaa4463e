"""Compute an expensive figure once when many requests ask for it at the same moment (single-flight).

Why: from a freshly started server, 50 people reloading the province root dashboard each ran the
same aggregate queries over a million people at once; every one of them waited for all the others
(1.4–2.7 s for the first 30 s). Here the first request takes a short lock in the Django cache
(``cache.add``: set-if-absent, atomic in the local-memory, database and Redis caches alike) and
computes; the others wait briefly and read its result. The result is shared for ``fresh`` seconds
only (``FANZHA_FIGURES_SECONDS``), so a figure is never older than that.

A leader that dies leaves its lock to expire (``lock_seconds``); a follower that waited ``wait``
seconds without a result computes for itself rather than fail. With ``fresh`` 0 (the tests'
default) nothing is shared and ``compute`` simply runs.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

T = TypeVar("T")
PREFIX = "fanzha:sf:"
_MISSING = object()


def key_of(*parts: Any) -> str:
    """A short cache key from any printable parts (unit ids, paths, dates): hashed, so that a long list
    of ids fits every backend's key limit (memcached 250 characters)."""
    text = "|".join(repr(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def fresh_seconds() -> float:
    """How long a computed figure is shared (``FANZHA_FIGURES_SECONDS``)."""
    return float(getattr(settings, "FANZHA_FIGURES_SECONDS", 0) or 0)


def shared(
    name: str,
    key: str,
    compute: Callable[[], T],
    *,
    fresh: float | None = None,
    wait: float = 10.0,
    lock_seconds: float = 60.0,
) -> T:
    """``compute()``, or the value another request computed for ``(name, key)`` within ``fresh`` seconds.

    Many callers at once: one computes, the others poll the cache (10 ms, doubling up to 100 ms)
    until the value is there, for at most ``wait`` seconds. The value must pickle (Redis).
    """
    fresh = fresh_seconds() if fresh is None else fresh
    if fresh <= 0:
        return compute()
    value_key = f"{PREFIX}{name}:{key}"
    lock_key = f"{value_key}:lock"
    deadline = time.monotonic() + wait
    pause = 0.01
    while True:
        found = cache.get(value_key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        token = uuid.uuid4().hex
        if cache.add(lock_key, token, timeout=int(max(1, lock_seconds))):
            try:
                value = compute()
                cache.set(value_key, value, timeout=max(1, int(fresh)))
                return value
            finally:
                if cache.get(lock_key) == token:  # not a lock that expired and was taken by another
                    cache.delete(lock_key)
        if time.monotonic() >= deadline:
            return compute()  # the leader is too slow or gone: do not make the page fail
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
