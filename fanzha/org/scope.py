"""The one place where what a user may see and change is decided.

A role is granted at a unit and covers its whole subtree; counsellors and class teachers also reach
the dormitory rooms where their students live (``reach_paths``). Every queryset of units, people
and memberships that a page or API endpoint returns is built here, so that no view writes
its own filter. Objects outside the scope are simply absent: a lookup answers 404 exactly
as for an object that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import (
    Guardianship,
    Jurisdiction,
    JurisdictionSide,
    Membership,
    Person,
    PersonKind,
    Role,
    RoleGrant,
    Unit,
    UnitKind,
)


class Cap(StrEnum):
    """What a role allows, at the granted unit and below."""

    VIEW = "view"
    EDIT_PEOPLE = "edit_people"
    EDIT_UNITS = "edit_units"
    IMPORT = "import"
    REVEAL = "reveal"
    GRANT = "grant"
    # Running campaigns (``fanzha.campaigns``): start one at a unit whose kind the template lets issue
    # it, edit its plan and the school calendar, close and sync it, generate its letters, write
    # custom plan templates.
    CAMPAIGN = "campaign"
    # The work a plan puts on a unit: record activities with evidence and attendees, sign the unit's
    # side of responsibility letters.
    RECORD = "record"
    # Publish knowledge-base articles and run the daily tips of a unit's chat groups (``fanzha.learn``).
    PUBLISH = "publish"
    # The case ledger (``fanzha.cases``): see the cases, record and edit them, act as the police side
    # (acknowledge alerts, file, investigate, close), reveal a victim's sensitive details, read and
    # write counselling notes, issue accountability actions.
    CASE_VIEW = "case_view"
    CASE_EDIT = "case_edit"
    CASE_POLICE = "case_police"
    CASE_REVEAL = "case_reveal"
    COUNSEL = "counsel"
    ACCOUNTABILITY = "accountability"


# Whoever a plan makes responsible runs the campaigns of their level, records its work and publishes.
_WORK = frozenset({Cap.CAMPAIGN, Cap.RECORD, Cap.PUBLISH})
_ADMIN = (
    frozenset(
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
    | _WORK
)
# The police side of a case: receive it, acknowledge alerts, file, investigate, close, see the victim.
_POLICE_CASES = frozenset({Cap.CASE_VIEW, Cap.CASE_EDIT, Cap.CASE_POLICE, Cap.CASE_REVEAL})
_COUNSELLOR = frozenset(
    {
        Cap.VIEW,
        Cap.EDIT_PEOPLE,
        Cap.REVEAL,
        Cap.RECORD,
        Cap.PUBLISH,
        Cap.CASE_VIEW,
        Cap.CASE_EDIT,
        Cap.CASE_REVEAL,
        Cap.COUNSEL,
    }
)
ROLE_CAPS: dict[str, frozenset[Cap]] = {
    Role.BUREAU_ADMIN: _ADMIN | {Cap.ACCOUNTABILITY},
    Role.SCHOOL_ADMIN: _ADMIN | {Cap.ACCOUNTABILITY},
    Role.COLLEGE_ADMIN: _ADMIN,
    Role.BANK_ADMIN: _ADMIN,
    # A university's counsellor: the people of their classes, their cases, counselling, the class's work.
    Role.COUNSELLOR: _COUNSELLOR,
    # A kindergarten's or school's class teacher: the counsellor's powers for the class, and starting
    # the campaigns a class issues itself (篇一, the kindergarten lesson).
    Role.CLASS_TEACHER: _COUNSELLOR | {Cap.CAMPAIGN},
    # Staff in charge of a dormitory building (楼长): its residents, its activities and letters.
    Role.DORM_MANAGER: frozenset({Cap.VIEW, Cap.RECORD}),
    # Police grants at schools and bureaus let the liaison take their cases; at police units it also
    # runs the police plan (``KIND_CAPS``).
    Role.POLICE_LIAISON: frozenset({Cap.VIEW}) | _POLICE_CASES,
    # The county bureau's anti-fraud centre (反电诈中心) runs the police plan (篇五) and its grid.
    Role.POLICE_ADMIN: _ADMIN | _POLICE_CASES,
    # A police station: its cases and alerts, the "five into" outreach, typical cases in the media.
    Role.POLICE_OFFICER: frozenset({Cap.VIEW, Cap.RECORD, Cap.PUBLISH}) | _POLICE_CASES,
    # A bank branch files its own plan for the publicity month (篇六) and does its outreach.
    Role.BANK_BRANCH_MANAGER: frozenset({Cap.VIEW}) | _WORK,
    Role.BANK_OUTLET_MANAGER: frozenset({Cap.VIEW, Cap.RECORD, Cap.PUBLISH}),
    Role.AUDITOR: frozenset({Cap.VIEW, Cap.CASE_VIEW}),
    # The security office (保卫处) leads the university's action (篇二): it starts and records it.
    Role.SECURITY_OFFICER: frozenset({Cap.VIEW, Cap.CASE_VIEW, Cap.CASE_EDIT, Cap.CASE_REVEAL}) | _WORK,
    Role.PSYCHOLOGIST: frozenset({Cap.VIEW, Cap.CASE_VIEW, Cap.CASE_REVEAL, Cap.COUNSEL}),
}
POLICE_KINDS = frozenset({UnitKind.POLICE_BUREAU, UnitKind.POLICE_DEPARTMENT, UnitKind.POLICE_STATION})
# Capabilities a role adds where it is granted at a unit of one of these kinds, and only there.
KIND_CAPS: dict[str, tuple[frozenset[str], frozenset[Cap]]] = {
    Role.POLICE_LIAISON: (POLICE_KINDS, _WORK),
}


def role_caps(role: str, kind: str | None = None) -> frozenset[Cap]:
    """What ``role`` allows when granted at a unit of ``kind`` (None: at any unit, the most it allows)."""
    caps = ROLE_CAPS.get(role, frozenset())
    extra = KIND_CAPS.get(role)
    if extra is not None and (kind is None or kind in extra[0]):
        caps = caps | extra[1]
    return caps


def roles_with(cap: Cap) -> list[str]:
    """Roles that hold ``cap`` at some kind of unit (whose grants may answer for a unit's work)."""
    return [role for role in Role.values if cap in role_caps(role)]


# Counsellors and class teachers reach the dormitory rooms where the students of their classes live,
# and college administrators those of their colleges' students: rooms sit under buildings, outside
# their subtree. Reaching a room lets them see it and record its activities; not see its other
# residents (``people_for`` never widens), sign its letters or change it.
MEMBERSHIP_REACH_ROLES = frozenset({Role.COUNSELLOR, Role.CLASS_TEACHER, Role.COLLEGE_ADMIN})
REACH_CAPS = frozenset({Cap.VIEW, Cap.RECORD})


def _minimal(paths: set[str]) -> list[str]:
    """Drop paths that lie inside another path of the set."""
    result: list[str] = []
    for path in sorted(paths):
        if not any(path.startswith(kept) for kept in result):
            result.append(path)
    return result


def _grants(user: Any) -> list[tuple[str, str, str]]:
    """(role, unit path, unit kind) of the user's grants on active units, loaded once per user object."""
    cache: dict[str, Any] = user.__dict__.setdefault("_fanzha_scope", {})
    if "grants" not in cache:
        cache["grants"] = list(
            RoleGrant.objects.filter(user=user, unit__is_active=True).values_list(
                "role", "unit__path", "unit__kind"
            )
        )
    return cache["grants"]


def grant_paths(user: Any, roles: Iterable[str]) -> list[str]:
    """Paths of the user's grants (on active units) in one of ``roles``: for pages that answer to a
    role held somewhere (a bank contact, a police liaison) rather than to a capability."""
    wanted = set(roles)
    return [path for role, path, _kind in _grants(user) if role in wanted]


def tree_paths(user: Any, cap: Cap = Cap.VIEW) -> list[str]:
    """Unit paths whose subtrees the user's grants cover for ``cap`` (no jurisdiction); cached on the user."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    cache: dict[str, Any] = user.__dict__.setdefault("_fanzha_scope", {})
    if cap not in cache:
        if user.is_superuser:
            if "roots" not in cache:  # every capability everywhere: one query, not one per capability
                cache["roots"] = list(Unit.objects.get_root_nodes().values_list("path", flat=True))
            cache[cap] = cache["roots"]
        else:
            held = {path for role, path, kind in _grants(user) if cap in role_caps(role, kind)}
            cache[cap] = _minimal(held)
    return cache[cap]


# Jurisdiction (辖区): the cases of a school, community, village … belong to the police station whose
# area it lies in as much as to the school's own tree. Whoever holds one of these capabilities at the
# station (its officers) or above it (the county bureau) holds it at the assigned units' subtrees too,
# so the station sees, counts, answers and is alerted about them. Never ``VIEW`` or any roster
# capability: people, memberships and person pages stay with the unit's own tree (``people_for`` and
# ``memberships_for`` read ``tree_paths``). A bank outlet's assignment widens nothing here: bank roles
# hold no case capability, and the bank side of a case (freezes) has its own routing.
JURISDICTION_CAPS = frozenset({Cap.CASE_VIEW, Cap.CASE_POLICE, Cap.CASE_REVEAL})
_ABOVE_STATIONS = frozenset(
    {
        UnitKind.POLICE_BUREAU,
        UnitKind.POLICE_DEPARTMENT,
        UnitKind.POLICE_STATION,
        UnitKind.BUREAU_PROVINCE,
        UnitKind.BUREAU_CITY,
        UnitKind.BUREAU_DISTRICT,
        UnitKind.OTHER,
    }
)


def jurisdiction_paths(user: Any, cap: Cap = Cap.CASE_VIEW) -> list[str]:
    """Subtrees the user reaches for ``cap`` only through the stations in their scope: the paths of the
    active units assigned to an active police station inside ``tree_paths(user, cap)``."""
    if cap not in JURISDICTION_CAPS or user is None or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return []  # every unit is in the tree scope already
    cache: dict[str, Any] = user.__dict__.setdefault("_fanzha_scope", {})
    key = f"jurisdiction:{cap}"
    if key not in cache:
        tree = tree_paths(user, cap)
        found: set[str] = set()
        # Only a grant at a unit that may hold a police station below it can reach a jurisdiction: a
        # school's, class's or bank's grant never needs the query.
        if any(
            cap in role_caps(role, kind) and kind in _ABOVE_STATIONS for role, _path, kind in _grants(user)
        ):
            found = set(
                Jurisdiction.objects.filter(
                    path_q(tree, "authority__path"),
                    side=JurisdictionSide.POLICE,
                    authority__kind=UnitKind.POLICE_STATION,
                    authority__is_active=True,
                    unit__is_active=True,
                ).values_list("unit__path", flat=True)
            )
        cache[key] = [p for p in _minimal(found) if not any(p.startswith(t) for t in tree)]
    return cache[key]


def scope_paths(user: Any, cap: Cap = Cap.VIEW) -> list[str]:
    """Unit paths whose subtrees the user may act on with ``cap``: the grants' subtrees and, for the case
    capabilities, the jurisdiction of the stations among them (``jurisdiction_paths``)."""
    extra = jurisdiction_paths(user, cap)
    if not extra:
        return tree_paths(user, cap)
    return _minimal({*tree_paths(user, cap), *extra})


def stations_of(unit: Unit) -> list[Unit]:
    """The active police stations whose jurisdiction covers ``unit`` (assigned to it or to an ancestor)."""
    ancestors = [unit.path[:end] for end in range(Unit.steplen, len(unit.path) + 1, Unit.steplen)]
    return list(
        Unit.objects.filter(
            jurisdiction_of__unit__path__in=ancestors,
            jurisdiction_of__unit__is_active=True,
            jurisdiction_of__side=JurisdictionSide.POLICE,
            kind=UnitKind.POLICE_STATION,
            is_active=True,
        )
        .distinct()
        .order_by("path")
    )


def subtree_jurisdiction(unit: Unit) -> list[tuple[str, str]]:
    """(station path, place path) for the places assigned to the active police stations in ``unit``'s
    subtree that lie outside it (a place inside is counted there already); no query for a unit that
    cannot hold a station (a school, a class, a bank)."""
    if unit.kind not in _ABOVE_STATIONS:
        return []
    rows = Jurisdiction.objects.filter(
        authority__path__startswith=unit.path,
        side=JurisdictionSide.POLICE,
        authority__kind=UnitKind.POLICE_STATION,
        authority__is_active=True,
        unit__is_active=True,
    ).values_list("authority__path", "unit__path")
    return sorted((a, p) for a, p in rows if not p.startswith(unit.path))


def area_paths(unit: Unit) -> list[str]:
    """Where ``unit``'s figures come from: its own subtree and the jurisdiction of every active police
    station in it (a station counts its schools' cases; the county bureau every station's)."""
    return _minimal({unit.path, *(p for _, p in subtree_jurisdiction(unit))})


def area_q(unit: Unit, field: str = "unit__path") -> Q:
    """Q matching rows whose ``field`` (a unit path) lies in ``area_paths(unit)``."""
    return path_q(area_paths(unit), field)


def capabilities(user: Any) -> set[Cap]:
    """Every capability the user holds somewhere (for showing or hiding menu entries)."""
    return {cap for cap in Cap if scope_paths(user, cap)}


# Units of the education side, where classes and dormitories are (the coverage of members, class-group
# tips): a bank or a police station has none, so those pages would be empty for them.
SCHOOL_KINDS = frozenset(
    {
        UnitKind.BUREAU_PROVINCE,
        UnitKind.BUREAU_CITY,
        UnitKind.BUREAU_DISTRICT,
        UnitKind.SCHOOL,
        UnitKind.KINDERGARTEN,
        UnitKind.COLLEGE,
        UnitKind.GRADE,
        UnitKind.CLASS,
        UnitKind.DORM_BUILDING,
        UnitKind.DORM_ROOM,
    }
)


# A menu condition, not a capability: the user's scope has classes and dormitories (``serves_schools``).
SCHOOL_SIDE = "school_side"


def school_side(user: Any) -> set[str]:
    """``{SCHOOL_SIDE}`` for a user who ``serves_schools``: registered with ``core.menu.on_capabilities`` so
    that entries leading to the coverage of classes show only where it is not empty."""
    return {SCHOOL_SIDE} if serves_schools(user) else set()


def serves_schools(user: Any) -> bool:
    """Whether the user sees units of the education side (a grant at one, or a superuser): what decides
    that the coverage pages and the class-group tips have something for them. No query beyond the
    cached grants."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or any(
        kind in SCHOOL_KINDS and Cap.VIEW in role_caps(role, kind) for role, _path, kind in _grants(user)
    )


