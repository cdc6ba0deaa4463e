"""Responsibility letters (责任书): generated level by level from the campaign's template, each signed
on both sides with a name and a drawn signature. Each verb is atomic; who may sign is ``can_sign``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from fanzha.org import names
from fanzha.org.models import Membership, MembershipRole, Person, RoleGrant, Unit
from fanzha.org.scope import role_caps

from ..activities.actions import RECORD
from ..activities.files import check_signature_png
from ..models import Campaign, CampaignEvent, LetterSignature, ResponsibilityLetter
from ..queries import LETTER_SIGNING_MEMBERSHIPS
from ..spec import fill

EVENT_LETTERS_GENERATED = "letters_generated"


@dataclass
class LetterGeneration:
    """What ``generate_letters`` did: letters created, already there, and lower units with no upper."""

    created: int = 0
    existing: int = 0
    unmatched: list[tuple[int, Unit]] = field(default_factory=list)  # (level index, lower unit)


def letter_values(campaign: Campaign) -> dict[str, str]:
    """Placeholder values shared by every letter of a campaign (each letter adds its two units)."""
    spec = campaign.spec()
    values = {
        "organisation": campaign.unit.name,
        "locality": names.place(campaign.unit),
        "class_teacher": names.role_label(MembershipRole.COUNSELLOR, campaign.unit),
        "year": str(campaign.starts_on.year),
        "issue_date": date_format(campaign.starts_on, "DATE_FORMAT"),
        **spec.placeholder_defaults(),
    }
    values.update({k: str(v) for k, v in (campaign.placeholders or {}).items() if v not in ("", None)})
    values["campaign_title"] = campaign.title
    return values


def _nearest_upper(lower: Unit, uppers: dict[str, Unit], root: Unit) -> Unit | None:
    """The closest ancestor of ``lower`` (inside the campaign's subtree) that is an upper unit."""
    for end in range(len(lower.path) - Unit.steplen, len(root.path) - 1, -Unit.steplen):
        if lower.path[:end] in uppers:
            return uppers[lower.path[:end]]
    return None


def _uppers_by_members(
    root: Unit, lower_kind: str, upper_kind: str, uppers: dict[int, Unit]
) -> dict[int, Unit]:
    """For lower units outside every upper unit's subtree: the upper unit most of their members belong to.

    Why: a university files its dormitories under the school (or a logistics office), not under a
    class, yet "counsellor ↔ dormitory" pairs each room with the class its students come from.
    Ties go to the upper unit first in tree order. Three queries for any number of rooms.
    """
    lower_members = Membership.objects.filter(unit__kind=lower_kind, unit__path__startswith=root.path)
    upper_of: dict[int, set[int]] = {}
    for person_id, unit_id in Membership.objects.filter(
        unit_id__in=list(uppers), person_id__in=lower_members.values("person_id")
    ).values_list("person_id", "unit_id"):
        upper_of.setdefault(person_id, set()).add(unit_id)
    votes: dict[int, dict[int, int]] = {}
    for unit_id, person_id in lower_members.values_list("unit_id", "person_id"):
        for upper_id in upper_of.get(person_id, ()):
            tally = votes.setdefault(unit_id, {})
            tally[upper_id] = tally.get(upper_id, 0) + 1
    return {
        unit_id: uppers[min(tally, key=lambda upper_id: (-tally[upper_id], uppers[upper_id].path))]
        for unit_id, tally in votes.items()
    }


def _check_open(campaign: Campaign) -> None:
    if campaign.status != Campaign.Status.ACTIVE:
        raise ValidationError(_("专项行动已结束，责任书不能再生成或签署。"), code="closed")


@transaction.atomic
def generate_letters(campaign: Campaign, actor: Any = None) -> LetterGeneration:
    """Create the campaign's responsibility letters, level by level, from its template (idempotent).

    For each template level (upper kind → lower kind) every active lower unit in the campaign's
    subtree gets a letter with its nearest ancestor of the upper kind; a lower unit outside every
    such subtree (a dormitory filed under the school) goes with the upper unit most of its members
    belong to. One with neither is reported, not guessed. Running it again after new units were
    added creates only the missing letters.
    """
    _check_open(campaign)
    spec = campaign.spec()
    base = letter_values(campaign)
    root = campaign.unit
    result = LetterGeneration()
    subtree = Unit.objects.filter(path__startswith=root.path, is_active=True)
    for index, level in enumerate(spec.letters):
        upper_list = list(subtree.filter(kind=level.upper))
        uppers = {u.path: u for u in upper_list}
        done = set(
            ResponsibilityLetter.objects.filter(campaign=campaign, level=index).values_list(
                "lower_unit_id", flat=True
            )
        )
        pairs: list[tuple[Unit, Unit | None]] = []
        for lower in subtree.filter(kind=level.lower).order_by("path"):
            if lower.pk in done:
                result.existing += 1
            else:
                pairs.append((lower, _nearest_upper(lower, uppers, root)))
        if any(upper is None for _lower, upper in pairs) and upper_list:
            by_members = _uppers_by_members(root, level.lower, level.upper, {u.pk: u for u in upper_list})
            pairs = [(lower, upper or by_members.get(lower.pk)) for lower, upper in pairs]
        new = []
        for lower, upper in pairs:
            if upper is None:
                result.unmatched.append((index, lower))
                continue
            values = {**base, "upper_unit": upper.name, "lower_unit": lower.name}
            new.append(
                ResponsibilityLetter(
                    campaign=campaign,
                    level=index,
                    upper_unit=upper,
                    lower_unit=lower,
                    title=fill(level.title, values)[:200],
                    body=fill(level.body, values),
                )
            )
        ResponsibilityLetter.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
        result.created += len(new)
    if result.created:  # a run that adds nothing leaves no trace (the tree's sync runs it often)
        CampaignEvent.objects.create(
            campaign=campaign,
            kind=EVENT_LETTERS_GENERATED,
            detail={
                "created": result.created,
                "existing": result.existing,
                "unmatched": len(result.unmatched),
            },
            actor=actor,
        )
    return result


def headed_units(user: Any) -> set[int]:
    """Units whose letters the user signs as a member answering for them (a dormitory head …); loaded
    once per user object (the home page, the menu and the letters list all ask)."""
    if user is None or not user.is_authenticated:
        return set()
    cache: dict[str, Any] = user.__dict__.setdefault("_fanzha_letters", {})
    if "headed" not in cache:
        cache["headed"] = set(
            Membership.objects.filter(person__user=user, role__in=LETTER_SIGNING_MEMBERSHIPS).values_list(
                "unit_id", flat=True
            )
        )
    return cache["headed"]


def headed_by(person: Person) -> set[int]:
    """Units whose letters ``person`` signs as the member answering for them (a dormitory head …): the
    same rule as ``headed_units``, for a member signed in on the phone pages without an account."""
    return set(
        Membership.objects.filter(person=person, role__in=LETTER_SIGNING_MEMBERSHIPS).values_list(
            "unit_id", flat=True
        )
    )


def member_may_sign(person: Person, letter: ResponsibilityLetter, side: str) -> bool:
    """Whether a member (no staff grant needed) signs ``side`` of ``letter`` on the phone pages: only the
    lower side, of a letter whose lower unit they head (the dormitory head signs the dormitory's)."""
    return side == LetterSignature.Side.LOWER and letter.lower_unit_id in headed_by(person)


def signing_units(user: Any) -> tuple[set[int], set[int]]:
    """(units where the user holds a grant that records a unit's work, units the user heads as a member).

    Why exact units and not subtrees: a letter binds its two parties' own people. The school's
    administrator may see every college's letter but does not sign it on the college's behalf, nor does
    a superuser; only the holder of a working grant at the party itself, or the member heading it (the
    dormitory head for the room), signs. Loaded once per user object.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return set(), set()
    cache: dict[str, Any] = user.__dict__.setdefault("_fanzha_letters", {})
    if "units" not in cache:
        granted = {
            unit_id
            for role, unit_id, kind in RoleGrant.objects.filter(user=user, unit__is_active=True).values_list(
                "role", "unit_id", "unit__kind"
            )
            if RECORD in role_caps(role, kind)
        }
        cache["units"] = (granted, headed_units(user))
    return cache["units"]


def can_sign(user: Any, letter: ResponsibilityLetter, side: str, headed: set[int] | None = None) -> bool:
    """Whether ``user`` may sign ``side`` of ``letter``: only the party's own signer.

    Each side is signed by the holder of a working grant at that unit itself or by the member heading
    it (``headed``: its leader, a room's dormitory head …), and the lower side not by someone who signs
    the upper one, so that nobody signs both. A grant higher up the tree
    (the school's administrator for a college) or a superuser's reach does not sign for the party.
    """
    granted, own_headed = signing_units(user)
    own = granted | (own_headed if headed is None else headed)
    if side == LetterSignature.Side.UPPER:
        return letter.upper_unit_id in own
    return (
        side == LetterSignature.Side.LOWER and letter.lower_unit_id in own and letter.upper_unit_id not in own
    )


def can_sign_as_member(person: Any, letter: ResponsibilityLetter) -> bool:
    """Whether ``person`` signs the lower side of ``letter`` as the member heading its lower unit (a
    dormitory head for their room): for the member's own pages, which know the person, not an account."""
    return Membership.objects.filter(
        person=person, unit_id=letter.lower_unit_id, role__in=LETTER_SIGNING_MEMBERSHIPS
    ).exists()


@transaction.atomic
def sign_letter(
    letter: ResponsibilityLetter, side: str, signer_name: str, png: bytes, actor: Any
) -> LetterSignature:
    """Sign one side of a letter with a name and a drawn signature; each side is signed once. An
    account (``actor``) signs only a side ``can_sign`` gives it; ``None``: the member pages, which check
    ``member_may_sign``, and the demo's past signatures."""
    if side not in LetterSignature.Side.values:
        raise ValidationError({"side": _("未知的签署方")})
    _check_open(letter.campaign)
    name = (signer_name or "").strip()
    if not name or len(name) > 60:
        raise ValidationError({"signer_name": _("请填写签署人姓名（不超过60字）")})
    check_signature_png(png)
    if actor is not None and not can_sign(actor, letter, side):
        raise PermissionDenied(_("只有该单位的负责人可以签署这一方。"))
    already = ValidationError(
        _("%(side)s已于此前签署，不能重复签署。") % {"side": LetterSignature.Side(side).label}, code="signed"
    )
    if LetterSignature.objects.filter(letter=letter, side=side).exists():
        raise already
    signature = LetterSignature(letter=letter, side=side, signer_name=name, signer=actor)
    signature.image.save(f"{letter.pk}-{side}-{secrets.token_hex(6)}.png", ContentFile(png), save=False)
    try:
        with transaction.atomic():
            signature.save()
    except IntegrityError as exc:  # both signers of one side pressed at once
        signature.image.delete(save=False)
        raise already from exc
    return signature
