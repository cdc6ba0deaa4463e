"""Every write of a campaign: start, edit the plan's sections, keep obligations in step, close,
school calendars and reminders. Views, commands and the unit-tree hook all call these.

Each verb is atomic and appends a ``CampaignEvent`` in the same transaction, so the campaign's
history is exactly what happened. Obligations are created in bulk (one query to find the
units, inserts in batches), so starting a campaign on a university with 4,000 dormitory rooms
takes the same handful of queries as on a single class.
"""

from __future__ import annotations

import calendar as _calendar
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fanzha.core import hooks
from fanzha.org import names
from fanzha.org.models import MembershipRole, Unit, User

from . import compliance
from . import periods as P
from .letters import actions as letters_actions
from .models import (
    Campaign,
    CampaignEvent,
    CampaignTemplate,
    Goal,
    GoalRecord,
    Obligation,
    ObligationRule,
    PeriodException,
    SchoolCalendar,
)
from .spec import (
    AUTO_SECTIONS,
    BUILTIN_PLACEHOLDERS,
    RECORDED_METRICS,
    Section,
    TemplateError,
    TemplateSpec,
    fill,
)

EVENT_STARTED = "started"
EVENT_SECTIONS_EDITED = "sections_edited"
EVENT_OBLIGATIONS_SYNCED = "obligations_synced"
EVENT_CLOSED = "closed"
EVENT_GOAL_RECORDED = "goal_recorded"
EVENT_REMINDED = "reminders_queued"
EVENT_PERIOD_EXCEPTED = "period_excepted"
EVENT_EXCEPTION_WITHDRAWN = "exception_withdrawn"

BATCH = 2000
MAX_SECTION_DEPTH = 6


# Placeholders and sections -----------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months (the 31st becomes the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def default_end(spec: TemplateSpec, starts_on: date) -> date:
    """The template's usual length: ``period_months`` months, ending the day before."""
    return add_months(starts_on, max(spec.period_months, 1)) - timedelta(days=1)


def chinese_date(day: date) -> str:
    return _("%(year)s年%(month)s月%(day)s日") % {"year": day.year, "month": day.month, "day": day.day}


def placeholder_values(
    spec: TemplateSpec, unit: Unit, starts_on: date, given: dict[str, str]
) -> dict[str, str]:
    """The template's defaults, then the built-in names, then what the user typed.

    Why refuse unknown names: a typo such as ``{leadr}`` would otherwise silently stay unfilled.
    """
    known = {p.name for p in spec.placeholders} | set(BUILTIN_PLACEHOLDERS)
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValidationError(
            {"placeholders": _("未声明的占位符：%(names)s") % {"names": ", ".join(unknown)}}
        )
    builtin = {
        "organisation": unit.name,
        "locality": names.place(unit),
        "class_teacher": names.role_label(MembershipRole.COUNSELLOR, unit),
        "year": str(starts_on.year),
        "issue_date": chinese_date(starts_on),
    }
    # A default may name a built-in ("本{locality}" is 本县 in a county, 本区 in a district).
    values = {**builtin, **{k: fill(v, builtin) for k, v in spec.placeholder_defaults().items() if v}}
    values.update({k: str(v).strip() for k, v in given.items() if str(v).strip()})
    return values


def section_dicts(sections: Sequence[Section]) -> list[dict[str, Any]]:
    """A template's sections as the JSON a campaign stores: [{heading, body, auto, children}]."""
    return [
        {"heading": s.heading, "body": s.body, "auto": s.auto, "children": section_dicts(s.children)}
        for s in sections
    ]


