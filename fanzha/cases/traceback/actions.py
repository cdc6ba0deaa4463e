"""The trace-back (倒查) of a case and the accountability actions (问责) a campaign's rules call for.

Why a frozen snapshot: a trace-back asks what the victim and their units had done *when the case
happened*, not today. Attestations, quiz attempts, attendance and activities keep their dates, so
the state at ``case.occurred_at`` is computed from history (the last attestation event at or
before the time, attempts submitted before it, activities held on or before its day) and stored in
``TraceBack.snapshot``; regenerating replaces the snapshot and keeps the lessons.

Accountability follows the campaigns running over the case's unit at the time: every rule whose
loss bounds match the case's loss proposes one action on the unit just below the campaign's unit.
The campaign's issuing side issues it; the target unit's own administrators acknowledge it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fanzha.campaigns import compliance
from fanzha.campaigns.models import Activity, ActivityKind, Attendance, Campaign, Obligation
from fanzha.campaigns.spec import TemplateError
from fanzha.org.models import Membership, Unit
from fanzha.org.scope import Cap, in_scope

from ..events import record_event
from ..models import Case, CaseEvent, TraceBack
from ..queries import ancestors_and_self, campaigns_at

STEP = Unit.steplen
MAX_LESSONS = 10_000
SNAPSHOT_VERSION = 1
# Activities a person attends in person: the ones whose attendance tells whether the victim was there.
ATTEND_KINDS = (
    ActivityKind.CLASS_MEETING,
    ActivityKind.LECTURE,
    ActivityKind.TRAINING,
    ActivityKind.FIRST_LESSON,
    ActivityKind.LAW_EDUCATION,
    ActivityKind.SCENARIO,
)
# Without a running campaign, how far back the victim's attendance is looked at.
ATTENDANCE_LOOKBACK = timedelta(days=365)
DONE_STATUSES = frozenset({"declared", "verified"})


def _record(case: Case, kind: str, actor: Any, **detail: Any) -> None:

    record_event(case, kind, actor, **detail)


def _require(actor: Any, unit: Unit, cap: Cap) -> None:
    if actor is None or not in_scope(actor, unit, cap):
        raise PermissionDenied(_("您没有权限进行此操作"))


# The trace-back snapshot ----------------------------------------------------------------------------


def _items_at(
    victim_id: int, kind: str, campaigns: list[Campaign], moment: datetime
) -> dict[int, list[dict]]:
    """Per campaign, each tracked item and the victim's status at ``moment`` from the attestation history."""
    from fanzha.reach.models import AttestationEvent
    from fanzha.reach.queries import applies, campaign_items, tracked_kinds

    last: dict[tuple[int, str], tuple[str, datetime | None]] = {}
    events = (
        AttestationEvent.objects.filter(
            attestation__person_id=victim_id,
            attestation__campaign__in=[c.pk for c in campaigns],
            at__lte=moment,
        )
        .order_by("at", "pk")
        .values_list("attestation__campaign_id", "attestation__item", "status_after", "at")
    )
    for campaign_id, item, status, at in events:
        last[(campaign_id, item)] = (status, at)
    result: dict[int, list[dict]] = {}
    for campaign in campaigns:
        try:
            items = campaign_items(campaign)
            kinds = tracked_kinds(campaign)
        except TemplateError:
            items, kinds = (), ()
        rows = []
        if kind in kinds:
            for item in items:
                if not applies(item, kind):
                    continue
                status, seen_at = last.get((campaign.pk, item), ("", None))
                rows.append(
                    {
                        "item": item,
                        "status": status,
                        "at": seen_at.isoformat() if seen_at else None,
                        "done": status in DONE_STATUSES,
                    }
                )
        result[campaign.pk] = rows
    return result


def _quiz_at(victim_id: int, moment: datetime) -> dict[str, Any]:
    from fanzha.learn.models import Attempt

    found = Attempt.objects.filter(
        person_id=victim_id, submitted_at__isnull=False, submitted_at__lte=moment
    ).aggregate(attempts=Count("pk"), best=Max("score"), passed=Count("pk", filter=Q(passed=True)))
    return {"attempts": found["attempts"], "best": found["best"], "passed": bool(found["passed"])}


