"""``fanzha bench load``: drive a running fanzha server with locust and print the figures as JSON.

Why a driver around locust: a load test is only worth its numbers when the scenario, the accounts
and the measurement are the same every time. The driver picks real members of the world (class
links, numbers, and a personal sign-in code issued to each of them for the run) and the dashboard
drill-down, writes them to a private file for the locust processes, runs each scenario headless,
and reads locust's CSV back.
It also samples the CPU time of the server, PostgreSQL and locust itself: on a small machine the
load generator competes with the server, and a figure is only honest with its share beside it.

Run it against the large demo world (see docs/operations.md)::

    fanzha serve --workers 4 --bind 127.0.0.1:8100 &
    fanzha bench load --host http://127.0.0.1:8100 --scenario all

The server must use the same ``DATABASE_URL`` and ``FANZHA_DATA_DIR`` (field key) as this command.

This module has no import of locust or of Django models at module level: the locustfile
(``bench/load/locustfile.py``) imports ``PATHS`` and ``path_for`` from it, and the tests check
``PATHS`` against the URL conf without locust installed.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.core.management.base import CommandParser

HELP = (
    "Load-test a running server with locust (root dashboard, member phone pages, API, a mix) "
    "and print requests/s and latency percentiles."
)

# Every page the locustfile requests, by URL name, as a template of the real path. The tests reverse
# each name with sample arguments and compare, so a changed URL conf breaks the test, not the run.
PATHS: dict[str, str] = {
    "login": "/login/",
    "dashboard_index": "/dashboards/",
    "dashboard_unit": "/dashboards/{pk}/{unit_pk}/",
    "member_landing": "/m/{token}/",
    "member_signin": "/m/{token}/signin/",
    "member_tasks": "/m/{token}/tasks/",
    "member_tips": "/m/{token}/tips/",
    "api-token": "/api/v1/auth/token/",
    "unit-list": "/api/v1/units/",
    "person-list": "/api/v1/people/",
    "case-list": "/api/v1/cases/",
}

FIXTURES_ENV = "FANZHA_LOAD_FIXTURES"  # the locustfile reads the prepared accounts from this file
THINK_ENV = "FANZHA_LOAD_THINK"  # "MIN,MAX" seconds between two requests of one simulated user
WARMUP_ENV = "FANZHA_LOAD_WARMUP"  # seconds after the last user started before statistics count
WARMUP_SECONDS = 10
COLD_SECONDS = 30  # ``--cold``: the first seconds of a fresh server, every request counted
DEFAULT_LOCUSTFILE = Path(__file__).resolve().parents[2] / "bench" / "load" / "locustfile.py"


def path_for(name: str, **kwargs: Any) -> str:
    """The path of page ``name`` (a key of ``PATHS``) with its arguments filled in."""
    return PATHS[name].format(**kwargs)


@dataclass(frozen=True)
class Scenario:
    """One locust run: which user classes, how many users, how long each user thinks between requests."""

    classes: tuple[str, ...]
    users: int
    think: tuple[float, float]
    about: str


SCENARIOS: dict[str, Scenario] = {
    "dashboard": Scenario(
        ("RootDashboardUser",), 50, (1.0, 3.0), "50 staff reloading the province root dashboard (think 1-3 s)"
    ),
    "dashboard-saturated": Scenario(
        ("RootDashboardUser",), 50, (0.0, 0.0), "50 staff reloading the root dashboard with no think time"
    ),
    "member": Scenario(
        ("MemberUser",), 32, (0.0, 0.0), "member phone pages at full throughput (no think time)"
    ),
    "api": Scenario(("ApiUser",), 16, (0.0, 0.0), "API lists (people, units, cases) at full throughput"),
    "mix": Scenario(
        ("MemberUser", "StaffUser", "ApiUser"),
        200,
        (1.0, 5.0),
        "200 users, members 16 : staff 3 : API 1, think 1-5 s",
    ),
}
ALL = ("dashboard", "dashboard-saturated", "member", "api", "mix")


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--host", default="http://127.0.0.1:8100", help="base URL of the running server")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, "all"],
        help="scenario to run (repeatable; default all): " + ", ".join(SCENARIOS),
    )
    parser.add_argument("--users", type=int, help="simulated users (default: the scenario's own)")
    parser.add_argument("--duration", type=int, default=60, help="seconds each scenario runs (default 60)")
    parser.add_argument("--spawn-rate", type=float, default=20.0, help="users started per second")
    parser.add_argument("--processes", type=int, default=1, help="locust processes (locust --processes)")
    parser.add_argument(
        "--warmup", type=int, default=WARMUP_SECONDS, help="seconds after the last user started, not counted"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help=f"also report the first {COLD_SECONDS} s of the first scenario, counted from its first request "
        "(run on a freshly started server: what a crowd meets after a restart), beside its steady state",
    )
    parser.add_argument("--members", type=int, default=400, help="members to prepare sign-ins for")
    parser.add_argument("--root", help="code of the root unit (default: the large world's province)")
    parser.add_argument("--fixtures", help="file for the prepared accounts (default in FANZHA_DATA_DIR)")
    parser.add_argument("--setup-only", action="store_true", help="prepare the accounts file and stop")
    parser.add_argument("--locustfile", default=str(DEFAULT_LOCUSTFILE), help="the locust scenario file")


# Setup: the accounts and pages the simulated users use -------------------------------------------


@dataclass
class Fixtures:
    """What the locust processes need; written to a file only this user can read (it holds sign-ins)."""

    campaign: int
    root: int
    drill: dict[str, list[int]]
    staff_login: str
    staff_password: str
    members: list[dict[str, str]] = field(default_factory=list)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(self), out, ensure_ascii=False)
        os.chmod(path, 0o600)  # an existing file keeps its old mode otherwise


def default_fixtures_path() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / "load-fixtures.json"


def find_root(code: str | None) -> Any:
    """The root unit under load: the given code, else the large world's province."""
    from django.core.management.base import CommandError

    from fanzha.org import demo
    from fanzha.org.models import Unit

    code = code or demo.PROVINCE_CODE
    root = Unit.objects.filter(parent_path="", code=code).first()
    if root is None:
        raise CommandError(f"no root unit {code!r}: build the large world first (fanzha demo --size large)")
    return root


