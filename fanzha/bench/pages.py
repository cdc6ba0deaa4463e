"""``fanzha bench pages [--world small|large] [--json]``: every page the menus reach, as every demo role.

Why: a page nobody times gets slow unnoticed; the goal (issue 15) is a p95 under 300 ms for every
URL pattern on the large world with one user. The benchmark builds the demo world (``fanzha demo
--no-serve --size WORLD``) in its own SQLite file (``FANZHA_DATA_DIR/bench-pages-WORLD.sqlite3``,
or ``--db PATH``; ``--reuse`` keeps a world built by an earlier run), signs in as every demo login
(``org.demo.demo_logins``) with Django's test client (in-process: the whole middleware stack, no
server, no network) and crawls breadth-first from the home page, the menu entries and the account
entries the user holds:

* only same-site ``<a href>`` links and redirects are followed, with GET; forms are never submitted;
* every URL is counted under its URL pattern (``resolve(path).route`` and the view's name), and at
  most ``--per-pattern`` URLs (default 5) of a pattern are requested per role;
* signing out (``logout``, ``member_signout``) is never requested; a GET that writes to the
  database (besides the session and the audit trail) is a finding, listed under ``get_writes``, and
  a pattern that wrote twice is requested no more (a one-off lazy creation is timed all the same);
* files (XLSX, DOCX, PDF …) are timed under their own patterns, they are pages people wait for too.

Each pattern is requested once untimed (warm-up: templates and code paths loaded) before its first
timed request. Printed: per pattern ``n`` (timed requests), ``p50_ms``, ``p95_ms``, ``max_ms``, the
roles that reached it and the statuses seen; the overall p50/p95, the ten slowest patterns by p95,
pages per role, ``errors`` (every 5xx, a finding), ``refused`` (every 4xx a page linked to: a link
the role cannot follow, a finding too) and ``baseline_ms``: the median of the anonymous
sign-in page measured in the same run, so figures compare across machines (``ratio`` = overall
p95 / baseline).
"""

from __future__ import annotations

import logging
import math
import re
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

from django.core.management.base import CommandError, CommandParser

from .load import say  # one progress printer for the benchmarks

HELP = "Request every page the menus reach as every demo role and print p50/p95 per URL pattern."
HOST = "localhost"
NEVER = frozenset({"logout", "member_signout"})  # views that sign the user out
SLOWEST = 10
BASELINE_RUNS = 20
WRITE = re.compile(
    r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"?(\w+)"?', re.I
)
# The session, and the audit trail: reading sensitive data (an export) is recorded by design.
QUIET_TABLES = frozenset({"django_session", "core_auditrecord"})


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--world", choices=["small", "large"], default="small")
    parser.add_argument(
        "--db", help="SQLite file of the world (default FANZHA_DATA_DIR/bench-pages-WORLD.sqlite3)"
    )
    parser.add_argument("--reuse", action="store_true", help="keep a world an earlier run built in the file")
    parser.add_argument("--per-pattern", type=int, default=5, help="URLs requested per URL pattern and role")
    parser.add_argument("--max-pages", type=int, help="timed pages per role at most (a quick look)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--scale", type=float, default=1.0, help="size of a world built here (tests)")


# The crawl -----------------------------------------------------------------------------------------


class Links(HTMLParser):
    """The ``href`` of every ``<a>`` of a page, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def links_of(html: str, base: str) -> list[str]:
    """The same-site paths (with their query) an HTML page links to, fragments dropped."""
    parser = Links()
    parser.feed(html)
    found: list[str] = []
    for href in parser.hrefs:
        url = urlsplit(urljoin(f"http://{HOST}{base}", href))
        if url.scheme not in {"http", "https"} or url.hostname != HOST or not url.path.startswith("/"):
            continue
        found.append(url.path + (f"?{url.query}" if url.query else ""))
    return found


def pattern_of(path: str) -> tuple[str, str] | None:
    """(route, view name) of a path, or None when no view answers it (static files, media)."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path.split("?", 1)[0])
    except Resolver404:
        return None
    return "/" + match.route, match.view_name or match._func_path


@dataclass
class Pattern:
    route: str
    view: str
    times: list[float] = field(default_factory=list)
    roles: set[str] = field(default_factory=set)
    statuses: dict[str, int] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)
    warm: bool = False
    writes: set[str] = field(default_factory=set)
    wrote: int = 0  # requests that wrote


@contextmanager
def watching_writes(tables: set[str]) -> Iterator[None]:
    """Collect into ``tables`` the tables the statements of the block write to (the session's aside)."""
    from django.db import connection

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        found = WRITE.match(sql)
        if found and found.group(1) not in QUIET_TABLES:
            tables.add(found.group(1))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def start_urls(user: Any) -> list[str]:
    """The home page, then the menu and account entries the user holds, as the page's menu shows them."""
    from django.urls import NoReverseMatch, reverse

    from fanzha.core import menu

    held = menu.capabilities(user)
    urls = ["/"]
    for entry in [*menu.entries(), *menu.account_entries()]:
        if entry.cap is not None and entry.cap not in held:
            continue
        try:
            urls.append(reverse(entry.url_name))
        except NoReverseMatch:
            continue
    return urls


