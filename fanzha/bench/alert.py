"""``fanzha bench alert [--runs N] [--db PATH] [--delivery thread|sync]``: from a student's phone report
to the stop-payment alert in the police chat group, timed.

Why this figure: the alert is only worth something while the money can still be stopped, so what
matters is how long the police side waits after a victim presses "report" — the whole path: the
member pages (middleware, session), ``cases.actions.report_case`` with ``via=SELF``, the alert queued
in the same transaction, and after commit the delivery (``FANZHA_ALERT_DELIVERY``, "thread" as in
production) to a WeCom robot webhook, here the local fake of the WeCom service on 127.0.0.1 in this
process (``fanzha/bench/robots.py``, the same fake the tests use: it checks the format, the size and the
rate as WeCom does, and answers as WeCom does). The fake is allow-listed for the run
(``FANZHA_WEBHOOK_ALLOWED_HOSTS``), as an operator lists a private deployment.

The world is tiny and lives in a throwaway SQLite file (``--db`` to keep it somewhere): a school, a
college, a class with its link, a student with a phone, a police liaison and a security officer
granted at the school (the first contact tier), and a WeCom channel on the school. Each run signs the
student in on a fresh Django test client and posts the self-report form (one transfer ten minutes ago,
a suspect phone and a suspect web address that is unique to the run, so that the robot's side knows
which post belongs to which report). One untimed warm-up run comes first. A WeCom robot takes 20
messages a minute, and delivery paces itself under that; the figure is latency, not pacing, so the
group moves to a fresh robot of the fake every ``ROBOT_TURN`` reports (between reports, untimed), as
the baseline does for its posts.

Printed figures (median, and p95 by nearest rank, over ``--runs`` reports):

``report_to_webhook_ms``
    from the start of the form's POST until the fake robot has accepted the webhook post for that case.
``response_ms``
    the POST itself, until the student's phone gets its answer (the redirect to "what to do now").
``in_app_ms``
    until the police liaison's in-app notification row exists (its ``created_at``).
``baseline_ms``
    the floor: the same message text (same size), posted straight to the fake robot with
    ``notify.webhooks.post_json`` (the checked, pinned post delivery uses), no request, no database;
    from the call until the robot has accepted it. ``ratio`` = report_to_webhook_ms / baseline_ms.
"""

from __future__ import annotations

import math
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend

from .robots import FakeService, serving
from .robots import Robot as FakeRobot

HELP = "Time a student's phone self-report until the stop-payment alert reaches the police chat group."

SQLITE = "django.db.backends.sqlite3"
# As fanzha/settings/base.py opens SQLite (used when the configured database is another one).
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
}
WAIT_SECONDS = 30  # a webhook later than this is a failure, not a figure
ROBOT_TURN = 15  # posts to one fake robot before moving to a fresh one (WeCom takes 20 a minute)
STUDENT_NUMBER = "B2026001"
STUDENT_PHONE = "13800138000"
PAYEE_CARD = "6222021234567890128"
DELIVERY_THREAD_NAME = "case-alert"  # the name cases.alerts.actions.dispatch gives its delivery threads


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--runs", type=int, default=20, help="timed reports (after one warm-up)")
    parser.add_argument("--db", help="SQLite file to build the tiny world in (default: a temporary file)")
    parser.add_argument(
        "--delivery",
        choices=["thread", "sync"],
        default="thread",
        help="FANZHA_ALERT_DELIVERY during the runs (production default: thread)",
    )


