"""Helpers for API tests: a token client per cast member and a snapshot of every org row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fanzha.api.models import ApiToken
from fanzha.api.tokens import actions as token_actions
from fanzha.org.models import Guardianship, Membership, Person, RoleGrant, Unit, UnitEvent

API = "/api/v1"


def token_for(user: Any) -> str:
    """A key of a new token of ``user``, marked as just used: a test's first request then costs the
    queries every later one does (``last_used_at`` is written at most once a minute)."""
    issued = token_actions.issue_token(user, "test")
    ApiToken.objects.filter(pk=issued.token.pk).update(last_used_at=timezone.now())
    return issued.key


def client_for(user: Any | None) -> APIClient:
    """An API client that authenticates with a token of the user (anonymous when ``user`` is None)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.fixture
def api(cast) -> Callable[[str | None], APIClient]:
    """``api("counsellor")`` → a client signed in as that cast member; ``api(None)`` → anonymous."""

    def make(who: str | None) -> APIClient:
        return client_for(cast.users()[who] if who else None)

    return make


def _rows(model: Any, *fields: str) -> list[tuple[Any, ...]]:
    return list(model.objects.order_by("pk").values_list("pk", *fields))


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row a refused write could touch, to compare before and after."""
    return {
        "units": _rows(
            Unit,
            "path",
            "depth",
            "numchild",
            "name",
            "code",
            "kind",
            "parent_path",
            "is_active",
            "updated_at",
        ),
        "unit_events": _rows(UnitEvent, "unit_id", "kind", "old", "new"),
        "people": _rows(
            Person,
            "root_id",
            "name",
            "kind",
            "external_number",
            "phone_enc",
            "id_number_enc",
            "gender",
            "birth_year",
            "enrolment_year",
            "is_active",
            "updated_at",
        ),
        "memberships": _rows(Membership, "person_id", "unit_id", "role"),
        "guardianships": _rows(Guardianship, "guardian_id", "student_id", "relation"),
        "grants": _rows(RoleGrant, "user_id", "unit_id", "role"),
    }