def _activity_row(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.pk,
        "title": activity.title,
        "kind": activity.kind,
        "on": activity.occurred_on.isoformat(),
        "unit": activity.unit.name,
    }


def _attendance_at(case: Case, since: date, day: date) -> dict[str, Any]:
    """The in-person activities the victim attended from ``since`` to ``day``, and those held in their
    own units (where attendance was taken) that they missed."""
    assert case.victim_id is not None
    window = Q(is_deleted=False, occurred_on__gte=since, occurred_on__lte=day, kind__in=ATTEND_KINDS)
    attended = list(
        Activity.objects.filter(window, attendances__person_id=case.victim_id)
        .select_related("unit")
        .order_by("occurred_on", "pk")
    )
    own_units = set(
        Membership.objects.filter(person_id=case.victim_id, unit__is_active=True).values_list(
            "unit_id", flat=True
        )
    )
    own_units.add(case.unit_id)
    missed = list(
        Activity.objects.filter(window, unit_id__in=own_units)
        .filter(Exists(Attendance.objects.filter(activity=OuterRef("pk"))))
        .exclude(attendances__person_id=case.victim_id)
        .select_related("unit")
        .order_by("occurred_on", "pk")
    )
    return {
        "since": since.isoformat(),
        "attended": [_activity_row(a) for a in attended],
        "missed": len(missed),
        "missed_list": [_activity_row(a) for a in missed],
    }


