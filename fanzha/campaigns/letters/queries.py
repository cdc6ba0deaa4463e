"""Reads of the letter pages: each level's signing status, who is waiting, and the letters a user has
to sign. Scoped through ``campaigns.queries``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from fanzha.org.models import Membership, Person, RoleGrant, Unit
from fanzha.org.names import Levels
from fanzha.org.scope import role_caps, roles_with

from .. import queries
from ..models import Campaign, LetterSignature, ResponsibilityLetter
from ..queries import LETTER_SIGNING_MEMBERSHIPS
from ..spec import fill
from .actions import RECORD, headed_by, letter_values, signing_units


def responsible_people(unit_ids: set[int]) -> dict[int, list[str]]:
    """Who signs for each unit, by the rule ``actions.can_sign`` applies: active holders of a working
    grant at the unit itself, and the members heading it (its leader, a room's dormitory head). Two
    queries for any number of units. Why the same rule: a name listed here that could not sign would
    send the reader to the wrong person."""
    result: dict[int, list[str]] = defaultdict(list)
    grants = RoleGrant.objects.filter(unit_id__in=unit_ids, role__in=roles_with(RECORD), user__is_active=True)
    for grant in grants.select_related("user", "unit"):
        if RECORD not in role_caps(grant.role, grant.unit.kind):
            continue  # a police liaison's grant at a school: its cases, not the school's letters
        name = grant.user.first_name or grant.user.username
        if name not in result[grant.unit_id]:
            result[grant.unit_id].append(name)
    members = Membership.objects.filter(unit_id__in=unit_ids, role__in=LETTER_SIGNING_MEMBERSHIPS)
    for membership in members.select_related("person").order_by("role", "person__initials"):
        if membership.person.name not in result[membership.unit_id]:
            result[membership.unit_id].append(membership.person.name)
    return result


# How many letters still waiting a level lists (the rest are counted): a university's room letters are
# thousands, more than a page can usefully show or a phone scroll through.
MISSING_SHOWN = 100


@dataclass
class LetterRow:
    letter: ResponsibilityLetter
    upper_signed: bool
    lower_signed: bool
    upper_people: list[str] = field(default_factory=list)
    lower_people: list[str] = field(default_factory=list)

    @property
    def waiting_people(self) -> list[str]:
        """Who should sign next: the lower unit's people until they have, then the upper unit's."""
        return self.upper_people if self.lower_signed else self.lower_people

    @property
    def state(self) -> str:
        if self.upper_signed and self.lower_signed:
            return "both"
        return "one" if self.upper_signed or self.lower_signed else "none"


@dataclass
class LevelStatus:
    index: int
    title: str
    upper_kind: str
    lower_kind: str
    rows: list[LetterRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def both(self) -> int:
        return sum(1 for r in self.rows if r.state == "both")

    @property
    def one(self) -> int:
        return sum(1 for r in self.rows if r.state == "one")

    @property
    def none(self) -> int:
        return sum(1 for r in self.rows if r.state == "none")

    def waiting(self) -> list[LetterRow]:
        """Letters still waiting for a signature, the lower side's first."""
        waiting = [r for r in self.rows if r.state != "both"]
        return sorted(waiting, key=lambda r: (r.lower_signed, r.letter.lower_unit.path))

    # Filled by ``letter_status``: the first ``MISSING_SHOWN`` waiting letters, with their people.
    missing: list[LetterRow] = field(default_factory=list)
    more_missing: int = 0  # waiting letters not listed


def letter_status(user: Any, campaign: Campaign) -> list[LevelStatus]:
    """Signing status of the campaign's letters that the user can see, level by level."""
    spec = campaign.spec()
    values = letter_values(campaign)
    naming = Levels([campaign.unit])  # a county's bureau is its 县教育局
    levels = []
    for i, level in enumerate(spec.letters):
        upper, lower = naming.kind(level.upper, campaign.unit), naming.kind(level.lower, campaign.unit)
        title = fill(level.title, {**values, "upper_unit": upper, "lower_unit": lower})
        levels.append(LevelStatus(index=i, title=title, upper_kind=upper, lower_kind=lower))
    letters = list(
        queries.letters_for(user)
        .filter(campaign=campaign)
        .select_related("upper_unit", "lower_unit")
        # Thousands of rows on a university's page: only what it shows (not the letters' texts).
        .only(
            "level",
            "campaign_id",
            "upper_unit__name",
            "upper_unit__path",
            "lower_unit__name",
            "lower_unit__path",
        )
        .order_by("level", "lower_unit__path")
    )
    signed: dict[int, set[str]] = defaultdict(set)
    for letter_id, side in LetterSignature.objects.filter(letter__in=[x.pk for x in letters]).values_list(
        "letter_id", "side"
    ):
        signed[letter_id].add(side)
    for letter in letters:
        if letter.level >= len(levels):
            continue
        sides = signed[letter.pk]
        levels[letter.level].rows.append(
            LetterRow(
                letter=letter,
                upper_signed=LetterSignature.Side.UPPER in sides,
                lower_signed=LetterSignature.Side.LOWER in sides,
            )
        )
    for status in levels:
        waiting = status.waiting()
        status.missing, status.more_missing = waiting[:MISSING_SHOWN], max(0, len(waiting) - MISSING_SHOWN)
    shown = [row for status in levels for row in status.missing]
    people = responsible_people({u for r in shown for u in (r.letter.upper_unit_id, r.letter.lower_unit_id)})
    for row in shown:
        row.upper_people = people.get(row.letter.upper_unit_id, [])
        row.lower_people = people.get(row.letter.lower_unit_id, [])
    return levels


def waiting_text(upper: Unit, lower: Unit, upper_signed: bool, lower_signed: bool) -> str:
    """Who has signed a letter and who it waits for, naming both parties (cards look alike otherwise)."""
    names = {"upper": upper.name, "lower": lower.name}
    if upper_signed and lower_signed:
        return _("%(upper)s与%(lower)s均已签署") % names
    if upper_signed:
        return _("已由%(upper)s签署，待%(lower)s签署") % names
    if lower_signed:
        return _("已由%(lower)s签署，待%(upper)s签署") % names
    return _("待%(upper)s和%(lower)s签署") % names


@dataclass
class ToSign:
    letter: ResponsibilityLetter
    side: str
    label: str
    unit: Unit
    waiting: str = ""  # ``waiting_text``: both parties, who signed and who is awaited


def letters_to_sign(user: Any, limit: int = 50) -> list[ToSign]:
    """Letter sides still unsigned that this user signs as the party's own signer (``can_sign``: a grant
    at the unit itself or heading it, never for a unit below), oldest campaign first (a few queries)."""
    granted, headed = signing_units(user)
    own = granted | headed
    if not own:
        return []
    visible = queries.letters_for(user).select_related("campaign", "upper_unit", "lower_unit")
    order = ("campaign__starts_on", "level", "lower_unit__path")
    upper = (
        visible.filter(upper_unit_id__in=own)
        .exclude(signatures__side=LetterSignature.Side.UPPER)
        .order_by(*order)
    )[:limit]
    lower = (
        visible.filter(lower_unit_id__in=own)
        .exclude(upper_unit_id__in=own)
        .exclude(signatures__side=LetterSignature.Side.LOWER)
        .order_by(*order)
    )[:limit]
    result = [ToSign(x, "upper", str(LetterSignature.Side.UPPER.label), x.upper_unit) for x in upper]
    result += [ToSign(x, "lower", str(LetterSignature.Side.LOWER.label), x.lower_unit) for x in lower]
    result.sort(
        key=lambda t: (
            t.letter.campaign.starts_on,
            t.letter.campaign_id,
            t.letter.level,
            t.letter.lower_unit.path,
        )
    )
    return _with_waiting(result[:limit])


def _with_waiting(items: list[ToSign]) -> list[ToSign]:
    """Fill each item's ``waiting`` from the letters' signatures (one query)."""
    signed: dict[int, set[str]] = defaultdict(set)
    for letter_id, side in LetterSignature.objects.filter(
        letter__in=[t.letter.pk for t in items]
    ).values_list("letter_id", "side"):
        signed[letter_id].add(side)
    for item in items:
        sides = signed[item.letter.pk]
        item.waiting = waiting_text(
            item.letter.upper_unit,
            item.letter.lower_unit,
            LetterSignature.Side.UPPER in sides,
            LetterSignature.Side.LOWER in sides,
        )
    return items


def letters_for_member(person: Person, limit: int = 20) -> list[ToSign]:
    """Letters a member signs on the phone pages (``actions.member_may_sign``): the lower side, still
    unsigned, of the letters of running campaigns whose lower unit the member heads, oldest first."""
    headed = headed_by(person)
    if not headed:
        return []
    letters = (
        ResponsibilityLetter.objects.filter(lower_unit_id__in=headed, campaign__status=Campaign.Status.ACTIVE)
        .exclude(signatures__side=LetterSignature.Side.LOWER)
        .select_related("campaign", "upper_unit", "lower_unit")
        .order_by("campaign__starts_on", "campaign_id", "level", "lower_unit__path")
    )
    label = str(LetterSignature.Side.LOWER.label)
    return _with_waiting(
        [ToSign(x, LetterSignature.Side.LOWER, label, x.lower_unit) for x in letters[:limit]]
    )
