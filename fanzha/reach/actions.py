"""Every write of reach: attestations (declared, verified, rejected), class links, one-time codes,
and reminders to the people still missing an item.

Each verb is atomic and takes narrow arguments. Whether the caller may act on a unit or person is
decided before the call, from ``org.scope`` (counsellor pages) or the member's signed-in session
(member pages); the verbs check that the data makes sense.

Why an upsert on (campaign, person, item): a double tap on a phone, a quiz passed twice or a
counsellor confirming someone already confirmed must leave one row and count once. A member's
declaration never downgrades a verified row. Every real change is an ``AttestationEvent`` in the
same transaction, and ``core.hooks.attestations_changed`` tells ``reports`` once it commits.

Uploads reuse the campaigns app's checks: evidence is judged by its content
(``campaigns.activities.files.inspect_upload``), a drawn signature by ``check_signature_png``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fanzha.campaigns.activities.files import MB, check_signature_png, inspect_upload
from fanzha.campaigns.models import Activity, Attendance, Campaign, CampaignEvent, Evidence
from fanzha.core import crypto, hooks
from fanzha.notify import actions as notify
from fanzha.notify.models import ChannelKind, Outbox
from fanzha.notify.sms import Template
from fanzha.org.models import Guardianship, Membership, Person, Unit, UnitKind

from . import queries
from .models import (
    COUNTED,
    PROVED_BY_ACTIVITY,
    Attestation,
    AttestationEvent,
    AttestationProof,
    ClassLink,
    CodeGuard,
    Item,
    OneTimeCode,
)

S = Attestation.Status
Source = AttestationEvent.Source

SCREENSHOT_MAX_BYTES = 10 * MB
CODE_TTL = timedelta(minutes=10)
CODE_LOCK = timedelta(minutes=15)
CODE_MAX_FAILURES = 5
CODE_RESEND_AFTER = timedelta(seconds=60)
CODE_MAX_PER_HOUR = 5
EVENT_REMINDED = "reach_reminded"


# Checks ------------------------------------------------------------------------------------------


def _item_label(item: str) -> str:
    return str(Item(item).label) if item in Item.values else item


def _check_item(campaign: Campaign, item: str) -> None:
    if item not in Item.values:
        raise ValidationError({"item": _("未知的事项")}, code="item")
    if item not in queries.campaign_items(campaign):
        raise ValidationError(
            _("专项行动“%(campaign)s”不要求“%(item)s”。")
            % {"campaign": campaign.title, "item": _item_label(item)},
            code="item",
        )
    if campaign.status != Campaign.Status.ACTIVE:
        raise ValidationError(
            _("专项行动“%(campaign)s”已结束。") % {"campaign": campaign.title}, code="closed"
        )


def _check_people(campaign: Campaign, item: str, people: Sequence[Person]) -> None:
    """Everyone must be a member inside the campaign's subtree and concerned by the item (one query)."""
    inside = set(
        Membership.objects.filter(
            person_id__in=[p.pk for p in people], unit__path__startswith=campaign.unit.path
        ).values_list("person_id", flat=True)
    )
    for person in people:
        if person.pk not in inside:
            raise ValidationError(
                _("%(name)s 不在专项行动“%(campaign)s”的范围内。")
                % {"name": person.name, "campaign": campaign.title},
                code="outside",
            )
        if not queries.applies(item, person.kind):
            raise ValidationError(
                _("“%(item)s”与 %(name)s 无关。") % {"item": _item_label(item), "name": person.name},
                code="na",
            )


def check_screenshot(upload: File) -> None:
    """A member's screenshot: an image by its content (not its name), at most 10 MB."""
    size = upload.size or 0
    if size > SCREENSHOT_MAX_BYTES:
        raise ValidationError(
            _("截图太大（%(size)s），不能超过 %(limit)s。")
            % {"size": filesizeformat(size), "limit": filesizeformat(SCREENSHOT_MAX_BYTES)},
            code="size",
        )
    info = inspect_upload(upload)
    if info.type.kind != Evidence.Kind.PHOTO:
        raise ValidationError(_("截图应为图片（JPEG、PNG、GIF、WebP、HEIC）。"), code="type")