def find_campaign(root: Any) -> Any:
    """The running campaign issued at ``root`` that tracks the most attestation items."""
    from django.core.management.base import CommandError
    from django.utils import timezone

    from fanzha.campaigns.models import Campaign
    from fanzha.reach import queries

    found = [
        c
        for c in Campaign.objects.filter(
            unit=root, status=Campaign.Status.ACTIVE, starts_on__lte=timezone.localdate()
        ).order_by("pk")
        if queries.campaign_items(c)
    ]
    if not found:
        raise CommandError(
            f"no running campaign with attestation items on {root.code}: run `fanzha bench rollup --reuse` "
            "(it starts one on the province root with every person's attestations)"
        )
    return max(found, key=lambda c: len(queries.campaign_items(c)))


def drill_down(root: Any, rng: random.Random, per_level: int = 12) -> dict[str, list[int]]:
    """Units one, two and three levels below ``root`` (a sample of each) for the staff drill-down."""
    from fanzha.org.models import Unit

    levels: dict[str, list[int]] = {}
    parents = [root]
    for name in ("level1", "level2", "level3"):
        children = list(
            Unit.objects.filter(parent_path__in=[p.path for p in parents], is_active=True).order_by("path")
        )
        if not children:
            break
        picked = rng.sample(children, min(per_level, len(children)))
        levels[name] = [u.pk for u in picked]
        parents = picked
    return levels


