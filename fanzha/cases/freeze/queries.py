"""Reads of the freeze, stop-payment and number-block requests (止付冻结请求), scoped here and nowhere else.

Two sides see a request. The police side: whoever holds ``CASE_POLICE`` at the case's unit sees the
requests of its cases. The receiving side: the green-channel contacts of the unit the request is
addressed to, i.e. a bank role (bank admin, branch or outlet manager) granted at that bank unit or
above it, or, for a number block routed to the police bureau's technical department, a police role
granted there or above. Anybody else (the police of another county, another bank) finds nothing:
lookups answer 404 as for a request that does not exist.

Routing lives here too (a read of the unit tree): an account goes to the unit of its bank that its
bank text names (the deepest: an outlet or branch when named, else the head office); a number goes to
the technical department of the sender's police bureau, because the tree has no telecom units yet.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from fanzha.core import crypto
from fanzha.core.identifiers import mask_account, mask_phone
from fanzha.org.models import Role, RoleGrant, Unit, UnitKind
from fanzha.org.scope import Cap, grant_paths, in_scope, path_q, scope_paths

from ..models import Case, FreezeRequest, IndicatorKind, Side

BANK_KINDS = (UnitKind.BANK_HEAD, UnitKind.BANK_BRANCH, UnitKind.BANK_OUTLET)
POLICE_UNIT_KINDS = (UnitKind.POLICE_BUREAU, UnitKind.POLICE_DEPARTMENT)
# The green-channel contacts: who answers a request addressed to their unit (or a unit below theirs).
BANK_ROLES = (Role.BANK_ADMIN, Role.BANK_BRANCH_MANAGER, Role.BANK_OUTLET_MANAGER)
POLICE_ROLES = (Role.POLICE_ADMIN, Role.POLICE_LIAISON, Role.POLICE_OFFICER)
ACCOUNT_INDICATORS = (
    IndicatorKind.BANK_CARD,
    IndicatorKind.ALIPAY,
    IndicatorKind.WECHAT_PAY,
    IndicatorKind.OTHER_ACCOUNT,
)
# Where a number block goes while the tree has no telecom units: the first department of the bureau
# whose name holds one of these, in this order (技侦 first), else the bureau itself.
TECH_DEPARTMENTS = ("技侦", "技术侦察", "网安", "科信")
_SPACES = re.compile(r"\s+")


# Scope -----------------------------------------------------------------------------------------------


def _receiving_q(user: Any) -> Q:
    """Requests addressed to a unit where the user is a green-channel contact."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    bank = path_q(grant_paths(user, BANK_ROLES), "unit__path") & Q(unit__kind__in=BANK_KINDS)
    police = path_q(grant_paths(user, POLICE_ROLES), "unit__path") & Q(unit__kind__in=POLICE_UNIT_KINDS)
    return bank | police


def is_contact(user: Any, roles: tuple[str, ...] = BANK_ROLES + POLICE_ROLES) -> bool:
    """Whether the user is a green-channel contact somewhere (the list page is theirs)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser or grant_paths(user, roles))


def can_list(user: Any) -> bool:
    """Whether the request list is the user's: a green-channel contact or the police side. Pages link
    to it only then (a school admin seeing an alert would otherwise be sent to a refusal)."""
    return is_contact(user) or bool(scope_paths(user, Cap.CASE_POLICE))


def requests_to(user: Any) -> QuerySet[FreezeRequest]:
    """The requests the user answers (addressed to their units)."""
    return FreezeRequest.objects.filter(_receiving_q(user))


def requests_of_cases(user: Any) -> QuerySet[FreezeRequest]:
    """The requests of the cases the user acts on as the police side."""
    return FreezeRequest.objects.filter(path_q(scope_paths(user, Cap.CASE_POLICE), "case__unit__path"))


def requests_for(user: Any) -> QuerySet[FreezeRequest]:
    """Every request the user may open: addressed to them, or of their cases."""
    police = path_q(scope_paths(user, Cap.CASE_POLICE), "case__unit__path")
    return FreezeRequest.objects.filter(_receiving_q(user) | police)


def can_answer(user: Any, req: FreezeRequest) -> bool:
    return requests_to(user).filter(pk=req.pk).exists()


def can_send(user: Any, case: Case) -> bool:
    return in_scope(user, case.unit, Cap.CASE_POLICE)


def contacts(unit: Unit) -> list[Any]:
    """The active green-channel contacts of ``unit``: the matching roles granted at it or above, nearest
    first (each user once)."""
    roles = BANK_ROLES if unit.kind in BANK_KINDS else POLICE_ROLES
    paths = [unit.path[:end] for end in range(len(unit.path), 0, -unit.steplen)]
    grants = (
        RoleGrant.objects.filter(
            unit__path__in=paths, unit__is_active=True, user__is_active=True, role__in=roles
        )
        .select_related("user", "unit")
        .order_by("pk")
    )
    ranked = sorted(grants, key=lambda g: -len(g.unit.path))
    seen: dict[int, Any] = {}
    for grant in ranked:
        seen.setdefault(grant.user.pk, grant.user)
    return list(seen.values())


def nearest_contacts(unit: Unit) -> list[Any]:
    """The contacts granted at the nearest level that has any (the unit itself, else its nearest
    ancestor with one): who a request goes to first; those above hear when it is overdue."""
    roles = BANK_ROLES if unit.kind in BANK_KINDS else POLICE_ROLES
    paths = [unit.path[:end] for end in range(len(unit.path), 0, -unit.steplen)]
    grants = list(
        RoleGrant.objects.filter(
            unit__path__in=paths, unit__is_active=True, user__is_active=True, role__in=roles
        )
        .select_related("user", "unit")
        .order_by("pk")
    )
    if not grants:
        return []
    deepest = max(len(g.unit.path) for g in grants)
    seen: dict[int, Any] = {}
    for grant in grants:
        if len(grant.unit.path) == deepest:
            seen.setdefault(grant.user.pk, grant.user)
    return list(seen.values())


# What a case asks to freeze or block -----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A payee account or a phone number of a case. ``key`` (the keyed hash) names it in forms, so the
    value itself never appears in a page unless revealed."""

    key: str
    value: str
    masked: str
    is_number: bool
    bank_text: str
    source: str  # "transfer" or "indicator"


