"""Scoped reads of campaigns, obligations and activities: the only place their querysets are built.

A campaign is visible to whoever can see its issuing unit, and to everyone whose scope lies
inside it (a counsellor sees the school's campaign, but only the obligations and activities
of their own classes).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from fanzha.org.models import Membership, Unit
from fanzha.org.scope import Cap, path_q, scope_paths, unit_q, units_for

from .models import Activity, Campaign, CampaignTemplate, Obligation, ResponsibilityLetter


def _ancestor_or_self_q(paths: list[str], field: str) -> Q:
    """Units that are an ancestor of (or equal to) one of ``paths``."""
    q = Q(pk__in=[])
    for path in paths:
        prefixes = [path[:i] for i in range(4, len(path) + 1, 4)]
        q |= Q(**{f"{field}__in": prefixes})
    return q


def campaigns_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Campaign]:
    """Campaigns issued inside the scope, or above it (the scope then sees its own part)."""
    paths = scope_paths(user, cap)
    return Campaign.objects.filter(path_q(paths, "unit__path") | _ancestor_or_self_q(paths, "unit__path"))


def campaigns_managed_by(user: Any) -> QuerySet[Campaign]:
    """Campaigns whose issuing unit lies inside the user's campaign-running scope (``Cap.CAMPAIGN``)."""
    return Campaign.objects.filter(path_q(scope_paths(user, Cap.CAMPAIGN), "unit__path"))


def obligations_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Obligation]:
    """Obligations of units inside the scope (with the dormitory rooms a counsellor's students live in)."""
    return Obligation.objects.filter(unit_q(user, cap))


def activities_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Activity]:
    """Activities recorded for units inside the scope (deleted ones excluded)."""
    return Activity.objects.filter(unit_q(user, cap), is_deleted=False)


# Members who answer for a unit that has no staff grant (a dormitory head, a group leader) sign that
# unit's side of its responsibility letters, so they see those letters (and only those).
LETTER_SIGNING_MEMBERSHIPS = ("dorm_head", "leader")


def letters_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[ResponsibilityLetter]:
    """Letters whose upper or lower unit lies inside the scope, and those whose lower unit the user heads."""
    paths = scope_paths(user, cap)
    q = path_q(paths, "lower_unit__path") | path_q(paths, "upper_unit__path")
    if cap == Cap.VIEW and user is not None and user.is_authenticated:
        headed = Membership.objects.filter(person__user=user, role__in=LETTER_SIGNING_MEMBERSHIPS)
        q |= Q(lower_unit__in=headed.values("unit_id"))
    return ResponsibilityLetter.objects.filter(q)


def templates_for(user: Any) -> QuerySet[CampaignTemplate]:
    """Built-in templates, and custom ones owned by a unit the user can see or that lies above it."""
    paths = scope_paths(user, Cap.VIEW)
    owned = path_q(paths, "owner_unit__path") | _ancestor_or_self_q(paths, "owner_unit__path")
    return CampaignTemplate.objects.filter(Q(source=CampaignTemplate.Source.BUILTIN) | owned, is_active=True)


PICKER_LIMIT = 30


def startable_units(user: Any, query: str = "") -> list[tuple[Unit, str]]:
    """Units the user may start a campaign on (their CAMPAIGN scope), found by name, pinyin initials,
    pinyin or code as the unit list's search finds them, each with its path ("上级 › 单位") so two
    units of one name can be told apart. No query: the top units of the scope."""
    query = query.strip()
    if query:
        lowered = query.lower()
        units = units_for(user, Cap.CAMPAIGN).filter(
            Q(name__icontains=query)
            | Q(code__istartswith=query)
            | Q(initials__startswith=lowered)
            | Q(pinyin__startswith=lowered)
        )
    else:
        units = Unit.objects.filter(path__in=scope_paths(user, Cap.CAMPAIGN))
    return with_paths(list(units.order_by("path")[:PICKER_LIMIT]))


def with_paths(found: list[Unit]) -> list[tuple[Unit, str]]:
    """Each unit with its path of names ("上级 › 单位"), in one query."""
    prefixes = {u.path[:i] for u in found for i in range(4, len(u.path), 4)}
    names = dict(Unit.objects.filter(path__in=prefixes).values_list("path", "name"))
    rows = []
    for unit in found:
        above = [names[unit.path[:i]] for i in range(4, len(unit.path), 4) if unit.path[:i] in names]
        rows.append((unit, " › ".join([*above, unit.name])))
    return rows