def _store_evidence(upload: File) -> str:
    """Check an evidence file by its content and store it under a random name; returns the name."""
    info = inspect_upload(upload)
    upload.seek(0)
    name = timezone.now().strftime("attest/%Y/%m/") + f"{secrets.token_hex(12)}.{info.extension}"
    return default_storage.save(name, upload)


def _store_signature(png: bytes) -> str:
    name = timezone.now().strftime("pledges/%Y/%m/") + f"{secrets.token_hex(12)}.png"
    return default_storage.save(name, ContentFile(png))


def _discard(names: Iterable[str]) -> None:
    """Remove stored files that no row refers to (the write that wanted them did not happen)."""
    for name in names:
        if name:
            default_storage.delete(name)


# Attestations ------------------------------------------------------------------------------------


@dataclass
class _Change:
    attestation: Attestation
    before: str  # "" when created


def _notify(campaign: Campaign, changes: list[_Change]) -> None:
    """Tell ``reports`` about the changes once the transaction commits."""
    payload = [
        (
            c.attestation.pk,
            campaign.pk,
            c.attestation.person_id,
            str(c.attestation.item),
            c.before in COUNTED,
            c.attestation.status in COUNTED,
        )
        for c in changes
    ]
    if payload:
        transaction.on_commit(lambda: hooks.attestations_changed(payload))


def _source(status: str, actor: Any, by_guardian: Person | None) -> str:
    if actor is not None:
        return Source.STAFF
    if by_guardian is not None:
        return Source.GUARDIAN
    return Source.SYSTEM if status == S.VERIFIED else Source.MEMBER


def _apply(
    row: Attestation,
    status: str,
    at: datetime,
    evidence: str,
    signature: str,
    by_guardian: Person | None,
    actor: Any,
) -> bool:
    """Set the new state on ``row`` (not saved); False when nothing would change."""
    if row.pk and status == S.DECLARED and row.status == S.VERIFIED:
        return False  # a member's declaration never downgrades a verified row
    if (
        row.pk
        and row.status == status
        and not evidence
        and not signature
        and (by_guardian is None or row.by_guardian_id == by_guardian.pk)
    ):
        return False
    row.status = status
    row.at = at
    if evidence:
        row.evidence.name = evidence
    if signature:
        row.signature.name = signature
    if by_guardian is not None:
        row.by_guardian = by_guardian
    if status == S.DECLARED:
        row.verified_by, row.verified_at = None, None
    else:
        row.verified_by, row.verified_at = actor, at
    return True


def _write(
    campaign: Campaign,
    person: Person,
    item: str,
    status: str,
    at: datetime,
    *,
    evidence: str = "",
    signature: str = "",
    by_guardian: Person | None = None,
    actor: Any = None,
    note: str = "",
) -> tuple[Attestation, _Change | None]:
    """Upsert one attestation under a row lock; a concurrent first insert is retried as an update."""
    for attempt in range(2):
        row = (
            Attestation.objects.select_for_update()
            .filter(campaign=campaign, person=person, item=item)
            .first()
        )
        before = row.status if row else ""
        if row is None:
            row = Attestation(campaign=campaign, person=person, item=item)
        if not _apply(row, status, at, evidence, signature, by_guardian, actor):
            return row, None
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:  # the same first declaration, sent twice at once
            if before or attempt:
                raise
            continue
        AttestationEvent.objects.create(
            attestation=row,
            status_before=before,
            status_after=status,
            source=_source(status, actor, by_guardian),
            actor=actor,
            note=note[:200],
            at=at,
        )
        return row, _Change(row, before)
    raise AssertionError("unreachable")


