"""Every write to activity records, their evidence and attendance, and to responsibility letters.

Each verb is atomic and takes narrow arguments; views, the API and commands call these and
nothing else. Whether the caller may act on the unit is decided before the call, from
``queries`` and ``org.scope`` (see ``RECORD``); the verbs check that the data makes sense.

Uploaded files are judged by their first bytes, never by their names: a phone's camera names
its files freely, and a renamed executable must not reach other people's browsers.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from fanzha.org.models import Membership, Person, Unit
from fanzha.org.scope import Cap, in_scope

from ..models import (
    Activity,
    ActivityKind,
    ActivityRevision,
    Attendance,
    Campaign,
    CampaignEvent,
    Evidence,
    LetterSignature,
    Obligation,
    ResponsibilityLetter,
)
from ..plan_templates.spec import fill
from ..queries import LETTER_SIGNING_MEMBERSHIPS

EVENT_LETTERS_GENERATED = "letters_generated"

# Recording an activity or signing a letter for a unit is the everyday work that a counsellor's
# grant allows (as do the administrators'); police liaisons and auditors only look.
RECORD = Cap.EDIT_PEOPLE

MB = 1024 * 1024
DEFAULT_EVIDENCE_LIMITS: dict[str, int] = {
    Evidence.Kind.PHOTO: 15 * MB,
    Evidence.Kind.DOCUMENT: 30 * MB,
    Evidence.Kind.VIDEO: 300 * MB,
}
# An activity is recorded after the fact, or up to a week ahead so that its check-in QR code
# can be shown when it starts.
MAX_DAYS_AHEAD = 7
CHECKIN_GRACE = timedelta(hours=24)
BULK_BATCH = 1000
SIGNATURE_MAX_BYTES = 500 * 1024
SIGNATURE_MAX_SIZE = (2000, 1000)


def evidence_limits() -> dict[str, int]:
    """Size limit per evidence kind in bytes; ``settings.FANZHA_EVIDENCE_MAX_BYTES`` overrides any of them."""
    return {**DEFAULT_EVIDENCE_LIMITS, **getattr(settings, "FANZHA_EVIDENCE_MAX_BYTES", {})}


# Evidence files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileType:
    """A file type that evidence may have: what its content says it is, and the names it may carry."""

    code: str
    content_type: str
    kind: str
    extensions: tuple[str, ...]
    label: str


FILE_TYPES: dict[str, FileType] = {
    t.code: t
    for t in (
        FileType("jpeg", "image/jpeg", Evidence.Kind.PHOTO, ("jpg", "jpeg", "jfif"), "JPEG"),
        FileType("png", "image/png", Evidence.Kind.PHOTO, ("png",), "PNG"),
        FileType("gif", "image/gif", Evidence.Kind.PHOTO, ("gif",), "GIF"),
        FileType("webp", "image/webp", Evidence.Kind.PHOTO, ("webp",), "WebP"),
        FileType("heic", "image/heic", Evidence.Kind.PHOTO, ("heic", "heif"), "HEIC"),
        FileType("heif", "image/heif", Evidence.Kind.PHOTO, ("heif", "heic"), "HEIF"),
        FileType("mp4", "video/mp4", Evidence.Kind.VIDEO, ("mp4", "m4v", "mov"), "MP4"),
        FileType("mov", "video/quicktime", Evidence.Kind.VIDEO, ("mov", "qt"), "MOV"),
        FileType("pdf", "application/pdf", Evidence.Kind.DOCUMENT, ("pdf",), "PDF"),
        FileType(
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Evidence.Kind.DOCUMENT,
            ("docx",),
            "Word",
        ),
        FileType(
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Evidence.Kind.DOCUMENT,
            ("xlsx",),
            "Excel",
        ),
        FileType(
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            Evidence.Kind.DOCUMENT,
            ("pptx",),
            "PowerPoint",
        ),
    )
}
# The ``accept`` attribute of the upload fields: what the phone's picker should offer.
ACCEPT = "image/*,video/mp4,video/quicktime,.heic,.heif,.pdf,.docx,.xlsx,.pptx"

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_GENERIC = {b"mif1", b"msf1"}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"3gp4",
    b"3gp5", b"3gp6", b"3g2a", b"MSNV", b"f4v ",
}  # fmt: skip


def _iso_bmff(head: bytes) -> str | None:
    """HEIC/HEIF, MOV or MP4 from an ISO base media file's ``ftyp`` box."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = struct.unpack(">I", head[:4])[0]
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    if major in _HEIF_BRANDS:
        return "heic"
    if major in _HEIF_GENERIC:
        return "heic" if compatible & _HEIF_BRANDS else "heif"
    if major == b"qt  ":
        return "mov"
    if major in _MP4_BRANDS or compatible & _MP4_BRANDS:
        return "mp4"
    return None