def path_q(paths: list[str], field: str = "path") -> Q:
    """Q matching any of the subtrees; matches nothing when ``paths`` is empty."""
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


def reach_paths(user: Any, cap: Cap = Cap.VIEW) -> list[str]:
    """Subtrees whose students' dormitory rooms the user reaches for ``cap`` (see
    ``MEMBERSHIP_REACH_ROLES``); empty for most users, and then no query ever looks for rooms."""
    if cap not in REACH_CAPS or user is None or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return []  # every room is in the tree scope already
    cache: dict[str, Any] = user.__dict__.setdefault("_fanzha_scope", {})
    key = f"reach:{cap}"
    if key not in cache:
        cache[key] = _minimal(
            {
                path
                for role, path, kind in _grants(user)
                if role in MEMBERSHIP_REACH_ROLES and cap in role_caps(role, kind)
            }
        )
    return cache[key]


def _room_memberships(paths: list[str]) -> QuerySet[Membership]:
    """Memberships in dormitory rooms of the students who are members of a class inside ``paths``."""
    students = Membership.objects.filter(
        path_q(paths, "unit__path"), unit__kind=UnitKind.CLASS, person__kind=PersonKind.STUDENT
    ).values("person_id")
    return Membership.objects.filter(unit__kind=UnitKind.DORM_ROOM, person_id__in=students)


