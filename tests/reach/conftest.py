"""Fixtures of the reach tests: a running campaign on the cast's university that tracks every item.

The campaign's rows are created directly from a small template, so these tests do not depend on
how campaigns are started. SMS go to ``CaptureBackend``, so a test can read the code it sent.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import ClassVar

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.utils import timezone

from fanzha.campaigns.models import Campaign, CampaignTemplate
from fanzha.notify.sms import Message
from fanzha.reach import actions
from fanzha.reach.models import ClassLink
from tests.codes import give_code
from tests.conftest import Cast

TEMPLATE = """
code = "reach-test"
title = "{organisation}防范电信网络诈骗专项行动"
issuer_kinds = ["school"]
levels = ["school", "college", "class", "dorm_room"]
audiences = ["student", "teacher", "staff", "parent"]
attestations = [
    "pledge_signed",
    "app_installed",
    "app_registered",
    "app_warnings_on",
    "parent_notice_signed",
    "training_attended",
    "quiz_passed",
]

[[sections]]
heading = "总体要求"
body = "让每一名师生都会识骗防骗。"
"""


class CaptureBackend:
    """An SMS backend that keeps what it was given (phone, text; and the whole message), for tests to
    read."""

    sent: ClassVar[list[tuple[str, str]]] = []
    messages: ClassVar[list[Message]] = []

    def send(self, message: Message) -> str:
        self.sent.append((message.phone, message.text))
        self.messages.append(message)
        return f"capture-{len(self.sent)}"


@pytest.fixture(autouse=True)
def _reach_env(settings) -> None:
    """Each test starts with an empty cache and SMS capture (rate limits live in the test database)."""
    cache.clear()
    CaptureBackend.sent.clear()
    CaptureBackend.messages.clear()
    settings.FANZHA_SMS_BACKEND = "tests.reach.conftest.CaptureBackend"


def make_campaign(cast: Cast, text: str = TEMPLATE, code: str = "reach-test") -> Campaign:
    template = CampaignTemplate.objects.create(code=code, title="反诈专项行动", text=text)
    today = timezone.localdate()
    return Campaign.objects.create(
        template=template,
        template_text=text,
        unit=cast.uni,
        title=f"示范大学{today.year}年防范电信网络诈骗专项行动",
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=300),
    )


@pytest.fixture
def campaign(cast: Cast) -> Campaign:
    return make_campaign(cast)


@pytest.fixture
def link(cast: Cast) -> ClassLink:
    """The self-service link of class CS2301 (张三 and 李四; 张三's father 张父)."""
    return actions.ensure_class_link(cast.cs2301)


@pytest.fixture
def code(cast: Cast) -> str:
    """张三's personal sign-in code, as his counsellor issued it (``org.credentials``)."""
    return give_code(cast.student, cast.counsellor)


def last_code(phone: str) -> str:
    """The six digits of the last SMS sent to ``phone``."""
    import re

    for to, text in reversed(CaptureBackend.sent):
        if to == phone:
            match = re.search(r"\d{6}", text)
            assert match, text
            return match.group(0)
    raise AssertionError(f"no SMS to {phone}")


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def stored(prefix: str) -> int:
    """How many files lie under ``prefix`` in the (in-memory) default storage."""

    def walk(path: str) -> int:
        try:
            dirs, files = default_storage.listdir(path)
        except FileNotFoundError:
            return 0
        return len(files) + sum(walk(f"{path}/{d}" if path else d) for d in dirs)

    return walk(prefix)
