"""Every write to activity records, their evidence and attendance (letters: ``letters.actions``).

Each verb is atomic and takes narrow arguments; views, the API and commands call these and
nothing else. Whether the caller may act on the unit is decided before the call, from
``queries`` and ``org.scope`` (see ``RECORD``); the verbs check that the data makes sense.

Uploaded files are judged by their first bytes, never by their names (``files``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.core import hooks
from fanzha.org.credentials import actions as credentials
from fanzha.org.models import Membership, Person, Unit
from fanzha.org.scope import Cap

from ..models import Activity, ActivityKind, ActivityRevision, Attendance, Campaign, Evidence, Obligation
from ..outreach.options import record_options
from .files import inspect_upload

# Recording an activity or signing a letter for a unit: the work a plan puts on whoever answers for
# the unit (counsellors, class teachers, dorm managers, police stations, bank branches, the
# administrators); auditors only look.
RECORD = Cap.RECORD

# An activity is recorded after the fact, or up to a week ahead so that its check-in QR code
# can be shown when it starts.
MAX_DAYS_AHEAD = 7
CHECKIN_GRACE = timedelta(hours=24)
BULK_BATCH = 1000


# Evidence files --------------------------------------------------------------------------------


def _duplicate(name: str) -> ValidationError:
    return ValidationError(
        _("文件“%(name)s”与本活动已有的文件完全相同，无需重复上传。") % {"name": name}, code="duplicate"
    )


@transaction.atomic
def add_evidence(activity: Activity, upload: File, actor: Any) -> Evidence:
    """Attach a photo, video or document to an activity, once (identical content is refused)."""
    evidence = _store_evidence(activity, upload, actor)
    records_changed([activity.campaign_id])  # evidence decides whether a record counts
    return evidence


def _store_evidence(activity: Activity, upload: File, actor: Any) -> Evidence:
    """``add_evidence`` without telling the campaign: ``record_activity`` tells it once for the
    record and all its files."""
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

EDITABLE = (
    "unit",
    "kind",
    "occurred_on",
    "title",
    "summary",
    "link",
    "attendance_count",
    "obligation",
    "target_groups",
    "channel",
    "area",
    "materials_count",
)
REACH_FIELDS = ("target_groups", "channel", "area", "materials_count")


def _check_reach(
    unit: Unit, target_groups: list[str], channel: str, materials_count: int | None
) -> dict[str, str]:
    """Target groups and channel must be ones the campaigns over the unit count by (``outreach.options``)."""
    errors: dict[str, str] = {}
    if materials_count is not None and not 0 <= materials_count <= 10_000_000:
        errors["materials_count"] = _("宣传资料数量不正确")
    if not target_groups and not channel:
        return errors
    options = record_options([unit])
    groups = {g.code for g in options.groups}
    if any(code not in groups for code in target_groups):
        errors["target_groups"] = _("所选重点人群不在该单位专项行动的统计范围内")
    if channel and channel not in {c.code for c in options.channels}:
        errors["channel"] = _("所选宣传渠道不在该单位专项行动的统计范围内")
    return errors


def _check(
    *,
    unit: Unit,
    kind: str,
    occurred_on: date,
    obligation: Obligation | None,
    attendance_count: int | None,
    changed: Iterable[str] = EDITABLE,
    target_groups: list[str] | None = None,
    channel: str = "",
    materials_count: int | None = None,
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
    if changed & {"unit", *REACH_FIELDS}:
        errors.update(_check_reach(unit, list(target_groups or []), channel, materials_count))
    if errors:
        raise ValidationError(errors)


def records_changed(campaign_ids: Iterable[int | None]) -> None:
    """These campaigns' records changed: raise their ``records_version`` in this transaction (pages
    stop reusing the grouped records at once) and tell the dashboards once it commits."""
    ids = sorted({pk for pk in campaign_ids if pk})
    if not ids:
        return
    Campaign.objects.filter(pk__in=ids).update(records_version=F("records_version") + 1)
    changes = [(pk, hooks.CAMPAIGN_ACTIVITIES) for pk in ids]
    transaction.on_commit(lambda: hooks.campaigns_changed(changes), robust=True)


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
    target_groups: Iterable[str] = (),
    channel: str = "",
    area: str = "",
    materials_count: int | None = None,
) -> Activity:
    """Record an activity (against an obligation or free-standing) with its evidence, all or nothing.

    A blank title becomes the kind's name, so a phone user may skip it. An outreach record names the
    target groups and channel (codes the campaigns over the unit count by), its township or village
    and the materials handed out; its people reached are ``attendance_count``.
    """
    groups = list(dict.fromkeys(target_groups))
    _check(
        unit=unit,
        kind=kind,
        occurred_on=occurred_on,
        obligation=obligation,
        attendance_count=attendance_count,
        target_groups=groups,
        channel=channel,
        materials_count=materials_count,
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
        target_groups=groups,
        channel=channel,
        area=(area or "").strip()[:100],
        materials_count=materials_count,
        checkin_token=secrets.token_urlsafe(16),
        recorded_by=actor,
    )
    for upload in files:
        _store_evidence(activity, upload, actor)
    records_changed([activity.campaign_id])
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
    target_groups: tuple[str, ...] = ()
    channel: str = ""
    area: str = ""
    materials_count: int | None = None


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
                target_groups=list(item.target_groups),
                channel=item.channel,
                materials_count=item.materials_count,
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
                target_groups=list(dict.fromkeys(item.target_groups)),
                channel=item.channel,
                area=item.area.strip()[:100],
                materials_count=item.materials_count,
                checkin_token=secrets.token_urlsafe(16),
                recorded_by=item.recorded_by or actor,
            )
        )
    records_changed(row.campaign_id for row in rows)
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
        "target_groups": list(activity.target_groups or []),
        "channel": activity.channel,
        "area": activity.area,
        "materials_count": activity.materials_count,
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
    values["target_groups"] = list(dict.fromkeys(values["target_groups"] or []))
    values["channel"] = values["channel"] or ""
    values["area"] = (values["area"] or "").strip()[:100]
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
        target_groups=values["target_groups"],
        channel=values["channel"],
        materials_count=values["materials_count"],
    )
    ActivityRevision.objects.create(activity=current, data=snapshot(current), actor=actor)
    before = current.campaign_id
    for name in changed:
        setattr(current, name, values[name])
    current.campaign = current.obligation.campaign if current.obligation else None
    current.save()
    records_changed([before, current.campaign_id])
    if {"kind", "obligation", "unit"} & set(changed):
        hooks.attendance_changed([current.pk])  # what its attendees prove may have changed
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
    records_changed([current.campaign_id])
    hooks.attendance_changed([current.pk])  # a deleted activity proves nothing
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


def check_in(activity: Activity, token: str, external_number: str, code: str) -> Attendance:
    """A member checks in by QR code with their number and personal sign-in code (``org.credentials``).

    Idempotent: checking in twice returns the first attendance. Every refusal of a person has one
    message, so the form does not tell a stranger which numbers exist; a person locked after five
    wrong codes is refused with ``code="locked"``. Not atomic as a whole: a wrong code must stay
    counted towards the person's lock although the check-in is refused.
    """
    if not activity.checkin_token or not hmac.compare_digest(activity.checkin_token, token or ""):
        raise ValidationError(_("签到链接无效。"), code="token")
    if not checkin_open(activity):
        raise ValidationError(_("签到已结束：签到链接在活动当天结束后 24 小时内有效。"), code="expired")
    number = (external_number or "").strip()
    person = None
    if number:
        person = _members(activity).filter(root__path=activity.unit.root_path, external_number=number).first()
    check = credentials.check_code(person, code)
    if check == credentials.Check.LOCKED:
        raise ValidationError(_("尝试次数过多，请稍后再试，或请老师手工登记。"), code="locked")
    if check != credentials.Check.OK or person is None:
        raise ValidationError(
            _(
                "学号或登录码不正确，或你不在本活动的名单中。请核对后重试；"
                "还没有登录码，请向辅导员或班主任索取，或请老师手工登记。"
            ),
            code="refused",
        )
    with transaction.atomic():
        attendance, _created = Attendance.objects.get_or_create(
            activity=activity, person=person, defaults={"method": Attendance.Method.QR}
        )
        if _created:
            hooks.attendance_changed([activity.pk])
            records_changed([activity.campaign_id])
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
    if _created:
        hooks.attendance_changed([activity.pk])
        records_changed([activity.campaign_id])
    return attendance


@transaction.atomic
def remove_attendee(activity: Activity, person: Person, actor: Any) -> bool:
    """The recorder takes someone off the list (entered by mistake); what only this attendance proved
    is withdrawn. Returns whether anyone was removed."""
    if activity.is_deleted:
        raise ValidationError(_("该活动记录已删除。"))
    removed, _detail = Attendance.objects.filter(activity=activity, person=person).delete()
    if removed:
        hooks.attendance_changed([activity.pk])
        records_changed([activity.campaign_id])
    return bool(removed)


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
    if new:
        hooks.attendance_changed([activity.pk])
        records_changed([activity.campaign_id])
    return len(new)


# Responsibility letters ------------------------------------------------------------------------
