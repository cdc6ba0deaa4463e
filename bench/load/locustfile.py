"""Locust scenarios for fanzha: staff on the dashboards, members on their phone pages, API clients.

Run through ``fanzha bench load`` (it prepares the accounts file and reads the figures back); by hand::

    FANZHA_LOAD_FIXTURES=var/load-fixtures.json FANZHA_LOAD_THINK=1,5 \\
        locust -f bench/load/locustfile.py --headless -u 200 -r 20 -t 60s --host http://127.0.0.1:8100

The server runs with the production settings behind what would be nginx: every request says
``X-Forwarded-Proto: https`` (as nginx does; the server runs with ``FANZHA_TRUSTED_PROXIES=1`` so
that it believes it), so that HTTPS redirects, secure cookies and the CSRF origin check behave as in
production. Pages are named by route (``/m/[token]/tasks/``), so that
the statistics group by page, not by class.

Weights follow real use: members (students opening the class link on their phones) far outnumber
staff, and API clients (district systems pulling lists) are few.
"""

from __future__ import annotations

import json
import os
import random
import re
from itertools import count
from typing import Any

import gevent
from gevent.lock import Semaphore
from locust import FastHttpUser, between, constant, events, task
from locust.env import Environment
from locust.runners import WorkerRunner

from fanzha.bench.load import FIXTURES_ENV, THINK_ENV, WARMUP_ENV, path_for

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HEADERS = {"X-Forwarded-Proto": "https"}


def headers(**extra: str) -> dict[str, str]:
    """HEADERS and ``extra``: headers given to one request replace the user's default ones."""
    return {**HEADERS, **extra}


def _load_fixtures() -> dict[str, Any]:
    path = os.environ.get(FIXTURES_ENV)
    if not path:
        raise SystemExit(f"{FIXTURES_ENV} is not set: run `fanzha bench load --setup-only` first")
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def _think() -> Any:
    low, high = (float(x) for x in os.environ.get(THINK_ENV, "1,5").split(","))
    return constant(0) if high <= 0 else between(low, high)


FIXTURES = _load_fixtures()
THINK = _think()
_member_turn = count()


@events.init.add_listener
def _warm_up_then_count(environment: Environment, **_kwargs: Any) -> None:
    """Statistics start WARMUP seconds after the last user started, not when it started (locust's
    ``--reset-stats``): the sign-ins of ``on_start`` and the first cold requests are then left out.
    Reset where the statistics are kept: the single process, or the master of ``--processes``."""
    warmup = float(os.environ.get(WARMUP_ENV, "0"))
    if warmup <= 0 or isinstance(environment.runner, WorkerRunner):
        return

    def spawned(**_kw: Any) -> None:
        gevent.spawn_later(warmup, environment.stats.reset_all)

    environment.events.spawning_complete.add_listener(spawned)


class FanzhaUser(FastHttpUser):
    """Common ground: production-like headers and the CSRF dance of a browser posting a form."""

    abstract = True
    wait_time = THINK
    default_headers = HEADERS

    def cookies(self, **extra: str) -> dict[str, str]:
        """HEADERS, the cookies the server set, and ``extra``.

        Why by hand: the client's cookie jar stores the (secure) cookies of our plain-HTTP loopback
        server but does not send them back to a numeric host, so the Cookie header is built here.
        """
        jar = "; ".join(f"{c.name}={c.value}" for c in self.client.cookiejar)
        return headers(**({"Cookie": jar} if jar else {}), **extra)

    def origin(self) -> dict[str, str]:
        """Origin and Referer as a browser on the HTTPS site sends them (Django's CSRF checks them)."""
        base = "https://" + self.host.split("://", 1)[-1].rstrip("/")
        return self.cookies(Origin=base, Referer=base + "/")

    def post_form(self, url: str, fields: dict[str, str], name: str) -> Any:
        """GET the form (for its CSRF token and cookie), then POST it; redirects are not followed."""
        with self.client.get(url, name=name, headers=self.cookies(), catch_response=True) as page:
            match = CSRF_INPUT.search(page.text or "")
            if page.status_code != 200 or match is None:
                page.failure(f"form page {page.status_code} without a CSRF token")
                return None
        data = {"csrfmiddlewaretoken": match.group(1), **fields}
        return self.client.post(url, data=data, name=name, headers=self.origin(), allow_redirects=False)


# Staff: one signed-in session per locust process, shared by its staff users ------------------------
# Why shared: a sign-in costs a deliberately slow password hash (about 0.3 s of CPU); fifty of them
# at the start would measure the hash, not the dashboards. A session is looked up on every request
# whether or not it is shared, so the pages cost the same.

_staff_lock = Semaphore()
_staff_session: dict[str, str] = {}


