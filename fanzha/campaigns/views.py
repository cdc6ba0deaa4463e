"""Campaign pages: list, start from a template, detail, sections, dashboard with drill-down,
period list and month calendar, and the school calendar. Thin: reads come from ``queries`` and
``compliance``, writes from ``actions``.

A campaign or unit outside the user's scope answers 404 exactly like a missing one; a visible
campaign that the user may not manage answers 403 on a write. Pages accept ``?on=YYYY-MM-DD``
to show compliance as of another day.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from fanzha.core import hooks
from fanzha.core.downloads import generated_response
from fanzha.core.paging import paginate
from fanzha.org.forms import apply_errors
from fanzha.org.models import Unit
from fanzha.org.names import Levels, role_label
from fanzha.org.scope import Cap, in_scope, people_for, reached_only, scope_paths, units_for
from fanzha.org.views import AuthedRequest

from . import actions, compliance, queries
from .activities.actions import RECORD
from .compliance import EVIDENCE_LABELS, MEASURE_LABELS
from .documents import formats
from .documents import plan as documents
from .duties import actions as duty_actions
from .duties import queries as duty_queries
from .forms import SchoolCalendarForm, SectionsForm, StartCampaignForm, flatten_sections, semester_lines
from .letters.actions import EVENT_LETTERS_GENERATED
from .models import Campaign, Frequency, Obligation
from .periods import Period, Semester, default_semesters
from .plan_templates.views import error_text, with_summaries
from .spec import TemplateError, TemplateSpec

PAGE_SIZE = 50

EVENT_LABELS: dict[str, Promise] = {
    actions.EVENT_STARTED: gettext_lazy("发起专项行动"),
    actions.EVENT_SECTIONS_EDITED: gettext_lazy("修改方案章节"),
    actions.EVENT_OBLIGATIONS_SYNCED: gettext_lazy("同步单位工作任务"),
    actions.EVENT_CLOSED: gettext_lazy("结束专项行动"),
    actions.EVENT_GOAL_RECORDED: gettext_lazy("记录目标达成情况"),
    actions.EVENT_REMINDED: gettext_lazy("发出截止提醒"),
    actions.EVENT_PERIOD_EXCEPTED: gettext_lazy("例外认可工作周期"),
    actions.EVENT_EXCEPTION_WITHDRAWN: gettext_lazy("撤销例外认可"),
    EVENT_LETTERS_GENERATED: gettext_lazy("生成责任书"),
    duty_actions.EVENT_DUTY_PERSON: gettext_lazy("指定部门职责责任人"),
}
FREQUENCY_LABELS = dict(Frequency.choices)
STATUS_CLASSES = {
    "done": "ok",
    "late": "warn",
    "excepted": "warn",
    "due": "warn",
    "overdue": "bad",
    "upcoming": "muted",
}
MISSING_SHOWN = 50  # names of people still missing shown on a measured obligation's page


# Lookups -----------------------------------------------------------------------------------------


def _campaign(request: AuthedRequest, pk: int) -> Campaign:
    return get_object_or_404(queries.campaigns_for(request.user).select_related("unit", "template"), pk=pk)


def _managed(request: AuthedRequest, pk: int) -> Campaign:
    """A campaign the user may change: 404 when invisible, 403 when visible but not theirs to manage."""
    campaign = _campaign(request, pk)
    if not in_scope(request.user, campaign.unit, Cap.CAMPAIGN):
        raise PermissionDenied
    return campaign


def _today(request: AuthedRequest) -> date:
    try:
        return date.fromisoformat(request.GET.get("on", ""))
    except ValueError:
        return timezone.localdate()


def _on_query(request: AuthedRequest) -> str:
    on = request.GET.get("on", "")
    try:
        date.fromisoformat(on)
    except ValueError:
        return ""
    return f"&on={on}"


@dataclass
class Viewpoint:
    """Where in the campaign's tree a page looks from: a unit, or the roots of the user's scope."""

    at: Unit | None
    roots: list[str]

    @property
    def path(self) -> str:
        return self.at.path if self.at else ""


def _viewpoint(request: AuthedRequest, campaign: Campaign) -> Viewpoint:
    raw = request.GET.get("unit")
    if raw:
        if not raw.isdigit():
            raise Http404
        inside = units_for(request.user).filter(path__startswith=campaign.unit.path)
        return Viewpoint(get_object_or_404(inside, pk=int(raw)), [])
    if in_scope(request.user, campaign.unit):
        return Viewpoint(campaign.unit, [])
    return Viewpoint(None, [p for p in scope_paths(request.user) if p.startswith(campaign.unit.path)])


def _snapshot(request: AuthedRequest, campaign: Campaign, view: Viewpoint) -> compliance.Snapshot:
    obligations = queries.obligations_for(request.user)
    if view.at is not None:
        obligations = obligations.filter(unit__path__startswith=view.at.path)
    return compliance.snapshot(
        campaign, obligations, _today(request), calendar_root=view.path or campaign.unit.path
    )


def min_count_text(frequency: str, n: int) -> str:
    """How many records a period needs: "每期至少 n 次", or "至少 n 次" for a one-off rule (one period)."""
    if frequency == "once":
        return ngettext("至少 %(n)s 次", "至少 %(n)s 次", n) % {"n": n}
    return ngettext("每期至少 %(n)s 次", "每期至少 %(n)s 次", n) % {"n": n}


def _crumbs(request: AuthedRequest, campaign: Campaign, unit: Unit | None) -> list[dict[str, Any]]:
    """The units from the campaign's unit down to (not including) ``unit``, linked when in scope."""
    if unit is None or unit.path == campaign.unit.path:
        return []
    step = Unit.steplen
    paths = [unit.path[:i] for i in range(len(campaign.unit.path), len(unit.path), step)]
    units = Unit.objects.filter(path__in=paths).order_by("path")
    return [{"unit": u, "link": in_scope(request.user, u)} for u in units]