def _follow(response: Any, url: str, seen: set[str], queue: deque[str]) -> None:
    """Queue the links of ``response`` (a redirect's target, an HTML page's links) not seen before: the
    crawl and the walk follow pages the same way."""
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    targets: list[str] = []
    if response.status_code in {301, 302, 303, 307, 308}:
        targets = links_of(f'<a href="{response["Location"]}">', url)
    elif content_type == "text/html" and not getattr(response, "streaming", False):
        targets = links_of(response.content.decode(response.charset or "utf-8", "replace"), url)
    for target in targets:
        if target not in seen:
            seen.add(target)
            queue.append(target)


def crawl(
    role: str,
    user: Any,
    per_pattern: int,
    patterns: dict[tuple[str, str], Pattern],
    errors: list[dict],
    max_pages: int | None = None,
) -> dict[str, Any]:
    """Request what ``user`` reaches breadth-first; returns the role's counts (timed pages, skipped)."""
    from django.test import Client

    client = Client(SERVER_NAME=HOST)
    client.force_login(user)
    queue = deque(start_urls(user))
    seen: set[str] = set(queue)
    per_role: dict[tuple[str, str], int] = {}
    pages = skipped = 0
    while queue and (max_pages is None or pages < max_pages):
        url = queue.popleft()
        key = pattern_of(url)
        if key is None or key[1] in NEVER:
            skipped += 1
            continue
        pattern = patterns.setdefault(key, Pattern(*key))
        if per_role.get(key, 0) >= per_pattern or pattern.wrote >= 2:
            skipped += 1
            continue
        per_role[key] = per_role.get(key, 0) + 1
        if not pattern.warm:
            warm_wrote: set[str] = set()
            with watching_writes(warm_wrote):
                client.get(url)
            pattern.warm = True
            pattern.writes |= warm_wrote
            pattern.wrote += bool(warm_wrote)
        wrote: set[str] = set()
        with watching_writes(wrote):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
        pattern.writes |= wrote
        pattern.wrote += bool(wrote)
        pages += 1
        pattern.times.append(elapsed)
        pattern.roles.add(role)
        status = str(response.status_code)
        pattern.statuses[status] = pattern.statuses.get(status, 0) + 1
        content_type = response.get("Content-Type", "").split(";")[0].strip()
        pattern.kinds.add(content_type or "-")
        if response.status_code >= 400:  # a 5xx is an error; a link to a refused page a finding too
            errors.append({"role": role, "url": url, "status": response.status_code, "view": key[1]})
        _follow(response, url, seen, queue)
    return {"pages": pages, "patterns": len(per_role), "skipped": skipped}


def walk(user: Any, per_pattern: int = 1, max_pages: int | None = None) -> Iterator[tuple[str, Any]]:
    """Yield (url, response) for the pages ``user`` reaches from the menus, breadth-first, as ``crawl``
    follows them (same links, same bounds per URL pattern, signing out never requested), untimed: for
    tests that read every page a role reaches (the wording scan of issue 15)."""
    from django.test import Client

    client = Client(SERVER_NAME=HOST)
    client.force_login(user)
    queue = deque(start_urls(user))
    seen: set[str] = set(queue)
    per_role: dict[tuple[str, str], int] = {}
    pages = 0
    while queue and (max_pages is None or pages < max_pages):
        url = queue.popleft()
        key = pattern_of(url)
        if key is None or key[1] in NEVER or per_role.get(key, 0) >= per_pattern:
            continue
        per_role[key] = per_role.get(key, 0) + 1
        response = client.get(url)
        pages += 1
        yield url, response
        _follow(response, url, seen, queue)


# Figures -------------------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (of 5 values: the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def baseline_ms() -> float:
    """Median of the anonymous sign-in page: the simplest full page, the machine's yardstick."""
    from django.test import Client
    from django.urls import reverse

    client = Client(SERVER_NAME=HOST)
    url = reverse("login")
    client.get(url)
    times = []
    for _ in range(BASELINE_RUNS):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def summary(patterns: dict[tuple[str, str], Pattern]) -> list[dict[str, Any]]:
    rows = []
    for p in patterns.values():
        if not p.times:
            continue
        rows.append(
            {
                "pattern": p.route,
                "view": p.view,
                "n": len(p.times),
                "p50_ms": round(statistics.median(p.times), 1),
                "p95_ms": round(p95(p.times), 1),
                "max_ms": round(max(p.times), 1),
                "roles": sorted(p.roles),
                "statuses": dict(sorted(p.statuses.items())),
                "content_types": sorted(p.kinds),
            }
        )
    return sorted(rows, key=lambda r: r["pattern"])


# The world -----------------------------------------------------------------------------------------