def _ooxml(stream: IO[bytes]) -> str | None:
    """Word, Excel or PowerPoint from a zip's list of names (nothing is decompressed)."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    folders = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
    found = [code for code, folder in folders.items() if any(n.startswith(folder) for n in names)]
    return found[0] if len(found) == 1 else None


def sniff(stream: IO[bytes]) -> FileType | None:
    """The type of a file from its first bytes (and, for a zip, its list of names); None if not allowed."""
    stream.seek(0)
    head = stream.read(64)
    stream.seek(0)
    code: str | None = None
    if head.startswith(b"\xff\xd8\xff"):
        code = "jpeg"
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        code = "png"
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        code = "gif"
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        code = "webp"
    elif head.startswith(b"%PDF-"):
        code = "pdf"
    elif head.startswith(b"PK\x03\x04"):
        code = _ooxml(stream)
        stream.seek(0)
    else:
        code = _iso_bmff(head)
    return FILE_TYPES[code] if code else None


@dataclass(frozen=True)
class Inspected:
    """What an upload turned out to be."""

    type: FileType
    size: int
    sha256: str
    name: str
    extension: str


def inspect_upload(upload: File) -> Inspected:
    """Check an upload's type (by content, against its extension) and size; hash it.

    Forms call this to show errors before anything is saved; ``add_evidence`` calls it again.
    """
    name = os.path.basename(upload.name or "")[-200:] or "file"
    extension = name.rsplit(".", 1)[1].lower() if "." in name else ""
    size = upload.size or 0
    if size <= 0:
        raise ValidationError(_("文件“%(name)s”是空的。") % {"name": name}, code="empty")
    detected = sniff(upload)
    if detected is None:
        raise ValidationError(
            _(
                "不支持文件“%(name)s”的类型。只能上传照片（JPEG、PNG、GIF、WebP、HEIC）、"
                "视频（MP4、MOV）和文档（PDF、Word、Excel、PowerPoint）。"
            )
            % {"name": name},
            code="type",
        )
    if extension and extension not in detected.extensions:
        raise ValidationError(
            _("文件“%(name)s”的内容是 %(actual)s 格式，与扩展名 .%(extension)s 不符，请检查后重新选择。")
            % {"name": name, "actual": detected.label, "extension": extension},
            code="mismatch",
        )
    limit = evidence_limits()[detected.kind]
    if size > limit:
        raise ValidationError(
            _("文件“%(name)s”大小为 %(size)s，超过了%(kind)s的上限 %(limit)s。")
            % {
                "name": name,
                "size": filesizeformat(size),
                "kind": Evidence.Kind(detected.kind).label,
                "limit": filesizeformat(limit),
            },
            code="size",
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return Inspected(detected, size, digest.hexdigest(), name, extension or detected.extensions[0])


def _duplicate(name: str) -> ValidationError:
    return ValidationError(
        _("文件“%(name)s”与本活动已有的文件完全相同，无需重复上传。") % {"name": name}, code="duplicate"
    )


@transaction.atomic
def add_evidence(activity: Activity, upload: File, actor: Any) -> Evidence:
    """Attach a photo, video or document to an activity, once (identical content is refused)."""
    info = inspect_upload(upload)
    if activity.is_deleted:
        raise ValidationError(_("该活动记录已删除。"))
    if Evidence.objects.filter(activity=activity, sha256=info.sha256).exists():
        raise _duplicate(info.name)
    evidence = Evidence(
        activity=activity,
        kind=info.type.kind,
        content_type=info.type.content_type,
        size=info.size,
        sha256=info.sha256,
        original_name=info.name,
        uploaded_by=actor,
    )
    # A random stored name: the original may carry a person's name and says nothing reliable.
    evidence.file.save(f"{secrets.token_hex(12)}.{info.extension}", upload, save=False)
    try:
        with transaction.atomic():
            evidence.save()
    except IntegrityError as exc:  # the same file, sent twice at once
        evidence.file.delete(save=False)
        raise _duplicate(info.name) from exc
    return evidence


# Activities ------------------------------------------------------------------------------------

EDITABLE = ("unit", "kind", "occurred_on", "title", "summary", "link", "attendance_count", "obligation")


def _check(
    *,
    unit: Unit,
    kind: str,
    occurred_on: date,
    obligation: Obligation | None,
    attendance_count: int | None,
    changed: Iterable[str] = EDITABLE,
) -> None:
    """The checks that recording and editing share, on the fields that change; errors name the field.

    Why only changed fields: fixing a typo in last term's record must not fail because its class
    has since been closed or its campaign has ended.
    """
    changed = set(changed)
    errors: dict[str, str] = {}
    if kind not in ActivityKind.values:
        errors["kind"] = _("未知的活动类型")
    if "unit" in changed and not unit.is_active:
        errors["unit"] = _("该单位已停用")
    today = timezone.localdate()
    if "occurred_on" in changed and occurred_on > today + timedelta(days=MAX_DAYS_AHEAD):
        errors["occurred_on"] = _("活动日期最多只能提前 %(days)s 天登记") % {"days": MAX_DAYS_AHEAD}
    elif occurred_on.year < 2000:
        errors["occurred_on"] = _("活动日期不正确")
    if attendance_count is not None and not 0 <= attendance_count <= 1_000_000:
        errors["attendance_count"] = _("参加人数不正确")
    if obligation is not None and changed & {"obligation", "unit", "kind"}:
        if obligation.unit_id != unit.pk:
            errors["obligation"] = _("所选工作任务不属于该单位")
        elif "obligation" in changed and (
            not obligation.is_active or obligation.campaign.status != Campaign.Status.ACTIVE
        ):
            errors["obligation"] = _("所选工作任务已结束")
        elif obligation.rule.activity_kinds and kind not in obligation.rule.activity_kinds:
            errors["obligation"] = _("“%(kind)s”类活动不计入工作任务“%(rule)s”") % {
                "kind": ActivityKind(kind).label if kind in ActivityKind.values else kind,
                "rule": obligation.rule.title,
            }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def record_activity(
    *,
    unit: Unit,
    kind: str,
    occurred_on: date,
    actor: Any,
    title: str = "",
    summary: str = "",
    link: str = "",
    attendance_count: int | None = None,
    obligation: Obligation | None = None,
    files: Iterable[File] = (),
) -> Activity:
    """Record an activity (against an obligation or free-standing) with its evidence, all or nothing.

    A blank title becomes the kind's name, so a phone user may skip it.
    """
    _check(
        unit=unit,
        kind=kind,
        occurred_on=occurred_on,
        obligation=obligation,
        attendance_count=attendance_count,
    )
    activity = Activity.objects.create(
        campaign=obligation.campaign if obligation else None,
        obligation=obligation,
        unit=unit,
        kind=kind,
        occurred_on=occurred_on,
        title=(title or "").strip()[:200] or str(ActivityKind(kind).label),
        summary=(summary or "").strip(),
        link=(link or "").strip(),
        attendance_count=attendance_count,
        checkin_token=secrets.token_urlsafe(16),
        recorded_by=actor,
    )
    for upload in files:
        add_evidence(activity, upload, actor)
    return activity


@dataclass(frozen=True)
class NewActivity:
    """One activity for ``bulk_record_activities``: what ``record_activity`` takes, without files."""

    unit: Unit
    kind: str
    occurred_on: date
    title: str = ""
    summary: str = ""
    link: str = ""
    attendance_count: int | None = None
    obligation: Obligation | None = None
    recorded_by: Any = None  # None: the actor


@transaction.atomic
def bulk_record_activities(items: Iterable[NewActivity], actor: Any = None) -> list[Activity]:
    """Record many activities with a few inserts: the demo world, or records moved from another system.

    Every item passes the checks of ``record_activity`` first; the first that fails raises its
    error (with a note naming its position) and nothing is written. Evidence and attendees are
    added afterwards with ``add_evidence`` and ``add_attendee``. Pass obligations loaded with
    ``select_related("rule", "campaign")`` so that checking them costs no query.
    """
    rows: list[Activity] = []
    for index, item in enumerate(items):
        try:
            _check(
                unit=item.unit,
                kind=item.kind,
                occurred_on=item.occurred_on,
                obligation=item.obligation,
                attendance_count=item.attendance_count,
            )
        except ValidationError as exc:
            exc.add_note(f"item {index}: {item.unit} {item.kind} {item.occurred_on}")
            raise
        rows.append(
            Activity(
                campaign=item.obligation.campaign if item.obligation else None,
                obligation=item.obligation,
                unit=item.unit,
                kind=item.kind,
                occurred_on=item.occurred_on,
                title=(item.title or "").strip()[:200] or str(ActivityKind(item.kind).label),
                summary=(item.summary or "").strip(),
                link=(item.link or "").strip(),
                attendance_count=item.attendance_count,
                checkin_token=secrets.token_urlsafe(16),
                recorded_by=item.recorded_by or actor,
            )
        )
    return Activity.objects.bulk_create(rows, batch_size=BULK_BATCH)


def snapshot(activity: Activity) -> dict[str, Any]:
    """The editable state of an activity as JSON, with the names it showed (units get renamed)."""
    obligation = activity.obligation
    return {
        "unit": activity.unit_id,
        "unit_name": activity.unit.name,
        "kind": activity.kind,
        "occurred_on": activity.occurred_on.isoformat(),
        "title": activity.title,
        "summary": activity.summary,
        "link": activity.link,
        "attendance_count": activity.attendance_count,
        "obligation": activity.obligation_id,
        "obligation_title": obligation.rule.title if obligation else "",
    }


@transaction.atomic
def edit_activity(activity: Activity, changes: Mapping[str, Any], actor: Any) -> Activity:
    """Change an activity; the state before the change is kept as a revision in the same transaction.

    Nothing is written when nothing changes.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    current = (
        Activity.objects.select_for_update(of=("self",))
        .select_related("unit", "obligation__rule")
        .get(pk=activity.pk)
    )
    if current.is_deleted:
        raise ValidationError(_("该活动记录已删除。"))
    values = {name: getattr(current, name) for name in EDITABLE}
    values.update(changes)
    if not (values["title"] or "").strip():
        values["title"] = (
            str(ActivityKind(values["kind"]).label) if values["kind"] in ActivityKind.values else ""
        )
    values["title"] = values["title"].strip()[:200]
    values["summary"] = (values["summary"] or "").strip()
    values["link"] = (values["link"] or "").strip()
    changed = [name for name in EDITABLE if values[name] != getattr(current, name)]
    if not changed:
        return current
    _check(
        unit=values["unit"],
        kind=values["kind"],
        occurred_on=values["occurred_on"],
        obligation=values["obligation"],
        attendance_count=values["attendance_count"],
        changed=changed,
    )
    ActivityRevision.objects.create(activity=current, data=snapshot(current), actor=actor)
    for name in changed:
        setattr(current, name, values[name])
    current.campaign = current.obligation.campaign if current.obligation else None
    current.save()
    return current


