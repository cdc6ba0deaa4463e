"""Fixtures of the notify tests: the two SMS gateways' local fakes (``fanzha/bench/sms_fakes.py``),
each with the settings that make delivery send to it, as an operator configures a real account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fanzha.bench.sms_fakes import FakeAliyun, FakeTencent, serving

ALIYUN_TEMPLATES = {
    "code": "SMS_100001",
    "alert": "SMS_100002",
    "reminder": "SMS_100003",
    "parent_notice": "SMS_100004",
}
TENCENT_TEMPLATES = {"code": "200001", "alert": "200002", "reminder": "200003", "parent_notice": "200004"}


@pytest.fixture
def aliyun(settings) -> Iterator[FakeAliyun]:
    with serving(FakeAliyun()) as fake:
        settings.FANZHA_SMS_BACKEND = "aliyun"
        settings.FANZHA_SMS_KEY_ID = fake.key_id
        settings.FANZHA_SMS_KEY_SECRET = fake.key_secret
        settings.FANZHA_SMS_SIGN_NAME = "反诈平台"
        settings.FANZHA_SMS_ENDPOINT = fake.base
        settings.FANZHA_SMS_TEMPLATES = dict(ALIYUN_TEMPLATES)
        settings.FANZHA_SMS_TIMEOUT = 2
        assert isinstance(fake, FakeAliyun)
        yield fake


@pytest.fixture
def tencent(settings) -> Iterator[FakeTencent]:
    with serving(FakeTencent()) as fake:
        assert isinstance(fake, FakeTencent)
        settings.FANZHA_SMS_BACKEND = "tencent"
        settings.FANZHA_SMS_KEY_ID = fake.key_id
        settings.FANZHA_SMS_KEY_SECRET = fake.key_secret
        settings.FANZHA_SMS_SIGN_NAME = "反诈平台"
        settings.FANZHA_SMS_APP_ID = fake.app_id
        settings.FANZHA_SMS_ENDPOINT = fake.base
        settings.FANZHA_SMS_TEMPLATES = dict(TENCENT_TEMPLATES)
        settings.FANZHA_SMS_TIMEOUT = 2
        yield fake