def _clean(value: str) -> str:
    return _SPACES.sub("", value or "")


def targets(case: Case) -> list[Target]:
    """The case's payee accounts (transfers' and the suspect's accounts) and the suspect's phone numbers,
    each once, accounts first in the order the money went."""
    found: dict[str, Target] = {}
    for t in case.transfers.order_by("at", "pk"):
        value = _clean(t.to_account)
        if value and value not in found:
            found[value] = Target(
                crypto.keyed_hash(value), value, mask_account(value), False, t.to_name, "transfer"
            )
    indicators = case.indicators.filter(side=Side.SUSPECT).order_by("kind", "pk")
    for ind in indicators:
        value = _clean(ind.value)
        if not value or value in found:
            continue
        if ind.kind in ACCOUNT_INDICATORS:
            found[value] = Target(
                crypto.keyed_hash(value), value, mask_account(value), False, ind.note, "indicator"
            )
        elif ind.kind == IndicatorKind.PHONE:
            found[value] = Target(crypto.keyed_hash(value), value, mask_phone(value), True, "", "indicator")
    accounts = [t for t in found.values() if not t.is_number]
    return accounts + [t for t in found.values() if t.is_number]


# Routing -------------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    """A bank's name as people write it in more than one way, folded to one form."""
    text = _clean(text).replace("股份有限公司", "").replace("有限责任公司", "")
    return text.replace("农村商业银行", "农商银行").replace("农村信用合作联社", "农信社")


def route_account(bank_text: str) -> Unit | None:
    """The bank unit a payee account's request goes to: the bank whose name the text holds, at its
    deepest unit the text also names (an outlet or a branch), else its head office; None when no bank
    of the tree is named (the police then choose the unit)."""
    text = _norm(bank_text)
    if not text:
        return None
    units = list(Unit.objects.filter(kind__in=BANK_KINDS, is_active=True).order_by("path"))
    heads = [u for u in units if u.kind == UnitKind.BANK_HEAD and _norm(u.name) and _norm(u.name) in text]
    if not heads:
        return None
    head = max(heads, key=lambda u: len(_norm(u.name)))
    named = [u for u in units if u.path.startswith(head.path) and u.pk != head.pk and _norm(u.name) in text]
    return max(named, key=lambda u: len(u.path)) if named else head


def route_number(actor: Any) -> Unit | None:
    """The unit a number block goes to: the technical department (技侦, else 网安 or 科信) of the police
    bureau the sender belongs to, else that bureau; None when the sender has no police-tree grant."""
    paths = scope_paths(actor, Cap.CASE_POLICE)
    bureaus = [
        u
        for u in Unit.objects.filter(kind=UnitKind.POLICE_BUREAU, is_active=True).order_by("path")
        if any(u.path.startswith(p) or p.startswith(u.path) for p in paths)
    ]
    if not bureaus:
        return None
    bureau = bureaus[0]
    departments = list(
        Unit.objects.filter(bureau.subtree_q(), kind=UnitKind.POLICE_DEPARTMENT, is_active=True).order_by(
            "path"
        )
    )
    for word in TECH_DEPARTMENTS:
        for unit in departments:
            if word in unit.name:
                return unit
    return bureau


def route(target: Target, actor: Any) -> Unit | None:
    return route_number(actor) if target.is_number else route_account(target.bank_text)


def unit_choices(is_number: bool) -> QuerySet[Unit]:
    """The units the police may choose by hand (the fallback when routing finds none or is wrong)."""
    kinds = POLICE_UNIT_KINDS if is_number else BANK_KINDS
    return Unit.objects.filter(kind__in=kinds, is_active=True).order_by("path")


# Times -----------------------------------------------------------------------------------------------


def figures(requests: list[FreezeRequest], now: datetime | None = None) -> dict[str, Any]:
    """The times a case's requests took, in minutes: request → answer and request → frozen (median and
    longest), with how many were sent, answered, overdue and frozen, and the amount frozen."""
    now = now or timezone.now()
    to_answer = [m for r in requests if (m := r.minutes_to_answer) is not None]
    to_frozen = [m for r in requests if (m := r.minutes_to_frozen) is not None]
    return {
        "count": len(requests),
        "answered": len(to_answer),
        "pending": sum(1 for r in requests if r.status == FreezeRequest.Status.PENDING),
        "overdue": sum(1 for r in requests if r.is_overdue(now)),
        "frozen": len(to_frozen),
        "frozen_amount": sum((r.frozen_amount for r in requests), Decimal("0")),
        "answer_median": statistics.median(to_answer) if to_answer else None,
        "answer_max": max(to_answer) if to_answer else None,
        "frozen_median": statistics.median(to_frozen) if to_frozen else None,
        "frozen_max": max(to_frozen) if to_frozen else None,
    }


def case_requests(case: Case) -> list[FreezeRequest]:
    return list(case.freeze_requests.select_related("unit").order_by("requested_at", "pk"))