@transaction.atomic
def delete_activity(activity: Activity, actor: Any) -> Activity:
    """Hide an activity from every list (soft delete); its last state stays in the history."""
    current = (
        Activity.objects.select_for_update(of=("self",))
        .select_related("unit", "obligation__rule")
        .get(pk=activity.pk)
    )
    if current.is_deleted:
        return current
    ActivityRevision.objects.create(
        activity=current, data={**snapshot(current), "event": "deleted"}, actor=actor
    )
    current.is_deleted = True
    current.save(update_fields=["is_deleted", "updated_at"])
    return current


# Attendance ------------------------------------------------------------------------------------


def checkin_deadline(activity: Activity) -> datetime:
    """When the check-in link stops working: 24 hours after the end of the activity's day."""
    day_end = datetime.combine(activity.occurred_on + timedelta(days=1), time.min)
    return timezone.make_aware(day_end) + CHECKIN_GRACE


def checkin_open(activity: Activity, now: datetime | None = None) -> bool:
    """Whether members may still check in with the activity's QR code."""
    return (
        not activity.is_deleted
        and bool(activity.checkin_token)
        and (now or timezone.now()) < checkin_deadline(activity)
    )


def find_checkin_activity(token: str) -> Activity | None:
    """The activity a check-in link names; the link itself is the permission, so no user scope applies."""
    if not token or len(token) > 64:
        return None
    return Activity.objects.select_related("unit").filter(checkin_token=token, is_deleted=False).first()


