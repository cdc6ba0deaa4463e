"""Real sign-in servers for the single sign-on tests, and a browser to walk through them.

``idp``: a real CAS server (django-cas-server) and a real OpenID Connect provider (django-oidc-provider)
in one small Django project (tests/sso/idp), migrated into its own SQLite file and served by
``runserver`` in a subprocess, once per test session. Our side is Django's test client; the person's
browser on the provider's side is ``Browser`` (requests, redirects followed by hand), which carries each
answer back to our callback.

``wecom`` and ``dingtalk``: the local fakes of fanzha/bench/oauth_fakes.py, configured as an operator
would (FANZHA_WECOM_*, FANZHA_DINGTALK_*), pointed at the fakes.
"""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from fanzha.bench.oauth_fakes import DingtalkFake, WecomFake, serving
from fanzha.org import actions
from fanzha.org.models import Person

ROOT = Path(__file__).resolve().parents[2]
IDP_PASSWORD = "idp-pass-2026"
CLIENT_ID, CLIENT_SECRET = "fanzha-test", "oidc-secret-for-tests"
# (username at the provider, last_name: the CAS "employeeNumber" attribute)
IDP_USERS = [
    ("2023001", ""),  # 张三, student with an account
    ("2023101", ""),  # 王五, student without an account
    ("T0003", ""),  # 辅导员甲, staff with an account
    ("T0999", ""),  # a staff member without an account (made by the test)
    ("9999999", ""),  # nobody's number
    ("2029999", ""),  # a number of the other school only (made by the test)
    ("lisi", "2023002"),  # 李四 signs in as "lisi"; the number is an attribute
]


@dataclass
class Idp:
    base: str

    @property
    def cas_url(self) -> str:
        return self.base + "/cas/"

    @property
    def issuer(self) -> str:
        return self.base + "/openid"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    """The CAS server and OpenID provider, up for the whole session."""
    folder = tmp_path_factory.mktemp("idp")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FANZHA_"))},
        "DJANGO_SETTINGS_MODULE": "tests.sso.idp.settings",
        "IDP_DB": str(folder / "idp.sqlite3"),
        "IDP_SITE_URL": base,
        "PYTHONPATH": str(ROOT),
    }
    spec = {
        "users": [[name, IDP_PASSWORD, last] for name, last in IDP_USERS],
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": "http://testserver" + reverse("sso_oidc_callback"),
        "service": "^http://testserver" + re.escape(reverse("sso_cas_callback")),
    }
    for command in (
        ["-m", "django", "migrate", "--noinput", "-v", "0"],
        ["-m", "tests.sso.idp.prepare", json.dumps(spec)],
    ):
        done = subprocess.run([sys.executable, *command], env=env, cwd=ROOT, capture_output=True, timeout=180)
        if done.returncode:
            raise RuntimeError(f"preparing the IdP failed: {done.stderr.decode()[-2000:]}")
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if Browser().get(base + "/openid/.well-known/openid-configuration").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("the IdP did not start: " + (folder / "server.log").read_text()[-2000:])
            time.sleep(0.2)
        yield Idp(base)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