@transaction.atomic
def attest(
    campaign: Campaign,
    person: Person,
    item: str,
    status: str,
    at: datetime | None = None,
    evidence: File | None = None,
    signature: bytes | None = None,
    by_guardian: Person | None = None,
    actor: Any = None,
) -> Attestation:
    """Record one person's state on one item of a campaign (insert or update; one row per item).

    ``evidence`` is a file checked by its content; ``signature`` a drawn PNG. Nothing is stored when
    a check fails. Declaring what is verified, or repeating the current state, changes nothing.
    """
    if status not in S.values:
        raise ValidationError({"status": _("未知的状态")})
    _check_item(campaign, item)
    _check_people(campaign, item, [person])
    if signature is not None:
        check_signature_png(signature)
    at = at or timezone.now()
    stored = [_store_evidence(evidence) if evidence is not None else ""]
    stored.append(_store_signature(signature) if signature is not None else "")
    try:
        row, change = _write(
            campaign,
            person,
            item,
            status,
            at,
            evidence=stored[0],
            signature=stored[1],
            by_guardian=by_guardian,
            actor=actor,
        )
    except Exception:
        _discard(stored)
        raise
    if change is None:
        _discard(stored)
    else:
        _notify(campaign, [change])
    return row


@transaction.atomic
def verify_bulk(
    campaign: Campaign,
    people: Iterable[Person],
    item: str,
    actor: Any,
    evidence: File | None = None,
    at: datetime | None = None,
) -> int:
    """A counsellor confirms ``item`` for several people at once, with one optional evidence file.

    People already verified stay as they were; everyone must be in the campaign and concerned by the
    item, else nothing is written. Returns how many attestations changed.
    """
    _check_item(campaign, item)
    people = list({p.pk: p for p in people}.values())
    if not people:
        return 0
    _check_people(campaign, item, people)
    at = at or timezone.now()
    name = _store_evidence(evidence) if evidence is not None else ""
    existing = {
        a.person_id: a
        for a in Attestation.objects.select_for_update().filter(
            campaign=campaign, item=item, person_id__in=[p.pk for p in people]
        )
    }
    updated: list[_Change] = []
    created: list[Attestation] = []
    for person in people:
        row = existing.get(person.pk)
        if row is not None:
            if row.status == S.VERIFIED:
                continue
            before = row.status
            _apply(row, S.VERIFIED, at, name, "", None, actor)
            updated.append(_Change(row, before))
        else:
            row = Attestation(campaign=campaign, person=person, item=item)
            _apply(row, S.VERIFIED, at, name, "", None, actor)
            created.append(row)
    if not updated and not created:
        _discard([name])
        return 0
    fields = ["status", "at", "verified_by", "verified_at"] + (["evidence"] if name else [])
    Attestation.objects.bulk_update([c.attestation for c in updated], fields, batch_size=500)
    try:
        with transaction.atomic():
            created = Attestation.objects.bulk_create(created, batch_size=500)
    except IntegrityError as exc:  # someone declared meanwhile: nothing is written, try again
        _discard([name])
        raise ValidationError(_("名单刚刚有人更新，请刷新页面后重试。"), code="conflict") from exc
    changes = updated + [_Change(row, "") for row in created]
    AttestationEvent.objects.bulk_create(
        [
            AttestationEvent(
                attestation=c.attestation,
                status_before=c.before,
                status_after=S.VERIFIED,
                source=Source.STAFF,
                actor=actor,
                at=at,
            )
            for c in changes
        ],
        batch_size=500,
    )
    _notify(campaign, changes)
    return len(changes)


@transaction.atomic
def reject(attestation: Attestation, actor: Any, note: str = "", at: datetime | None = None) -> Attestation:
    """A counsellor finds a declaration untrue: the item counts as not done until declared again."""
    campaign = attestation.campaign
    _check_item(campaign, attestation.item)
    row, change = _write(
        campaign,
        attestation.person,
        attestation.item,
        S.REJECTED,
        at or timezone.now(),
        actor=actor,
        note=note,
    )
    if change is not None:
        _notify(campaign, [change])
    return row


def _locked_row(campaign: Campaign, person: Person, item: str) -> Attestation | None:
    return Attestation.objects.select_for_update().filter(campaign=campaign, person=person, item=item).first()


