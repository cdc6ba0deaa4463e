"""OpenID Connect against a real provider (django-oidc-provider, started by tests/sso/conftest.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from fanzha.org.models import Person, User
from fanzha.sso.models import ExternalIdentity

from .conftest import oidc_to_callback, signed_in_user_id

pytestmark = pytest.mark.slow


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Person.objects.count(), ExternalIdentity.objects.count()


def test_student_and_staff_sign_in_with_openid_connect(client, cast, oidc_on):
    start = client.get(reverse("sso_oidc_login"))
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]  # PKCE, nonce

    response = client.get(oidc_to_callback(client, "2023001"))
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert signed_in_user_id(client) == cast.student_user.pk

    client.logout()
    response = client.get(oidc_to_callback(client, "T0003"))
    assert response.status_code == 302
    assert signed_in_user_id(client) == cast.counsellor.pk
    record = ExternalIdentity.objects.get(provider="oidc", user=cast.counsellor)
    assert record.subject and record.subject != "T0003"  # the provider's own subject id


def test_a_student_without_an_account_gets_one(client, cast, oidc_on):
    client.get(oidc_to_callback(client, "2023101"))
    cast.math_student.refresh_from_db()
    assert cast.math_student.user_id and signed_in_user_id(client) == cast.math_student.user_id


def test_unknown_and_foreign_numbers_are_refused(client, cast, oidc_on, strangers):
    before = counts()
    for number in ("9999999", "2029999"):
        response = client.get(oidc_to_callback(client, number))
        assert response.status_code == 403
        assert f"没有找到学号/工号为 {number}" in response.content.decode()
    assert signed_in_user_id(client) is None and counts() == before


def test_a_tampered_state_is_refused(client, cast, oidc_on):
    callback = oidc_to_callback(client, "2023001")
    response = client.get(callback.replace("state=", "state=x"))
    assert response.status_code == 400 and signed_in_user_id(client) is None
    # Another browser cannot use the code either (login CSRF); this one can, once.
    assert Client().get(callback).status_code == 400
    assert client.get(callback).status_code == 302 and signed_in_user_id(client) == cast.student_user.pk
    assert client.get(callback).status_code == 400


def test_a_nonce_that_does_not_match_the_id_token_is_refused(client, cast, oidc_on):
    """An ID token minted for another sign-in (replayed or injected) carries another nonce."""
    callback = oidc_to_callback(client, "2023001")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    session = client.session
    states = session["oidc_states"]
    states[state]["nonce"] = "a-nonce-of-another-sign-in"
    session["oidc_states"] = states
    session.save()
    response = client.get(callback)
    assert response.status_code == 403
    assert "没有通过校验" in response.content.decode()
    assert signed_in_user_id(client) is None


def test_a_number_claim_the_provider_marks_unverified_is_refused(client, cast, oidc_on, settings):
    """The provider says email_verified: false, so an e-mail address cannot name anyone."""
    settings.FANZHA_OIDC_NUMBER_CLAIM = "email"
    response = client.get(oidc_to_callback(client, "2023001"))
    assert response.status_code == 403
    assert "没有通过校验" in response.content.decode()


def test_a_missing_number_claim_is_refused(client, cast, oidc_on, settings):
    settings.FANZHA_OIDC_NUMBER_CLAIM = "employee_number"
    before = counts()
    response = client.get(oidc_to_callback(client, "2023001"))
    assert response.status_code == 403
    assert "没有提供您的学号/工号" in response.content.decode()
    assert counts() == before


def test_another_issuer_is_refused(client, cast, oidc_on, settings):
    """The discovery document names the provider's issuer; a configuration that expects another one
    (a look-alike) gets no sign-in."""
    settings.FANZHA_OIDC_ISSUER = oidc_on.issuer + "/"  # the same, spelled with a slash: still fine
    assert client.get(reverse("sso_oidc_login")).status_code == 302
    settings.FANZHA_OIDC_ISSUER = oidc_on.base.replace("127.0.0.1", "localhost") + "/openid"
    response = client.get(reverse("sso_oidc_login"))
    assert response.status_code == 502 and signed_in_user_id(client) is None