def _compliance_at(campaign: Campaign, case: Case, day: date) -> list[dict[str, Any]]:
    """Obligation compliance on ``day`` of the case's unit and each ancestor up to the campaign's unit,
    nearest first. Activities dated after the day are left out, so a period is judged as it stood."""
    paths = ancestors_and_self(case.unit.path)[len(campaign.unit.path) // STEP - 1 :]
    snap = compliance.snapshot(campaign, Obligation.objects.filter(unit__path__in=paths), day)
    # Records entered after the day were not there yet either.
    snap.counts = {
        item.pk: {
            d: [e for e in entries if e[0] <= day]
            for d, entries in snap.counts.get(item.pk, {}).items()
            if d <= day
        }
        for item in snap.items
    }
    by_path: dict[str, list[compliance.ObligationState]] = defaultdict(list)
    for item in snap.items:
        by_path[item.path].append(snap.state(item))
    units = {u.path: u for u in Unit.objects.filter(path__in=paths)}
    rows = []
    for path in reversed(paths):
        unit = units.get(path)
        if unit is None:
            continue
        total = compliance.Tally()
        rules = []
        for state in by_path.get(path, []):
            total.merge(state.tally)
            current = state.current
            rules.append(
                {
                    "rule": state.rule.code,
                    "title": state.rule.title,
                    "frequency": state.rule.frequency,
                    "min": state.rule.min_count,
                    "done": state.tally.done,
                    "late": state.tally.late,
                    "due": state.tally.due,
                    "overdue": state.tally.overdue,
                    "percent": state.tally.percent,
                    "current": None
                    if current is None
                    else {
                        "start": current.period.start.isoformat(),
                        "end": current.period.end.isoformat(),
                        "count": current.count,
                        "status": str(current.status),
                    },
                }
            )
        rows.append(
            {
                "unit_id": unit.pk,
                "unit": unit.name,
                "kind": unit.kind,
                "done": total.done,
                "due": total.due,
                "overdue": total.overdue,
                "percent": total.percent,
                "rules": rules,
            }
        )
    return rows


def _past_half(current: dict[str, Any], day: date) -> bool:
    """Whether more than half of a period had gone by on ``day``: an unmet period is a finding only then
    (a yearly task not yet done in the year's third week says nothing)."""
    start, end = date.fromisoformat(current["start"]), date.fromisoformat(current["end"])
    return (day - start).days + 1 > ((end - start).days + 1) / 2


def _findings(snap: dict[str, Any]) -> list[dict[str, Any]]:
    """Plain facts that the snapshot shows, most personal first (stored as codes, worded on display)."""
    found: list[dict[str, Any]] = []
    day = date.fromisoformat(snap["day"])
    if not snap["roster"]:
        found.append({"code": "non_roster"})
    if not snap["campaigns"]:
        found.append({"code": "no_campaign"})
    quiz = snap.get("quiz")
    # A pass verified by staff (a paper quiz, a quiz taken elsewhere) answers for the quiz: no finding
    # about online attempts then.
    quiz_attested = any(
        row["item"] == "quiz_passed" and row["done"] for c in snap["campaigns"] for row in c["items"]
    )
    if quiz is not None and snap["campaigns"] and not quiz_attested:
        if quiz["attempts"] == 0:
            found.append({"code": "quiz_never"})
        elif not quiz["passed"]:
            found.append({"code": "quiz_failed", "attempts": quiz["attempts"], "best": quiz["best"] or 0})
    if snap["roster"]:
        done: set[str] = set()
        missing: dict[str, str] = {}
        for campaign in snap["campaigns"]:
            for row in campaign["items"]:
                if row["done"]:
                    done.add(row["item"])
                else:
                    missing.setdefault(row["item"], row["status"])
        quiz_reported = any(f["code"].startswith("quiz_") for f in found)
        for item, status in missing.items():
            if item in done or (item == "quiz_passed" and quiz_reported):
                continue
            found.append({"code": "item_rejected" if status == "rejected" else "item_missing", "item": item})
    activities = snap.get("activities")
    if activities is not None:
        if activities["missed"]:
            found.append({"code": "missed_activities", "n": activities["missed"]})
        if not activities["attended"] and snap["campaigns"]:
            found.append({"code": "no_attendance"})
    seen: set[tuple[str, str]] = set()
    for campaign in snap["campaigns"]:
        for unit in campaign["compliance"]:
            for rule in unit["rules"]:
                key = (unit["unit"], rule["title"])
                if key in seen:
                    continue
                current = rule["current"]
                if rule["overdue"]:
                    seen.add(key)
                    found.append(
                        {
                            "code": "obligation_overdue",
                            "unit": unit["unit"],
                            "rule": rule["title"],
                            "n": rule["overdue"],
                        }
                    )
                elif current and current["status"] == compliance.Status.DUE and _past_half(current, day):
                    seen.add(key)
                    found.append(
                        {
                            "code": "obligation_pending",
                            "unit": unit["unit"],
                            "rule": rule["title"],
                            "count": current["count"],
                            "min": rule["min"],
                            "start": current["start"],
                            "end": current["end"],
                        }
                    )
    if not found:
        found.append({"code": "no_gap"})
    return found


def build_snapshot(case: Case) -> dict[str, Any]:
    """What the trace-back records, as of ``case.occurred_at`` (plain JSON: codes, numbers, names)."""
    moment = case.occurred_at
    day = timezone.localdate(moment)
    campaigns = campaigns_at(case, moment)
    victim = case.victim
    roster = victim is not None
    items = _items_at(victim.pk, victim.kind, campaigns, moment) if victim is not None else {}
    snap: dict[str, Any] = {
        "version": SNAPSHOT_VERSION,
        "as_of": moment.isoformat(),
        "day": day.isoformat(),
        "unit": {"id": case.unit_id, "name": case.unit.name},
        "roster": roster,
        "campaigns": [
            {
                "id": c.pk,
                "title": c.title,
                "unit_id": c.unit_id,
                "unit": c.unit.name,
                "starts_on": c.starts_on.isoformat(),
                "ends_on": c.ends_on.isoformat(),
                "items": items.get(c.pk, []),
                "compliance": _compliance_at(c, case, day),
            }
            for c in campaigns
        ],
        "quiz": _quiz_at(victim.pk, moment) if victim is not None else None,
        "activities": None,
    }
    if victim is not None:
        since = min((c.starts_on for c in campaigns), default=day - ATTENDANCE_LOOKBACK)
        snap["activities"] = _attendance_at(case, since, day)
    snap["findings"] = _findings(snap)
    return snap


@transaction.atomic
def generate_traceback(case: Case, now: datetime | None = None) -> TraceBack:
    """Create or refresh the case's trace-back; the snapshot is replaced, the lessons kept."""
    now = now or timezone.now()
    snap = build_snapshot(case)
    traceback, _created = TraceBack.objects.update_or_create(
        case=case, defaults={"generated_at": now, "as_of": case.occurred_at, "snapshot": snap}
    )
    return traceback


@transaction.atomic
def regenerate_traceback(case: Case, actor: Any, now: datetime | None = None) -> TraceBack:
    """A person asks for the trace-back again (after the roster or records were corrected): ``CASE_EDIT``."""
    _require(actor, case.unit, Cap.CASE_EDIT)
    traceback = generate_traceback(case, now)
    _record(case, CaseEvent.Kind.TRACEBACK, actor, step="regenerated")
    return traceback


@transaction.atomic
def set_lessons(traceback: TraceBack, actor: Any, text: str, now: datetime | None = None) -> TraceBack:
    """Write the lessons drawn and the changes to make (``CASE_EDIT`` at the case's unit)."""
    now = now or timezone.now()
    traceback = TraceBack.objects.select_for_update().select_related("case__unit").get(pk=traceback.pk)
    _require(actor, traceback.case.unit, Cap.CASE_EDIT)
    lessons = (text or "").strip()
    if len(lessons) > MAX_LESSONS:
        raise ValidationError({"lessons": [_("教训与整改最多%(n)d字") % {"n": MAX_LESSONS}]})
    if lessons == traceback.lessons:
        return traceback
    traceback.lessons = lessons
    traceback.lessons_by = actor
    traceback.lessons_at = now
    traceback.save(update_fields=["lessons", "lessons_by", "lessons_at"])
    _record(traceback.case, CaseEvent.Kind.TRACEBACK, actor, step="lessons")
    return traceback


# Findings in words ---------------------------------------------------------------------------------

ITEM_FINDINGS: dict[str, Promise] = {
    "pledge_signed": gettext_lazy("受害人案发时未签署防诈承诺书"),
    "app_installed": gettext_lazy("受害人案发时未安装国家反诈中心APP"),
    "app_registered": gettext_lazy("受害人案发时未在国家反诈中心APP完成实名注册"),
    "app_warnings_on": gettext_lazy("受害人案发时未开启国家反诈中心APP预警功能"),
    "parent_notice_signed": gettext_lazy("受害人家长案发时未签回防骗告知书"),
    "parent_app_installed": gettext_lazy("受害人家长案发时未安装国家反诈中心APP"),
    "training_attended": gettext_lazy("受害人案发时未参加反诈培训"),
    "video_watched": gettext_lazy("受害人案发时未观看反诈警示视频"),
    "quiz_passed": gettext_lazy("受害人案发时反诈知识答题未合格"),
    "first_lesson_attended": gettext_lazy("受害人案发时未参加开学第一课"),
}


def finding_text(finding: dict[str, Any]) -> str:
    """One finding in words, in the current language."""
    code = finding.get("code", "")
    if code == "non_roster":
        return _("受害人不在花名册中，无法倒查其本人的宣传覆盖情况")
    if code == "no_campaign":
        return _("案发时所在单位没有进行中的专项行动")
    if code == "quiz_never":
        return _("受害人案发前从未参加反诈知识答题")
    if code == "quiz_failed":
        return _("受害人案发前参加反诈知识答题%(n)d次，均未合格（最高%(best)d分）") % {
            "n": finding["attempts"],
            "best": finding["best"],
        }
    if code in ("item_missing", "item_rejected"):
        text = str(ITEM_FINDINGS.get(finding["item"], finding["item"]))
        return text + (_("（申报未通过核实）") if code == "item_rejected" else "")
    if code == "missed_activities":
        return _("受害人缺席了案发前本人所在单位组织并登记签到的%(n)d次反诈活动") % {"n": finding["n"]}
    if code == "no_attendance":
        return _("受害人案发前未参加过任何有签到记录的反诈班会、讲座或培训")
    if code == "obligation_overdue":
        return _("%(unit)s：%(rule)s——截至案发时有%(n)d期逾期未完成") % {
            "unit": finding["unit"],
            "rule": finding["rule"],
            "n": finding["n"],
        }
    if code == "obligation_pending":
        return _(
            "%(unit)s：%(rule)s——案发时本期（%(start)s至%(end)s）已过半仍未完成，已开展%(count)d次，要求%(min)d次"
        ) % {k: finding[k] for k in ("unit", "rule", "start", "end", "count", "min")}
    if code == "no_gap":
        return _("案发时未发现宣传覆盖和工作落实方面的缺项")
    return code


def findings(traceback: TraceBack) -> list[str]:
    """The trace-back's findings in words (what the pages and the printed report show)."""
    return [finding_text(f) for f in traceback.snapshot.get("findings", [])]
