"""Clues (线索), their dispatch and feedback, their escalation, and the dissuasion tasks (劝阻) of a
warning list: the command centre's work in the county police plan (篇五).

Why verbs: the pages, the demo and the periodic job (``escalate_overdue_clues``) refuse and notify the
same way. Notifications are in-app outbox rows written in the same transaction, so they leave only if
the change commits; they name the clue's number, never a phone number.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from fanzha.core import crypto
from fanzha.core.models import AuditRecord
from fanzha.org.models import Role, RoleGrant, Unit
from fanzha.org.scope import Cap, in_scope

from ..models import (
    Case,
    Clue,
    ClueOutcome,
    ClueSource,
    ClueState,
    DissuasionOutcome,
    DissuasionTask,
)
from .queries import CENTRE_KINDS, RECEIVER_KINDS

MAX_TEXT = 5_000


def _require(actor: Any, unit: Unit, cap: Cap = Cap.CASE_POLICE) -> None:
    if actor is None or not in_scope(actor, unit, cap):
        raise PermissionDenied(_("您没有权限进行此操作"))


def _text(value: str, label: str, required: bool = False, limit: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(_("请填写%(label)s") % {"label": label})
    if len(text) > limit:
        raise ValidationError(_("%(label)s最多%(n)d字") % {"label": label, "n": limit})
    return text


def _number(clue: Clue, now: datetime) -> str:
    """XS, the day, then the row's own key: two clues recorded at once can never draw the same number
    (a count of the day's clues could)."""
    return "XS" + timezone.localdate(now).strftime("%Y%m%d") + f"{clue.pk:06d}"


def _notify(users: list[Any], clue: Clue, subject: str, body: str, key: str) -> int:
    """One in-app message per active user, idempotent on ``key``; returns how many were queued."""
    from fanzha.notify import actions as notify
    from fanzha.notify.models import ChannelKind

    link = reverse("clue_detail", args=[clue.pk])
    seen: set[int] = set()
    for user in users:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        notify.queue(ChannelKind.IN_APP, user, subject=subject, body=body, link=link, key=f"{key}:{user.pk}")
    return len(seen)


def _holders(units: list[Unit], roles: tuple[str, ...]) -> list[Any]:
    return [
        g.user
        for g in RoleGrant.objects.filter(unit__in=units, role__in=roles, user__is_active=True)
        .select_related("user")
        .order_by("pk")
    ]


def command_centre_staff(clue: Clue) -> list[Any]:
    """The anti-fraud centre's administrators over the clue's centre (its unit and the units above)."""
    paths = [clue.centre.path[:end] for end in range(Unit.steplen, len(clue.centre.path) + 1, Unit.steplen)]
    return _holders(list(Unit.objects.filter(path__in=paths)), (Role.POLICE_ADMIN,))


def unit_heads(unit: Unit) -> list[Any]:
    """Who answers for a receiving unit: its police administrators, else its officers and liaisons."""
    heads = _holders([unit], (Role.POLICE_ADMIN,))
    return heads or _holders([unit], (Role.POLICE_OFFICER, Role.POLICE_LIAISON))


@transaction.atomic
def record_clue(
    centre: Unit,
    source: str,
    content: str,
    actor: Any,
    indicators: str = "",
    case: Case | None = None,
    now: datetime | None = None,
) -> Clue:
    """Record a clue at a command centre (a police bureau or department the actor acts for)."""
    _require(actor, centre)
    if centre.kind not in CENTRE_KINDS:
        raise ValidationError(_("线索只能由公安局或其业务部门登记"))
    if source not in ClueSource.values:
        raise ValidationError({"source": [_("请选择线索来源")]})
    text = _text(content, _("线索内容"), required=True)
    marks = _text(indicators, _("涉诈号码/账号/网址"), limit=1000)
    if case is not None and not in_scope(actor, case.unit, Cap.CASE_VIEW):
        raise ValidationError({"case": [_("没有找到该案件")]})
    when = now or timezone.now()
    clue = Clue(
        number="tmp-" + uuid.uuid4().hex[:20],
        centre=centre,
        source=source,
        content=text,
        indicators=marks,
        case=case,
        created_by=actor,
    )
    clue.save()
    clue.number = _number(clue, when)
    Clue.objects.filter(pk=clue.pk).update(number=clue.number)
    if now is not None:
        Clue.objects.filter(pk=clue.pk).update(created_at=now)
        clue.created_at = now
    return clue


@transaction.atomic
def dispatch_clue(
    clue: Clue, assignee: Unit, actor: Any, deadline: datetime | None = None, now: datetime | None = None
) -> Clue:
    """Send the clue to a department or station of the centre's bureau with a feedback deadline (default
    ``FANZHA_CLUE_DEADLINE_DAYS``); a dispatched clue may be sent again elsewhere. The receiving unit's
    heads are told."""
    _require(actor, clue.centre)
    now = now or timezone.now()
    if clue.state not in (ClueState.NEW, ClueState.DISPATCHED):
        raise ValidationError(_("已反馈或已办结的线索不能再下发"))
    root = clue.centre.path[: Unit.steplen]
    if assignee.kind not in RECEIVER_KINDS or not assignee.path.startswith(root) or not assignee.is_active:
        raise ValidationError({"assignee": [_("只能下发给本局的业务部门或派出所")]})
    deadline = deadline or now + timedelta(days=settings.FANZHA_CLUE_DEADLINE_DAYS)
    if deadline <= now:
        raise ValidationError({"deadline": [_("反馈期限应晚于现在")]})
    clue.assignee = assignee
    clue.deadline = deadline
    clue.dispatched_at = now
    clue.escalated_at = None
    clue.state = ClueState.DISPATCHED
    clue.save(update_fields=["assignee", "deadline", "dispatched_at", "escalated_at", "state"])
    with translation.override(settings.LANGUAGE_CODE):
        _notify(
            unit_heads(assignee),
            clue,
            _("新线索：%(number)s") % {"number": clue.number},
            _("指挥中心下发线索%(number)s，请于%(deadline)s前反馈。")
            % {"number": clue.number, "deadline": timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")},
            f"clue:{clue.pk}:dispatch:{now.timestamp():.0f}",
        )
    return clue


@transaction.atomic
def answer_clue(clue: Clue, feedback: str, outcome: str, actor: Any, now: datetime | None = None) -> Clue:
    """The receiving unit's feedback: what it found (text) and the outcome. May be corrected until closed."""
    if clue.assignee is None:
        raise ValidationError(_("线索尚未下发"))
    _require(actor, clue.assignee)
    if clue.state not in (ClueState.DISPATCHED, ClueState.ANSWERED):
        raise ValidationError(_("线索尚未下发或已办结"))
    if outcome not in ClueOutcome.values:
        raise ValidationError({"outcome": [_("请选择核查结果")]})
    clue.feedback = _text(feedback, _("反馈内容"), required=True)
    clue.outcome = outcome
    clue.answered_by = actor
    clue.answered_at = now or timezone.now()
    clue.state = ClueState.ANSWERED
    clue.save(update_fields=["feedback", "outcome", "answered_by", "answered_at", "state"])
    return clue


@transaction.atomic
def close_clue(clue: Clue, actor: Any, now: datetime | None = None) -> Clue:
    """The command centre accepts the feedback and closes the clue."""
    _require(actor, clue.centre)
    if clue.state != ClueState.ANSWERED:
        raise ValidationError(_("只有已反馈的线索可以办结"))
    clue.state = ClueState.CLOSED
    clue.closed_at = now or timezone.now()
    clue.save(update_fields=["state", "closed_at"])
    return clue


def overdue_clues(now: datetime | None = None) -> Any:
    """Dispatched clues past their deadline without feedback (escalated or not)."""
    return Clue.objects.filter(state=ClueState.DISPATCHED, deadline__lt=now or timezone.now())


@transaction.atomic
def escalate_overdue_clues(now: datetime | None = None) -> int:
    """Mark every overdue clue not yet escalated as escalated and tell the command centre's
    administrators and the receiving unit's heads, once per dispatch. Returns the clues escalated."""
    now = now or timezone.now()
    due = list(overdue_clues(now).filter(escalated_at__isnull=True).select_related("centre", "assignee"))
    with translation.override(settings.LANGUAGE_CODE):
        for clue in due:
            clue.escalated_at = now
            clue.save(update_fields=["escalated_at"])
            assignee = clue.assignee
            assert assignee is not None  # a dispatched clue has one
            _notify(
                command_centre_staff(clue) + unit_heads(assignee),
                clue,
                _("线索逾期未反馈：%(number)s") % {"number": clue.number},
                _("线索%(number)s已超过反馈期限%(deadline)s，承办单位%(unit)s尚未反馈，请督办。")
                % {
                    "number": clue.number,
                    "deadline": timezone.localtime(clue.deadline).strftime("%Y-%m-%d %H:%M")
                    if clue.deadline
                    else "",
                    "unit": assignee.name,
                },
                f"clue:{clue.pk}:escalate:{clue.dispatched_at.timestamp() if clue.dispatched_at else 0:.0f}",
            )
    return len(due)


# Dissuasion tasks (劝阻) -------------------------------------------------------------------------------


def parse_amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation as exc:
        raise ValidationError({"amount": [_("金额格式不正确")]}) from exc
    if amount < 0 or amount >= Decimal("1e12"):
        raise ValidationError({"amount": [_("金额格式不正确")]})
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
@sensitive_variables()
def import_warning_list(
    centre: Unit, batch: str, rows: list[dict[str, Any]], actor: Any, key: str = ""
) -> int:
    """Create one dissuasion task per checked row (``warnlist.check_rows``: name, normalised phone,
    reason, station id) at its station; audited as an import (how many, never who). ``key`` (the
    confirmation's, ``warnlist.seal_rows``) makes a second confirmation of the same list a refusal."""
    _require(actor, centre, Cap.IMPORT)
    label = _text(batch, _("名单批次"), required=True, limit=80)
    Unit.objects.select_for_update().filter(pk=centre.pk).first()  # one import per centre at a time
    if key and DissuasionTask.objects.filter(import_key=key[:32]).exists():
        raise ValidationError(_("这份名单已经导入"))
    stations = {u.pk: u for u in Unit.objects.filter(pk__in={r["station"] for r in rows})}
    tasks = []
    for row in rows:
        station = stations.get(row["station"])
        if station is None or not in_scope(actor, station, Cap.CASE_POLICE):
            raise ValidationError(_("名单中的派出所不在您的管辖范围内"))
        task = DissuasionTask(
            unit=station,
            batch=label,
            import_key=key[:32],
            name=row["name"][:60],
            reason=row["reason"][:200],
            created_by=actor,
        )
        if row["phone"]:
            task.set_phone(row["phone"])
        tasks.append(task)
    DissuasionTask.objects.bulk_create(tasks)
    AuditRecord.objects.create(
        actor=actor,
        action=AuditRecord.Action.IMPORT,
        object_type="warning_list",
        object_id=str(centre.pk),
        detail=f"{label}: {len(tasks)}",
    )
    return len(tasks)


@transaction.atomic
def close_dissuasion(
    task: DissuasionTask,
    outcome: str,
    actor: Any,
    amount: Any = None,
    note: str = "",
    now: datetime | None = None,
) -> DissuasionTask:
    """The station closes a task with the outcome; "loss avoided" names the amount."""
    _require(actor, task.unit)
    if task.closed_at is not None:
        raise ValidationError(_("该劝阻任务已办结"))
    if outcome not in DissuasionOutcome.values:
        raise ValidationError({"outcome": [_("请选择劝阻结果")]})
    value = parse_amount(amount)
    if outcome == DissuasionOutcome.LOSS_AVOIDED and not value:
        raise ValidationError({"amount": [_("“避免损失”时请填写金额")]})
    if outcome != DissuasionOutcome.LOSS_AVOIDED:
        value = None
    task.outcome = outcome
    task.amount = value
    task.note = _text(note, _("备注"), limit=300)
    task.closed_by = actor
    task.closed_at = now or timezone.now()
    task.save(update_fields=["outcome", "amount", "note", "closed_by", "closed_at"])
    return task


@transaction.atomic
@sensitive_variables()
def reveal_phone(task: DissuasionTask, actor: Any) -> str:
    """The potential victim's phone to a role that calls them (``CASE_REVEAL`` at the station), audited;
    the number itself is written nowhere."""
    _require(actor, task.unit, Cap.CASE_REVEAL)
    AuditRecord.objects.create(
        actor=actor,
        action=AuditRecord.Action.REVEAL,
        object_type="dissuasion",
        object_id=str(task.pk),
        detail="phone",
    )
    return crypto.decrypt(task.phone_enc) if task.phone_enc else ""