def clean_sections(data: Any, depth: int = 0) -> list[dict[str, Any]]:
    """Check the shape of edited sections: a list of {heading, body, auto, children}."""
    if not isinstance(data, list) or depth > MAX_SECTION_DEPTH:
        raise ValidationError({"sections": _("方案章节格式不正确")})
    result = []
    for item in data:
        if not isinstance(item, dict):
            raise ValidationError({"sections": _("方案章节格式不正确")})
        heading, body = item.get("heading", ""), item.get("body", "")
        auto = item.get("auto", "")
        if not isinstance(heading, str) or not isinstance(body, str) or auto not in ("", *AUTO_SECTIONS):
            raise ValidationError({"sections": _("方案章节格式不正确")})
        children = clean_sections(item.get("children", []), depth + 1)
        result.append({"heading": heading.strip(), "body": body.strip(), "auto": auto, "children": children})
    return result


def fill_sections(sections: list[dict[str, Any]], values: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "heading": fill(s["heading"], values),
            "body": fill(s["body"], values),
            "auto": s.get("auto", ""),
            "children": fill_sections(s["children"], values),
        }
        for s in sections
    ]


# Start, edit, close ------------------------------------------------------------------------------


def _spec(template: CampaignTemplate) -> TemplateSpec:
    try:
        return template.spec()
    except TemplateError as exc:
        raise ValidationError({"template": str(exc)}) from exc


@transaction.atomic
def start_campaign(
    template: CampaignTemplate,
    unit: Unit,
    starts_on: date,
    ends_on: date | None,
    placeholders: dict[str, str],
    sections: list[dict[str, Any]] | None = None,
    actor: User | None = None,
) -> Campaign:
    """Start a campaign from ``template`` on ``unit``; every unit of each rule's level gets its obligations,
    and every pair of units that the template's letters name gets its responsibility letter.

    The template's text is copied, so later edits of the template never change this campaign.
    ``ends_on`` None means the template's usual length. ``sections`` None takes the template's
    sections; either way placeholders are filled in. Goal deadlines and one-off due dates
    ("MM-DD") fall on the first such day on or after the start, at the latest on the end.
    """
    spec = _spec(template)
    if not template.is_active:
        raise ValidationError({"template": _("该模板已停用")})
    if not unit.is_active:
        raise ValidationError({"unit": _("该单位已停用")})
    if unit.kind not in spec.issuer_kinds:
        raise ValidationError(
            {"unit": _("该模板不能由“%(kind)s”类单位发起") % {"kind": unit.get_kind_display()}}
        )
    if ends_on is None:
        ends_on = default_end(spec, starts_on)
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _("结束日期不能早于开始日期")})
    values = placeholder_values(spec, unit, starts_on, placeholders)
    chosen = section_dicts(spec.sections) if sections is None else clean_sections(sections)
    campaign = Campaign.objects.create(
        template=template,
        template_text=template.text,
        unit=unit,
        title=fill(spec.title, values)[:200],
        starts_on=starts_on,
        ends_on=ends_on,
        placeholders=values,
        sections=fill_sections(chosen, values),
        created_by=actor,
    )
    Goal.objects.bulk_create(
        [
            Goal(
                campaign=campaign,
                code=goal.code,
                metric=goal.metric,
                target=Decimal(str(goal.target)),
                unit=goal.unit,
                deadline=P.month_day(goal.deadline, starts_on, ends_on) if goal.deadline else ends_on,
                description=fill(goal.description, values)[:300],
            )
            for goal in spec.goals
        ]
    )
    ObligationRule.objects.bulk_create(
        [
            ObligationRule(
                campaign=campaign,
                code=rule.code,
                title=fill(rule.title, values)[:200],
                level=rule.level,
                frequency=rule.frequency,
                min_count=rule.min_count,
                evidence=list(rule.evidence),
                activity_kinds=list(rule.activity_kinds),
                responsible=rule.responsible,
                due=P.month_day(rule.due, starts_on, ends_on) if rule.due else None,
                description=fill(rule.description, values),
                measure=rule.measure,
                target=rule.target,
                per_channel=rule.per_channel,
                department=rule.department,
                unit_names=list(rule.unit_names),
            )
            for rule in spec.all_rules
        ]
    )
    result = _sync(campaign)
    detail: dict[str, Any] = {"template": template.code, "unit": unit.pk, "obligations": result.created}
    unmatched = unmatched_departments(spec, unit)
    if unmatched:
        detail["unmatched_departments"] = unmatched
    CampaignEvent.objects.create(campaign=campaign, kind=EVENT_STARTED, detail=detail, actor=actor)
    if spec.letters:
        letters_actions.generate_letters(campaign, actor)
    started = [(campaign.pk, hooks.CAMPAIGN_STARTED)]
    transaction.on_commit(lambda: hooks.campaigns_changed(started), robust=True)  # counted at once
    return campaign


