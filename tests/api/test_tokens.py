"""API tokens expire, can be revoked, are stored as keyed hashes, and old DRF keys were converted.

The outside test found tokens that never expired, were kept in clear and could be neither listed
nor revoked by their owner.
"""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from freezegun import freeze_time
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fanzha.api.models import ApiToken, token_hash
from fanzha.api.tokens import actions
from tests.api.conftest import API
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{API}/auth/token/"


def obtain(login: str = "A0001", **extra: str) -> dict:
    response = APIClient().post(TOKEN_URL, {"username": login, "password": PASSWORD, **extra}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def units(key: str, language: str = "zh-hans"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_ACCEPT_LANGUAGE=language)
    return client.get(f"{API}/units/")


def test_a_token_expires_after_the_configured_days(cast, settings):
    settings.FANZHA_API_TOKEN_DAYS = 30
    issued_at = timezone.now()
    with freeze_time(issued_at):
        answer = obtain(name="区教育局数据同步")
    expires = parse_datetime(answer["expires_at"])
    assert expires == issued_at + timedelta(days=30)
    assert answer["name"] == "区教育局数据同步" and answer["token"].startswith(answer["prefix"])
    with freeze_time(issued_at + timedelta(days=29, hours=23)):
        assert units(answer["token"]).status_code == 200
    with freeze_time(issued_at + timedelta(days=30, seconds=1)):
        expired = units(answer["token"])
        assert expired.status_code == 401
        assert "过期" in expired.json()["detail"]
        assert expired["WWW-Authenticate"] == "Token"
        english = units(answer["token"], "en")
        assert english.status_code == 401 and "expired" in english.json()["detail"]


def test_the_default_lifetime_is_90_days(cast):
    before = timezone.now()
    expires = parse_datetime(obtain()["expires_at"])
    assert before + timedelta(days=90) <= expires <= timezone.now() + timedelta(days=90)


def test_a_revoked_token_is_refused_with_its_reason(cast):
    answer = obtain()
    assert units(answer["token"]).status_code == 200
    token = ApiToken.objects.get(prefix=answer["prefix"])
    assert actions.revoke_token(token)
    refused = units(answer["token"])
    assert refused.status_code == 401 and "撤销" in refused.json()["detail"]
    assert "revoked" in units(answer["token"], "en").json()["detail"]
    assert not actions.revoke_token(token)  # a second time changes nothing


def test_a_disabled_account_s_token_is_refused(cast):
    answer = obtain()
    cast.auditor.is_active = False
    cast.auditor.save()
    assert units(answer["token"]).status_code == 401


def test_an_unknown_key_is_refused(cast):
    refused = units("fz_not-a-real-key")
    assert refused.status_code == 401 and "无效" in refused.json()["detail"]


def test_keys_are_not_stored_in_clear(cast):
    key = obtain()["token"]
    token = ApiToken.objects.get(user=cast.auditor)
    assert token.key_hash == token_hash(key) and token.key_hash != key
    assert key not in str(ApiToken.objects.values_list().get(pk=token.pk))
    assert len(token.prefix) == 8 and key.startswith(token.prefix)
    assert not Token.objects.exists()  # DRF's table, which held keys in clear, is not used


def test_last_use_is_noted_at_most_once_a_minute(cast):
    start = timezone.now()
    with freeze_time(start):
        key = obtain()["token"]
        token = ApiToken.objects.get(user=cast.auditor)
        assert token.last_used_at is None
        units(key)
    token.refresh_from_db()
    assert token.last_used_at == start
    with freeze_time(start + timedelta(seconds=30)):
        units(key)
    token.refresh_from_db()
    assert token.last_used_at == start
    with freeze_time(start + timedelta(seconds=61)):
        units(key)
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(seconds=61)


def test_the_session_still_authenticates_the_browsable_api(client, cast):
    client.force_login(cast.auditor)
    assert client.get(f"{API}/units/", HTTP_ACCEPT="application/json").status_code == 200


def test_old_drf_tokens_are_converted_and_keep_working_until_they_expire(cast, settings):
    settings.FANZHA_API_TOKEN_DAYS = 90
    fresh = Token.objects.create(user=cast.auditor)
    old = Token.objects.create(user=cast.counsellor)
    Token.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=100))
    old.refresh_from_db()

    migration = importlib.import_module("fanzha.api.migrations.0002_convert_authtoken")
    migration.convert(apps, None)

    assert not Token.objects.exists()
    converted = ApiToken.objects.get(user=cast.auditor)
    assert converted.key_hash == token_hash(fresh.key) and converted.prefix == fresh.key[:8]
    assert converted.created_at == fresh.created
    assert converted.expires_at == fresh.created + timedelta(days=90)
    assert units(fresh.key).status_code == 200  # the integration keeps its key
    expired = units(old.key)
    assert expired.status_code == 401 and "过期" in expired.json()["detail"]  # said, not silent


def test_the_schema_documents_issuing_and_expiry(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    operation = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert "expires_at" in operation["description"] and "/account/tokens/" in operation["description"]
    answer = schema["components"]["schemas"]["Token"]["properties"]
    assert {"token", "prefix", "expires_at"} <= set(answer)
    assert "revoked" in schema["components"]["securitySchemes"]["tokenAuth"]["description"]