def _members(activity: Activity) -> Any:
    """People with a membership in the activity's unit or below it."""
    return Person.objects.filter(
        is_active=True,
        pk__in=Membership.objects.filter(unit__path__startswith=activity.unit.path).values("person_id"),
    )


@transaction.atomic
def check_in(activity: Activity, token: str, external_number: str, phone_last4: str) -> Attendance:
    """A member checks in by QR code with their student number and the last four digits of their phone.

    Idempotent: checking in twice returns the first attendance. Every refusal of a person has one
    message, so the form does not tell a stranger which numbers exist.
    """
    if not activity.checkin_token or not hmac.compare_digest(activity.checkin_token, token or ""):
        raise ValidationError(_("签到链接无效。"), code="token")
    if not checkin_open(activity):
        raise ValidationError(_("签到已结束：签到链接在活动当天结束后 24 小时内有效。"), code="expired")
    number = (external_number or "").strip()
    last4 = (phone_last4 or "").strip()
    refused = ValidationError(
        _("学号与手机号后四位不匹配，或你不在本活动的名单中。请核对后重试，或请老师手工登记。"),
        code="refused",
    )
    if not number or len(last4) != 4 or not last4.isdigit():
        raise refused
    person = _members(activity).filter(root__path=activity.unit.root_path, external_number=number).first()
    if person is None or not person.phone_masked or not hmac.compare_digest(person.phone_masked[-4:], last4):
        raise refused
    attendance, _created = Attendance.objects.get_or_create(
        activity=activity, person=person, defaults={"method": Attendance.Method.QR}
    )
    return attendance