def pick_members(
    root: Any, count: int, rng: random.Random, actor: Any, per_class: int = 4
) -> list[dict[str, str]]:
    """Members of classes under ``root`` who sign in with a number: class link token, number, and a
    personal sign-in code issued now by ``actor`` (``org.credentials``; their previous code stops
    working, as when a counsellor prints new slips). Students first; where a class has none with a
    number, its staff (its head teacher). The demo's own logins are never picked, so their known codes
    keep working.

    The codes leave this function only in the private fixtures file; nothing here prints them.
    """
    from collections import defaultdict

    from fanzha.org import demo
    from fanzha.org.credentials import actions as credentials
    from fanzha.org.models import Membership, Person, PersonKind, Unit, UnitKind
    from fanzha.reach import actions

    rows = (
        Membership.objects.filter(
            unit__path__startswith=root.path,
            unit__kind=UnitKind.CLASS,
            unit__is_active=True,
            person__is_active=True,
        )
        .exclude(person__external_number="")
        .exclude(person__kind=PersonKind.PARENT)
        .exclude(person__external_number__in=list(demo.DEMO_NUMBERS.values()))
        .values_list("unit_id", "person__kind", "person__external_number", "person_id")
    )
    by_class: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for unit_id, kind, number, person_id in rows:
        by_class[unit_id].append((kind, number, person_id))
    classes = sorted(by_class)
    rng.shuffle(classes)
    picked: list[dict[str, str]] = []
    for class_pk in classes:
        if len(picked) >= count:
            break
        people = sorted(set(by_class[class_pk]), key=lambda p: (p[0] != PersonKind.STUDENT, p[1]))
        token = actions.ensure_class_link(Unit.objects.get(pk=class_pk)).token
        for _kind, number, person_id in people[: min(per_class, count - len(picked))]:
            code = credentials.issue_code(Person.objects.get(pk=person_id), actor).code
            picked.append({"token": token, "number": number, "code": code})
    return picked


def prepare(root_code: str | None, members: int, path: Path, log: Any = None) -> Fixtures:
    """Choose the campaign, drill-down and members, make sure the class links exist, write ``path``."""
    from django.conf import settings

    from fanzha.org import demo

    rng = random.Random("fanzha-load")  # the same members and units every run
    root = find_root(root_code)
    campaign = find_campaign(root)
    superuser = demo.ensure_superuser()
    fixtures = Fixtures(
        campaign=campaign.pk,
        root=root.pk,
        drill=drill_down(root, rng),
        staff_login=demo.SUPERUSER_NAME,
        staff_password=settings.FANZHA_DEMO_PASSWORD,
        members=pick_members(root, members, rng, superuser),
    )
    fixtures.write(path)
    say(log, f"campaign {campaign.pk} on {root.code}: {len(fixtures.members)} members prepared in {path}")
    return fixtures


# The run ------------------------------------------------------------------------------------------