def _tally_cells(tally: compliance.Tally) -> dict[str, Any]:
    return {
        "done": tally.done,
        "late": tally.late,
        "excepted": tally.excepted,
        "due": tally.due,
        "overdue": tally.overdue,
        "upcoming": tally.upcoming,
        "percent": tally.percent,
    }


# List, start, detail -------------------------------------------------------------------------------


@login_required
def campaign_list(request: AuthedRequest) -> HttpResponse:
    """Campaigns issued in the user's scope or above it."""
    campaigns = queries.campaigns_for(request.user).select_related("unit").order_by("-starts_on", "-id")
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "paged": paginate(request, campaigns, PAGE_SIZE),
            "can_start": bool(scope_paths(request.user, Cap.CAMPAIGN)),
        },
    )


def _require_starter(request: AuthedRequest) -> None:
    if not scope_paths(request.user, Cap.CAMPAIGN):
        raise PermissionDenied


@login_required
def campaign_start_choose(request: AuthedRequest) -> HttpResponse:
    """Step one of starting: pick a template."""
    _require_starter(request)
    templates = queries.templates_for(request.user).order_by("source", "code")
    return render(request, "campaigns/campaign_start_choose.html", {"rows": with_summaries(templates)})


@login_required
def campaign_start(request: AuthedRequest, template_pk: int) -> HttpResponse:
    """Steps two to four on one page: pick the unit (searched within the CAMPAIGN scope), fill the plan's
    fields, preview the plan text and its periods, then start (``actions.start_campaign``). "查找" and
    "预览" re-show the page with everything typed kept; only "发起" writes."""
    _require_starter(request)
    template = get_object_or_404(queries.templates_for(request.user), pk=template_pk)
    try:
        spec = template.spec()
    except TemplateError as exc:
        messages.error(request, _("模板有误，无法使用：%(error)s") % {"error": exc})
        return redirect("campaign_start_choose")
    sections = actions.section_dicts(spec.sections)
    form = StartCampaignForm(
        request.POST or None, spec=spec, user=request.user, sections=sections, query=request.GET.get("q", "")
    )
    previewing = request.method == "POST" and ("preview" in request.POST or "find" in request.POST)
    if request.method == "POST" and form.is_valid() and not previewing:
        try:
            campaign = actions.start_campaign(
                template,
                form.cleaned_data["unit"],
                form.cleaned_data["starts_on"],
                form.cleaned_data["ends_on"],
                form.placeholders(),
                form.edited_sections(),
                actor=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("专项行动已发起：%(title)s") % {"title": campaign.title})
            return redirect("campaign_detail", pk=campaign.pk)
    finding = request.method == "POST" and "find" in request.POST  # a search is no failed start
    status = 400 if request.method == "POST" and not finding and (form.errors or not previewing) else 200
    values = _preview_values(spec, form)
    fill = documents.labelled_filler(values, form.section_labels)
    return render(
        request,
        "campaigns/campaign_start.html",
        {
            "template": template,
            "spec": spec,
            "form": form,
            "unit_choices": form.unit_choices(),
            "plan": _planned(spec, form),
            "unmatched": _unmatched(spec, form),
            "placeholder_fields": [form[f"ph_{name}"] for name in form.placeholder_names],
            "section_fields": _section_fields(form),
            "preview_title": fill(spec.title),
            "preview_sections": [
                {"heading": fill(flat.heading), "body": fill(form.section_body(name)), "depth": flat.depth}
                for flat, name in form.section_rows
            ],
        },
        status=status,
    )