def unit_q(user: Any, cap: Cap = Cap.VIEW, field: str = "unit") -> Q:
    """Q matching rows whose ``field`` (a unit; "" for units themselves) the user may act on with ``cap``:
    the subtrees of the grants, and the dormitory rooms reached through the students of a class."""
    prefix = f"{field}__" if field else ""
    q = path_q(scope_paths(user, cap), f"{prefix}path")
    reach = reach_paths(user, cap)
    if reach:
        rooms = _room_memberships(reach).values("unit_id")
        q |= Q(**{f"{field}_id__in" if field else "pk__in": rooms})
    return q


def units_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Unit]:
    """Units the user may see (or act on with ``cap``)."""
    return Unit.objects.filter(unit_q(user, cap, ""))


def in_tree_scope(user: Any, unit: Unit, cap: Cap = Cap.VIEW) -> bool:
    """Whether ``unit`` lies in the subtree of one of the user's grants for ``cap`` (no rooms reached by
    membership): for what only a unit's own people do, such as signing its letters."""
    return any(unit.path.startswith(p) for p in tree_paths(user, cap))


def in_scope(user: Any, unit: Unit, cap: Cap = Cap.VIEW) -> bool:
    """Whether ``unit`` lies inside the user's scope for ``cap`` (as ``units_for`` answers)."""
    if any(unit.path.startswith(p) for p in scope_paths(user, cap)):
        return True
    if unit.kind != UnitKind.DORM_ROOM:
        return False
    reach = reach_paths(user, cap)
    if not reach:
        return False
    cache: dict[str, Any] = user.__dict__.setdefault("_fanzha_scope", {})
    key = f"room:{cap}:{unit.pk}"
    if key not in cache:
        cache[key] = _room_memberships(reach).filter(unit_id=unit.pk).exists()
    return bool(cache[key])


