"""Personal sign-in codes for tests: what a counsellor's "issue code" gives a member, as typed."""

from __future__ import annotations

from fanzha.org.credentials import actions as credentials
from fanzha.org.models import Person, User


def give_code(person: Person, actor: User) -> str:
    """Issue ``person`` a new personal sign-in code on behalf of ``actor``; the code, to type."""
    return credentials.issue_code(person, actor).code