@transaction.atomic
def record_goal_value(
    goal: Goal, value: Decimal | float | str, actor: User | None, note: str = ""
) -> GoalRecord:
    """Record a person's judgement of a goal that only a person can judge (custom, evaluation,
    reach_count): its value now, with who and when; earlier records stay as the goal's history.

    Why a verb and not a computed figure: "every child can say whom to ask for help" is judged by
    the teacher; the dashboard shows the latest record as such (who, when), never as a count.
    """
    if goal.metric not in RECORDED_METRICS:
        raise ValidationError({"value": _("该目标由系统自动计算，不能人工记录")})
    if goal.metric == "reach_count" and goal.campaign.spec().reach is not None:
        # Counted from the outreach records (``outreach.actions.refresh_reach_goals``).
        raise ValidationError({"value": _("该目标由各单位登记的覆盖记录自动统计，不能人工记录")})
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise ValidationError({"value": _("请填写数字")}) from exc
    if not number.is_finite():
        raise ValidationError({"value": _("请填写数字")})
    if goal.unit == "percent" and not 0 <= number <= 100:
        raise ValidationError({"value": _("百分比须在 0 到 100 之间")})
    if number < 0:
        raise ValidationError({"value": _("请填写不小于 0 的数字")})
    if number >= Decimal("1e12"):
        raise ValidationError({"value": _("数值过大")})
    record = GoalRecord.objects.create(
        goal=goal, value=number.quantize(Decimal("0.01")), note=(note or "").strip()[:300], recorded_by=actor
    )
    CampaignEvent.objects.create(
        campaign_id=goal.campaign_id,
        kind=EVENT_GOAL_RECORDED,
        detail={"goal": goal.code, "value": str(record.value)},
        actor=actor,
    )
    return record


@transaction.atomic
def edit_sections(campaign: Campaign, sections: list[dict[str, Any]], actor: User | None = None) -> Campaign:
    """Replace the plan's sections; the previous text is kept in the campaign's history."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.ACTIVE:
        raise ValidationError(_("专项行动已结束，不能再修改"))
    new = fill_sections(clean_sections(sections), campaign.placeholders)
    if new != campaign.sections:
        CampaignEvent.objects.create(
            campaign=campaign, kind=EVENT_SECTIONS_EDITED, detail={"before": campaign.sections}, actor=actor
        )
        campaign.sections = new
        campaign.save(update_fields=["sections"])
    return campaign


@transaction.atomic
def close_campaign(campaign: Campaign, actor: User | None = None) -> Campaign:
    """End a campaign: its obligations stay for the record, reminders stop."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.CLOSED:
        campaign.status = Campaign.Status.CLOSED
        campaign.save(update_fields=["status"])
        CampaignEvent.objects.create(campaign=campaign, kind=EVENT_CLOSED, actor=actor)
    return campaign


# Obligations in step with the tree ---------------------------------------------------------------


@dataclass
class SyncResult:
    created: int = 0
    deactivated: int = 0
    reactivated: int = 0
    letters: int = 0  # responsibility letters created for new lower units (their own event records them)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.deactivated or self.reactivated)


def _update_active(pks: list[int], active: bool) -> None:
    for start in range(0, len(pks), BATCH):
        Obligation.objects.filter(pk__in=pks[start : start + BATCH]).update(is_active=active)