def reached_only(user: Any, unit: Unit) -> bool:
    """Whether the user sees ``unit`` only as a room where their students live (so not its other people)."""
    return not in_tree_scope(user, unit) and in_scope(user, unit)


def people_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Person]:
    """People the user may see: members of a unit in scope, and the guardians of such members.

    A user with no grant sees only their own person record and, for a parent, their children.
    Rooms reached by membership add nobody: a counsellor's students are there through their class, and
    jurisdiction adds nobody either (``tree_paths``): a station counts a school's cases, not its roster.
    """
    paths = tree_paths(user, cap)
    if not paths:
        if user is None or not user.is_authenticated or cap != Cap.VIEW:
            return Person.objects.none()
        own = Q(user=user) | Q(guardians__guardian__user=user)
        return Person.objects.filter(own).distinct()
    member_in_scope = Membership.objects.filter(path_q(paths, "unit__path"))
    student_in_scope = member_in_scope.filter(person=OuterRef("student_id"))
    guardian_of = Guardianship.objects.filter(guardian=OuterRef("pk")).filter(Exists(student_in_scope))
    return Person.objects.filter(Exists(member_in_scope.filter(person=OuterRef("pk"))) | Exists(guardian_of))


def people_by_ids(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Person]:
    """``people_for`` by the same rule, written as one set of ids (the scope's members ``UNION`` their
    guardians), which both SQLite and PostgreSQL read from the units' side.

    Why two forms: ``people_for`` tests each person with ``EXISTS`` subqueries, which suits walking a
    large scope in name order and stopping after a page; counting it, or listing a small scope, tests
    every person of the database (1.0–1.7 s over a million). This form counts any scope and lists a
    small one in milliseconds, but must build the whole set first.
    """
    paths = tree_paths(user, cap)
    if not paths:
        return people_for(user, cap)
    members = Membership.objects.filter(path_q(paths, "unit__path")).values("person_id")
    guardians = Guardianship.objects.filter(student_id__in=members).values("guardian_id")
    return Person.objects.filter(pk__in=members.union(guardians))


def memberships_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Membership]:
    """Memberships in units inside the scope, and the room memberships of the students whose rooms the
    user reaches (a counsellor sees which room their student lives in, not who else does)."""
    q = path_q(tree_paths(user, cap), "unit__path")
    reach = reach_paths(user, cap)
    if reach:
        q |= Q(pk__in=_room_memberships(reach).values("pk"))
    return Membership.objects.filter(q)