@transaction.atomic
def add_attendee(activity: Activity, person: Person, actor: Any) -> Attendance:
    """The recorder adds someone present who could not scan the code (idempotent)."""
    if activity.is_deleted:
        raise ValidationError(_("该活动记录已删除。"))
    if not _members(activity).filter(pk=person.pk).exists():
        raise ValidationError(
            _("%(name)s 不是“%(unit)s”的成员。") % {"name": person.name, "unit": activity.unit.name}
        )
    attendance, _created = Attendance.objects.get_or_create(
        activity=activity, person=person, defaults={"method": Attendance.Method.MANUAL}
    )
    return attendance


@transaction.atomic
def add_attendees(activity: Activity, people: Iterable[Person], actor: Any) -> int:
    """``add_attendee`` for a whole register at once, in three queries; returns how many were new.

    Everyone must be a member of the activity's unit: the first who is not is named in the error
    and nothing is written. People already on the list stay as they were.
    """
    if activity.is_deleted:
        raise ValidationError(_("该活动记录已删除。"))
    wanted = {person.pk: person for person in people}
    members = set(_members(activity).filter(pk__in=list(wanted)).values_list("pk", flat=True))
    for pk, person in wanted.items():
        if pk not in members:
            raise ValidationError(
                _("%(name)s 不是“%(unit)s”的成员。") % {"name": person.name, "unit": activity.unit.name}
            )
    present = set(
        Attendance.objects.filter(activity=activity, person_id__in=list(wanted)).values_list(
            "person_id", flat=True
        )
    )
    new = [
        Attendance(activity=activity, person_id=pk, method=Attendance.Method.MANUAL)
        for pk in wanted
        if pk not in present
    ]
    Attendance.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