def _preview_values(spec: TemplateSpec, form: StartCampaignForm) -> dict[str, str]:
    """The values the plan will be filled with, as the start would fill them (``actions.placeholder_values``
    once a unit is picked; the template's defaults before)."""
    cleaned = getattr(form, "cleaned_data", None) or {}
    given = {name: str(cleaned.get(f"ph_{name}") or "") for name in form.placeholder_names}
    if cleaned.get("organisation"):
        given["organisation"] = cleaned["organisation"]
    unit = form.chosen_unit()
    starts_on = cleaned.get("starts_on") or timezone.localdate()
    if unit is not None:
        return actions.placeholder_values(spec, unit, starts_on, given)
    return documents.plan_values(spec, None, {k: v for k, v in given.items() if v}, today=starts_on)


def _planned(spec: TemplateSpec, form: StartCampaignForm) -> list[dict[str, Any]]:
    """Each rule with every period it will demand, for the dates on the form (as typed, else the
    initial ones): the start page shows them before anything is started (``compliance.planned_periods``,
    the same computation as the running campaign's)."""
    cleaned = getattr(form, "cleaned_data", {}) if form.is_bound else {}
    unit = cleaned.get("unit") if isinstance(cleaned.get("unit"), Unit) else None
    if form.is_bound and "starts_on" not in cleaned:
        return []  # no valid start date: nothing to compute
    starts_on = cleaned.get("starts_on") or form.fields["starts_on"].initial or timezone.localdate()
    ends_on = cleaned.get("ends_on") or actions.default_end(spec, starts_on)
    if ends_on < starts_on:
        return []
    naming = Levels([unit])
    fill = documents.filler(documents.plan_values(spec, unit, today=starts_on))
    return [
        {
            "code": rule.code,
            "title": fill(rule.title),
            "department": rule.department,
            "frequency": FREQUENCY_LABELS.get(rule.frequency, rule.frequency),
            "level": naming.kind(rule.level, unit),
            "count_text": min_count_text(rule.frequency, rule.min_count),
            "periods": rule.periods,
            "first": rule.periods[0] if rule.periods else None,
            "last": rule.periods[-1] if rule.periods else None,
        }
        for rule in compliance.planned_periods(spec, unit, starts_on, ends_on)
    ]


def _unmatched(spec: TemplateSpec, form: StartCampaignForm) -> list[str]:
    """The tracked departments no unit under the chosen unit answers to (``actions.unmatched_departments``,
    the same function the start records); nothing before a unit is chosen."""
    cleaned = getattr(form, "cleaned_data", {}) if form.is_bound else {}
    unit = cleaned.get("unit") if isinstance(cleaned.get("unit"), Unit) else None
    if unit is None:
        unit = form.offered_unit
    return actions.unmatched_departments(spec, unit) if unit is not None else []


