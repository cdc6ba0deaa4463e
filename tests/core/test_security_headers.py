"""Security headers: a Content-Security-Policy without inline scripts, and pages that obey it.

Three layers: every template file is free of inline scripts and ``on*=`` handlers; every page a
school admin can reach by links from the home page and the URL map renders none either and carries
the header; production settings send the policy with HSTS and frame denial; and in a real browser
the dashboard's charts and the signature pad run without one CSP violation.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter, deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils import timezone

import fanzha
from fanzha.campaigns.activities import actions as activity_actions
from fanzha.cases import actions as case_actions
from fanzha.reach.actions import ensure_class_link
from tests.campaigns import files
from tests.cases.conftest import intake, start
from tests.codes import give_code
from tests.conftest import build_cast
from tests.e2e.conftest import browser_context_args, browser_type_launch_args  # noqa: F401 (fixtures)
from tests.reach.conftest import make_campaign as reach_campaign

PACKAGE = Path(fanzha.__file__).parent
REQUIRED = [
    "script-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
]
# Not followed: leaving the session, changing language (POST only), the Django admin (not ours).
SKIP = ("/logout", "/i18n/", "/admin/", "/static/", "/media/")
PER_ROUTE = 2  # pages visited per URL pattern (the same template with other data adds nothing)
MAX_PAGES = 260


class _Inline(HTMLParser):
    """Collects inline scripts, ``on*=`` handlers, ``javascript:`` links and same-site links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script" and not values.get("src"):
            kind = (values.get("type") or "").lower()
            if kind not in ("application/json", "application/ld+json"):  # data, never executed
                self.problems.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")


def _inline_problems(html: str) -> tuple[list[str], list[str]]:
    parser = _Inline()
    parser.feed(html)
    return parser.problems, parser.links


# 1. Template files ----------------------------------------------------------------------------------

_TAG = re.compile(r"<(script|[a-z][a-z0-9-]*)\b((?:[^>{]|\{[{%#].*?[}%#]\})*)>", re.S | re.I)
_HANDLER = re.compile(r"(?:^|[\s\"'])on[a-z]+\s*=", re.I)


def _templates() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*/templates/**/*.html"))