@transaction.atomic
def sign_pledge(campaign: Campaign, person: Person, png: bytes, at: datetime | None = None) -> Attestation:
    """A member signs the campaign's pledge with a drawn signature; signing again changes nothing."""
    _check_item(campaign, Item.PLEDGE_SIGNED)
    check_signature_png(png)
    current = _locked_row(campaign, person, Item.PLEDGE_SIGNED)
    if current is not None and current.is_counted:
        return current
    return attest(campaign, person, Item.PLEDGE_SIGNED, S.DECLARED, at, signature=png)


def _declare(
    campaign: Campaign,
    rows: list[tuple[Person, str]],
    screenshot: File | None,
    at: datetime | None,
    by_guardian: Person | None = None,
) -> list[Attestation]:
    """The write loop of the self-declarations (``declare_app``, ``declare_parent_app``): each (person,
    item) not counted yet becomes "declared", all with the one screenshot, stored once (and removed
    again when a write fails). Rows already counted stay as they were. Returns what changed."""
    at = at or timezone.now()
    todo = [(p, i) for p, i in rows if not ((row := _locked_row(campaign, p, i)) and row.is_counted)]
    if not todo:
        return []
    name = _store_evidence(screenshot) if screenshot is not None else ""
    changes: list[_Change] = []
    try:
        for person, item in todo:
            _row, change = _write(
                campaign, person, item, S.DECLARED, at, evidence=name, by_guardian=by_guardian
            )
            if change is not None:
                changes.append(change)
    except Exception:
        _discard([name])
        raise
    _notify(campaign, changes)
    return [c.attestation for c in changes]


@transaction.atomic
def declare_app(
    campaign: Campaign,
    person: Person,
    items: Iterable[str],
    screenshot: File | None = None,
    at: datetime | None = None,
) -> list[Attestation]:
    """A member declares the anti-fraud app items (installed, real-name registered, warnings on) at once.

    One optional screenshot (an image, at most 10 MB) goes with every item declared. Items already
    declared or verified stay as they were. Returns the attestations that changed.
    """
    wanted = [i for i in queries.APP_ITEMS if i in set(items)]
    if not wanted:
        raise ValidationError(_("请至少勾选一项。"), code="required")
    for item in wanted:
        _check_item(campaign, item)
    _check_people(campaign, wanted[0], [person])
    if screenshot is not None:
        check_screenshot(screenshot)
    return _declare(campaign, [(person, item) for item in wanted], screenshot, at)


@transaction.atomic
def sign_parent_notice(
    guardian: Person, child: Person, campaign: Campaign, png: bytes, at: datetime | None = None
) -> Attestation:
    """A guardian signs the campaign's notice to parents for one child; once per child."""
    _check_item(campaign, Item.PARENT_NOTICE_SIGNED)
    if not Guardianship.objects.filter(guardian=guardian, student=child).exists():
        raise ValidationError(
            _("%(guardian)s 不是 %(child)s 登记的家长。") % {"guardian": guardian.name, "child": child.name},
            code="guardian",
        )
    check_signature_png(png)
    current = _locked_row(campaign, child, Item.PARENT_NOTICE_SIGNED)
    if current is not None and current.is_counted:
        return current
    return attest(
        campaign, child, Item.PARENT_NOTICE_SIGNED, S.DECLARED, at, signature=png, by_guardian=guardian
    )


@transaction.atomic
def declare_parent_app(
    guardian: Person,
    children: Iterable[Person],
    campaign: Campaign,
    screenshot: File | None = None,
    at: datetime | None = None,
) -> list[Attestation]:
    """A guardian declares they installed the National Anti-Fraud Center app (plan 篇三: students get
    their parents to install it); it counts for each of their children the campaign tracks.

    One optional screenshot (an image, at most 10 MB) goes with every child's row. Children already
    counted stay as they were. Returns the attestations that changed.
    """
    item = Item.PARENT_APP_INSTALLED
    _check_item(campaign, item)
    kids = list({c.pk: c for c in children}.values())
    wards = set(
        Guardianship.objects.filter(guardian=guardian, student_id__in=[c.pk for c in kids]).values_list(
            "student_id", flat=True
        )
    )
    for child in kids:
        if child.pk not in wards:
            raise ValidationError(
                _("%(guardian)s 不是 %(child)s 登记的家长。")
                % {"guardian": guardian.name, "child": child.name},
                code="guardian",
            )
    if not kids:
        raise ValidationError(_("没有需要登记的孩子。"), code="required")
    _check_people(campaign, item, kids)
    if screenshot is not None:
        check_screenshot(screenshot)
    return _declare(campaign, [(child, item) for child in kids], screenshot, at, by_guardian=guardian)