# Responsibility letters ------------------------------------------------------------------------


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
    """Units whose letters the user signs as a member answering for them (a dormitory head …)."""
    if user is None or not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(person__user=user, role__in=LETTER_SIGNING_MEMBERSHIPS).values_list(
            "unit_id", flat=True
        )
    )


def can_sign(user: Any, letter: ResponsibilityLetter, side: str, headed: set[int] | None = None) -> bool:
    """Whether ``user`` may sign ``side`` of ``letter``.

    The upper side is signed by someone responsible for the upper unit; the lower side by someone
    responsible for the lower unit (a grant there, or heading it as a member) but not for the upper
    one, so that nobody signs both sides. ``headed`` saves a query per letter on long lists.
    """
    if side == LetterSignature.Side.UPPER:
        return in_scope(user, letter.upper_unit, RECORD)
    if side != LetterSignature.Side.LOWER or in_scope(user, letter.upper_unit, RECORD):
        return False
    if in_scope(user, letter.lower_unit, RECORD):
        return True
    return letter.lower_unit_id in (headed_units(user) if headed is None else headed)


def _png_is_blank(data: bytes, width: int, height: int, depth: int, colour: int) -> bool:
    """Whether every pixel byte is zero (a transparent canvas nobody drew on); decompression is bounded."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if channels is None or colour == 3:
        return False  # palette images: not what our pad makes, judge them drawn
    stride = (width * channels * depth + 7) // 8 + 1
    idat = bytearray()
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    try:
        raw = zlib.decompressobj().decompress(bytes(idat), stride * height)
    except zlib.error:
        return False
    rows = len(raw) // stride
    return not any(raw[r * stride + 1 : (r + 1) * stride].strip(b"\0") for r in range(rows))


def check_signature_png(png: bytes) -> tuple[int, int]:
    """Check that a drawn signature is a real, reasonably small, non-empty PNG; return its size."""
    invalid = ValidationError(_("签名图片无效，请重新签名。"), code="invalid")
    if not png:
        raise ValidationError(_("请先在签名框内签名。"), code="required")
    if len(png) > SIGNATURE_MAX_BYTES:
        raise ValidationError(
            _("签名图片太大（不能超过 %(limit)s）。") % {"limit": filesizeformat(SIGNATURE_MAX_BYTES)},
            code="size",
        )
    if len(png) < 45 or not png.startswith(b"\x89PNG\r\n\x1a\n") or png[12:16] != b"IHDR":
        raise invalid
    length, width, height, depth, colour = struct.unpack(">I4xIIBB", png[8:26])
    if length != 13 or b"IEND" not in png[-12:]:
        raise invalid
    if not (0 < width <= SIGNATURE_MAX_SIZE[0] and 0 < height <= SIGNATURE_MAX_SIZE[1]):
        raise ValidationError(
            _("签名图片尺寸不能超过 %(w)s×%(h)s 像素。")
            % {"w": SIGNATURE_MAX_SIZE[0], "h": SIGNATURE_MAX_SIZE[1]},
            code="dimensions",
        )
    if _png_is_blank(png, width, height, depth, colour):
        raise ValidationError(_("请先在签名框内签名。"), code="blank")
    return width, height


@transaction.atomic
def sign_letter(
    letter: ResponsibilityLetter, side: str, signer_name: str, png: bytes, actor: Any
) -> LetterSignature:
    """Sign one side of a letter with a name and a drawn signature; each side is signed once."""
    if side not in LetterSignature.Side.values:
        raise ValidationError({"side": _("未知的签署方")})
    _check_open(letter.campaign)
    name = (signer_name or "").strip()
    if not name or len(name) > 60:
        raise ValidationError({"signer_name": _("请填写签署人姓名（不超过60字）")})
    check_signature_png(png)
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