def unmatched_departments(spec: TemplateSpec, unit: Unit | None) -> list[str]:
    """The tracked departments of ``spec`` that no unit under ``unit`` answers to: their duties would
    fall on nobody, so the start page and the start event name them instead of dropping them silently."""
    depts = [d for d in spec.departments if d.tracked]
    if not depts:
        return []
    if unit is None:
        return [d.name for d in depts]
    found: set[tuple[str, str]] = set(
        Unit.objects.filter(
            path__startswith=unit.path, kind__in={d.level for d in depts}, is_active=True
        ).values_list("kind", "name")
    )
    kinds = {kind for kind, _name in found}
    return [
        d.name
        for d in depts
        if not (d.level in kinds if d.every else any((d.level, n) in found for n in d.unit_names))
    ]


def _sync(campaign: Campaign) -> SyncResult:
    """Make the obligations match the tree: one per rule and active unit of its level in the subtree
    (a department duty: only the units of its level that bear one of its names)."""
    rules = list(ObligationRule.objects.filter(campaign=campaign))
    if not rules:
        return SyncResult()
    levels = {rule.level for rule in rules}
    units_by_kind: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for pk, kind, name in Unit.objects.filter(
        path__startswith=campaign.unit.path, kind__in=levels, is_active=True
    ).values_list("pk", "kind", "name"):
        units_by_kind[kind].append((pk, name))
    wanted = {
        (rule.pk, unit_id)
        for rule in rules
        for unit_id, name in units_by_kind[rule.level]
        if not rule.unit_names or name in rule.unit_names
    }
    existing = {
        (rule_id, unit_id): (pk, active)
        for pk, rule_id, unit_id, active in Obligation.objects.filter(campaign=campaign).values_list(
            "pk", "rule_id", "unit_id", "is_active"
        )
    }
    missing = sorted(wanted - existing.keys())
    Obligation.objects.bulk_create(
        [Obligation(rule_id=rule_id, campaign=campaign, unit_id=unit_id) for rule_id, unit_id in missing],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    off = [pk for key, (pk, active) in existing.items() if active and key not in wanted]
    on = [pk for key, (pk, active) in existing.items() if not active and key in wanted]
    _update_active(off, False)
    _update_active(on, True)
    return SyncResult(created=len(missing), deactivated=len(off), reactivated=len(on))


@transaction.atomic
def sync_obligations(campaign: Campaign, actor: User | None = None) -> SyncResult:
    """Give units added (or moved in) since the start their obligations and responsibility letters;
    retire the obligations of units gone (their letters stay, for the record).

    Idempotent: a second run changes nothing and writes no event. A closed campaign is left alone.
    """
    campaign = Campaign.objects.select_for_update(of=("self",)).select_related("unit").get(pk=campaign.pk)
    if campaign.status != Campaign.Status.ACTIVE:
        return SyncResult()
    result = _sync(campaign)
    if campaign.spec().letters:
        result.letters = letters_actions.generate_letters(campaign, actor).created
    if result.changed:
        CampaignEvent.objects.create(
            campaign=campaign,
            kind=EVENT_OBLIGATIONS_SYNCED,
            detail={
                "created": result.created,
                "deactivated": result.deactivated,
                "reactivated": result.reactivated,
            },
            actor=actor,
        )
    return result


def _minimal_paths(paths: set[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted(paths):
        if not kept or not path.startswith(kept[-1]):
            kept.append(path)
    return kept


def sync_for_units(units: Sequence[Unit]) -> list[SyncResult]:
    """Sync the active campaigns that units created or moved affect (the ``core.hooks`` handler).

    Those are the campaigns issued above a unit's new place, and those that still hold
    obligations inside a moved unit's subtree (issued above its old place). Registered in
    ``CampaignsConfig.ready``.
    """
    if not Campaign.objects.filter(status=Campaign.Status.ACTIVE).exists():
        return []
    paths = _minimal_paths({u.path for u in units})
    above = {p[:i] for p in paths for i in range(Unit.steplen, len(p), Unit.steplen)}
    ids = set(
        Campaign.objects.filter(status=Campaign.Status.ACTIVE, unit__path__in=above).values_list(
            "pk", flat=True
        )
    )
    for start in range(0, len(paths), 100):
        inside = Q(pk__in=[])
        for path in paths[start : start + 100]:
            inside |= Q(unit__path__startswith=path)
        ids.update(
            Obligation.objects.filter(inside, is_active=True, campaign__status=Campaign.Status.ACTIVE)
            .values_list("campaign_id", flat=True)
            .distinct()
        )
    return [sync_obligations(campaign) for campaign in Campaign.objects.filter(pk__in=ids).order_by("pk")]


# School calendars --------------------------------------------------------------------------------


@transaction.atomic
def set_school_calendar(
    unit: Unit, semesters: Sequence[P.Semester], actor: User | None = None
) -> list[SchoolCalendar]:
    """Replace a school's semesters; the units below it inherit them (an empty list restores the default)."""
    ordered = sorted(semesters)
    for semester in ordered:
        if not semester.name.strip():
            raise ValidationError({"semesters": _("学期名称不能为空")})
        if semester.end < semester.start:
            raise ValidationError(
                {"semesters": _("“%(name)s”的结束日期早于开始日期") % {"name": semester.name}}
            )
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start <= before.end:
            raise ValidationError(
                {"semesters": _("“%(a)s”与“%(b)s”的日期重叠") % {"a": before.name, "b": after.name}}
            )
    list(Unit.objects.select_for_update().filter(pk=unit.pk).values_list("pk"))  # one editor at a time
    SchoolCalendar.objects.filter(unit=unit).delete()
    return SchoolCalendar.objects.bulk_create(
        [
            SchoolCalendar(unit=unit, name=s.name.strip()[:60], starts_on=s.start, ends_on=s.end)
            for s in ordered
        ]
    )


# Reminders ---------------------------------------------------------------------------------------

# How many days before a period ends its reminder goes out; None: no reminders (daily work).
REMIND_DAYS: dict[str, int | None] = {
    P.DAILY: None,
    P.WEEKLY: 2,
    P.MONTHLY: 5,
    P.SEMESTER: 14,
    P.YEARLY: 30,
    P.ONCE: 7,
}


@transaction.atomic
def accept_period(obligation: Obligation, day: date, reason: str, actor: User | None) -> PeriodException:
    """Accept the period of ``obligation`` that holds ``day`` as done without the required records.

    Why a verb with a reason: an administrator may know the work was done (a lost photo, a meeting
    held with another unit), but the page, the exports and the rates must say it was accepted, by
    whom and why; the campaign history keeps the same. Only a closed period that is not met may be
    accepted: a settled one needs none, and a running or future one can still be done (accepting it
    ahead would excuse work that nobody has yet failed to do).
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写认可理由")})
    found = _period_state(obligation, day)
    if found.status in compliance.SETTLED:
        raise ValidationError({"period": _("这个周期已经完成，无需认可")})
    if found.status != compliance.Status.OVERDUE:
        raise ValidationError(
            {
                "period": _("周期尚未结束（%(end)s 结束），只能认可已结束且未完成的周期")
                % {"end": found.period.end}
            }
        )
    exception = PeriodException.objects.create(
        obligation=obligation,
        period_start=found.period.start,
        period_end=found.period.end,
        reason=reason[:1000],
        actor=actor,
    )
    obligation_event(
        obligation,
        EVENT_PERIOD_EXCEPTED,
        actor,
        period=[found.period.start.isoformat(), found.period.end.isoformat()],
        reason=exception.reason,
    )
    return exception


def obligation_event(obligation: Obligation, kind: str, actor: User | None, **detail: Any) -> CampaignEvent:
    """Append to the campaign's history an event about one obligation: every such event names the
    obligation, its unit and its rule the same way, so the history page reads them alike."""
    return CampaignEvent.objects.create(
        campaign=obligation.campaign,
        kind=kind,
        detail={
            "obligation": obligation.pk,
            "unit": obligation.unit_id,
            "rule": obligation.rule.code,
            **detail,
        },
        actor=actor if actor is not None and actor.is_authenticated else None,
    )


def _period_state(obligation: Obligation, day: date) -> compliance.PeriodState:
    """The state today of the period of ``obligation`` that holds ``day``."""
    snap = compliance.snapshot(obligation.campaign, Obligation.objects.filter(pk=obligation.pk))
    if not snap.items:
        raise ValidationError(_("这项工作任务已停用"))
    state = snap.state(snap.items[0], detail=True)
    found = next((p for p in state.periods if day in p.period), None)
    if found is None:
        raise ValidationError({"period": _("这一天不在任何周期内")})
    return found


@transaction.atomic
def withdraw_exception(obligation: Obligation, day: date, reason: str, actor: User | None) -> PeriodException:
    """Withdraw the acceptance of the period of ``obligation`` that holds ``day``; the period goes back to
    the status its records give it. Returns the withdrawn acceptance (no longer saved).

    Why a reason and an event, as for accepting: an acceptance found to be wrong (the meeting was never
    held) must be undone, and the history must say who undid it and why, next to who granted it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写撤销理由")})
    exception = (
        PeriodException.objects.select_for_update()
        .filter(obligation=obligation, period_start__lte=day, period_end__gte=day)
        .first()
    )
    if exception is None:
        raise ValidationError({"period": _("这个周期没有例外认可，无需撤销")})
    exception.delete()
    obligation_event(
        obligation,
        EVENT_EXCEPTION_WITHDRAWN,
        actor,
        period=[exception.period_start.isoformat(), exception.period_end.isoformat()],
        reason=reason[:1000],
        accepted_reason=exception.reason,
    )
    return exception


def queue_reminders(today: date | None = None, days: int | None = None) -> int:
    """Queue a reminder for every active obligation whose current period ends soon and is not met.

    It goes to the responsible person (in-app when they have an account, e-mail when the
    account has an address) and to the unit's channels (chat-group robots, e-mail addresses).
    The idempotency key holds the obligation and the period's first day, so running this twice
    sends once. ``days`` overrides ``REMIND_DAYS`` for every frequency. Returns the number of new
    outbox rows.
    """
    today = today or timezone.localdate()
    total = 0
    campaigns = Campaign.objects.filter(
        status=Campaign.Status.ACTIVE, starts_on__lte=today, ends_on__gte=today
    ).select_related("unit")
    for campaign in campaigns:
        snap = compliance.snapshot(campaign, Obligation.objects.all(), today)
        due: list[compliance.ObligationState] = []
        for item in snap.items:
            window = days if days is not None else REMIND_DAYS.get(snap.rules[item.rule_id].frequency)
            if window is None:
                continue
            state = snap.state(item)
            current = state.current
            if (
                current
                and current.status == compliance.Status.DUE
                and (current.period.end - today).days <= window
            ):
                due.append(state)
        if due:
            total += _queue_campaign_reminders(campaign, due, today)
    return total


@dataclass
class _Message:
    key: str
    kind: str
    to: Any  # User or Channel
    subject: str
    body: str
    link: str


def _reminder_messages(campaign: Campaign, due: list[compliance.ObligationState]) -> list[_Message]:
    from fanzha.notify.models import Channel, ChannelKind

    people = compliance.responsible_people((s.item.path, s.rule.responsible) for s in due)
    # A department duty's person in charge, named by the office, is reminded instead of the role holder.
    duty_pks = [s.item.pk for s in due if s.rule.department]
    in_charge: dict[int, Any] = {}
    for start in range(0, len(duty_pks), 500):
        for ob in Obligation.objects.filter(
            pk__in=duty_pks[start : start + 500], person_in_charge__isnull=False
        ).select_related("person_in_charge__user"):
            in_charge[ob.pk] = ob.person_in_charge
    unit_ids = sorted({s.item.unit_id for s in due})
    channels: dict[int, list[Channel]] = defaultdict(list)
    names: dict[int, str] = {}
    for start in range(0, len(unit_ids), 500):
        chunk = unit_ids[start : start + 500]
        names.update(Unit.objects.filter(pk__in=chunk).values_list("pk", "name"))
        for channel in Channel.objects.filter(
            unit_id__in=chunk,
            is_active=True,
            kind__in=[ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU, ChannelKind.EMAIL],
        ).order_by("pk"):
            channels[channel.unit_id].append(channel)
    messages: list[_Message] = []
    for state in due:
        assert state.current is not None
        period = state.current.period
        person = in_charge.get(state.item.pk) or compliance.responsible_for(state, people)
        subject = _("提醒：%(unit)s“%(title)s”将于 %(end)s 截止") % {
            "unit": names.get(state.item.unit_id, ""),
            "title": state.rule.title,
            "end": period.end.isoformat(),
        }
        body = _(
            "专项行动“%(campaign)s”：本期（%(start)s 至 %(end)s）要求至少 %(min)s 次，"
            "目前已记录 %(count)s 次。请在截止前完成并上传佐证。"
        ) % {
            "campaign": campaign.title,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "min": state.rule.min_count,
            "count": state.current.count,
        }
        if state.rule.evidence:
            body += "\n" + _("每次记录须附：%(evidence)s；缺少佐证的记录不计入。") % {
                "evidence": "、".join(str(compliance.EVIDENCE_LABELS.get(k, k)) for k in state.rule.evidence)
            }
        if state.measured is not None:
            body += "\n" + _("%(measure)s：%(done)s/%(total)s，须达到 %(target)s%%。") % {
                "measure": compliance.MEASURE_LABELS.get(state.rule.measure, state.rule.measure),
                "done": state.measured.done,
                "total": state.measured.total,
                "target": state.rule.target,
            }
        if person is not None:
            body += "\n" + _("责任人：%(name)s") % {"name": person.name}
        link = reverse("campaign_obligation", args=[campaign.pk, state.item.pk])
        key = f"reminder:{state.item.pk}:{period.start.isoformat()}"
        user = person.user if person is not None else None
        if user is not None and user.is_active:
            messages.append(_Message(f"{key}:in_app", ChannelKind.IN_APP, user, subject, body, link))
            if user.email:
                messages.append(_Message(f"{key}:email", ChannelKind.EMAIL, user, subject, body, link))
        for channel in channels.get(state.item.unit_id, []):
            messages.append(
                _Message(f"{key}:channel{channel.pk}", channel.kind, channel, subject, body, link)
            )
    return messages


def _queue_campaign_reminders(campaign: Campaign, due: list[compliance.ObligationState], today: date) -> int:
    from django.conf import settings

    from fanzha.notify import actions as notify
    from fanzha.notify.models import Outbox

    with translation.override(settings.LANGUAGE_CODE):
        messages = _reminder_messages(campaign, due)
    keys = [m.key for m in messages]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        existing.update(
            Outbox.objects.filter(idempotency_key__in=keys[start : start + 500]).values_list(
                "idempotency_key", flat=True
            )
        )
    new = [m for m in messages if m.key not in existing]
    if not new:
        return 0
    with transaction.atomic():
        for m in new:
            notify.queue(m.kind, m.to, subject=m.subject, body=m.body, link=m.link, key=m.key)
        CampaignEvent.objects.create(
            campaign=campaign, kind=EVENT_REMINDED, detail={"on": today.isoformat(), "messages": len(new)}
        )
    return len(new)