def test_no_template_has_an_inline_script_or_handler():
    assert len(_templates()) > 50
    problems = []
    for path in _templates():
        text = path.read_text()
        for match in _TAG.finditer(text):
            tag, attrs = match.group(1).lower(), match.group(2)
            line = text.count("\n", 0, match.start()) + 1
            if _HANDLER.search(re.sub(r"\{[{%#].*?[}%#]\}", " ", attrs)):
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: handler attribute")
            if tag == "script" and "src=" not in attrs and "application/json" not in attrs:
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: inline <script>")
            if re.search(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", attrs, re.I):
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: javascript: URL")
    assert not problems, "\n".join(problems)


def test_the_scan_finds_what_it_looks_for():
    """The checks above would catch the usual ways of writing inline code."""
    page = (
        '<button onclick="go()">x</button><script>alert(1)</script>'
        '<a href="javascript:void(0)">y</a><script src="/static/a.js"></script>'
        '<script type="application/json" id="d">{}</script>'
    )
    problems, _ = _inline_problems(page)
    assert len(problems) == 3, problems
    assert _HANDLER.search(' class="x" onchange="y"') and not _HANDLER.search(' data-online="1"')


# 2. Every reachable page ------------------------------------------------------------------------------


def _routes(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, str]]:
    """(route, name) of every URL pattern outside the admin."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if not route.startswith("admin/"):
                found.extend(_routes(entry, route))
        elif isinstance(entry, URLPattern):
            found.append((route, entry.name or ""))
    return found


def _seeds() -> list[str]:
    """Every page of the URL map that takes no argument."""
    seeds = []
    for _route, name in _routes():
        if not name:
            continue
        try:
            seeds.append(reverse(name))
        except Exception:  # needs arguments: reached through links instead
            continue
    return seeds


@pytest.fixture
def world(cast, settings):
    """The cast with the shipped content, a running built-in campaign, a member campaign tracking every
    attestation, an activity with a photo and a reported case."""
    settings.FANZHA_SMS_BACKEND = "tests.reach.conftest.CaptureBackend"
    call_command("sync-content", verbosity=0)
    start("university-fraud-free-campus", cast.uni)
    reach_campaign(cast)
    activity_actions.record_activity(
        unit=cast.cs2301,
        kind="class_meeting",
        occurred_on=timezone.localdate(),
        title="三月主题班会",
        attendance_count=30,
        actor=cast.counsellor,
        files=[files.upload("合影.jpg", files.jpeg())],
    )
    case_actions.report_case(intake(cast.cs2301, cast.student), cast.counsellor)
    return cast


def _crawl(client, seeds: list[str], skip: tuple[str, ...] = SKIP) -> tuple[int, list[str]]:
    """Follow same-site links from ``seeds`` (GET only); (HTML pages checked, problems found)."""
    queue = deque(seeds)
    seen: set[str] = set()
    per_route: Counter[str] = Counter()
    problems: list[str] = []
    pages = 0
    while queue and pages < MAX_PAGES:
        url = urldefrag(queue.popleft())[0]
        if url in seen or url.startswith(skip) or not url.startswith("/"):
            continue
        seen.add(url)
        try:
            route = resolve(urlsplit(url).path).route
        except Resolver404:
            continue
        if per_route[route] >= PER_ROUTE or route.endswith(("signout/", "logout/")):
            continue
        per_route[route] += 1
        response = client.get(url)
        assert response.status_code < 500, url
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        pages += 1
        policy = response.get("Content-Security-Policy", "")
        missing = [directive for directive in REQUIRED if directive not in policy]
        if missing:
            problems.append(f"{url}: policy lacks {missing}")
        script_src = re.search(r"script-src([^;]*)", policy)
        if script_src and "unsafe" in script_src.group(1):
            problems.append(f"{url}: script-src allows {script_src.group(1)}")
        found, links = _inline_problems(response.content.decode())
        problems.extend(f"{url}: {p}" for p in found)
        queue.extend(link for link in links if link.startswith("/"))
    return pages, problems


@pytest.mark.django_db
def test_every_reachable_page_obeys_the_policy(client, world):
    client.force_login(world.school_admin)
    pages, problems = _crawl(client, ["/", *_seeds()])
    assert pages >= 60, f"only {pages} staff pages rendered"
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_every_member_phone_page_obeys_the_policy(client, world):
    link = ensure_class_link(world.cs2301)
    code = give_code(world.student, world.counsellor)
    response = client.post(reverse("member_signin", args=[link.token]), {"number": "2023001", "code": code})
    assert response.status_code == 302
    pages, problems = _crawl(client, [reverse("member_landing", args=[link.token])], skip=(*SKIP, "/login"))
    assert pages >= 8, f"only {pages} member pages rendered"
    assert not problems, "\n".join(problems)


# 3. Production settings ---------------------------------------------------------------------------------


def test_production_sends_the_policy_with_hsts_and_frame_denial(tmp_path):
    code = (
        "from django.test import Client; "
        "r = Client().get('/healthz', secure=True, HTTP_HOST='fanzha.example.edu.cn'); "
        "print(r.status_code); "
        "[print(k + ': ' + r.get(k, '')) for k in ('Content-Security-Policy', 'Strict-Transport-Security', "
        "'X-Frame-Options', 'X-Content-Type-Options', 'Referrer-Policy')]"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "fanzha.settings.prod",
            "FANZHA_DATA_DIR": str(tmp_path),
            "ALLOWED_HOSTS": "fanzha.example.edu.cn",
            "FANZHA_TASKS_BACKEND": "immediate",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "fanzha", "shell", "--no-imports", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines and lines[0] == "200", result.stdout + result.stderr
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    for directive in REQUIRED:
        assert directive in headers["Content-Security-Policy"]
    assert "unsafe" not in re.search(r"script-src([^;]*)", headers["Content-Security-Policy"]).group(1)
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"


# 4. In a real browser ----------------------------------------------------------------------------------


@pytest.mark.e2e
def test_charts_and_signature_pad_run_without_a_csp_violation(page, live_server, transactional_db, settings):
    """Chromium reports every blocked script or style: the ECharts dashboards and the pad raise none."""
    from tests.e2e.conftest import sign_in

    settings.FANZHA_SMS_BACKEND = "tests.reach.conftest.CaptureBackend"
    cast = build_cast()
    campaign = start("university-fraud-free-campus", cast.uni)
    reach = reach_campaign(cast)
    link = ensure_class_link(cast.cs2301)
    violations: list[str] = []
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )

    sign_in(page, live_server.url, "T0001")
    for url in (reverse("dashboard_campaign", args=[campaign.pk]), reverse("case_stats")):
        page.goto(live_server.url + url)
        page.wait_for_selector("canvas", timeout=15000)  # ECharts drew its chart
    code = give_code(cast.student, cast.counsellor)
    page.goto(live_server.url + reverse("member_signin", args=[link.token]))
    page.locator("#id_number").fill("2023001")
    page.locator("#id_code").fill(code)
    page.locator("button[name=login]").click()
    page.wait_for_selector("h1")
    page.goto(live_server.url + reverse("member_pledge", args=[link.token, reach.pk]))
    page.wait_for_selector("canvas")
    assert page.evaluate("document.querySelector('canvas').getContext('2d') !== null")
    assert not violations, violations
