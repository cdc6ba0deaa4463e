"""Reads of reach: which campaigns run over a unit, whom they track, who is missing what.

A campaign tracks the attestation items its template lists (``attestations``) for the people of
its audiences in its subtree; parents are reached through their children (the parent notice is
an item of the child, signed by a guardian). Scope: the counsellor pages pass the user, and the
people come through ``org.scope.people_for``; the member pages pass none, the class link being
the permission.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from fanzha.campaigns.models import Campaign
from fanzha.core import crypto
from fanzha.core.identifiers import normalize_phone
from fanzha.org.models import Guardianship, Membership, Person, PersonKind, Unit, UnitKind
from fanzha.org.scope import Cap, people_for, tree_paths

from .models import COUNTED, Attestation, ClassLink, Item

APP_ITEMS = (Item.APP_INSTALLED, Item.APP_REGISTERED, Item.APP_WARNINGS_ON)
# Items about a child that a guardian answers for; every other item is the person's own.
CHILD_ONLY = frozenset({Item.PARENT_NOTICE_SIGNED, Item.PARENT_APP_INSTALLED})
# Who a campaign tracks when its template names no audience: everybody but parents.
DEFAULT_KINDS = tuple(k for k in PersonKind.values if k != PersonKind.PARENT)


def campaign_items(campaign: Campaign) -> tuple[str, ...]:
    """The attestation items the campaign's template lists, in the template's order (parsed once)."""
    cache: dict[str, Any] = campaign.__dict__.setdefault("_fanzha_reach", {})
    if "items" not in cache:
        spec = campaign.spec()
        cache["items"] = tuple(i for i in spec.attestations if i in Item.values)
        cache["kinds"] = tuple(k for k in spec.audiences if k != PersonKind.PARENT) or DEFAULT_KINDS
    return cache["items"]


def tracked_kinds(campaign: Campaign) -> tuple[str, ...]:
    """Person kinds the campaign tracks: its audiences without parents (parents act for children)."""
    campaign_items(campaign)
    return campaign.__dict__["_fanzha_reach"]["kinds"]


def applies(item: str, kind: str) -> bool:
    """Whether ``item`` concerns a person of ``kind`` (a parent notice concerns students only)."""
    return item not in CHILD_ONLY or kind == PersonKind.STUDENT


def _ancestors_and_self(unit: Unit) -> list[str]:
    return [unit.path[:end] for end in range(Unit.steplen, len(unit.path) + 1, Unit.steplen)]


def running_campaigns(unit: Unit, today: date | None = None) -> list[Campaign]:
    """Active, started campaigns issued at ``unit`` or above it that track at least one item."""
    today = today or timezone.localdate()
    campaigns = (
        Campaign.objects.filter(
            unit__path__in=_ancestors_and_self(unit), status=Campaign.Status.ACTIVE, starts_on__lte=today
        )
        .select_related("template", "unit")
        .order_by("-starts_on", "-pk")
    )
    return [c for c in campaigns if campaign_items(c)]


def covers(campaign: Campaign, unit: Unit) -> bool:
    """Whether ``unit`` lies in the campaign's subtree."""
    return unit.path.startswith(campaign.unit.path)


def members_q(unit: Unit) -> Q:
    """People with a membership in ``unit`` or below it."""
    return Q(Exists(Membership.objects.filter(person=OuterRef("pk"), unit__path__startswith=unit.path)))


def roster(campaign: Campaign, unit: Unit, user: Any = None) -> QuerySet[Person]:
    """The people of ``unit`` (with its subtree) that the campaign tracks, in number order.

    With ``user``, only the people that the user may see (``org.scope.people_for``). When ``unit`` lies
    inside the user's own tree scope, every member of its subtree is such a person already: the filter,
    a correlated subquery over every membership of the scope, is then left out (it made the university's
    matrix run four one-second queries on the small demo world).
    """
    people = Person.objects.filter(
        members_q(unit), root__path=unit.root_path, is_active=True, kind__in=tracked_kinds(campaign)
    )
    if user is not None and not any(unit.path.startswith(p) for p in tree_paths(user, Cap.VIEW)):
        people = people.filter(pk__in=people_for(user, Cap.VIEW).values("pk"))
    return people.order_by("external_number", "name", "pk")


def attestations_of(campaign: Campaign, people: Iterable[int]) -> dict[tuple[int, str], Attestation]:
    """The campaign's attestations of ``people`` (ids), by (person id, item); one query."""
    return {
        (a.person_id, a.item): a
        for a in Attestation.objects.filter(campaign=campaign, person_id__in=list(people)).select_related(
            "by_guardian", "verified_by"
        )
    }


@dataclass
class Cell:
    item: str
    applies: bool
    attestation: Attestation | None

    @property
    def counted(self) -> bool:
        return self.attestation is not None and self.attestation.status in COUNTED

    @property
    def label(self) -> str:
        """The item's name: a phone shows each cell as a labelled line of the person's card."""
        return str(Item(self.item).label)

    @property
    def status(self) -> str:
        """ "" (missing), "declared", "verified", "rejected" or "na" (does not concern the person)."""
        if not self.applies:
            return "na"
        return self.attestation.status if self.attestation else ""


@dataclass
class Row:
    person: Person
    cells: list[Cell]


@dataclass
class Matrix:
    """People × items of one campaign in one unit, with the count of people done per item."""

    campaign: Campaign
    unit: Unit
    items: tuple[str, ...]
    rows: list[Row]
    done: dict[str, int] = field(default_factory=dict)
    due: dict[str, int] = field(default_factory=dict)