# Attendance as proof -------------------------------------------------------------------------------
#
# Why: a counsellor who took attendance at a training must not confirm "参加培训" again, person by
# person, on the coverage pages. ``campaigns`` tells us through ``core.hooks.attendance_changed``
# (we may be imported by it never); we bring each activity's proofs in line with what it says now.


def _proof_note(activity: Activity) -> str:
    return f"activity:{activity.pk}"


def _proof_campaigns(activity: Activity, item: str) -> list[Campaign]:
    """The active campaigns an activity counts for: its own, or (free-standing) those over its unit."""
    if activity.campaign_id:
        campaign = activity.campaign
        candidates = [campaign] if campaign is not None and queries.covers(campaign, activity.unit) else []
    else:
        candidates = queries.running_campaigns(activity.unit)
    return [c for c in candidates if c.status == Campaign.Status.ACTIVE and item in queries.campaign_items(c)]


def _wanted_proofs(activity: Activity) -> dict[tuple[int, int, str], tuple[Campaign, Person]]:
    item = PROVED_BY_ACTIVITY.get(activity.kind)
    if activity.is_deleted or item is None:
        return {}
    wanted: dict[tuple[int, int, str], tuple[Campaign, Person]] = {}
    people = list(
        Person.objects.filter(
            is_active=True, pk__in=Attendance.objects.filter(activity=activity).values("person_id")
        )
    )
    for campaign in _proof_campaigns(activity, item):
        kinds = queries.tracked_kinds(campaign)
        inside = set(
            Membership.objects.filter(
                person_id__in=[p.pk for p in people], unit__path__startswith=campaign.unit.path
            ).values_list("person_id", flat=True)
        )
        for person in people:
            if person.pk in inside and person.kind in kinds and queries.applies(item, person.kind):
                wanted[(campaign.pk, person.pk, item)] = (campaign, person)
    return wanted


def _withdraw(proof: AttestationProof, at: datetime) -> _Change | None:
    """Take back one proof; when it was the last and nobody changed the attestation since, restore the
    status it had before (an item only the activity proved is withdrawn)."""
    row = Attestation.objects.select_for_update().get(pk=proof.attestation_id)
    proof.delete()
    if AttestationProof.objects.filter(attestation=row).exists():
        return None
    last = row.events.order_by("-at", "-pk").first()
    if last is None or last.source != Source.SYSTEM or not last.note.startswith("activity:"):
        return None  # someone confirmed or declared it since: it stands on its own
    status = proof.prior or S.WITHDRAWN
    if status == row.status:
        return None
    before = row.status
    row.status, row.at = status, at
    if status != S.VERIFIED:
        row.verified_by, row.verified_at = None, None
    row.save(update_fields=["status", "at", "verified_by", "verified_at"])
    AttestationEvent.objects.create(
        attestation=row,
        status_before=before,
        status_after=status,
        source=Source.SYSTEM,
        note=f"withdrawn:{proof.activity_id}",
        at=at,
    )
    return _Change(row, before)