def _section_fields(form: StartCampaignForm | SectionsForm) -> list[dict[str, Any]]:
    return [{"field": form[name], "depth": flat.depth, "auto": flat.auto} for flat, name in form.section_rows]


def _event_note(event: Any) -> str:
    """The line a history entry needs beyond its label: for an accepted or withdrawn period, which and
    why; for a start that found no unit for some departments, which."""
    unmatched = (
        (event.detail or {}).get("unmatched_departments") if event.kind == actions.EVENT_STARTED else None
    )
    if unmatched:
        return _("未找到对应单位的部门：%(names)s") % {"names": "、".join(unmatched)}
    if event.kind not in (actions.EVENT_PERIOD_EXCEPTED, actions.EVENT_EXCEPTION_WITHDRAWN):
        return ""
    detail = event.detail or {}
    start, end = (detail.get("period") or ["", ""])[:2]
    return _("%(start)s 至 %(end)s：%(reason)s") % {
        "start": start,
        "end": end,
        "reason": detail.get("reason", ""),
    }


@login_required
def campaign_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """A campaign's goals, rules, plan sections and history."""
    campaign = _campaign(request, pk)
    rules = campaign.rules.annotate(
        units=Count("obligations", filter=Q(obligations__is_active=True))
    ).order_by("pk")
    naming = Levels([campaign.unit])  # 辅导员 at a university, 班主任 at a school, 教师 at a kindergarten
    rule_rows = [
        {
            "rule": r,
            "frequency": FREQUENCY_LABELS.get(r.frequency, r.frequency),
            "level": naming.kind(r.level, campaign.unit),
            "responsible": naming.role(r.responsible, campaign.unit),
            "measure": MEASURE_LABELS.get(r.measure, r.measure),
            "evidence": "、".join(str(EVIDENCE_LABELS.get(k, k)) for k in r.evidence),
        }
        for r in rules
    ]
    measures = {g.code: g.measure for g in campaign.spec().goals if g.measure}
    events = [
        {"event": e, "label": EVENT_LABELS.get(e.kind, e.kind), "note": _event_note(e)}
        for e in campaign.events.select_related("actor")[:20]
    ]
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "goals": [
                {"goal": g, "target": documents.goal_target_text(g, measures.get(g.code, ""))}
                for g in campaign.goals.order_by("deadline", "pk")
            ],
            "rules": rule_rows,
            "sections": list(flatten_sections(campaign.sections)),
            "events": events,
            "can_manage": in_scope(request.user, campaign.unit, Cap.CAMPAIGN),
            "is_active": campaign.status == Campaign.Status.ACTIVE,
        },
    )


PLAN_FORMATS = ("docx", "pdf")


@login_required
@require_GET
def campaign_plan(request: AuthedRequest, pk: int, fmt: str) -> HttpResponse:
    """The campaign's plan document (its own copy of the template, placeholders, sections) as DOCX or PDF."""
    campaign = _campaign(request, pk)
    if fmt not in PLAN_FORMATS:
        raise Http404
    try:
        content, content_type = formats.render(documents.campaign_plan(campaign), fmt)
    except TemplateError as exc:
        return HttpResponse(error_text(exc), status=409, content_type="text/plain; charset=utf-8")
    except formats.CJKFontMissing as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    name = "".join(ch for ch in campaign.title if ch not in '\\/:*?"<>|').strip() or _("专项行动方案")
    return generated_response(content, content_type, f"{name}.{fmt}")