def _say(log: Any, text: str) -> None:
    if log is not None:
        log.write(text + "\n")
        if hasattr(log, "flush"):
            log.flush()


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def p95(values: list[float]) -> float:
    """The 95th percentile by nearest rank (a value that occurred, as ``alerts.actions`` reports p90)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


# The chat-group robot -------------------------------------------------------------------------------


@dataclass
class Robot:
    """The police chat group's side: the WeCom fake, and when each expected marker first arrived.

    The arrival time is taken when the fake has read and accepted the post (its listener), so the
    figure does not depend on how soon the waiting thread wakes up.
    """

    service: FakeService
    posts: list[str] = field(default_factory=list)
    arrivals: dict[str, float] = field(default_factory=dict)
    waiting: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fresh_url(self) -> str:
        """The webhook URL of a new robot of the fake (a group's robot that has sent nothing yet)."""
        return self.service.add_robot().url

    def expect(self, marker: str) -> threading.Event:
        """An event set when a post containing ``marker`` arrives (register before sending)."""
        with self.lock:
            return self.waiting.setdefault(marker, threading.Event())

    def received(self, robot: FakeRobot, text: str, at: float) -> None:
        with self.lock:
            self.posts.append(text)
            for marker, event in self.waiting.items():
                if marker in text and marker not in self.arrivals:
                    self.arrivals[marker] = at
                    event.set()

    def count(self, marker: str) -> int:
        with self.lock:
            return sum(marker in text for text in self.posts)


@contextmanager
def running_robot() -> Iterator[Robot]:
    """Serve the WeCom fake on a free port of 127.0.0.1 until the block ends."""
    with serving(FakeService("wecom")) as service:
        robot = Robot(service)
        service.on_accept.append(robot.received)
        yield robot


# The throwaway database -----------------------------------------------------------------------------


@contextmanager
def sqlite_file(path: Path) -> Iterator[None]:
    """Serve the default database alias from the SQLite file ``path``, then put the configured one back.

    Why in place: the alert's delivery thread opens its own connection from the shared settings dict,
    so that dict points at the file for the duration; this thread gets a fresh wrapper because its
    current one may be open already (an in-memory test database ignores ``close()``).
    """
    from django.contrib.contenttypes.models import ContentType

    shared = connections.settings[DEFAULT_DB_ALIAS]
    saved = dict(shared)
    previous = connections[DEFAULT_DB_ALIAS]
    options = dict(saved.get("OPTIONS") or {}) if saved["ENGINE"] == SQLITE else dict(SQLITE_OPTIONS)
    shared.update(ENGINE=SQLITE, NAME=str(path), OPTIONS=options, CONN_MAX_AGE=0)
    wrapper = load_backend(SQLITE).DatabaseWrapper(shared, DEFAULT_DB_ALIAS)
    connections[DEFAULT_DB_ALIAS] = wrapper
    ContentType.objects.clear_cache()  # ids cached from the other database
    try:
        yield
    finally:
        wrapper.close()
        shared.clear()
        shared.update(saved)
        connections[DEFAULT_DB_ALIAS] = previous
        ContentType.objects.clear_cache()


# The world ------------------------------------------------------------------------------------------


@dataclass
class World:
    token: str
    liaison_pk: int
    channel_pk: int
    code: str  # the student's personal sign-in code


def move_group(world: World, url: str) -> None:
    """Point the school's group at a fresh robot (between reports: WeCom takes 20 a minute per robot)."""
    from fanzha.notify import actions as notify
    from fanzha.notify.models import Channel

    channel = Channel.objects.get(pk=world.channel_pk)
    notify.update_channel(channel, kind=channel.kind, name=channel.name, url=url)


def build_world(robot_url: str) -> World:
    """A school with one class, its student, two responders at the school and the school's WeCom group."""
    from fanzha.notify import actions as notify
    from fanzha.notify.models import ChannelAudience, ChannelKind
    from fanzha.org import actions
    from fanzha.org.credentials import actions as credentials
    from fanzha.org.models import Role
    from fanzha.reach import actions as reach

    code = f"ALERTBENCH{secrets.token_hex(3).upper()}"
    school = actions.create_unit(parent=None, name="基准测试学院", code=code, kind="school")
    college = actions.create_unit(parent=school, name="信息工程系", code="IE", kind="college")
    klass = actions.create_unit(parent=college, name="网络2601班", code="IE2601", kind="class")
    student = actions.enrol_person(
        unit=klass, name="陈小明", kind="student", external_number=STUDENT_NUMBER, phone=STUDENT_PHONE
    )
    users = {}
    for number, name, role in (
        ("P0001", "警务联络员", Role.POLICE_LIAISON),
        ("S0001", "保卫处值班员", Role.SECURITY_OFFICER),
    ):
        person = actions.enrol_person(unit=school, name=name, kind="staff", external_number=number)
        users[role] = actions.create_account(person, None)
        actions.grant_role(users[role], school, role)
    channel = notify.add_channel(
        unit=school,
        kind=ChannelKind.WECOM,
        name="校园反诈处置群",
        url=robot_url,
        audience=ChannelAudience.POLICE,
    )
    link = reach.ensure_class_link(klass)
    code = credentials.issue_code(student, users[Role.SECURITY_OFFICER]).code
    return World(token=link.token, liaison_pk=users[Role.POLICE_LIAISON].pk, channel_pk=channel.pk, code=code)


def report_form(marker: str) -> dict[str, str]:
    """The self-report form as a phone posts it: one bank transfer ten minutes ago, two suspect leads."""
    from django.utils import timezone

    fmt = "%Y-%m-%dT%H:%M"
    now = timezone.localtime()
    return {
        "submit_token": secrets.token_urlsafe(24),
        "fraud_type": "fake_cs",
        "channel": "call",
        "occurred_at": (now - timedelta(minutes=30)).strftime(fmt),
        "narrative": "自称快递客服说包裹丢了要理赔，让我下载会议软件共享屏幕，按提示转了账",
        "suspect_phones": "+86 171 2345 6789",
        "suspect_links": f"http://{marker}.example.com/lipei",
        "tr-TOTAL_FORMS": "2",
        "tr-INITIAL_FORMS": "0",
        "tr-MIN_NUM_FORMS": "0",
        "tr-MAX_NUM_FORMS": "20",
        "tr-0-at": (now - timedelta(minutes=10)).strftime(fmt),
        "tr-0-amount": "4980",
        "tr-0-method": "bank_transfer",
        "tr-0-to_account": PAYEE_CARD,
    }


# One report -----------------------------------------------------------------------------------------


@dataclass
class Sample:
    response: float
    webhook: float
    in_app: float


def _join_delivery_threads() -> None:
    """Let the previous report's delivery finish, so that it does not hold the database for the next."""
    for thread in threading.enumerate():
        if thread.name == DELIVERY_THREAD_NAME:
            thread.join(WAIT_SECONDS)


def _why_missing(case_pk: int) -> str:
    from fanzha.notify.models import Outbox

    rows = Outbox.objects.filter(idempotency_key__startswith=f"case-alert:{case_pk}:")
    return "; ".join(f"{r.channel_kind} {r.status} {r.last_error}".strip() for r in rows) or "nothing queued"


def report_once(world: World, robot: Robot, marker: str) -> Sample:
    """Sign the student in, post the report and wait for the robot; the three timings of that report."""
    from django.test import Client
    from django.urls import resolve, reverse

    from fanzha.cases.models import Alert
    from fanzha.notify.models import Notification

    client = Client(SERVER_NAME="localhost")
    signin = client.post(
        reverse("member_signin", args=[world.token]),
        {"number": STUDENT_NUMBER, "code": world.code},
        secure=True,
    )
    if signin.status_code != 302 or "/tasks/" not in signin["Location"]:
        raise CommandError(f"member sign-in answered {signin.status_code}")
    data = report_form(marker)
    arrived = robot.expect(marker)
    wall = time.time()
    started = time.perf_counter()
    response = client.post(reverse("member_report", args=[world.token]), data, secure=True)
    response_seconds = time.perf_counter() - started
    if response.status_code != 302:
        raise CommandError(f"the report form answered {response.status_code}")
    case_pk = int(resolve(response["Location"]).kwargs["pk"])
    if not arrived.wait(WAIT_SECONDS):
        raise CommandError(f"no webhook for case {case_pk} within {WAIT_SECONDS} s: {_why_missing(case_pk)}")
    webhook_seconds = robot.arrivals[marker] - started
    _join_delivery_threads()
    alert = Alert.objects.get(case_id=case_pk)
    note = (
        Notification.objects.filter(user_id=world.liaison_pk, link=reverse("alert_detail", args=[alert.pk]))
        .order_by("pk")
        .first()
    )
    if note is None:
        raise CommandError(f"no in-app notification for case {case_pk}: {_why_missing(case_pk)}")
    return Sample(response_seconds, webhook_seconds, note.created_at.timestamp() - wall)


def baseline(robot: Robot, text: str, marker: str, runs: int) -> list[float]:
    """Seconds from posting ``text`` (``marker`` swapped for one of the same length) until the robot has
    accepted it: the same webhook body, with nothing of the application around it."""
    from fanzha.notify import robots, webhooks
    from fanzha.notify.delivery import TIMEOUT_SECONDS
    from fanzha.notify.models import ChannelKind

    timings = []
    url = robot.fresh_url()
    for i in range(runs + 1):  # the first one warms up
        if i and i % ROBOT_TURN == 0:
            url = robot.fresh_url()
        fresh = _marker(i, "b")
        post_url, body = robots.request(ChannelKind.WECOM, url, "", text.replace(marker, fresh))
        arrived = robot.expect(fresh)
        started = time.perf_counter()
        webhooks.post_json(post_url, body, TIMEOUT_SECONDS)
        if not arrived.wait(WAIT_SECONDS):
            raise CommandError("a baseline post did not arrive")
        if i:
            timings.append(robot.arrivals[fresh] - started)
    return timings


def _marker(i: int, prefix: str = "r") -> str:
    """A marker unique to one post, always of the same length (so the baseline text is the same size)."""
    return f"{prefix}{i:03d}{secrets.token_hex(4)}"


# The benchmark --------------------------------------------------------------------------------------


def run(
    *,
    runs: int = 20,
    db: str | None = None,
    delivery: str = "thread",
    log: IO[str] | Any = None,
    **_options: Any,
) -> dict[str, Any]:
    """Build the tiny world, time ``runs`` self-reports after a warm-up, then the bare-post floor."""
    from django.conf import settings
    from django.test.utils import override_settings

    if runs < 1:
        raise CommandError("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="fanzha-bench-alert-") as tmp:
        path = Path(db).expanduser().resolve() if db else Path(tmp) / "alert.sqlite3"
        hosts = [*settings.ALLOWED_HOSTS, "localhost"]
        with running_robot() as robot:
            webhook_hosts = [*settings.FANZHA_WEBHOOK_ALLOWED_HOSTS, robot.service.base]
            with (
                sqlite_file(path),
                override_settings(
                    DEBUG=False,
                    FANZHA_ALERT_DELIVERY=delivery,
                    ALLOWED_HOSTS=hosts,
                    FANZHA_WEBHOOK_ALLOWED_HOSTS=webhook_hosts,
                    # One student reports every run: the daily limit of self-reports is lifted for the bench.
                    FANZHA_SELF_REPORTS_PER_DAY=runs + 1,
                ),
            ):
                _say(log, f"migrating {path}")
                call_command("migrate", verbosity=0, interactive=False)
                world = build_world(robot.fresh_url())
                _say(log, f"warm-up report, then {runs} timed ({delivery} delivery)")
                first = report_once(world, robot, _marker(0))
                samples = []
                markers = []
                for i in range(1, runs + 1):
                    if i % ROBOT_TURN == 0:
                        move_group(world, robot.fresh_url())
                    markers.append(_marker(i))
                    samples.append(report_once(world, robot, markers[-1]))
                duplicates = [m for m in markers if robot.count(m) != 1]
                received = len(robot.posts)
                refused = [code or -1 for code in robot.service.codes() if code != 0]
                last = next(text for text in reversed(robot.posts) if markers[-1] in text)
                _say(log, f"baseline: {runs} bare webhook posts of {len(last)} characters")
                floor = baseline(robot, last, markers[-1], runs)
    if duplicates:
        raise CommandError(f"{len(duplicates)} reports reached the chat group more than once")
    if refused:
        raise CommandError(f"the WeCom fake refused {len(refused)} posts (codes {sorted(set(refused))})")
    webhook = [s.webhook for s in samples]
    response = [s.response for s in samples]
    in_app = [s.in_app for s in samples]
    figure, base = statistics.median(webhook), statistics.median(floor)
    return {
        "benchmark": "alert",
        "runs": runs,
        "delivery": delivery,
        "report_to_webhook_ms": _ms(figure),
        "report_to_webhook_p95_ms": _ms(p95(webhook)),
        "response_ms": _ms(statistics.median(response)),
        "response_p95_ms": _ms(p95(response)),
        "in_app_ms": _ms(statistics.median(in_app)),
        "in_app_p95_ms": _ms(p95(in_app)),
        "baseline_ms": _ms(base),
        "baseline_p95_ms": _ms(p95(floor)),
        "ratio": round(figure / base, 2),
        "first_report_to_webhook_ms": _ms(first.webhook),
        "webhook_posts": received,
        "message_chars": len(last),
        "database": "sqlite",
    }