def matrix(campaign: Campaign, unit: Unit, people: Iterable[Person]) -> Matrix:
    """The matrix of ``people`` (already loaded, e.g. one page of ``roster``): one query."""
    items = campaign_items(campaign)
    people = list(people)
    found = attestations_of(campaign, [p.pk for p in people])
    result = Matrix(campaign, unit, items, [], {i: 0 for i in items}, {i: 0 for i in items})
    for person in people:
        cells = [Cell(i, applies(i, person.kind), found.get((person.pk, i))) for i in items]
        for cell in cells:
            if cell.applies:
                result.due[cell.item] += 1
                result.done[cell.item] += cell.counted
        result.rows.append(Row(person, cells))
    return result


def missing(campaign: Campaign, unit: Unit, item: str, user: Any = None) -> QuerySet[Person]:
    """People of the roster whom ``item`` concerns and who have no declared or verified attestation."""
    people = roster(campaign, unit, user)
    if item in CHILD_ONLY:
        people = people.filter(kind=PersonKind.STUDENT)
    done = Attestation.objects.filter(campaign=campaign, item=item, status__in=COUNTED, person=OuterRef("pk"))
    return people.exclude(Exists(done))


# Member sign-in -----------------------------------------------------------------------------------


def find_class_link(token: str) -> ClassLink | None:
    """The active link a member's phone opened; the link itself is the permission (no user scope)."""
    if not token or len(token) > 64:
        return None
    return (
        ClassLink.objects.select_related("unit")
        .filter(token=token, is_active=True, unit__is_active=True)
        .first()
    )


def class_links(units: Iterable[Unit]) -> dict[int, ClassLink]:
    """The existing links of ``units``, by unit id (read only: ``/me/`` renders without creating any)."""
    return {link.unit_id: link for link in ClassLink.objects.filter(unit__in=[u.pk for u in units])}


def find_member(unit: Unit, number: str) -> Person | None:
    """The active person with this student or staff number who is a member of ``unit`` (or below)."""
    number = (number or "").strip()
    if not number or len(number) > 40:
        return None
    return Person.objects.filter(
        members_q(unit), root__path=unit.root_path, external_number=number, is_active=True
    ).first()


def wards_in(guardian: Person, unit: Unit) -> QuerySet[Person]:
    """The guardian's children who are members of ``unit`` (or below), in name order."""
    return Person.objects.filter(
        members_q(unit),
        is_active=True,
        pk__in=Guardianship.objects.filter(guardian=guardian).values("student_id"),
    ).order_by("name", "pk")


def find_guardian(unit: Unit, phone: str) -> Person | None:
    """The guardian with this phone number who has a child in ``unit`` (or below); None otherwise."""
    try:
        normalized = normalize_phone(phone)
    except ValidationError:
        return None
    candidates = Person.objects.filter(
        phone_hash=crypto.keyed_hash(normalized), root__path=unit.root_path, is_active=True
    ).order_by("pk")
    for person in candidates:
        if wards_in(person, unit).exists():
            return person
    return None


def is_guardian_of(guardian: Person, child: Person) -> bool:
    return Guardianship.objects.filter(guardian=guardian, student=child).exists()


# One place for students and parents: the member behind a signed-in account ---------------------------

# The unit that is a person's own on the member pages, by its kind (lowest first): the class before the
# grade, college or school, a dormitory last (a student is in a class and a room at once).
_HOME_RANKS = {
    UnitKind.CLASS: 0,
    UnitKind.GRADE: 1,
    UnitKind.COLLEGE: 2,
    UnitKind.KINDERGARTEN: 3,
    UnitKind.SCHOOL: 4,
    UnitKind.DORM_ROOM: 8,
    UnitKind.DORM_BUILDING: 9,
}


def account_person(user: Any) -> Person | None:
    """The active person a signed-in account belongs to (None for an anonymous visitor or an account
    that no roster links to anyone)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Person.objects.filter(user_id=user.pk, is_active=True).select_related("root").first()


def home_unit(person: Person) -> Unit | None:
    """The person's own unit for the member pages: their class, else the lowest unit they belong to."""
    memberships = Membership.objects.filter(person=person, unit__is_active=True).select_related("unit")
    ranked = sorted(memberships, key=lambda m: (_HOME_RANKS.get(m.unit.kind, 5), m.pk))
    return ranked[0].unit if ranked else None


def children_by_unit(guardian: Person) -> list[tuple[Unit, list[Person]]]:
    """The guardian's active children grouped by each child's own unit (``home_unit``), in name order."""
    children = Person.objects.filter(
        is_active=True, pk__in=Guardianship.objects.filter(guardian=guardian).values("student_id")
    ).order_by("name", "pk")
    groups: dict[int, tuple[Unit, list[Person]]] = {}
    for child in children:
        unit = home_unit(child)
        if unit is not None:
            groups.setdefault(unit.pk, (unit, []))[1].append(child)
    return list(groups.values())


def member_role(person: Person, unit: Unit) -> str:
    """How ``person`` stands on the member pages of ``unit``'s link: "member" (they belong to it or below),
    "guardian" (a child of theirs does), or "" (neither: the link is not theirs)."""
    if Person.objects.filter(members_q(unit), pk=person.pk).exists():
        return "member"
    if wards_in(person, unit).exists():
        return "guardian"
    return ""


def has_member_pages(person: Person) -> bool:
    """Whether the person has anything on the member pages: a unit of their own, or a child."""
    return (
        Membership.objects.filter(person=person, unit__is_active=True).exists()
        or Guardianship.objects.filter(guardian=person, student__is_active=True).exists()
    )