class StaffBase(FanzhaUser):
    abstract = True

    def on_start(self) -> None:
        with _staff_lock:
            if "sessionid" not in _staff_session:
                response = self.post_form(
                    path_for("login"),
                    {"username": FIXTURES["staff_login"], "password": FIXTURES["staff_password"]},
                    name="login",
                )
                cookies = {c.name: c.value for c in self.client.cookiejar}
                if response is None or response.status_code != 302 or "sessionid" not in cookies:
                    raise RuntimeError("staff sign-in failed: is the server using this database?")
                _staff_session["sessionid"] = cookies["sessionid"]
        self.cookie = headers(Cookie="sessionid=" + _staff_session["sessionid"])

    def page(self, name: str, label: str, **kwargs: Any) -> None:
        with self.client.get(
            path_for(name, **kwargs), name=label, headers=self.cookie, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

    def root(self) -> None:
        self.page("dashboard_unit", "dashboard root", pk=FIXTURES["campaign"], unit_pk=FIXTURES["root"])

    def level(self, level: str) -> None:
        units = FIXTURES["drill"].get(level) or [FIXTURES["root"]]
        unit_pk = random.choice(units)
        self.page("dashboard_unit", f"dashboard {level}", pk=FIXTURES["campaign"], unit_pk=unit_pk)


class RootDashboardUser(StaffBase):
    """A bureau officer reloading the province's root dashboard (the heaviest read of the site)."""

    weight = 1

    @task
    def root_dashboard(self) -> None:
        self.root()


class StaffUser(StaffBase):
    """Staff opening the root dashboard and drilling down city → district → school."""

    weight = 3

    @task(4)
    def root_dashboard(self) -> None:
        self.root()

    @task(3)
    def first_level(self) -> None:
        self.level("level1")

    @task(2)
    def second_level(self) -> None:
        self.level("level2")

    @task(2)
    def third_level(self) -> None:
        self.level("level3")

    @task(1)
    def campaign_list(self) -> None:
        self.page("dashboard_index", "dashboard index")


# Members: each simulated phone signs in as its own student ----------------------------------------


class MemberUser(FanzhaUser):
    """A student who opened the class link: signs in with number and personal code, reads tasks and tips."""

    weight = 16

    def on_start(self) -> None:
        members = FIXTURES["members"]
        if not members:
            raise RuntimeError("the fixtures hold no members")
        self.member = members[next(_member_turn) % len(members)]
        self.sign_in()

    def sign_in(self) -> None:
        self.client.cookiejar.clear()
        token = self.member["token"]
        self.client.get(path_for("member_landing", token=token), name="/m/[token]/", headers=HEADERS)
        # A wrong number or code answers 400, which locust counts as a failure.
        self.post_form(
            path_for("member_signin", token=token),
            {"number": self.member["number"], "code": self.member["code"]},
            name="/m/[token]/signin/",
        )

    def member_page(self, name: str, label: str) -> None:
        url = path_for(name, token=self.member["token"])
        with self.client.get(
            url, name=label, headers=self.cookies(), allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

    @task(5)
    def my_tasks(self) -> None:  # not ``tasks``: that name is locust's list of tasks
        self.member_page("member_tasks", "/m/[token]/tasks/")

    @task(3)
    def tips(self) -> None:
        self.member_page("member_tips", "/m/[token]/tips/")

    @task(2)
    def landing(self) -> None:
        self.member_page("member_landing", "/m/[token]/")

    @task(1)
    def sign_in_again(self) -> None:
        """A new visit: the session is gone (another phone, or two hours later)."""
        self.sign_in()


# API clients: one token per login, fetched once ----------------------------------------------------


class ApiUser(FanzhaUser):
    """A district system pulling lists with a token: people and units under a unit, the case ledger."""

    weight = 1

    def on_start(self) -> None:
        response = self.client.post(
            path_for("api-token"),
            json={"username": FIXTURES["staff_login"], "password": FIXTURES["staff_password"]},
            name="api token",
        )
        self.auth = headers(Authorization="Token " + response.json()["token"])

    def get(self, name: str, label: str, params: dict[str, Any]) -> None:
        with self.client.get(
            path_for(name), params=params, name=label, headers=self.auth, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

    def some(self, level: str) -> int:
        return random.choice(FIXTURES["drill"].get(level) or [FIXTURES["root"]])

    @task(3)
    def people_of_a_school(self) -> None:
        params = {"unit": self.some("level3")}  # a school's first page (a small school has only one)
        self.get("person-list", "api people ?unit=", params)

    @task(2)
    def units_under(self) -> None:
        self.get("unit-list", "api units ?under=", {"under": self.some("level2")})

    @task(1)
    def children_of_root(self) -> None:
        self.get("unit-list", "api units ?parent=", {"parent": FIXTURES["root"]})

    @task(1)
    def cases(self) -> None:
        self.get("case-list", "api cases", {})
