"""The checks of the ID token's claims that mozilla-django-oidc leaves to us (``sso.oidc.Client``):
issuer, audience, expiry, subject, the number claim and its ``_verified`` flag. A correct provider
never gets these wrong, so they are checked here on the claims directly."""

from __future__ import annotations

import pytest

from fanzha.sso.identity import Refusal
from fanzha.sso.oidc import Client as OidcClient


@pytest.fixture
def oidc_client(settings):
    """The client with every endpoint given (no discovery) and no userinfo call: for the checks of the
    ID token's claims, which a correct provider never gets wrong."""
    settings.FANZHA_OIDC_ISSUER = "https://idp.example.edu.cn"
    settings.FANZHA_OIDC_CLIENT_ID = "fanzha"
    settings.FANZHA_OIDC_CLIENT_SECRET = "secret"
    settings.FANZHA_OIDC_ORGANISATION = "UNI"
    settings.FANZHA_OIDC_NUMBER_CLAIM = "employee_number"
    for name in ("AUTHORIZATION", "TOKEN", "USERINFO", "JWKS"):
        setattr(settings, f"FANZHA_OIDC_{name}_ENDPOINT", f"https://idp.example.edu.cn/{name.lower()}")
    client = OidcClient()
    client.OIDC_OP_USER_ENDPOINT = ""
    return client


GOOD = {"iss": "https://idp.example.edu.cn", "aud": "fanzha", "sub": "u-1", "exp": 2_000_000_000}


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://evil.example.com"},
        {"aud": "another-client"},
        {"aud": ["fanzha", "another-client"]},  # several audiences and no azp naming us
        {"exp": None},
        {"sub": ""},
        {"employee_number": ""},
        {"employee_number_verified": False},
    ],
)
def test_id_token_claims_are_checked(oidc_client, claims):
    payload = {**GOOD, "employee_number": "T0003", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    with pytest.raises(Refusal):
        oidc_client.get_or_create_user("access", "id-token", payload)


def test_good_id_token_claims_name_the_number(oidc_client):
    identity = oidc_client.get_or_create_user(
        "access", "id-token", {**GOOD, "aud": ["fanzha", "x"], "azp": "fanzha", "employee_number": 3}
    )
    assert (identity.provider, identity.subject, identity.number, identity.organisation) == (
        "oidc",
        "u-1",
        "3",
        "UNI",
    )
