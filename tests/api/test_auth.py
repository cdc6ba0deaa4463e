"""Token auth: number-or-phone and password in, token out; axes locks out repeated failures."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from fanzha.api.models import ApiToken
from tests.api.conftest import API
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{API}/auth/token/"


def get_token(client: APIClient, login: str, password: str = PASSWORD):
    return client.post(TOKEN_URL, {"username": login, "password": password}, format="json")


@pytest.mark.parametrize("login", ["A0001", "13800138000", "138 0013 8000", "+8613800138000"])
def test_number_or_phone_gets_a_token_that_works(cast, login):
    client = APIClient()
    response = get_token(client, login)
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = client.get(f"{API}/people/")
    assert listed.status_code == 200
    assert listed.json()["count"] >= 1
    again = get_token(APIClient(), login).json()["token"]
    assert again != token  # every call issues a new token; the first keeps working
    client.credentials(HTTP_AUTHORIZATION=f"Token {again}")
    assert client.get(f"{API}/people/").status_code == 200


def test_wrong_password_is_400(cast):
    response = get_token(APIClient(), "A0001", "wrong")
    assert response.status_code == 400
    assert response.json() == {"detail": "账号或密码不正确"}
    assert not ApiToken.objects.exists()


def test_missing_fields_are_400(cast):
    assert APIClient().post(TOKEN_URL, {"username": "A0001"}, format="json").status_code == 400


def test_lockout_after_repeated_failures(cast, settings):
    client = APIClient()
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert get_token(client, "A0001", "wrong").status_code == 400
    assert get_token(client, "A0001", "wrong").status_code == 429  # the failure that reaches the limit
    locked = get_token(client, "A0001")  # even the right password
    assert locked.status_code == 429
    assert locked["Content-Type"].startswith("application/json")
    assert "锁定" in locked.json()["detail"]
    assert not ApiToken.objects.filter(user=cast.auditor).exists()
    # Another login from the same address is not locked.
    assert get_token(client, "P0001").status_code == 200


def test_bad_or_missing_token_is_401(cast):
    client = APIClient()
    assert client.get(f"{API}/units/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(f"{API}/units/").status_code == 401


def test_inactive_account_gets_no_token(cast):
    cast.auditor.is_active = False
    cast.auditor.save()
    assert get_token(APIClient(), "A0001").status_code == 400
