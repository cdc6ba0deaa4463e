"""The victim's follow-up (心理疏导): open, plan, sessions, closure, reminders.

Why the texts are apart: the plan, the session notes and the closing note are counselling notes,
the most private part of a case. They are stored encrypted and only holders of ``Cap.COUNSEL`` at
the case's unit (the counsellor and psychologist roles) may write or read them; everybody else who
sees the case sees that a follow-up exists, its status, the next date and how many sessions were
held. Timeline events name what happened, never the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fanzha.core import crypto
from fanzha.org.models import Membership, MembershipRole, Role, RoleGrant, Unit, UnitKind, User
from fanzha.org.scope import ROLE_CAPS, Cap, in_scope

from ..events import record_event
from ..models import Case, CaseEvent, FollowUp, FollowUpSession

MAX_TEXT = 10_000
MAX_SESSIONS = 99
# Roles whose grant holds ``Cap.COUNSEL``: the people a follow-up may be assigned to.
COUNSEL_ROLES = tuple(role for role, caps in ROLE_CAPS.items() if Cap.COUNSEL in caps)
# The grants of a class's own teacher: a university's counsellor, a school's or kindergarten's class teacher.
CLASS_ROLES = (Role.COUNSELLOR, Role.CLASS_TEACHER)


def can_counsel(user: Any, case: Case) -> bool:
    """Whether ``user`` may read and write the case's counselling texts."""
    return user is not None and in_scope(user, case.unit, Cap.COUNSEL)


def _require_counsel(actor: Any, case: Case) -> None:
    if not can_counsel(actor, case):
        raise PermissionDenied(_("只有辅导员和心理咨询师可以查看和填写心理疏导记录"))


def _event(case: Case, actor: Any, step: str, **detail: Any) -> None:

    record_event(case, CaseEvent.Kind.FOLLOWUP, actor, step=step, **detail)


def _text(value: str, label: str) -> str:
    text = (value or "").strip()
    if len(text) > MAX_TEXT:
        raise ValidationError(_("%(label)s最多%(n)d字") % {"label": label, "n": MAX_TEXT})
    return text


def _ancestors_and_self(unit: Unit) -> list[str]:
    return [unit.path[:end] for end in range(Unit.steplen, len(unit.path) + 1, Unit.steplen)]


def counsel_users(case: Case) -> QuerySet[User]:
    """Active accounts holding ``Cap.COUNSEL`` at the case's unit: who a follow-up may be assigned to."""
    return (
        User.objects.filter(
            is_active=True,
            grants__role__in=COUNSEL_ROLES,
            grants__unit__path__in=_ancestors_and_self(case.unit),
            grants__unit__is_active=True,
        )
        .distinct()
        .order_by("first_name", "username")
    )


def _check_assignee(user: User | None, case: Case, label: str) -> None:
    if user is not None and not (user.is_active and can_counsel(user, case)):
        raise ValidationError({label: [_("所选人员不是该案件所在单位的辅导员或心理咨询师")]})