@transaction.atomic
def sync_activity_proofs(activity_ids: Sequence[int], at: datetime | None = None) -> int:
    """Make each activity prove exactly what its attendees and kind say now; returns proofs changed.

    An attendee of an activity whose kind stands for an item (``PROVED_BY_ACTIVITY``) gets the item
    verified, with the activity as the evidence, in every active campaign that asks for it and
    tracks them. Idempotent. A proof no longer wanted (attendee removed, activity deleted or its kind
    changed) is taken back; what only it proved is withdrawn. Proofs in ended campaigns stay.
    """
    at = at or timezone.now()
    done = 0
    activities = Activity.objects.filter(pk__in=list(activity_ids)).select_related(
        "unit", "campaign__unit", "campaign__template"
    )
    for activity in activities:
        wanted = _wanted_proofs(activity)
        have = {
            (p.attestation.campaign_id, p.attestation.person_id, p.attestation.item): p
            for p in AttestationProof.objects.filter(
                activity=activity, attestation__campaign__status=Campaign.Status.ACTIVE
            ).select_related("attestation")
        }
        by_campaign: dict[int, tuple[Campaign, list[_Change]]] = {}
        for key, (campaign, person) in wanted.items():
            if key in have:
                continue
            item = key[2]
            current = _locked_row(campaign, person, item)
            earlier = (
                AttestationProof.objects.filter(attestation=current).first() if current is not None else None
            )
            prior = earlier.prior if earlier is not None else (current.status if current else "")
            row, change = _write(campaign, person, item, S.VERIFIED, at, note=_proof_note(activity))
            AttestationProof.objects.create(attestation=row, activity=activity, prior=prior, at=at)
            done += 1
            if change is not None:
                by_campaign.setdefault(campaign.pk, (campaign, []))[1].append(change)
        for key, proof in have.items():
            if key in wanted:
                continue
            change = _withdraw(proof, at)
            done += 1
            if change is not None:
                campaign = change.attestation.campaign
                by_campaign.setdefault(campaign.pk, (campaign, []))[1].append(change)
        for campaign, changes in by_campaign.values():
            _notify(campaign, changes)
    return done


# Class links ---------------------------------------------------------------------------------------


def _token() -> str:
    return secrets.token_urlsafe(16)


@transaction.atomic
def ensure_class_link(unit: Unit) -> ClassLink:
    """The unit's self-service link, created with a random token the first time."""
    link, _created = ClassLink.objects.get_or_create(unit=unit, defaults={"token": _token()})
    return link


@transaction.atomic
def ensure_class_links(units: Iterable[Unit]) -> int:
    """Create the missing links of ``units`` in bulk, ahead of their members' first visit (``/me/``
    reads links and creates none on a GET); returns how many were created."""
    ids = {u.pk for u in units}
    have = set(ClassLink.objects.filter(unit_id__in=ids).values_list("unit_id", flat=True))
    rows = [ClassLink(unit_id=pk, token=_token()) for pk in sorted(ids - have)]
    ClassLink.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def links_for_new_classes(units: Sequence[Unit]) -> int:
    """``core.hooks.on_units_added``: a class gets its link when it is created (by hand or by a roster
    import), so its students' and parents' first ``/me/`` finds it; a GET never creates one."""
    return ensure_class_links([u for u in units if u.kind == UnitKind.CLASS and u.is_active])


@transaction.atomic
def rotate_class_link(unit: Unit) -> ClassLink:
    """Replace the unit's link with a new one (the old QR code stops working), e.g. after a leak."""
    link = ensure_class_link(unit)
    link.token = _token()
    link.is_active = True
    link.save(update_fields=["token", "is_active"])
    return link


# One-time codes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedCode:
    """A code just issued: its row, the code itself (only for the SMS; never shown) and its outbox row."""

    row: OneTimeCode
    code: str
    outbox: Any


def _code_hash(person: Person, code: str) -> str:
    return crypto.keyed_hash(f"otp:{person.pk}:{code}")


def code_locked(person: Person, now: datetime | None = None) -> bool:
    """Whether too many wrong codes have locked the person's codes."""
    now = now or timezone.now()
    return CodeGuard.objects.filter(person=person, locked_until__gt=now).exists()