class Browser(requests.Session):
    """The person's browser at the provider: its own cookies, no proxy from the environment, and no
    redirect followed by itself (each hop is the test's)."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False

    def request(self, method, url, *args, **kwargs):
        kwargs["allow_redirects"] = False  # Session.get asks for True
        kwargs.setdefault("timeout", 15)
        return super().request(method, url, *args, **kwargs)


_INPUT = re.compile(r"<input\b[^>]*>", re.I)
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    fields = {}
    for tag in _INPUT.findall(page):
        attrs = {k.lower(): html.unescape(v) for k, v in _ATTR.findall(tag)}
        if attrs.get("type", "").lower() == "hidden" and attrs.get("name"):
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def back_here(location: str) -> str:
    """The path and query of a redirect to our site (the test client's ``testserver``)."""
    parts = urlsplit(location)
    assert parts.netloc == "testserver", location
    return parts.path + ("?" + parts.query if parts.query else "")


def cas_to_callback(client: Client, username: str, password: str = IDP_PASSWORD, next_url: str = "") -> str:
    """Start a CAS sign-in on our side and sign in at the CAS server's form: the URL of our callback
    the CAS server sends the browser back to (with its ticket)."""
    start = client.get(reverse("sso_cas_login"), {"next": next_url} if next_url else {})
    assert start.status_code == 302, start.content[:300]
    browser = Browser()
    form = browser.get(start["Location"])
    assert form.status_code == 200, form.text[:300]
    answer = browser.post(
        form.url, data={**hidden_fields(form.text), "username": username, "password": password}
    )
    assert answer.status_code == 302, answer.text[:500]
    return back_here(answer.headers["Location"])


def oidc_to_callback(client: Client, username: str, password: str = IDP_PASSWORD) -> str:
    """Start an OpenID Connect sign-in and sign in at the provider: our callback URL with code and state."""
    start = client.get(reverse("sso_oidc_login"))
    assert start.status_code == 302, start.content[:300]
    browser = Browser()
    url = start["Location"]
    for _hop in range(6):
        answer = browser.get(url)
        if answer.status_code == 200 and "csrfmiddlewaretoken" in answer.text:  # the provider's sign-in form
            data = {**hidden_fields(answer.text), "username": username, "password": password}
            answer = browser.post(answer.url, data=data, headers={"Referer": answer.url})
        assert answer.status_code == 302, answer.text[:500]
        url = urljoin(url, answer.headers["Location"])
        if urlsplit(url).netloc == "testserver":
            return back_here(url)
    raise AssertionError("the provider never sent the browser back")


def fake_to_callback(client: Client, url_name: str, user_agent: str = "") -> str:
    """Start a WeCom or DingTalk sign-in; the fake sends the browser back at once for whoever is signed
    in on the phone: our callback URL."""
    start = client.get(reverse(url_name), HTTP_USER_AGENT=user_agent)
    assert start.status_code == 302, start.content[:300]
    answer = Browser().get(start["Location"])
    assert answer.status_code == 302, answer.text[:500]
    return back_here(answer.headers["Location"])


def signed_in_user_id(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


@pytest.fixture
def cas_on(settings, idp: Idp) -> Idp:
    """CAS configured for the cast's university (UNI), CAS 3; a test may switch to 2."""
    settings.CAS_SERVER_URL = idp.cas_url
    settings.CAS_VERSION = "3"
    settings.FANZHA_CAS_ORGANISATION = "UNI"
    settings.FANZHA_CAS_NUMBER_ATTRIBUTE = ""
    return idp


@pytest.fixture
def oidc_on(settings, idp: Idp) -> Idp:
    settings.FANZHA_OIDC_ISSUER = idp.issuer
    settings.FANZHA_OIDC_CLIENT_ID = CLIENT_ID
    settings.FANZHA_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.FANZHA_OIDC_ORGANISATION = "UNI"
    settings.FANZHA_OIDC_NUMBER_CLAIM = "preferred_username"
    settings.FANZHA_OIDC_SCOPES = "openid profile email"
    return idp


@pytest.fixture
def wecom(settings) -> Iterator[WecomFake]:
    fake = WecomFake("ww5a1e8f0c2d3b4a6e", "1000002", "wecom-app-secret", trusted_domain="testserver")
    with serving(fake):
        settings.FANZHA_WECOM_CORP_ID = fake.corp_id
        settings.FANZHA_WECOM_AGENT_ID = fake.agent_id
        settings.FANZHA_WECOM_SECRET = fake.secret
        settings.FANZHA_WECOM_ORGANISATION = "UNI"
        settings.FANZHA_WECOM_NUMBER_FIELD = "userid"
        settings.FANZHA_WECOM_API_URL = fake.base
        settings.FANZHA_WECOM_OAUTH_URL = fake.base + "/connect/oauth2/authorize"
        settings.FANZHA_WECOM_QR_URL = fake.base + "/wwlogin/sso/login"
        yield fake


@pytest.fixture
def dingtalk(settings) -> Iterator[DingtalkFake]:
    fake = DingtalkFake(
        "dingabcdefghijklmnop", "dingtalk-app-secret", "ding-corp-1", redirect_domain="testserver"
    )
    with serving(fake):
        settings.FANZHA_DINGTALK_CLIENT_ID = fake.client_id
        settings.FANZHA_DINGTALK_CLIENT_SECRET = fake.client_secret
        settings.FANZHA_DINGTALK_ORGANISATION = "UNI"
        settings.FANZHA_DINGTALK_NUMBER_FIELD = "job_number"
        settings.FANZHA_DINGTALK_LOGIN_URL = fake.base + "/oauth2/auth"
        settings.FANZHA_DINGTALK_API_URL = fake.base
        settings.FANZHA_DINGTALK_OAPI_URL = fake.base
        yield fake


@pytest.fixture
def strangers(cast) -> dict[str, Person]:
    """A staff member of the university with no account, and a student of the other school only."""
    return {
        "staff": actions.save_person(root=cast.uni, name="无账号职工", kind="staff", external_number="T0999"),
        "other": actions.save_person(
            root=cast.other, name="外校学生", kind="student", external_number="2029999"
        ),
    }


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Provider tokens and discovery documents are cached; each test starts without them."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