def world_path(world: str, db: str | None, reuse: bool) -> Path:
    """The SQLite file of the world: ``--db`` (never replaced) or the benchmark's own (rebuilt unless
    ``--reuse``)."""
    from django.conf import settings

    if db:
        path = Path(db).expanduser().resolve()
        if path.exists() and not reuse:
            raise CommandError(f"{path} exists: pass --reuse to run on the world in it, or remove it")
        return path
    path = Path(settings.DATA_DIR) / f"bench-pages-{world}.sqlite3"
    if not reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Refused pages (4xx), sign-ins and PDF rendering steps are in the result or beside the point; their
    log lines would drown the progress."""
    loggers = [logging.getLogger(name) for name in ("django.request", "axes", "weasyprint")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def run(
    *,
    world: str = "small",
    db: str | None = None,
    reuse: bool = False,
    per_pattern: int = 5,
    max_pages: int | None = None,
    scale: float = 1.0,
    log: IO[str] | Any = None,
    **_options: Any,
) -> dict[str, Any]:
    """Build or reuse the world, crawl it as every demo login, and return the figures."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    from fanzha.bench.alert import sqlite_file
    from fanzha.core.management.commands.serve import collect_static_if_needed
    from fanzha.org.demo import demo_logins

    if per_pattern < 1:
        raise CommandError("--per-pattern must be at least 1")
    path = world_path(world, db, reuse)
    collect_static_if_needed(lambda line: say(log, line))  # production serves collected files
    with sqlite_file(path), override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, HOST]):
        t0 = time.monotonic()
        say(log, f"demo world ({world}) in {path} …")
        call_command("demo", "--no-serve", "--size", world, "--scale", str(scale), stdout=StringIO())
        built_seconds = time.monotonic() - t0
        say(log, f"world ready in {built_seconds:.0f} s; measuring the baseline")
        baseline = baseline_ms()
        patterns: dict[tuple[str, str], Pattern] = {}
        errors: list[dict[str, Any]] = []
        roles: dict[str, Any] = {}
        missing: list[str] = []
        started = time.monotonic()
        with quiet_logs():
            logins = demo_logins()
        for login in logins:
            if login.user is None:
                missing.append(login.role)
                continue
            with quiet_logs():
                roles[login.role] = crawl(login.role, login.user, per_pattern, patterns, errors, max_pages)
            say(
                log,
                f"{login.role}: {roles[login.role]['pages']} pages, {roles[login.role]['patterns']} patterns",
            )
        crawl_seconds = time.monotonic() - started
    rows = summary(patterns)
    every = [t for p in patterns.values() for t in p.times]
    if not every:
        raise CommandError("no page was requested: is the demo world there?")
    overall_p95 = p95(every)
    slowest = sorted(rows, key=lambda r: r["p95_ms"], reverse=True)[:SLOWEST]
    return {
        "benchmark": "pages",
        "world": world,
        "scale": scale,
        "db": str(path),
        "per_pattern": per_pattern,
        "max_pages": max_pages,
        "pages": len(every),
        "pattern_count": len(rows),
        "p50_ms": round(statistics.median(every), 1),
        "p95_ms": round(overall_p95, 1),
        "baseline_ms": round(baseline, 1),
        "ratio": round(overall_p95 / baseline, 1) if baseline else None,
        "over_300_ms": [r["pattern"] for r in slowest if r["p95_ms"] > 300],
        "slowest": [
            {k: r[k] for k in ("pattern", "view", "n", "p50_ms", "p95_ms", "max_ms")} for r in slowest
        ],
        "roles": roles,
        "roles_missing": missing,
        "errors": [e for e in errors if e["status"] >= 500],
        "refused": [e for e in errors if e["status"] < 500],
        "get_writes": {p.route: sorted(p.writes) for p in patterns.values() if p.writes},
        "patterns": rows,
        "build_seconds": round(built_seconds, 1),
        "crawl_seconds": round(crawl_seconds, 1),
    }


def render(result: dict[str, Any]) -> str:
    """The figures as a table for a person (``--json`` prints the object itself)."""
    lines = [
        f"{result['pages']} pages, {result['pattern_count']} URL patterns, world {result['world']} "
        f"({result['db']}); at most {result['per_pattern']} URLs per pattern and role",
        f"overall p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms; baseline (sign-in page, median) "
        f"{result['baseline_ms']} ms; p95/baseline {result['ratio']}",
        "",
        f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'n':>4}  pattern (view)",
    ]
    for row in sorted(result["patterns"], key=lambda r: r["p95_ms"], reverse=True):
        lines.append(
            f"{row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8} {row['n']:>4}  "
            f"{row['pattern']} ({row['view']})"
        )
    lines += [
        "",
        "slowest ten by p95: " + ", ".join(f"{r['pattern']} {r['p95_ms']}" for r in result["slowest"]),
    ]
    lines.append("pages per role: " + ", ".join(f"{k} {v['pages']}" for k, v in result["roles"].items()))
    if result["roles_missing"]:
        lines.append("roles without an account in this world: " + ", ".join(result["roles_missing"]))
    lines.append(f"errors (5xx): {len(result['errors'])}; refused (4xx): {len(result['refused'])}")
    for error in [*result["errors"], *result["refused"]]:
        lines.append(f"  {error['status']} {error['role']} {error['url']}")
    if result["get_writes"]:
        lines.append("GET requests that wrote to the database:")
        for route, tables in result["get_writes"].items():
            lines.append(f"  {route}: {', '.join(tables)}")
    return "\n".join(lines)
