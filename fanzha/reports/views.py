"""Dashboard pages: choose a campaign, then every KPI of a unit and of each of its children (worst
first), a bar chart by child unit, the weekly trend, and at the bottom of the tree the people still
missing each item; the table as XLSX.

Thin: figures come from ``queries`` (pre-aggregated counts, a fixed number of queries whatever the
number of children), the missing people from ``reach.queries`` through ``org.scope``. A campaign or
unit outside the user's scope answers 404 like a missing one. Charts are drawn by a static script
from the page's JSON data island; the page has no inline script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fanzha.campaigns import actions as campaign_actions
from fanzha.campaigns.models import Campaign, Goal
from fanzha.core.downloads import generated_response
from fanzha.core.paging import paginate
from fanzha.org.models import Unit
from fanzha.org.scope import Cap, in_scope, scope_paths
from fanzha.org.views import AuthedRequest
from fanzha.reach import queries as reach_queries

from . import queries
from .export import board_xlsx
from .models import PersonHome
from .queries import Board, Kpis, Row

PAGE_SIZE = 50
MISSING_SHOWN = 60  # names listed per item at the bottom of the tree; the reach page has them all
LEAF_PEOPLE = 500  # people loaded for the missing lists of a unit without children


def _campaign(request: AuthedRequest, pk: int) -> Campaign:
    return get_object_or_404(queries.campaigns_for(request.user).select_related("unit", "template"), pk=pk)


def _unit(request: AuthedRequest, campaign: Campaign, pk: int) -> Unit:
    return get_object_or_404(queries.units_in(request.user, campaign).filter(is_active=True), pk=pk)


def _roots(request: AuthedRequest, campaign: Campaign) -> list[Unit]:
    """Where the user's scope begins inside the campaign (when the campaign's unit is above it)."""
    paths = [p for p in scope_paths(request.user) if p.startswith(campaign.unit.path)]
    return list(Unit.objects.filter(path__in=paths, is_active=True).order_by("path"))


def _sort_key(kpis: Kpis, raw: str | None) -> str:
    return raw if raw in (*kpis.items, "compliance") else "coverage"


def _board(request: AuthedRequest, campaign: Campaign, at: Unit | None) -> Board:
    """Figures of ``at`` and its children (or of the user's scope roots): three queries."""
    kpis = Kpis(campaign)
    children = (
        list(Unit.objects.filter(parent_path=at.path, is_active=True).order_by("path"))
        if at is not None
        else _roots(request, campaign)
    )
    ids = [u.pk for u in children] + ([at.pk] if at is not None else [])
    counts = queries.sums(campaign, ids)
    current = counts[at.pk] if at is not None else queries.total(counts[u.pk] for u in children)
    sort = _sort_key(kpis, request.GET.get("sort"))
    rows = [
        Row(u, kpis.figures(counts[u.pk]), reverse("dashboard_unit", args=[campaign.pk, u.pk]))
        for u in children
    ]
    rows = queries.worst_first(rows, sort)
    return Board(kpis, at, current, kpis.figures(current), rows, sort)


def _crumbs(request: AuthedRequest, campaign: Campaign, unit: Unit) -> list[dict[str, Any]]:
    """Units from the campaign's unit down to (not including) ``unit``, linked when in scope: one query."""
    step = Unit.steplen
    paths = [unit.path[:i] for i in range(len(campaign.unit.path), len(unit.path), step)]
    if not paths:
        return []
    return [
        {"unit": u, "link": in_scope(request.user, u)}
        for u in Unit.objects.filter(path__in=paths).order_by("path")
    ]


def _chart_data(board: Board, trend: queries.Trend) -> dict[str, Any]:
    kpis = board.kpis
    return {
        "items": [{"key": item, "label": kpis.labels[item]} for item in kpis.items],
        "labels": {"coverage": _("平均覆盖率"), "compliance": _("活动完成率"), "percent": "%"},
        "units": [row.unit.name for row in board.rows],
        "bars": {
            "coverage": [row.figures.coverage_percent for row in board.rows],
            "compliance": [row.figures.tally.percent for row in board.rows],
            **{item: [row.figures.items[item].percent for row in board.rows] for item in kpis.items},
        },
        "weeks": [day.strftime("%m-%d") for day in trend.weeks],
        "trend": trend.series,
        "totals": {
            item: {"done": r.done, "due": r.due, "percent": r.percent}
            for item, r in board.figures.items.items()
        },
    }


@dataclass
class Missing:
    item: str
    label: str
    ratio: queries.Ratio
    people: list[Any]
    url: str


def _missing(request: AuthedRequest, kpis: Kpis, unit: Unit) -> list[Missing]:
    """Per item, the people counted in a unit without children who have not done it: two queries.

    The people are reach's roster (through ``org.scope``) of those whose home unit lies here, so
    that the lists add up to the figures above (a counsellor is on the class's roster but counts
    in their school); reach's own page, linked, lists everyone with a place in the unit.
    """
    homed = PersonHome.objects.filter(unit__path__startswith=unit.path).values("person_id")
    people = list(reach_queries.roster(kpis.campaign, unit, request.user).filter(pk__in=homed)[:LEAF_PEOPLE])
    matrix = reach_queries.matrix(kpis.campaign, unit, people)
    result = []
    for index, item in enumerate(kpis.items):
        lacking = [
            row.person for row in matrix.rows if row.cells[index].applies and not row.cells[index].counted
        ]
        result.append(
            Missing(
                item,
                kpis.labels[item],
                queries.Ratio(matrix.done[item], matrix.due[item]),
                lacking[:MISSING_SHOWN],
                reverse("reach_item", args=[unit.pk, kpis.campaign.pk, item]),
            )
        )
    return result


@dataclass
class RecordForm:
    """A record form sent back with its errors: what was typed stays in it."""

    goal: int
    value: str
    note: str
    errors: list[str]


def _render(
    request: AuthedRequest,
    campaign: Campaign,
    at: Unit | None,
    record_form: RecordForm | None = None,
    status: int = 200,
) -> HttpResponse:
    board = _board(request, campaign, at)
    today = timezone.localdate()
    ids = [at.pk] if at is not None else [row.unit.pk for row in board.rows]
    trend = queries.trend(board.kpis, ids, board.current, today)
    leaf = at is not None and not board.rows
    goals = queries.campaign_goals(campaign)
    viewed = [at] if at is not None else [row.unit for row in board.rows]
    scope = queries.case_scope(request.user, viewed)
    progress = queries.case_progress(campaign, scope, goals, today) if scope is not None else None
    context = {
        "campaign": campaign,
        "board": board,
        "at": at,
        "crumbs": _crumbs(request, campaign, at) if at is not None else [],
        "goals": queries.goal_rows(
            board.kpis, board.figures, goals, progress, at.path if at is not None else ""
        ),
        "obligations": queries.obligation_status(board.figures),
        "may_record": in_scope(request.user, campaign.unit, Cap.CAMPAIGN),
        "record_form": record_form,
        # a judgement is of the campaign's whole unit: said so on the record forms of a unit below it
        "record_above": campaign.unit if at is None or at.pk != campaign.unit.pk else None,
        "periods_url": reverse("campaign_dashboard", args=[campaign.pk])
        + (f"?unit={at.pk}" if at is not None else ""),
        "cases": queries.case_kpis(request.user, campaign, viewed, goals, today),
        "case_stats_url": reverse("case_stats") + (f"?unit={at.pk}" if at is not None else ""),
        "items": [(item, board.kpis.labels[item]) for item in board.kpis.items],
        "summary": board.figures.cells,
        "chart": _chart_data(board, trend),
        "missing": _missing(request, board.kpis, at) if leaf and at is not None else [],
        "leaf": leaf,
        "today": today,
        "export_url": (
            reverse("dashboard_unit_export", args=[campaign.pk, at.pk])
            if at is not None
            else reverse("dashboard_campaign_export", args=[campaign.pk])
        ),
        "sort_options": [("coverage", _("平均覆盖率")), ("compliance", _("活动完成率"))]
        + [(item, board.kpis.labels[item]) for item in board.kpis.items],
    }
    return render(request, "reports/dashboard.html", context, status=status)


# Pages -----------------------------------------------------------------------------------------


@login_required
@require_GET
def dashboard_index(request: AuthedRequest) -> HttpResponse:
    """The campaigns whose dashboards the user may open, running ones first."""
    campaigns = (
        queries.campaigns_for(request.user).select_related("unit").order_by("status", "-starts_on", "-id")
    )
    paged = paginate(request, campaigns, PAGE_SIZE)
    context = {
        "paged": paged,
        "cases": queries.scope_case_kpis(request.user),
        "case_stats_url": reverse("case_stats"),
    }
    return render(request, "reports/index.html", context)


@login_required
@require_GET
def dashboard_campaign(request: AuthedRequest, pk: int) -> HttpResponse:
    """The campaign's top: its own unit when in scope, else the unit (or units) where the scope begins."""
    campaign = _campaign(request, pk)
    if in_scope(request.user, campaign.unit):
        return redirect("dashboard_unit", campaign.pk, campaign.unit.pk)
    roots = _roots(request, campaign)
    if not roots:
        raise Http404
    if len(roots) == 1:
        return redirect("dashboard_unit", campaign.pk, roots[0].pk)
    return _render(request, campaign, None)


@login_required
@require_GET
def dashboard_unit(request: AuthedRequest, pk: int, unit_pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    return _render(request, campaign, _unit(request, campaign, unit_pk))


@login_required
@require_POST
def dashboard_goal_record(request: AuthedRequest, pk: int, goal_pk: int) -> HttpResponse:
    """Record a judgement of a goal only a person can judge (``campaigns.actions.record_goal_value``);
    for those who run the campaign at its unit (``Cap.CAMPAIGN``), else 404 like a missing goal.
    Back to the dashboard it was sent from (``unit``); a refused value comes back in its form, with
    the reason, on that dashboard (status 400)."""
    campaign = _campaign(request, pk)
    goal = get_object_or_404(Goal, campaign=campaign, pk=goal_pk)
    if not in_scope(request.user, campaign.unit, Cap.CAMPAIGN):
        raise Http404
    raw = request.POST.get("unit", "")
    at = _unit(request, campaign, int(raw)) if raw.isdigit() else campaign.unit
    value, note = request.POST.get("value", ""), request.POST.get("note", "")
    try:
        campaign_actions.record_goal_value(goal, value, request.user, note)
    except ValidationError as exc:
        return _render(request, campaign, at, RecordForm(goal.pk, value, note, exc.messages), status=400)
    messages.success(request, _("已记录：%(goal)s") % {"goal": goal.description})
    return redirect("dashboard_unit", campaign.pk, at.pk)


@login_required
@require_GET
def dashboard_export(request: AuthedRequest, pk: int, unit_pk: int | None = None) -> HttpResponse:
    """The dashboard's table as XLSX: the unit (or scope roots) and each child with every figure."""
    campaign = _campaign(request, pk)
    at = _unit(request, campaign, unit_pk) if unit_pk is not None else None
    if at is None and in_scope(request.user, campaign.unit):
        at = campaign.unit
    if at is None and not _roots(request, campaign):
        raise Http404
    board = _board(request, campaign, at)
    data = board_xlsx(board, timezone.localdate())
    name = f"{campaign.title}-{at.name if at else _('我负责的单位')}-{timezone.localdate():%Y%m%d}.xlsx"
    return generated_response(data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name)