class CpuSampler:
    """Sums CPU seconds of three process groups while a scenario runs: server, PostgreSQL, locust.

    Why sampling: locust's worker processes and gunicorn's threads come and go, and a process's
    CPU time is lost once it has exited, so the last value seen for every process is kept.
    """

    def __init__(
        self, server_port: int | None, locust_pid: int, database: str = "", after: float = 0
    ) -> None:
        """Count from ``after`` seconds on (when locust's statistics start), until ``stop``."""
        import psutil

        self._psutil = psutil
        self._locust = locust_pid
        self._database = f" {database} " if database else None
        self._server = self._listening(server_port) if server_port else set()
        self._start: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._after = after
        self._begin()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _begin(self) -> None:
        """The baseline: CPU seconds of the machine and of every process running now."""
        self._machine = self._psutil.cpu_times()
        self._started = time.monotonic()
        self._last = {}
        self._groups()
        self._start = {pid: seconds for pid, (_group, seconds) in self._last.items()}

    def _listening(self, port: int) -> set[int]:
        """The server's top process: the owner of the listening socket (psutil names one of the gunicorn
        processes sharing it), then up through parents with the same command line (the arbiter)."""
        pids = set()
        for conn in self._psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == "LISTEN" and conn.pid:
                proc = self._psutil.Process(conn.pid)
                while (parent := proc.parent()) is not None and parent.cmdline() == proc.cmdline():
                    proc = parent
                pids.add(proc.pid)
        return pids

    def _tree(self, pid: int) -> list[Any]:
        try:
            proc = self._psutil.Process(pid)
            return [proc, *proc.children(recursive=True)]
        except self._psutil.NoSuchProcess:
            return []

    def _groups(self) -> None:
        groups: list[tuple[str, Any]] = []
        for pid in self._server:
            groups += [("server", p) for p in self._tree(pid)]
        groups += [("locust", p) for p in self._tree(self._locust)]
        # The backends serving our database (their title names it); not other databases of the cluster.
        for proc in self._psutil.process_iter(["name", "cmdline"]):
            title = " ".join(proc.info["cmdline"] or []) + " "
            if proc.info["name"] == "postgres" and self._database and self._database in title:
                groups.append(("postgres", proc))
        for group, proc in groups:
            try:
                times = proc.cpu_times()
            except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                continue
            self._last[proc.pid] = (group, times.user + times.system)

    def _loop(self) -> None:
        if self._after > 0 and not self._stop.wait(self._after):
            self._begin()
        while not self._stop.wait(0.5):
            self._groups()

    def stop(self) -> dict[str, float]:
        """Shares of the machine's CPU capacity (all cores = 100 %) used by each group during the run."""
        self._stop.set()
        self._thread.join()
        self._groups()
        wall = time.monotonic() - self._started
        capacity = wall * (self._psutil.cpu_count() or 1)
        used: dict[str, float] = {"server": 0.0, "postgres": 0.0, "locust": 0.0}
        for pid, (group, seconds) in self._last.items():
            used[group] += seconds - self._start.get(pid, 0.0)
        shares = {f"{group}_pct": round(100 * seconds / capacity, 1) for group, seconds in used.items()}
        # Whatever else ran on the machine meanwhile (a shared machine is rarely idle): busy minus ours.
        start, end = self._machine, self._psutil.cpu_times()
        idle = (end.idle - start.idle) + getattr(end, "iowait", 0) - getattr(start, "iowait", 0)
        busy = 100 * (1 - idle / max(sum(end) - sum(start), 1e-9))
        shares["machine_busy_pct"] = round(busy, 1)
        shares["other_pct"] = round(max(0.0, busy - sum(shares[f"{g}_pct"] for g in used)), 1)
        return shares