@login_required
def campaign_sections(request: AuthedRequest, pk: int) -> HttpResponse:
    """Edit the plan's section texts (managers only)."""
    campaign = _managed(request, pk)
    form = SectionsForm(request.POST or None, sections=campaign.sections)
    if request.method == "POST" and form.is_valid():
        try:
            actions.edit_sections(campaign, form.edited_sections(), actor=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("方案章节已保存"))
            return redirect("campaign_detail", pk=campaign.pk)
    return render(
        request,
        "campaigns/campaign_sections.html",
        {"campaign": campaign, "form": form, "section_fields": _section_fields(form)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def campaign_close(request: AuthedRequest, pk: int) -> HttpResponse:
    campaign = _managed(request, pk)
    actions.close_campaign(campaign, actor=request.user)
    messages.success(request, _("专项行动已结束"))
    return redirect("campaign_detail", pk=campaign.pk)


@login_required
@require_POST
def campaign_sync(request: AuthedRequest, pk: int) -> HttpResponse:
    """Bring obligations in step with the tree now (the unit-tree hook normally does it)."""
    campaign = _managed(request, pk)
    result = actions.sync_obligations(campaign, actor=request.user)
    messages.success(
        request,
        _("已同步：新增 %(created)s 项，停用 %(deactivated)s 项，恢复 %(reactivated)s 项")
        % {"created": result.created, "deactivated": result.deactivated, "reactivated": result.reactivated},
    )
    if result.letters:
        messages.success(request, _("为新增单位生成了 %(n)s 份责任书") % {"n": result.letters})
    return redirect("campaign_detail", pk=campaign.pk)


# Dashboard and drill-down --------------------------------------------------------------------------


def _current_cells(state: compliance.ObligationState) -> dict[str, Any]:
    current = state.current
    if current is None:
        return {"label": _("当前不在任何周期内"), "css": "muted", "period": None, "count": None}
    return {
        "label": current.label,
        "css": STATUS_CLASSES[current.status],
        "period": current.period,
        "count": current.count,
    }


@login_required
def campaign_dashboard(request: AuthedRequest, pk: int) -> HttpResponse:
    """Per-unit compliance with the lagging units first; a unit's own obligations with who is responsible."""
    campaign = _campaign(request, pk)
    view = _viewpoint(request, campaign)
    snap = _snapshot(request, campaign, view)
    board = compliance.dashboard(snap, view.at, view.roots)
    on = _on_query(request)
    base = reverse("campaign_dashboard", args=[campaign.pk])
    rows = [
        {
            "unit": row.unit,
            "url": f"{base}?unit={row.unit.pk}{on}",
            "obligations": row.obligations,
            **_tally_cells(row.tally),
        }
        for row in board.rows
    ]
    people = (
        compliance.responsible_people((s.item.path, s.rule.responsible) for s in board.own)
        if board.own
        else {}
    )
    # A department duty shows the person the office put in charge of it, before the role's holder.
    in_charge = {
        o.pk: o.person_in_charge
        for o in Obligation.objects.filter(
            pk__in=[s.item.pk for s in board.own if s.rule.department], person_in_charge__isnull=False
        ).select_related("person_in_charge")
    }
    own = [
        {
            "state": s,
            "frequency": FREQUENCY_LABELS.get(s.rule.frequency, s.rule.frequency),
            "current": _current_cells(s),
            "person": _shown_person(
                request, view.at, in_charge.get(s.item.pk) or compliance.responsible_for(s, people)
            )
            if view.at is not None
            else in_charge.get(s.item.pk) or compliance.responsible_for(s, people),
            "url": reverse("campaign_obligation", args=[campaign.pk, s.item.pk])
            + (f"?{on[1:]}" if on else ""),
            **_tally_cells(s.tally),
        }
        for s in board.own
    ]
    linked = _openable(request, [row["person"] for row in own])
    for row in own:
        row["person_linked"] = row["person"] is not None and row["person"].pk in linked
    return render(
        request,
        "campaigns/campaign_dashboard.html",
        {
            "campaign": campaign,
            "at": view.at,
            "crumbs": _crumbs(request, campaign, view.at),
            "today": snap.today,
            "totals": _tally_cells(board.totals),
            "paged": paginate(request, rows, PAGE_SIZE),
            "own": own,
            "duty_rows": _duty_rows(request, campaign, view),
            "unit_query": f"?unit={view.at.pk}" if view.at else "",
        },
    )


def _duty_rows(request: AuthedRequest, campaign: Campaign, view: Viewpoint) -> list[dict[str, Any]]:
    """The office's view of the departments' duties, on the dashboard of the campaign's own unit."""
    if view.at is None or view.at.pk != campaign.unit_id or not campaign.has_duties:
        return []
    if not duty_queries.is_office(request.user, campaign):
        return []
    rows = duty_queries.standing(campaign, duty_queries.duties_for(request.user, campaign), _today(request))
    return [{"row": r, "url": reverse("duty_list", args=[campaign.pk, r.unit.pk])} for r in rows]


@login_required
def campaign_obligation(request: AuthedRequest, pk: int, obligation_pk: int) -> HttpResponse:
    """One unit's obligation: each period begun, with its count and status; and who is responsible."""
    campaign = _campaign(request, pk)
    obligation = get_object_or_404(
        queries.obligations_for(request.user)
        .filter(campaign=campaign)
        .select_related("rule", "unit", "person_in_charge"),
        pk=obligation_pk,
    )
    snap = compliance.snapshot(
        campaign,
        Obligation.objects.filter(pk=obligation.pk),
        _today(request),
        calendar_root=obligation.unit.path,
    )
    if not snap.items:  # switched off, or its unit left the campaign
        state = None
        periods: list[dict[str, Any]] = []
    else:
        state = snap.state(snap.items[0], detail=True)
        begun = [p for p in state.periods if p.period.start <= snap.today]
        upcoming = [p for p in state.periods if p.period.start > snap.today][:1]
        exceptions = {e.period_start: e for e in obligation.exceptions.select_related("actor")}
        periods = [
            {
                "period": p.period,
                # A record entered late is still a record: the count holds it, and says how many were late.
                "count": p.count + p.late,
                "late": p.late,
                "short": p.short,
                "label": p.label,
                "css": STATUS_CLASSES[p.status],
                "exception": exceptions.get(p.period.start),
                # Only a closed period that is not met may be accepted (``actions.accept_period``).
                "acceptable": p.status == compliance.Status.OVERDUE,
            }
            for p in reversed(begun + upcoming)
        ]
    rule = obligation.rule
    missing: tuple[str, ...] = ()
    if rule.measure and state is not None:
        shown = hooks.measure(campaign, rule.measure, [obligation.unit], MISSING_SHOWN, request.user)
        found = shown.get(obligation.unit_id)
        missing = found.missing if found else ()
    people = compliance.responsible_people([(obligation.unit.path, obligation.rule.responsible)])
    person = _shown_person(
        request, obligation.unit, people[(obligation.unit.path, obligation.rule.responsible)]
    )
    record_url = ""
    if (
        obligation.is_active
        and campaign.status == Campaign.Status.ACTIVE
        and in_scope(request.user, obligation.unit, RECORD)
    ):
        query = {"unit": obligation.unit_id, "obligation": obligation.pk}
        if obligation.rule.activity_kinds:
            query["kind"] = obligation.rule.activity_kinds[0]
        record_url = reverse("activity_record") + "?" + urlencode(query)
    activities = (
        queries.activities_for(request.user)
        .filter(obligation=obligation)
        .order_by("-occurred_on", "-id")[:20]
    )
    return render(
        request,
        "campaigns/campaign_obligation.html",
        {
            "campaign": campaign,
            "obligation": obligation,
            "rule": obligation.rule,
            "frequency": FREQUENCY_LABELS.get(obligation.rule.frequency, obligation.rule.frequency),
            "count_text": min_count_text(obligation.rule.frequency, obligation.rule.min_count),
            "state": state,
            "tally": _tally_cells(state.tally) if state else None,
            "paged": paginate(request, periods, PAGE_SIZE),
            "person": person,
            "person_linked": bool(_openable(request, [person])),
            "responsible": role_label(
                compliance.acting_role(
                    obligation.rule.responsible,
                    obligation.unit.kind,
                    person is not None
                    and person.memberships.filter(
                        unit=obligation.unit, role=obligation.rule.responsible
                    ).exists(),
                ),
                obligation.unit,
            ),
            "activities": activities,
            "crumbs": _crumbs(request, campaign, obligation.unit),
            "today": snap.today,
            "record_url": record_url,
            "evidence": [EVIDENCE_LABELS.get(k, k) for k in rule.evidence],
            "measure_label": MEASURE_LABELS.get(rule.measure, rule.measure),
            "measured": state.measured if state else None,
            "missing": missing,
            "can_accept": campaign.status == Campaign.Status.ACTIVE
            and in_scope(request.user, campaign.unit, Cap.CAMPAIGN),
        },
    )


@login_required
@require_POST
def campaign_obligation_accept(request: AuthedRequest, pk: int, obligation_pk: int) -> HttpResponse:
    """Accept one period of an obligation as an exception, with a reason (campaign managers only)."""
    campaign = _managed(request, pk)
    obligation = get_object_or_404(
        queries.obligations_for(request.user)
        .filter(campaign=campaign)
        .select_related("rule", "unit", "person_in_charge"),
        pk=obligation_pk,
    )
    try:
        day = date.fromisoformat(request.POST.get("period", ""))
    except ValueError:
        raise Http404 from None
    try:
        actions.accept_period(obligation, day, request.POST.get("reason", ""), request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已按例外认可该周期"))
    return redirect("campaign_obligation", pk=campaign.pk, obligation_pk=obligation.pk)


@login_required
def campaign_obligation_withdraw(request: AuthedRequest, pk: int, obligation_pk: int) -> HttpResponse:
    """GET: ask to confirm withdrawing a period's acceptance, with a reason. POST: withdraw it (campaign
    managers only, like accepting); the period goes back to the status its records give it."""
    campaign = _managed(request, pk)
    obligation = get_object_or_404(
        queries.obligations_for(request.user)
        .filter(campaign=campaign)
        .select_related("rule", "unit", "person_in_charge"),
        pk=obligation_pk,
    )
    try:
        day = date.fromisoformat(request.POST.get("period", "") or request.GET.get("period", ""))
    except ValueError:
        raise Http404 from None
    exception = get_object_or_404(
        obligation.exceptions.select_related("actor"), period_start__lte=day, period_end__gte=day
    )
    back = redirect("campaign_obligation", pk=campaign.pk, obligation_pk=obligation.pk)
    error = ""
    if request.method == "POST":
        try:
            actions.withdraw_exception(obligation, day, request.POST.get("reason", ""), request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("已撤销该周期的例外认可"))
            return back
    return render(
        request,
        "campaigns/campaign_obligation_withdraw.html",
        {
            "campaign": campaign,
            "obligation": obligation,
            "exception": exception,
            "error": error,
            "reason": request.POST.get("reason", ""),
        },
        status=400 if error else 200,
    )


def _openable(request: AuthedRequest, people: Iterable[Any]) -> set[int]:
    """Of ``people``, the ids whose page the user may open: a name links only there (no link to a 404,
    such as the college liaison's page for a counsellor). One query."""
    ids = {p.pk for p in people if p is not None}
    return set(people_for(request.user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()


def _shown_person(request: AuthedRequest, unit: Unit, person: Any) -> Any:
    """The responsible person, unless the unit is a room the user reaches only through their students
    and the person is not one of them (a counsellor does not learn who else lives there)."""
    if person is None or not reached_only(request.user, unit):
        return person
    return person if people_for(request.user).filter(pk=person.pk).exists() else None


# Period list and month calendar -------------------------------------------------------------------


def _month(request: AuthedRequest, campaign: Campaign, today: date) -> date:
    raw = request.GET.get("month", "")
    try:
        year, month = (int(part) for part in raw.split("-"))
        return date(year, month, 1)
    except ValueError:
        pass
    day = min(max(today, campaign.starts_on), campaign.ends_on)
    return day.replace(day=1)


def _entries(
    request: AuthedRequest, campaign: Campaign, first: date, last: date
) -> tuple[Viewpoint, list[compliance.DayEntry]]:
    view = _viewpoint(request, campaign)
    return view, compliance.ending_between(_snapshot(request, campaign, view), first, last)


def _entry_cells(campaign: Campaign, entry: compliance.DayEntry, on: str) -> dict[str, Any]:
    url = ""
    if entry.obligation_pk is not None:
        url = reverse("campaign_obligation", args=[campaign.pk, entry.obligation_pk]) + (
            f"?{on[1:]}" if on else ""
        )
    worst = (
        "overdue"
        if entry.tally.overdue
        else "due"
        if entry.tally.due
        else "late"
        if entry.tally.late or entry.tally.excepted
        else "done"
        if entry.tally.done
        else "upcoming"
    )
    return {
        "day": entry.day,
        "title": entry.rule.title,
        "frequency": FREQUENCY_LABELS.get(entry.rule.frequency, entry.rule.frequency),
        "url": url,
        "css": STATUS_CLASSES[worst],
        **_tally_cells(entry.tally),
    }


def _month_context(request: AuthedRequest, campaign: Campaign) -> dict[str, Any]:
    today = _today(request)
    month = _month(request, campaign, today)
    last = month.replace(day=_calendar.monthrange(month.year, month.month)[1])
    view, entries = _entries(request, campaign, month, last)
    on = _on_query(request)
    unit = f"&unit={view.at.pk}" if view.at else ""
    prev_month = (month - timedelta(days=1)).replace(day=1)
    next_month = last + timedelta(days=1)
    return {
        "campaign": campaign,
        "at": view.at,
        "crumbs": _crumbs(request, campaign, view.at),
        "month": month,
        "today": today,
        "entries": [_entry_cells(campaign, e, on) for e in entries],
        "prev_query": f"?month={prev_month:%Y-%m}{unit}{on}",
        "next_query": f"?month={next_month:%Y-%m}{unit}{on}",
        "this_query": f"?month={month:%Y-%m}{unit}{on}",
    }


@login_required
def campaign_periods(request: AuthedRequest, pk: int) -> HttpResponse:
    """The periods that end in a month, per day and rule, as a list."""
    context = _month_context(request, _campaign(request, pk))
    return render(request, "campaigns/campaign_periods.html", context)


@login_required
def campaign_calendar(request: AuthedRequest, pk: int) -> HttpResponse:
    """The same as a month grid: in each day, the periods that end that day and their status."""
    context = _month_context(request, _campaign(request, pk))
    by_day: dict[date, list[dict[str, Any]]] = {}
    for entry in context["entries"]:
        by_day.setdefault(entry["day"], []).append(entry)
    month = context["month"]
    weeks = []
    for week in _calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month):
        weeks.append(
            [
                {
                    "day": day,
                    "in_month": day.month == month.month,
                    "is_today": day == context["today"],
                    "entries": by_day.get(day, []) if day.month == month.month else [],
                }
                for day in week
            ]
        )
    context["weeks"] = weeks
    context["weekdays"] = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]
    return render(request, "campaigns/calendar.html", context)


# School calendar -------------------------------------------------------------------------------------


@login_required
def school_calendar(request: AuthedRequest, unit_pk: int) -> HttpResponse:
    """A unit's own semesters, or the ones it inherits; editors may set its own."""
    unit = get_object_or_404(units_for(request.user), pk=unit_pk)
    can_edit = in_scope(request.user, unit, Cap.CAMPAIGN)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    own = [Semester(s.starts_on, s.ends_on, s.name) for s in unit.semesters.order_by("starts_on")]
    form = SchoolCalendarForm(request.POST or None, initial={"semesters": semester_lines(own)})
    if request.method == "POST" and form.is_valid():
        try:
            actions.set_school_calendar(unit, form.cleaned_data["semesters"], actor=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("校历已保存"))
            return redirect("school_calendar", unit_pk=unit.pk)
    owner_path, inherited = compliance.load_calendars(unit.path).for_path(unit.path)
    owner = None
    if inherited and owner_path != unit.path:
        owner = Unit.objects.filter(path=owner_path).first()
    year = _today(request).year
    effective = list(inherited) if inherited else default_semesters(year, year + 1)
    return render(
        request,
        "campaigns/calendar_school.html",
        {
            "unit": unit,
            "own": own,
            "owner": owner,
            "is_default": not inherited,
            "effective": [Period(s.start, s.end, s.name) for s in effective],
            "form": form if can_edit else None,
        },
        status=400 if request.method == "POST" else 200,
    )
