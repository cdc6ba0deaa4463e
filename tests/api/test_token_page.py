"""The tokens page: a signed-in user lists, makes and revokes their own API tokens, and only theirs."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from fanzha.api.models import ApiToken
from fanzha.api.tokens import actions
from tests.api.conftest import API

pytestmark = pytest.mark.django_db

PAGE = "/account/tokens/"


def works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(f"{API}/units/").status_code == 200


def rows(model_rows) -> list[tuple]:
    return list(model_rows.order_by("pk").values_list("pk", "revoked_at", "expires_at", "last_used_at"))


def test_the_page_is_linked_from_the_account_area(client, cast):
    client.force_login(cast.counsellor)
    html = client.get(reverse("home")).content.decode()
    assert re.search(r'<a class="account-link" href="/account/tokens/"[^>]*>接口令牌</a>', html)
    assert reverse("account_tokens") == PAGE


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_user_makes_a_token_and_sees_its_key_once(client, cast):
    client.force_login(cast.counsellor)
    made = client.post(PAGE, {"name": "班级数据同步"})
    assert made.status_code == 201
    assert "no-store" in made["Cache-Control"]
    token = ApiToken.objects.get(user=cast.counsellor)
    key = made.context["issued"].key
    html = made.content.decode()
    assert key in html and "班级数据同步" in html
    assert works(key)
    again = client.get(PAGE).content.decode()
    assert key not in again  # never shown again
    assert token.prefix in again and "班级数据同步" in again


def test_a_token_needs_a_name(client, cast):
    client.force_login(cast.counsellor)
    response = client.post(PAGE, {"name": "  "})
    assert response.status_code == 200 and response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_the_list_shows_only_the_user_s_own_tokens_with_their_dates(client, cast):
    mine = actions.issue_token(cast.counsellor, "我的脚本")
    theirs = actions.issue_token(cast.school_admin, "校级同步")
    client.force_login(cast.counsellor)
    page = client.get(PAGE)
    html = page.content.decode()
    assert "我的脚本" in html and mine.token.prefix in html
    assert "校级同步" not in html and theirs.token.prefix not in html
    assert mine.token.expires_at.astimezone().strftime("%Y-%m-%d") in html
    assert "未使用" in html
    # A superuser's page lists the superuser's own tokens, not everyone's.
    from fanzha.org.models import User

    client.force_login(User.objects.create_superuser("root", password="Root-pass-2026!"))
    html = client.get(PAGE).content.decode()
    assert mine.token.prefix not in html and theirs.token.prefix not in html


def test_a_user_revokes_their_own_token(client, cast):
    issued = actions.issue_token(cast.counsellor, "旧脚本")
    other = actions.issue_token(cast.counsellor, "新脚本")
    client.force_login(cast.counsellor)
    response = client.post(reverse("account_token_revoke", args=[issued.token.pk]))
    assert response.status_code == 302 and response["Location"] == PAGE
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert not works(issued.key) and works(other.key)
    html = client.get(PAGE).content.decode()
    assert "已撤销" in html
    assert html.count('action="/account/tokens/') == 1  # only the valid one still has a revoke button


def test_nobody_revokes_another_s_token(client, cast):
    issued = actions.issue_token(cast.counsellor, "辅导员的脚本")
    before = rows(ApiToken.objects.all())
    for user in (cast.school_admin, cast.auditor):
        client.force_login(user)
        assert client.post(reverse("account_token_revoke", args=[issued.token.pk])).status_code == 404
    assert client.post(reverse("account_token_revoke", args=[999999])).status_code == 404
    assert rows(ApiToken.objects.all()) == before
    assert works(issued.key)


def test_revoking_is_a_post_with_a_csrf_token(cast):
    issued = actions.issue_token(cast.counsellor, "脚本")
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.counsellor)
    url = reverse("account_token_revoke", args=[issued.token.pk])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403  # no CSRF token: refused
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None


def test_the_page_reads_in_english(client, cast):
    actions.issue_token(cast.counsellor, "script")
    client.force_login(cast.counsellor)
    html = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "API tokens" in html and "Revoke" in html
    assert not re.search(r"[\u4e00-\u9fff]", html.split("<main", 1)[1].split("</main>", 1)[0])


def test_the_admin_lists_tokens_without_keys_and_revokes_them(client, cast):
    from fanzha.org.models import User

    issued = actions.issue_token(cast.counsellor, "辅导员的脚本")
    client.force_login(User.objects.create_superuser("root", password="Root-pass-2026!"))
    listing = client.get(reverse("admin:api_apitoken_changelist"))
    html = listing.content.decode()
    assert listing.status_code == 200 and issued.token.prefix in html
    assert issued.key not in html and issued.token.key_hash not in html
    assert client.get(reverse("admin:api_apitoken_add")).status_code == 403
    assert "authtoken" not in client.get(reverse("admin:index")).content.decode()  # DRF's clear keys: gone
    done = client.post(
        reverse("admin:api_apitoken_changelist"), {"action": "revoke", "_selected_action": [issued.token.pk]}
    )
    assert done.status_code == 302
    assert not works(issued.key)
