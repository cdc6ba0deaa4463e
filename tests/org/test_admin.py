"""Accounts in the admin site: a new account's password is hashed, and no form edits the hash itself.

The outside test added a user in the admin site: the password was stored as typed (the account
could not sign in) and the change form offered the stored hash in an editable box.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from fanzha.org.models import User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Admin-made-2026!"


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", password="Root-pass-2026!"))
    return client


def test_a_user_added_in_the_admin_can_sign_in(admin_client):
    response = admin_client.post(
        reverse("admin:org_user_add"),
        {
            "username": "newcomer",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="newcomer")
    assert user.password != NEW_PASSWORD and user.password.startswith(("md5$", "pbkdf2", "argon2", "bcrypt"))
    assert user.check_password(NEW_PASSWORD)

    fresh = Client()
    signin = fresh.post(reverse("login"), {"username": "newcomer", "password": NEW_PASSWORD})
    assert signin.status_code == 302
    assert fresh.session["_auth_user_id"] == str(user.pk)


def test_the_add_form_refuses_two_different_passwords(admin_client):
    response = admin_client.post(
        reverse("admin:org_user_add"),
        {
            "username": "typo",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": "Other-2026!",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="typo").exists()


def test_the_change_form_shows_the_hash_read_only_with_a_link_to_set_a_password(admin_client, cast):
    url = reverse("admin:org_user_change", args=[cast.counsellor.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.fields["password"].disabled
    html = response.content.decode()
    assert 'name="password"' not in html  # no input holds the hash
    assert cast.counsellor.password not in html  # nor is the full hash printed
    assert 'href="../password/"' in html  # the set-password page, relative to the change form
    assert url.removesuffix("change/") + "password/" == reverse(
        "admin:auth_user_password_change", args=[cast.counsellor.pk]
    )

    # Posting a "password" with the change form leaves the stored hash alone.
    before = User.objects.get(pk=cast.counsellor.pk).password
    data = {
        "password": "plain-text",
        "first_name": "辅导员乙",
        "last_name": "",
        "email": "",
        "is_active": "on",
    }
    assert admin_client.post(url, data).status_code == 302
    saved = User.objects.get(pk=cast.counsellor.pk)
    assert saved.password == before and saved.first_name == "辅导员乙"
    assert saved.username == cast.counsellor.username  # "UNI:T0003", kept although Django's rule refuses ":"


def test_an_admin_sets_a_password_through_the_password_page(admin_client, cast):
    url = reverse("admin:auth_user_password_change", args=[cast.counsellor.pk])
    response = admin_client.post(
        url, {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=cast.counsellor.pk).check_password(NEW_PASSWORD)
