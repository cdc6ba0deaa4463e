"""Reads of accounts: whose account an administrator may see and manage, which roles they may grant,
the person page's account panel, the bulk preview and the accounts list.

The rule for granting (and for managing an account at all), decided here and nowhere else:

- You act at a unit where you hold ``Cap.GRANT`` (an administrator's role at it or above it).
- You grant a role only if you hold, at that unit, every capability it carries **except the duties**
  (``DUTIES``: handling cases, the police side, counselling). Nobody hands out more power over the
  grid (seeing, editing, importing, revealing, granting, accountability) than they hold there; the
  duties are the work of the people an administrator appoints (counsellors, psychologists, police
  liaisons), so an administrator may appoint them without doing that work themselves.
- Nobody grants anything to themselves, so nobody gives themselves the duties either.
- You manage an account (invite, reset, deactivate, grant to it, revoke from it) only if it is in
  your scope and every role it holds is one you could grant: a college administrator cannot lock
  out the school's administrator. Superusers' accounts are managed by superusers only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from fanzha.core import hooks

from .. import scope
from ..models import AccountToken, Membership, Person, PersonKind, Role, RoleGrant, Unit, User
from ..scope import ROLE_CAPS, Cap

# Capabilities that are work to be done rather than power over the grid: an administrator may
# appoint others to them without holding them (see the module's docstring).
DUTIES = frozenset({Cap.CASE_VIEW, Cap.CASE_EDIT, Cap.CASE_POLICE, Cap.CASE_REVEAL, Cap.COUNSEL})

# Who gets a staff account: everyone but students and parents (they sign in on the class link).
MEMBER_KINDS = frozenset({PersonKind.STUDENT, PersonKind.PARENT})
STAFF_KINDS = tuple(kind for kind in PersonKind.values if kind not in MEMBER_KINDS)


def is_staff_kind(person: Person) -> bool:
    return person.kind not in MEMBER_KINDS


# The rule --------------------------------------------------------------------------------------


def caps_at(user: Any, unit: Unit) -> set[Cap]:
    """Every capability ``user`` holds at ``unit`` (through grants at it or above it)."""
    return {cap for cap in Cap if scope.in_scope(user, unit, cap)}


def powers(role: str) -> frozenset[Cap]:
    """What a role carries beyond the duties: what its granter must hold."""
    return frozenset(ROLE_CAPS.get(role, frozenset())) - DUTIES


def may_grant(actor: Any, unit: Unit, role: str) -> bool:
    """Whether ``actor`` may grant (or revoke) ``role`` at ``unit`` (the module's rule)."""
    if role not in Role.values or not actor.is_authenticated or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    held = caps_at(actor, unit)
    return Cap.GRANT in held and powers(role) <= held


def grantable_roles(actor: Any, unit: Unit) -> list[tuple[str, str]]:
    """The (value, label) of every role ``actor`` may grant at ``unit``, in the roles' order."""
    return [(value, str(label)) for value, label in Role.choices if may_grant(actor, unit, value)]


def accounts_for(actor: Any, cap: Cap = Cap.VIEW) -> QuerySet[User]:
    """Accounts ``actor`` sees with ``cap``: of a person in scope, or holding a grant in scope.

    Accounts of superusers only for superusers. Nothing without a grant (one's own account is on
    one's own pages, not here)."""
    paths = scope.scope_paths(actor, cap)
    if not paths:
        return User.objects.none()
    people = scope.people_for(actor, cap).filter(user=OuterRef("pk"))
    grants = RoleGrant.objects.filter(scope.path_q(paths, "unit__path"), user=OuterRef("pk"))
    accounts = User.objects.filter(Exists(people) | Exists(grants))
    if not actor.is_superuser:
        accounts = accounts.filter(is_superuser=False)
    return accounts


def manageable(actor: Any, users: list[User]) -> set[int]:
    """The ids of those ``users`` that ``actor`` may manage, in two queries whatever their number."""
    pks = [u.pk for u in users if actor.is_superuser or not u.is_superuser]
    if not pks:
        return set()
    visible = set(accounts_for(actor, Cap.GRANT).filter(pk__in=pks).values_list("pk", flat=True))
    refused = {
        g.user_id
        for g in RoleGrant.objects.filter(user_id__in=visible).select_related("unit")
        if not may_grant(actor, g.unit, g.role)
    }
    return visible - refused


def may_manage(actor: Any, user: User) -> bool:
    """Whether ``actor`` may invite, reset, deactivate, grant to or revoke from ``user``."""
    return user.pk in manageable(actor, [user])


def person_in_grant_scope(actor: Any, person: Person) -> bool:
    """Whether ``person`` has a place (or a ward) in a unit where ``actor`` may grant."""
    return scope.people_for(actor, Cap.GRANT).filter(pk=person.pk).exists()


def account_to_manage(actor: Any, pk: int) -> User:
    """An account ``actor`` may manage: 404 when out of sight (as if missing), 403 when only visible."""
    user = accounts_for(actor, Cap.VIEW).filter(pk=pk).select_related("person").first()
    if user is None:
        raise Http404
    if not may_manage(actor, user):
        raise PermissionDenied
    return user


def person_to_open(actor: Any, pk: int) -> Person:
    """A person ``actor`` may open an account for: 404 when out of sight, 403 when only visible."""
    person = scope.people_for(actor).filter(pk=pk).select_related("root", "user").first()
    if person is None:
        raise Http404
    if not person_in_grant_scope(actor, person):
        raise PermissionDenied
    return person


def unit_to_grant(actor: Any, pk: int) -> Unit:
    """A unit where ``actor`` may grant: 404 when out of sight, 403 when only visible."""
    unit = scope.units_for(actor).filter(pk=pk).first()
    if unit is None:
        raise Http404
    if not scope.in_scope(actor, unit, Cap.GRANT):
        raise PermissionDenied
    return unit


def find_account(actor: Any, login: str) -> User | None:
    """The account in ``actor``'s granting scope that a typed number, phone or login names (the
    first one when a number names several: the page then says which person it is)."""
    from ..auth import candidate_users

    pks = [u.pk for u in candidate_users(login)]
    return accounts_for(actor, Cap.GRANT).filter(pk__in=pks).select_related("person").first()


# Invitations and their letters -----------------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    """One message that carried an invitation or reset link, and where it stands."""

    kind: str
    to: str  # masked
    status: str
    state: str

    @property
    def unsent(self) -> bool:
        return self.state in {"unsent", "failed"}


def letters_of(token: AccountToken | None) -> list[Letter]:
    """The messages of an invitation or reset, each with its delivery status in words."""
    if token is None or not token.letters:
        return []
    status = hooks.postman().status([key for _kind, key, _to in token.letters])
    letters = []
    for kind, key, to in token.letters:
        found = status.get(key)
        letters.append(Letter(kind, to, found.text if found else "", found.state if found else "pending"))
    return letters


def open_token(user: User, purposes: tuple[str, ...], now: datetime | None = None) -> AccountToken | None:
    """The newest unused, unexpired invitation or reset link of ``user``."""
    now = now or timezone.now()
    return (
        AccountToken.objects.filter(
            user=user, purpose__in=purposes, used_at__isnull=True, voided_at__isnull=True, expires_at__gt=now
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def find_link(secret_hash: str, now: datetime | None = None) -> AccountToken | None:
    """The open invitation or reset link with this hash, or None (unknown, used, voided, expired)."""
    if not secret_hash:
        return None
    token = (
        AccountToken.objects.filter(
            secret_hash=secret_hash, purpose__in=[AccountToken.Purpose.INVITE, AccountToken.Purpose.RESET]
        )
        .select_related("user")
        .first()
    )
    if token is None or not token.is_open(now or timezone.now()) or not token.user.is_active:
        return None
    return token


def sms_configured() -> bool:
    """Whether an SMS gateway is configured (without one an SMS invitation ends unsent)."""
    return hooks.postman().sms_configured()


def channels(person: Person | None, user: User | None, email: str = "") -> list[str]:
    """How a person can be reached: "sms" with a phone, "email" with an address (typed or the account's)."""
    found = []
    if person is not None and person.phone_enc:
        found.append("sms")
    if email or (user is not None and user.email):
        found.append("email")
    return found


def login_name(user: User) -> str:
    """What the person types to sign in: their number, else the account's username."""
    person = getattr(user, "person", None)
    return person.external_number if person is not None and person.external_number else user.username


# The person page's panel -----------------------------------------------------------------------


@dataclass
class Panel:
    """The account section of a person page, for an administrator who may act on it."""

    person: Person
    account: User | None
    staff: bool  # may have a staff account at all
    can_open: bool
    can_manage: bool
    invitation: AccountToken | None = None
    letters: list[Letter] = field(default_factory=list)
    grants: list[RoleGrant] = field(default_factory=list)
    sms_configured: bool = True
    login: str = ""
    reachable: list[str] = field(default_factory=list)

    @property
    def none_sent(self) -> bool:
        """Every message of the open invitation or reset ended unsent or failed: nobody got it."""
        return bool(self.letters) and all(letter.unsent for letter in self.letters)


def panel(actor: Any, person: Person) -> Panel | None:
    """The account panel of ``person`` for ``actor``, or None when ``actor`` may not manage accounts there."""
    if not person_in_grant_scope(actor, person):
        return None
    account = User.objects.filter(pk=person.user_id).first() if person.user_id else None
    result = Panel(
        person=person,
        account=account,
        staff=is_staff_kind(person),
        can_open=account is None and is_staff_kind(person) and person.is_active,
        # One's own account is changed on one's own pages (change password), not deactivated or reset here.
        can_manage=account is not None and account.pk != actor.pk and may_manage(actor, account),
        sms_configured=sms_configured(),
        reachable=channels(person, account),
    )
    if account is not None:
        result.login = login_name(account)
        result.grants = list(account.grants.select_related("unit").order_by("unit__path", "role"))
        token = open_token(account, (AccountToken.Purpose.INVITE, AccountToken.Purpose.RESET))
        result.invitation = token
        result.letters = letters_of(token)
    return result


# The unit page's grants ------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRow:
    """A grant at a unit as its page shows it: whether ``actor`` may revoke it, and the person page to
    link to (None when it is out of ``actor``'s sight)."""

    grant: RoleGrant
    revocable: bool
    person_pk: int | None


def unit_grants(actor: Any, unit: Unit) -> list[GrantRow]:
    """The grants at ``unit``, in a fixed number of queries however many there are."""
    grants = list(
        RoleGrant.objects.filter(unit=unit)
        .select_related("user", "granted_by")
        .order_by("role", "user__first_name", "pk")
    )
    if not grants:
        return []
    managed = manageable(actor, [g.user for g in grants])
    people = dict(
        scope.people_for(actor).filter(user_id__in=[g.user_id for g in grants]).values_list("user_id", "pk")
    )
    return [
        GrantRow(g, may_grant(actor, unit, g.role) and g.user_id in managed, people.get(g.user_id))
        for g in grants
    ]


def grant_to_revoke(actor: Any, pk: int) -> RoleGrant:
    """A grant ``actor`` may revoke: 404 when its unit is out of sight, 403 when the rule says no."""
    grant = (
        RoleGrant.objects.filter(pk=pk, unit__in=scope.units_for(actor))
        .select_related("unit", "user", "user__person")
        .first()
    )
    if grant is None:
        raise Http404
    if not (may_grant(actor, grant.unit, grant.role) and may_manage(actor, grant.user)):
        raise PermissionDenied
    return grant


def last_admin_grant(user: User, grant: RoleGrant) -> bool:
    """Whether ``grant`` is the last grant through which ``user`` may grant at all."""
    if Cap.GRANT not in ROLE_CAPS.get(grant.role, frozenset()):
        return False
    others = RoleGrant.objects.filter(user=user, unit__is_active=True).exclude(pk=grant.pk)
    return not any(
        Cap.GRANT in ROLE_CAPS.get(role, frozenset()) for role in others.values_list("role", flat=True)
    )


# Bulk ------------------------------------------------------------------------------------------

PREVIEW_NAMES = 200  # names listed per group on the preview; the counts are always complete


def staff_of(actor: Any, unit: Unit) -> QuerySet[Person]:
    """Active staff (every kind but students and parents) with a place in ``unit``'s subtree, in
    ``actor``'s granting scope, in name order."""
    # Driven from the subtree's staff memberships (an index range on the units' paths), each then
    # checked against the actor's scope: testing every person of a million for a place in the subtree
    # took 5 s for a university's preview.
    placed = Membership.objects.filter(unit__path__startswith=unit.path, person__kind__in=STAFF_KINDS)
    return (
        scope.people_for(actor, Cap.GRANT)
        .filter(pk__in=placed.values("person_id"), kind__in=STAFF_KINDS, is_active=True)
        .order_by("initials", "name", "pk")
    )


@dataclass
class Preview:
    """Who a bulk opening would give an account, who has one, who cannot be invited."""

    unit: Unit
    invite: list[Person]
    invite_count: int
    existing: list[Person]
    existing_count: int
    unreachable: list[Person]
    unreachable_count: int
    sms_configured: bool

    @property
    def total(self) -> int:
        return self.invite_count + self.existing_count + self.unreachable_count


def bulk_preview(actor: Any, unit: Unit) -> Preview:
    """The preview of opening accounts for the staff of ``unit``'s subtree."""
    staff = staff_of(actor, unit)
    existing = staff.filter(user__isnull=False)
    new = staff.filter(user__isnull=True)
    invite = new.exclude(phone_enc="")
    unreachable = new.filter(phone_enc="")
    has_phone = ~Q(phone_enc="")
    counts = staff.order_by().aggregate(  # the three counts in one pass over the subtree's staff
        existing=Count("pk", filter=Q(user__isnull=False)),
        invite=Count("pk", filter=Q(user__isnull=True) & has_phone),
        unreachable=Count("pk", filter=Q(user__isnull=True) & ~has_phone),
    )
    return Preview(
        unit=unit,
        invite=list(invite[:PREVIEW_NAMES]),
        invite_count=counts["invite"],
        existing=list(existing[:PREVIEW_NAMES]),
        existing_count=counts["existing"],
        unreachable=list(unreachable[:PREVIEW_NAMES]),
        unreachable_count=counts["unreachable"],
        sms_configured=sms_configured(),
    )


# The accounts list -----------------------------------------------------------------------------


def account_list(
    actor: Any,
    *,
    q: str = "",
    unit: Unit | None = None,
    role: str = "",
    active: str = "",
    pending: bool = False,
    now: datetime | None = None,
) -> QuerySet[User]:
    """Accounts ``actor`` manages, filtered, with person, grants and open invitations at hand."""
    now = now or timezone.now()
    accounts = accounts_for(actor, Cap.GRANT)
    if q := q.strip():
        people = Person.objects.filter(
            Q(name__icontains=q) | Q(external_number__istartswith=q) | Q(initials__startswith=q.lower()),
            user=OuterRef("pk"),
        )
        accounts = accounts.filter(Exists(people) | Q(username__istartswith=q) | Q(first_name__icontains=q))
    if unit is not None:
        placed = Membership.objects.filter(unit__path__startswith=unit.path, person__user=OuterRef("pk"))
        granted = RoleGrant.objects.filter(unit__path__startswith=unit.path, user=OuterRef("pk"))
        accounts = accounts.filter(Exists(placed) | Exists(granted))
    if role:
        accounts = accounts.filter(Exists(RoleGrant.objects.filter(role=role, user=OuterRef("pk"))))
    if active in {"1", "0"}:
        accounts = accounts.filter(is_active=active == "1")
    open_invites = AccountToken.objects.filter(
        purpose=AccountToken.Purpose.INVITE,
        used_at__isnull=True,
        voided_at__isnull=True,
        expires_at__gt=now,
    )
    accounts = accounts.annotate(invitation_open=Exists(open_invites.filter(user=OuterRef("pk"))))
    if pending:
        accounts = accounts.filter(invitation_open=True)
    grants = RoleGrant.objects.select_related("unit").order_by("unit__path", "role")
    return (
        accounts.select_related("person")
        .prefetch_related(Prefetch("grants", queryset=grants, to_attr="grant_list"))
        .order_by("first_name", "username", "pk")
    )