@transaction.atomic
def issue_code(person: Person, now: datetime | None = None) -> IssuedCode:
    """Issue a 6-digit sign-in code, valid 10 minutes, and queue it by SMS to the registered phone.

    Only its keyed hash is stored. A new code replaces the previous one. At most one code a minute
    and five an hour per person (each is a text message that someone pays for).
    """
    now = now or timezone.now()
    phone = person.phone
    if not phone:
        raise ValidationError(_("没有登记手机号，无法发送验证码。"), code="no_phone")
    if code_locked(person, now):
        raise ValidationError(_("验证码错误次数过多，请 15 分钟后再试。"), code="locked")
    recent = list(
        OneTimeCode.objects.filter(person=person, expires_at__gt=now - timedelta(hours=1) + CODE_TTL)
        .order_by("-expires_at")
        .values_list("expires_at", flat=True)
    )
    if recent and recent[0] - CODE_TTL > now - CODE_RESEND_AFTER:
        raise ValidationError(_("验证码已发送，请 1 分钟后再重新获取。"), code="too_soon")
    if len(recent) >= CODE_MAX_PER_HOUR:
        raise ValidationError(_("获取验证码次数过多，请 1 小时后再试。"), code="too_many")
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = OneTimeCode.objects.create(
        person=person, code_hash=_code_hash(person, code), expires_at=now + CODE_TTL
    )
    minutes = int(CODE_TTL.total_seconds() // 60)
    with translation.override(settings.LANGUAGE_CODE):
        body = _("你的登录验证码是 %(code)s，10 分钟内有效。验证码只用于本人登录，请勿告诉任何人。") % {
            "code": code
        }
        outbox = notify.queue(
            ChannelKind.SMS,
            phone,
            subject=_("【反诈工作平台】"),
            body=body,
            key=f"otp:{row.pk}",
            expires_at=row.expires_at,  # a code held up past its life is not sent at all
            sms_template=Template.CODE,
            sms_params={"code": code, "minutes": minutes},
        )
    return IssuedCode(row, code, outbox)


def _guard(person: Person) -> CodeGuard:
    try:
        with transaction.atomic():
            guard, _created = CodeGuard.objects.select_for_update().get_or_create(person=person)
    except IntegrityError:  # created by a request at the same moment
        guard = CodeGuard.objects.select_for_update().get(person=person)
    return guard


@transaction.atomic
def verify_code(person: Person, code: str, now: datetime | None = None) -> bool:
    """Check a sign-in code: the person's latest unexpired, unused code; it is used up on success.

    A forged, reused or expired code fails. Five failures within 15 minutes lock the person's codes
    for 15 minutes (the outstanding code is voided too); every failure is recorded even though the
    caller only learns False.
    """
    now = now or timezone.now()
    code = (code or "").strip()
    guard = _guard(person)
    if guard.locked_until and guard.locked_until > now:
        return False
    row = (
        OneTimeCode.objects.select_for_update()
        .filter(person=person, used_at__isnull=True, expires_at__gt=now)
        .order_by("-expires_at", "-pk")
        .first()
    )
    if (
        row is not None
        and len(code) == 6
        and code.isdigit()
        and hmac.compare_digest(row.code_hash, _code_hash(person, code))
    ):
        row.used_at = now
        row.save(update_fields=["used_at"])
        guard.failures, guard.window_start, guard.locked_until = 0, None, None
        guard.save(update_fields=["failures", "window_start", "locked_until"])
        return True
    if guard.window_start is None or now - guard.window_start > CODE_LOCK:
        guard.window_start, guard.failures = now, 0
    guard.failures += 1
    if guard.failures >= CODE_MAX_FAILURES:
        guard.locked_until = now + CODE_LOCK
        guard.failures, guard.window_start = 0, None
        OneTimeCode.objects.filter(person=person, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
    guard.save(update_fields=["failures", "window_start", "locked_until"])
    return False


# Reminders ----------------------------------------------------------------------------------------


@dataclass
class Reminded:
    """What ``remind_missing`` did: messages queued now, already queued today, people unreachable."""

    queued: int = 0
    already: int = 0
    unreachable: list[Person] = field(default_factory=list)


def _reminder_text(campaign: Campaign, item: str, children: list[Person]) -> tuple[str, str]:
    if item == Item.PARENT_APP_INSTALLED:
        subject = _("提醒：请安装国家反诈中心APP")
        body = _(
            "专项行动“%(campaign)s”请家长安装国家反诈中心APP（%(children)s）。请用手机打开班级自助链接，用手机号和验证码登录后登记。"
        ) % {
            "campaign": campaign.title,
            "children": "、".join(c.name for c in children),
        }
    elif item in queries.CHILD_ONLY:
        subject = _("提醒：请签署家长告知书")
        body = _(
            "专项行动“%(campaign)s”请家长签署告知书（%(children)s）。请用手机打开班级自助链接，用手机号和验证码登录后签署。"
        ) % {
            "campaign": campaign.title,
            "children": "、".join(c.name for c in children),
        }
    else:
        subject = _("提醒：请完成“%(item)s”") % {"item": _item_label(item)}
        body = _(
            "专项行动“%(campaign)s”要求每人完成“%(item)s”，你还没有完成。请用手机打开班级自助链接办理。"
        ) % {
            "campaign": campaign.title,
            "item": _item_label(item),
        }
    return subject, body


def _reminder_params(item: str, children: list[Person]) -> tuple[str, dict[str, Any]]:
    """The SMS template of a reminder and its parameters: the task's name, or how many children a
    parent signs the notice for (no name: a template's variables carry no personal data)."""
    if item == Item.PARENT_NOTICE_SIGNED:
        return Template.PARENT_NOTICE, {"count": len(children)}
    return Template.REMINDER, {"item": _item_label(item)}


@transaction.atomic
def remind_missing(
    campaign: Campaign, unit: Unit, item: str, actor: Any, today: date | None = None
) -> Reminded:
    """Queue one reminder to each person in ``unit`` still missing ``item`` (the guardians, for a
    parent notice): in-app for those with an account, by SMS otherwise.

    The idempotency key holds (campaign, item, recipient, day), so a double click, or a second
    counsellor pressing the same button, sends once a day.
    """
    _check_item(campaign, item)
    if not queries.covers(campaign, unit):
        raise ValidationError(_("该单位不在专项行动的范围内。"), code="outside")
    today = today or timezone.localdate()
    missing = queries.missing(campaign, unit, item)
    people = list(missing.select_related("user"))
    recipients: dict[int, tuple[Person, list[Person]]] = {}
    if item in queries.CHILD_ONLY:
        links = Guardianship.objects.filter(student__in=missing.values("pk")).select_related(
            "guardian__user", "student"
        )
        for g in links.order_by("guardian_id", "student__name"):
            if g.guardian.is_active:
                recipients.setdefault(g.guardian_id, (g.guardian, []))[1].append(g.student)
        with_guardian = {c.pk for _g, children in recipients.values() for c in children}
        result = Reminded(unreachable=[p for p in people if p.pk not in with_guardian])
    else:
        recipients = {p.pk: (p, []) for p in people}
        result = Reminded()
    keys = {pk: f"reach-remind:{campaign.pk}:{item}:{pk}:{today.isoformat()}" for pk in recipients}
    existing = set(
        Outbox.objects.filter(idempotency_key__in=list(keys.values())).values_list(
            "idempotency_key", flat=True
        )
    )
    link = reverse("member_landing", args=[ensure_class_link(unit).token])
    with translation.override(settings.LANGUAGE_CODE):
        for pk, (person, children) in recipients.items():
            key = keys[pk]
            if key in existing:
                result.already += 1
                continue
            subject, body = _reminder_text(campaign, item, children)
            user = person.user
            if user is not None and user.is_active:
                notify.queue(ChannelKind.IN_APP, user, subject=subject, body=body, link=link, key=key)
            elif person.phone_enc and (phone := person.phone):
                template, params = _reminder_params(item, children)
                notify.queue(
                    ChannelKind.SMS,
                    phone,
                    subject=subject,
                    body=body,
                    link=link,
                    key=key,
                    sms_template=template,
                    sms_params=params,
                )
            else:
                result.unreachable.append(person)
                continue
            result.queued += 1
    if result.queued:
        CampaignEvent.objects.create(
            campaign=campaign,
            kind=EVENT_REMINDED,
            detail={"unit": unit.pk, "item": item, "on": today.isoformat(), "messages": result.queued},
            actor=actor if getattr(actor, "is_authenticated", False) else None,
        )
    return result
