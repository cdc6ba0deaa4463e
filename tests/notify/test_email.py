"""E-mail configured from the environment (issue 12, item 6): the SMTP server, its port, TLS, the
account and the sender come from EMAIL_* variables; an outbox e-mail goes through a real SMTP server
(aiosmtpd, started by the test) with them, authenticated with the configured account."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from fanzha.notify import delivery
from fanzha.notify.actions import queue
from fanzha.notify.models import ChannelKind, Outbox

pytestmark = [
    pytest.mark.django_db,
    # the test server has no certificate, so AUTH runs without TLS here (production: EMAIL_USE_TLS/SSL)
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

USER, SECRET = "fanzha@mail.example.edu.cn", "smtp-secret"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            SECRET.encode(),
        ):
            self.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        auth_required=True,
        auth_require_tls=False,  # the test server has no certificate; production uses TLS
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def test_an_outbox_email_goes_through_the_configured_smtp_server(settings, smtp):
    mailbox, port = smtp
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = USER, SECRET
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "反诈工作平台 <fanzha@mail.example.edu.cn>"
    row = queue(
        ChannelKind.EMAIL,
        "counsellor@example.edu.cn",
        subject="提醒：请完成答题",
        body="请完成答题",
        key="mail:1",
    )
    row = delivery.deliver_now(row)
    assert row.status == Outbox.Status.SENT
    assert mailbox.logins == [USER]
    [(sender, recipients, content)] = mailbox.messages
    assert (sender, recipients) == ("fanzha@mail.example.edu.cn", ["counsellor@example.edu.cn"])
    mail = message_from_bytes(content)
    assert "fanzha@mail.example.edu.cn" in mail["From"]


def test_a_wrong_password_leaves_the_email_to_be_retried(settings, smtp):
    mailbox, port = smtp
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = USER, "wrong"
    row = delivery.deliver_now(
        queue(ChannelKind.EMAIL, "a@example.edu.cn", subject="s", body="b", key="mail:2")
    )
    assert (row.status, row.last_error, row.attempts) == (Outbox.Status.FAILED, "mail_failed", 1)
    assert row.not_before is not None and mailbox.messages == []


def test_email_settings_are_read_from_the_environment():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fanzha.settings.test",
        "EMAIL_HOST": "smtp.example.edu.cn",
        "EMAIL_PORT": "465",
        "EMAIL_USE_SSL": "1",
        "EMAIL_HOST_USER": "fanzha@example.edu.cn",
        "EMAIL_HOST_PASSWORD": "pw",
        "EMAIL_TIMEOUT": "7",
        "DEFAULT_FROM_EMAIL": "反诈 <fanzha@example.edu.cn>",
        "SERVER_EMAIL": "errors@example.edu.cn",
    }
    names = [
        "EMAIL_HOST",
        "EMAIL_PORT",
        "EMAIL_USE_TLS",
        "EMAIL_USE_SSL",
        "EMAIL_HOST_USER",
        "EMAIL_HOST_PASSWORD",
        "EMAIL_TIMEOUT",
        "DEFAULT_FROM_EMAIL",
        "SERVER_EMAIL",
    ]
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "EMAIL_HOST": "smtp.example.edu.cn",
        "EMAIL_PORT": 465,
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": True,
        "EMAIL_HOST_USER": "fanzha@example.edu.cn",
        "EMAIL_HOST_PASSWORD": "pw",
        "EMAIL_TIMEOUT": 7,
        "DEFAULT_FROM_EMAIL": "反诈 <fanzha@example.edu.cn>",
        "SERVER_EMAIL": "errors@example.edu.cn",
    }
