"""The one place where what a user may see and change is decided.

A role is granted at a unit and covers its whole subtree. Every queryset of units, people
and memberships that a page or API endpoint returns is built here, so that no view writes
its own filter. Objects outside the scope are simply absent: a lookup answers 404 exactly
as for an object that does not exist.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Guardianship, Membership, Person, Role, RoleGrant, Unit


class Cap(StrEnum):
    """What a role allows, at the granted unit and below."""

    VIEW = "view"
    EDIT_PEOPLE = "edit_people"
    EDIT_UNITS = "edit_units"
    IMPORT = "import"
    REVEAL = "reveal"
    GRANT = "grant"
    # The case ledger (``fanzha.cases``): see the cases, record and edit them, act as the police side
    # (acknowledge alerts, file, investigate, close), reveal a victim's sensitive details, read and
    # write counselling notes, issue accountability actions.
    CASE_VIEW = "case_view"
    CASE_EDIT = "case_edit"
    CASE_POLICE = "case_police"
    CASE_REVEAL = "case_reveal"
    COUNSEL = "counsel"
    ACCOUNTABILITY = "accountability"


_ADMIN = frozenset(
    {
        Cap.VIEW,
        Cap.EDIT_PEOPLE,
        Cap.EDIT_UNITS,
        Cap.IMPORT,
        Cap.REVEAL,
        Cap.GRANT,
        Cap.CASE_VIEW,
        Cap.CASE_EDIT,
    }
)
ROLE_CAPS: dict[str, frozenset[Cap]] = {
    Role.BUREAU_ADMIN: _ADMIN | {Cap.ACCOUNTABILITY},
    Role.SCHOOL_ADMIN: _ADMIN | {Cap.ACCOUNTABILITY},
    Role.COLLEGE_ADMIN: _ADMIN,
    Role.BANK_ADMIN: _ADMIN,
    Role.COUNSELLOR: frozenset(
        {Cap.VIEW, Cap.EDIT_PEOPLE, Cap.REVEAL, Cap.CASE_VIEW, Cap.CASE_EDIT, Cap.CASE_REVEAL, Cap.COUNSEL}
    ),
    Role.POLICE_LIAISON: frozenset(
        {Cap.VIEW, Cap.CASE_VIEW, Cap.CASE_EDIT, Cap.CASE_POLICE, Cap.CASE_REVEAL}
    ),
    Role.AUDITOR: frozenset({Cap.VIEW, Cap.CASE_VIEW}),
    Role.SECURITY_OFFICER: frozenset({Cap.VIEW, Cap.CASE_VIEW, Cap.CASE_EDIT, Cap.CASE_REVEAL}),
    Role.PSYCHOLOGIST: frozenset({Cap.VIEW, Cap.CASE_VIEW, Cap.CASE_REVEAL, Cap.COUNSEL}),
}


def _minimal(paths: set[str]) -> list[str]:
    """Drop paths that lie inside another path of the set."""
    result: list[str] = []
    for path in sorted(paths):
        if not any(path.startswith(kept) for kept in result):
            result.append(path)
    return result


def _grants(user: Any) -> list[tuple[str, str]]:
    """(role, unit path) of the user's grants on active units, loaded once per user object."""
    cache: dict[str, Any] = user.__dict__.setdefault("_fanzha_scope", {})
    if "grants" not in cache:
        cache["grants"] = list(
            RoleGrant.objects.filter(user=user, unit__is_active=True).values_list("role", "unit__path")
        )
    return cache["grants"]


def scope_paths(user: Any, cap: Cap = Cap.VIEW) -> list[str]:
    """Unit paths whose subtrees the user may act on with ``cap``; cached on the user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    cache: dict[str, Any] = user.__dict__.setdefault("_fanzha_scope", {})
    if cap not in cache:
        if user.is_superuser:
            if "roots" not in cache:  # every capability everywhere: one query, not one per capability
                cache["roots"] = list(Unit.objects.get_root_nodes().values_list("path", flat=True))
            cache[cap] = cache["roots"]
        else:
            cache[cap] = _minimal({path for role, path in _grants(user) if cap in ROLE_CAPS.get(role, ())})
    return cache[cap]


def capabilities(user: Any) -> set[Cap]:
    """Every capability the user holds somewhere (for showing or hiding menu entries)."""
    return {cap for cap in Cap if scope_paths(user, cap)}


def path_q(paths: list[str], field: str = "path") -> Q:
    """Q matching any of the subtrees; matches nothing when ``paths`` is empty."""
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


def units_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Unit]:
    """Units the user may see (or act on with ``cap``)."""
    return Unit.objects.filter(path_q(scope_paths(user, cap)))


def in_scope(user: Any, unit: Unit, cap: Cap = Cap.VIEW) -> bool:
    """Whether ``unit`` lies inside the user's scope for ``cap``."""
    return any(unit.path.startswith(p) for p in scope_paths(user, cap))


def people_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Person]:
    """People the user may see: members of a unit in scope, and the guardians of such members.

    A user with no grant sees only their own person record and, for a parent, their children.
    """
    paths = scope_paths(user, cap)
    if not paths:
        if user is None or not user.is_authenticated or cap != Cap.VIEW:
            return Person.objects.none()
        own = Q(user=user) | Q(guardians__guardian__user=user)
        return Person.objects.filter(own).distinct()
    member_in_scope = Membership.objects.filter(path_q(paths, "unit__path"))
    student_in_scope = member_in_scope.filter(person=OuterRef("student_id"))
    guardian_of = Guardianship.objects.filter(guardian=OuterRef("pk")).filter(Exists(student_in_scope))
    return Person.objects.filter(Exists(member_in_scope.filter(person=OuterRef("pk"))) | Exists(guardian_of))


def memberships_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Membership]:
    """Memberships in units inside the scope."""
    return Membership.objects.filter(path_q(scope_paths(user, cap), "unit__path"))