def read_stats(prefix: str) -> dict[str, Any]:
    """Locust's ``PREFIX_stats.csv``: the aggregated figures and one line per request name."""

    def number(text: str) -> float:
        try:
            return float(text)
        except ValueError:  # "N/A" for a name without requests since the statistics were reset
            return 0.0

    def figures(row: dict[str, str]) -> dict[str, Any]:
        return {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": round(number(row["Requests/s"]), 1),
            "median_ms": number(row["50%"]),
            "p95_ms": number(row["95%"]),
            "p99_ms": number(row["99%"]),
        }

    with open(f"{prefix}_stats.csv", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    return {
        **figures(total),
        "by_name": {
            f"{row['Type']} {row['Name']}": figures(row)
            for row in rows
            if row["Name"] != "Aggregated" and int(row["Request Count"])
        },
    }


def run_scenario(
    name: str,
    *,
    host: str,
    fixtures: Path,
    locustfile: str,
    users: int | None,
    duration: int,
    spawn_rate: float,
    processes: int,
    warmup: int = WARMUP_SECONDS,
    log: Any = None,
) -> dict[str, Any]:
    """One headless locust run of scenario ``name``; statistics count for ``duration`` seconds from
    ``warmup`` seconds after the last user started (sign-ins and cold caches left out)."""
    from urllib.parse import urlsplit

    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or shutil.which("locust")
    if locust is None:
        from django.core.management.base import CommandError

        raise CommandError("locust is not installed: pip install 'fanzha[load]'")
    scenario = SCENARIOS[name]
    count = users or scenario.users
    workdir = tempfile.mkdtemp(prefix="fanzha-load-")
    prefix = os.path.join(workdir, name)
    command = [
        locust,
        "-f",
        locustfile,
        "--headless",
        "--users",
        str(count),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{duration + warmup + math.ceil(count / spawn_rate)}s",  # statistics count the last ``duration``
        "--host",
        host,
        "--csv",
        prefix,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "5",
    ]
    if processes > 1:
        command += ["--processes", str(processes)]
    command += list(scenario.classes)
    env = dict(
        os.environ,
        **{
            FIXTURES_ENV: str(fixtures),
            THINK_ENV: "{},{}".format(*scenario.think),
            WARMUP_ENV: str(warmup),
        },
    )
    say(log, f"{name}: {scenario.about}; {count} users for {duration} s …")
    with open(os.path.join(workdir, "locust.log"), "wb") as output:
        proc = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        after = warmup + math.ceil(count / spawn_rate)
        sampler = CpuSampler(urlsplit(host).port, proc.pid, _database_name(), after)
        code = proc.wait()
        cpu = sampler.stop()
    try:
        stats = read_stats(prefix)
    except (FileNotFoundError, StopIteration) as exc:
        tail = Path(workdir, "locust.log").read_text(errors="replace")[-2000:]
        from django.core.management.base import CommandError

        raise CommandError(f"locust wrote no statistics (exit {code}):\n{tail}") from exc
    shutil.rmtree(workdir, ignore_errors=True)
    return {
        "users": count,
        "duration_s": duration,
        "warmup_s": warmup,
        "think_s": list(scenario.think),
        **stats,
        "cpu": cpu,
    }


def _database_name() -> str:
    from django.db import connection

    return str(connection.settings_dict["NAME"]) if connection.vendor == "postgresql" else ""


def machine() -> dict[str, Any]:
    """Cores, memory and database engine: a figure means little without them."""
    import psutil
    from django.db import connection

    info: dict[str, Any] = {
        "cores": psutil.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "database": connection.vendor,
    }
    if connection.vendor == "postgresql":
        info["database_version"] = connection.cursor().connection.info.server_version
    return info


def say(log: Any, text: str) -> None:
    """A progress line on ``log`` (a command's stdout, or None for quiet), flushed at once: the
    benchmarks run for minutes and their operator watches them (bench load, pages and rollup)."""
    if log is not None:
        log.write(text + "\n")
        if hasattr(log, "flush"):
            log.flush()


def run(
    *,
    host: str = "http://127.0.0.1:8100",
    scenario: list[str] | None = None,
    users: int | None = None,
    duration: int = 60,
    spawn_rate: float = 20.0,
    processes: int = 1,
    warmup: int = WARMUP_SECONDS,
    members: int = 400,
    root: str | None = None,
    fixtures: str | None = None,
    setup_only: bool = False,
    locustfile: str = str(DEFAULT_LOCUSTFILE),
    cold: bool = False,
    log: IO[str] | Any = None,
    **_options: Any,
) -> dict[str, Any]:
    """Prepare the accounts, then run each chosen scenario against ``host`` and collect its figures.

    ``cold``: the first scenario first runs ``COLD_SECONDS`` with every request counted from the first
    (no warm-up left out), its figures under ``"cold"``; then its steady state as usual. Only the first
    scenario meets the server as it was started, so only it has a cold figure."""
    path = Path(fixtures) if fixtures else default_fixtures_path()
    prepared = prepare(root, members, path, log)
    result: dict[str, Any] = {
        "benchmark": "load",
        "host": host,
        "machine": machine(),
        "campaign": prepared.campaign,
        "members_prepared": len(prepared.members),
        "scenarios": {},
    }
    if setup_only:
        return result
    names = list(ALL) if not scenario or "all" in scenario else list(dict.fromkeys(scenario))
    common: dict[str, Any] = {
        "host": host,
        "fixtures": path,
        "locustfile": locustfile,
        "users": users,
        "spawn_rate": spawn_rate,
        "processes": processes,
        "log": log,
    }
    for index, name in enumerate(names):
        first_seconds = None
        if cold and index == 0:
            say(log, f"{name}: the first {COLD_SECONDS} s of the server as it is now (cold)")
            first_seconds = run_scenario(name, duration=COLD_SECONDS, warmup=0, **common)
        result["scenarios"][name] = run_scenario(name, duration=duration, warmup=warmup, **common)
        if first_seconds is not None:
            result["scenarios"][name]["cold"] = first_seconds
    return result
