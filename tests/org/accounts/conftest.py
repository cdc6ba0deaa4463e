"""Fixtures of the account tests: staff to open accounts for, and an SMS gateway that records.

SMS go to ``SmsCapture`` (a recording gateway, as ``tests/reach/conftest.py``'s ``CaptureBackend``)
unless a test asks for the default "no gateway"; e-mail goes to Django's locmem outbox
(``django.core.mail.outbox``), as pytest-django sets it.
"""

from __future__ import annotations

import re
from typing import ClassVar

import pytest
from django.core import mail
from django.core.cache import cache

from fanzha.notify.sms import Message
from fanzha.org import actions
from fanzha.org.models import Person, Role
from tests.conftest import Cast, make_staff

TEACHER_PHONE = "13700137000"


class SmsCapture:
    """An SMS gateway that keeps what it was given (phone, text; and the template with its
    parameters), for tests to read."""

    sent: ClassVar[list[tuple[str, str]]] = []
    templates: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def send(self, message: Message) -> str:
        self.sent.append((message.phone, message.text))
        self.templates.append((message.template, dict(message.params)))
        return f"capture-{len(self.sent)}"


@pytest.fixture(autouse=True)
def _accounts_env(settings) -> None:
    cache.clear()
    SmsCapture.sent.clear()
    SmsCapture.templates.clear()
    settings.FANZHA_SMS_BACKEND = "tests.org.accounts.conftest.SmsCapture"
    settings.FANZHA_SITE_URL = "https://fanzha.example.edu.cn"


@pytest.fixture
def teacher(cast: Cast) -> Person:
    """A teacher of the computer-science college with a phone and no account yet."""
    return actions.enrol_person(
        unit=cast.cs, name="林老师", kind="teacher", external_number="T0100", phone=TEACHER_PHONE
    )


@pytest.fixture
def ma_teacher(cast: Cast) -> Person:
    """A teacher of the maths college (outside the college admin's subtree), no phone, no account."""
    return actions.enrol_person(unit=cast.ma, name="马老师", kind="teacher", external_number="T0200")


@pytest.fixture
def school_head(cast: Cast):
    """A second school administrator whose person is a member of the CS college (so that the college
    administrator sees the account, but may not manage it)."""
    user = make_staff(cast.uni, "T0009", "副校长", Role.SCHOOL_ADMIN, cast.uni)
    actions.add_membership(user.person, cast.cs)
    return user


LINK = re.compile(r"https://fanzha\.example\.edu\.cn(/account/(?:welcome|reset)/\?t=[A-Za-z0-9_-]+)")
CODE = re.compile(r"验证码 (\d{6})")


def deliver() -> None:
    """What the worker does next: send every queued message (the "忘记密码" codes wait for it)."""
    from fanzha.notify.delivery import deliver_pending

    deliver_pending()


def sms_texts(phone: str = TEACHER_PHONE) -> list[str]:
    return [text for to, text in SmsCapture.sent if to == phone]


def last_link(text: str) -> str:
    """The path (with the secret) of the link in a message."""
    found = LINK.findall(text)
    assert found, text
    return found[-1]


def mail_texts(address: str) -> list[str]:
    return [f"{m.subject}\n{m.body}" for m in mail.outbox if address in m.to]