def class_counsellor(case: Case) -> User | None:
    """The counsellor of the victim's class: the account of the person holding the class's counsellor
    membership; else the account granted the counsellor role at that class. None when the victim is
    not on the roster or the class has no counsellor with an account who may counsel there."""
    if case.victim_id is None:
        return None
    classes = [
        m.unit
        for m in Membership.objects.filter(
            person_id=case.victim_id, unit__kind=UnitKind.CLASS, unit__is_active=True
        ).select_related("unit")
    ]
    if not classes:
        return None
    # The class of the case first, then one inside the case's unit, then any.
    classes.sort(key=lambda u: (u.pk != case.unit_id, not u.path.startswith(case.unit.path), u.path))
    for unit in classes:
        holders = (
            Membership.objects.filter(unit=unit, role=MembershipRole.COUNSELLOR, person__user__is_active=True)
            .select_related("person__user")
            .order_by("pk")
        )
        for membership in holders:
            user = membership.person.user
            if user is not None and can_counsel(user, case):
                return user
        grant = (
            RoleGrant.objects.filter(unit=unit, role__in=CLASS_ROLES, user__is_active=True)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        if grant is not None:
            return grant.user
    return None


def nearest_psychologist(case: Case) -> User | None:
    """The psychologist granted nearest above the case's unit (the school's counselling centre), if any."""
    from fanzha.campaigns.compliance import ancestor_paths

    paths = ancestor_paths(case.unit.path)
    grants = RoleGrant.objects.filter(
        role=Role.PSYCHOLOGIST, unit__path__in=paths, unit__is_active=True, user__is_active=True
    ).select_related("user", "unit")
    best = max(grants, key=lambda g: (len(g.unit.path), -g.pk), default=None)
    return best.user if best is not None else None


@transaction.atomic
def open_followup(
    case: Case,
    actor: Any = None,
    counsellor: User | None = None,
    psychologist: User | None = None,
    planned_sessions: int = 3,
    next_date: date | None = None,
    plan: str = "",
    now: datetime | None = None,
) -> FollowUp:
    """Open the case's follow-up (once: a second call returns the first).

    ``actor`` None is the system at report time (``cases.actions.report_case``): the
    counsellor is then the victim's class counsellor, the psychologist the one granted nearest above
    the case's unit, and the first date the next day, and no event
    is written (the report's own event covers it). A person opening one needs ``Cap.COUNSEL``.
    """
    now = now or timezone.now()
    if actor is not None:
        _require_counsel(actor, case)
    existing = FollowUp.objects.filter(case=case).first()
    if existing is not None:
        return existing
    if actor is None and counsellor is None:
        counsellor = class_counsellor(case)
        psychologist = psychologist or nearest_psychologist(case)
    else:
        _check_assignee(counsellor, case, "counsellor")
    _check_assignee(psychologist, case, "psychologist")
    if not 1 <= planned_sessions <= MAX_SESSIONS:
        raise ValidationError({"planned_sessions": [_("计划次数应在1至%(n)d之间") % {"n": MAX_SESSIONS}]})
    plan_text = _text(plan, _("疏导计划"))
    followup = FollowUp.objects.create(
        case=case,
        counsellor=counsellor,
        psychologist=psychologist,
        planned_sessions=planned_sessions,
        next_date=next_date or (timezone.localdate(now) + timedelta(days=1)),
        plan_enc=crypto.encrypt(plan_text) if plan_text else "",
    )
    if actor is not None:
        _event(case, actor, "opened")
    return followup


_UNSET: Any = object()


@transaction.atomic
def update_plan(
    followup: FollowUp,
    actor: Any,
    *,
    plan: str | None = None,
    planned_sessions: int | None = None,
    next_date: date | None = _UNSET,
    counsellor: User | None = _UNSET,
    psychologist: User | None = _UNSET,
) -> FollowUp:
    """Change the plan: its text, the number of sessions, the next date, who looks after the victim.

    Arguments left out stay as they are. The event names the fields that changed, not the text.
    """
    followup = FollowUp.objects.select_for_update().select_related("case__unit").get(pk=followup.pk)
    case = followup.case
    _require_counsel(actor, case)
    if followup.status == FollowUp.Status.CLOSED:
        raise ValidationError(_("心理疏导已结束，不能再修改计划"))
    changed: list[str] = []
    if plan is not None:
        text = _text(plan, _("疏导计划"))
        if text != crypto.decrypt(followup.plan_enc):
            followup.plan_enc = crypto.encrypt(text) if text else ""
            changed.append("plan")
    if planned_sessions is not None and planned_sessions != followup.planned_sessions:
        if not 1 <= planned_sessions <= MAX_SESSIONS:
            raise ValidationError({"planned_sessions": [_("计划次数应在1至%(n)d之间") % {"n": MAX_SESSIONS}]})
        followup.planned_sessions = planned_sessions
        changed.append("planned_sessions")
    if next_date is not _UNSET and next_date != followup.next_date:
        followup.next_date = next_date
        changed.append("next_date")
    for name, user in (("counsellor", counsellor), ("psychologist", psychologist)):
        if user is _UNSET or getattr(followup, f"{name}_id") == getattr(user, "pk", None):
            continue
        _check_assignee(user, case, name)
        setattr(followup, name, user)
        changed.append(name)
    if changed:
        followup.save()
        _event(case, actor, "plan", fields=changed)
    return followup


@transaction.atomic
def add_session(
    followup: FollowUp,
    actor: Any,
    held_on: date,
    notes: str,
    next_date: date | None = None,
    now: datetime | None = None,
) -> FollowUpSession:
    """Record a session held and set the next date (None: no further date planned yet)."""
    now = now or timezone.now()
    followup = FollowUp.objects.select_for_update().select_related("case__unit").get(pk=followup.pk)
    case = followup.case
    _require_counsel(actor, case)
    if followup.status == FollowUp.Status.CLOSED:
        raise ValidationError(_("心理疏导已结束，不能再添加记录"))
    errors: dict[str, list[str]] = {}
    today = timezone.localdate(now)
    if held_on > today:
        errors["held_on"] = [_("疏导日期不能晚于今天")]
    if held_on < timezone.localdate(case.occurred_at):
        errors["held_on"] = [_("疏导日期不能早于发案日期")]
    if next_date is not None and next_date <= held_on:
        errors["next_date"] = [_("下次日期应晚于本次疏导日期")]
    text = (notes or "").strip()
    if not text:
        errors["notes"] = [_("请填写疏导记录")]
    elif len(text) > MAX_TEXT:
        errors["notes"] = [_("疏导记录最多%(n)d字") % {"n": MAX_TEXT}]
    if errors:
        raise ValidationError(errors)
    session = FollowUpSession.objects.create(
        followup=followup, held_on=held_on, notes_enc=crypto.encrypt(text), by=actor
    )
    followup.next_date = next_date
    followup.save(update_fields=["next_date"])
    _event(case, actor, "session", held_on=held_on.isoformat(), number=followup.sessions.count())
    return session


@transaction.atomic
def close_followup(
    followup: FollowUp, actor: Any, closing_note: str, now: datetime | None = None
) -> FollowUp:
    """End the follow-up with a closing note; reminders stop."""
    now = now or timezone.now()
    followup = FollowUp.objects.select_for_update().select_related("case__unit").get(pk=followup.pk)
    case = followup.case
    _require_counsel(actor, case)
    if followup.status == FollowUp.Status.CLOSED:
        raise ValidationError(_("心理疏导已经结束"))
    text = _text(closing_note, _("结束说明"))
    if not text:
        raise ValidationError({"closing_note": [_("请填写结束说明")]})
    followup.status = FollowUp.Status.CLOSED
    followup.closed_at = now
    followup.closing_enc = crypto.encrypt(text)
    followup.next_date = None
    followup.save(update_fields=["status", "closed_at", "closing_enc", "next_date"])
    _event(case, actor, "closed", sessions=followup.sessions.count())
    return followup


# Reading the texts ----------------------------------------------------------------------------------


@dataclass
class SessionText:
    session: FollowUpSession
    notes: str


@dataclass
class FollowUpTexts:
    """The decrypted texts of a follow-up, for a ``Cap.COUNSEL`` holder only."""

    plan: str
    closing_note: str
    sessions: list[SessionText]


def read_texts(followup: FollowUp, user: Any) -> FollowUpTexts:
    """The plan, notes and closing note; ``PermissionDenied`` for anyone without ``Cap.COUNSEL``."""
    _require_counsel(user, followup.case)
    sessions = list(followup.sessions.select_related("by").order_by("held_on", "pk"))
    return FollowUpTexts(
        plan=crypto.decrypt(followup.plan_enc),
        closing_note=crypto.decrypt(followup.closing_enc),
        sessions=[SessionText(s, crypto.decrypt(s.notes_enc)) for s in sessions],
    )


# Reminders ------------------------------------------------------------------------------------------


def due_followups(today: date) -> QuerySet[FollowUp]:
    """Open follow-ups whose next date is today or past, with someone to remind."""
    return (
        FollowUp.objects.filter(status=FollowUp.Status.OPEN, next_date__lte=today)
        .filter(Q(counsellor__isnull=False) | Q(psychologist__isnull=False))
        .select_related("case", "counsellor", "psychologist")
        .order_by("next_date", "pk")
    )


def queue_followup_reminders(today: date | None = None) -> int:
    """Queue an in-app reminder (and an e-mail when the account has an address) to the counsellor and
    psychologist of every open follow-up that is due, once per follow-up, person and day.

    The message names the case number and the masked victim name, never counselling text. Returns
    the number of new outbox rows.
    """
    from fanzha.notify import actions as notify
    from fanzha.notify.models import ChannelKind, Outbox

    today = today or timezone.localdate()
    queued = 0
    with translation.override(settings.LANGUAGE_CODE):
        for followup in due_followups(today):
            case = followup.case
            subject = _("心理疏导提醒：案件%(number)s的疏导已到期") % {"number": case.number}
            body = _("受害人%(name)s的心理疏导计划日期为%(day)s，请及时开展并记录。") % {
                "name": case.victim_masked_name,
                "day": followup.next_date.isoformat() if followup.next_date else "",
            }
            link = reverse("followup_detail", args=[case.pk])
            people = {u.pk: u for u in (followup.counsellor, followup.psychologist) if u and u.is_active}
            for user in people.values():
                key = f"followup:{followup.pk}:{today.isoformat()}:{user.pk}"
                kinds = [ChannelKind.IN_APP] + ([ChannelKind.EMAIL] if user.email else [])
                for kind in kinds:
                    full = f"{key}:{kind}"
                    if Outbox.objects.filter(idempotency_key=full).exists():
                        continue
                    notify.queue(kind, user, subject=subject, body=body, link=link, key=full)
                    queued += 1
    return queued
