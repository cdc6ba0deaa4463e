"""The statistics page of the case ledger (/cases/stats/): a unit of the user's scope, a year or a
month; cases and losses by month against last year, by type and by child unit (with drill-down),
the year-on-year and month-on-month change, the running campaigns' case goals, and how fast the
stop-payment alerts went out and were acknowledged. Its figures as XLSX; the ledger as XLSX
(masked on GET, revealed on POST for roles that may).

Thin: figures from ``stats``, the export from ``actions.export_ledger``. A unit outside the user's
``Cap.CASE_VIEW`` scope answers 404 like a missing one; charts are drawn by ``cases/stats.js``
from the page's JSON data island, with the vendored ECharts of ``reports``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fanzha.campaigns.queries import campaigns_for
from fanzha.core.downloads import generated_response
from fanzha.org.models import Unit
from fanzha.org.scope import POLICE_KINDS, Cap, in_scope, in_tree_scope, scope_paths, tree_paths
from fanzha.org.views import AuthedRequest

from .. import actions
from ..cardfraud import queries as cardfraud
from . import export, results
from . import queries as stats

FIRST_YEAR = stats.FIRST_YEAR
YEARS_SHOWN = 6
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _unit(request: AuthedRequest) -> Unit:
    """The unit asked for (``?unit=pk``) inside the case scope, else where the scope begins (404: none)."""
    unit = stats.scoped_unit(request.user, request.GET.get("unit") or request.POST.get("unit") or "")
    if unit is None:
        raise Http404
    return unit


def _period(request: AuthedRequest) -> tuple[int, int | None]:
    """The year (default this year) and the month (1–12, or None for the whole year)."""
    return stats.period_of(request.GET)


def _query(unit: Unit, year: int, month: int | None) -> str:
    params: dict[str, Any] = {"unit": unit.pk, "year": year}
    if month:
        params["month"] = month
    return "?" + urlencode(params)


def _report(request: AuthedRequest, unit: Unit, year: int, month: int | None) -> stats.Report:
    campaigns = stats.running_campaigns(campaigns_for(request.user), unit)
    return stats.report(stats.unit_cases(request.user, unit), unit, year, month, campaigns)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


def _results(
    request: AuthedRequest, unit: Unit, report: stats.Report, year: int, month: int | None
) -> dict[str, Any]:
    """The police results beside the case figures: the tiles (with year-on-year change), the per-unit
    rows, and the links to the bulletin of the same period and to record a gang."""
    fig = results.figures(results.sources_for(request.user), unit, report.period, report.units)
    c = fig.change
    rate = results.clearance_rate(c.current.cleared, report.change.current.cases)
    tiles = [
        ("cleared", _("破案数"), str(c.current.cleared), _percent(c.yoy("cleared")), c.year_before.cleared),
        ("rate", _("破案率"), "—" if rate is None else f"{rate:.1f}%", "", None),
        (
            "suspects",
            _("抓获嫌疑人"),
            str(c.current.suspects),
            _percent(c.yoy("suspects")),
            c.year_before.suspects,
        ),
        ("gangs", _("打掉团伙"), str(c.current.gangs), _percent(c.yoy("gangs")), c.year_before.gangs),
        (
            "recovered",
            _("追回金额（元）"),
            f"{c.current.recovered:,.2f}",
            _percent(c.yoy("recovered")),
            f"{c.year_before.recovered:,.2f}",
        ),
    ]
    params: dict[str, Any] = {"unit": unit.pk}
    if month:
        params["month"] = f"{year}-{month:02d}"
    else:
        params["year"] = str(year)
    return {
        "result_tiles": tiles,
        "result_rows": [
            {
                "name": _("%(unit)s（本级）") % {"unit": r.unit.name} if r.own else r.unit.name,
                "row": r,
                "rate": "—" if r.rate is None else f"{r.rate:.1f}%",
            }
            for r in fig.units
        ],
        "bulletin_url": reverse("bulletin") + "?" + urlencode(params),
        "can_record_results": in_scope(request.user, unit, Cap.CASE_POLICE),
    }


def _crumbs(request: AuthedRequest, unit: Unit) -> list[Unit]:
    """The units above ``unit`` that lie in the user's case scope, top first: one query."""
    step = Unit.steplen
    paths = [unit.path[:i] for i in range(step, len(unit.path), step)]
    roots = scope_paths(request.user, Cap.CASE_VIEW)
    paths = [p for p in paths if any(p.startswith(r) for r in roots)]
    return list(Unit.objects.filter(path__in=paths).order_by("path")) if paths else []


def _chart(report: stats.Report) -> dict[str, Any]:
    return {
        "labels": {
            "cases": _("案件数"),
            "loss": _("损失金额（元）"),
            "this": _("%(y)d年") % {"y": report.year},
            "last": _("%(y)d年") % {"y": report.year - 1},
        },
        "months": [_("%(m)d月") % {"m": m.month} for m in report.months],
        "this": {
            "cases": [m.this.cases for m in report.months],
            "loss": [float(m.this.loss) for m in report.months],
        },
        "last": {
            "cases": [m.last.cases for m in report.months],
            "loss": [float(m.last.loss) for m in report.months],
        },
        "types": [
            {"name": t.label, "cases": t.tally.cases, "loss": float(t.tally.loss)} for t in report.types
        ],
        "units": [
            {
                "name": _("%(unit)s（本级）") % {"unit": r.unit.name} if r.own else r.unit.name,
                "cases": r.tally.cases,
                "loss": float(r.tally.loss),
            }
            for r in report.units
        ],
    }


@login_required
@require_GET
def case_stats(request: AuthedRequest) -> HttpResponse:
    unit = _unit(request)
    year, month = _period(request)
    report = _report(request, unit, year, month)
    crumbs = _crumbs(request, unit)
    own = tree_paths(request.user, Cap.CASE_VIEW)
    roots = sorted(
        Unit.objects.filter(path__in=scope_paths(request.user, Cap.CASE_VIEW)),
        key=lambda u: (u.path not in own, u.path),  # own units first, then the jurisdiction's places
    )
    choices: dict[int, str] = {}
    for u in roots + crumbs + [unit]:
        choices[u.pk] = u.name
    for row in report.units:
        if not row.own:
            choices.setdefault(row.unit.pk, "— " + row.unit.name)
    today = timezone.localdate()
    rows = [
        {"row": row, "url": "" if row.own else reverse("case_stats") + _query(row.unit, year, month)}
        for row in report.units
    ]
    context = {
        "report": report,
        "unit": unit,
        "crumbs": [(u, reverse("case_stats") + _query(u, year, month)) for u in crumbs],
        "unit_choices": sorted(choices.items(), key=lambda kv: kv[0] != unit.pk),
        "years": list(range(today.year, max(FIRST_YEAR, today.year - YEARS_SHOWN) - 1, -1)),
        "months": list(range(1, 13)),
        "year": year,
        "month": month,
        "unit_rows": rows,
        "times": report.response.texts,
        "escalate_minutes": _escalate_minutes(),
        "stats_export_url": reverse("case_stats_export") + _query(unit, year, month),
        "ledger_url": reverse("case_export") + _query(unit, year, month),
        "can_reveal": in_scope(request.user, unit, Cap.CASE_REVEAL),
        "chart": _chart(report),
        "cards": cardfraud.tally(
            cardfraud.records_for(request.user).filter(
                found_on__gte=report.period.first, found_on__lte=report.period.last
            ),
            unit,
        ),
        "cards_url": reverse("cardfraud_list"),
        "jurisdiction_url": _jurisdiction_url(request, unit, year),
        **_results(request, unit, report, year, month),
    }
    return render(request, "cases/stats.html", context)


def _jurisdiction_url(request: AuthedRequest, unit: Unit, year: int) -> str:
    """The jurisdiction overview of a police unit of the user's own tree ("" elsewhere)."""
    if unit.kind not in POLICE_KINDS or not in_tree_scope(request.user, unit, Cap.CASE_VIEW):
        return ""
    return reverse("jurisdiction_overview") + "?" + urlencode({"unit": unit.pk, "year": year})


def _escalate_minutes() -> int:
    from django.conf import settings

    return int(settings.FANZHA_ALERT_ESCALATE_MINUTES)


def _xlsx(data: bytes, name: str) -> HttpResponse:
    return generated_response(data, XLSX, name)


@login_required
@require_GET
def case_stats_export(request: AuthedRequest) -> HttpResponse:
    """The page's figures as XLSX, with the students involved with cards (aggregates only, nothing
    about any one victim or student)."""
    unit = _unit(request)
    year, month = _period(request)
    report = _report(request, unit, year, month)
    period = f"{year}" + (f"-{month:02d}" if month else "")
    cards = cardfraud.figures(
        cardfraud.records_for(request.user), unit, report.period.first, report.period.last
    )
    fig = results.figures(results.sources_for(request.user), unit, report.period, report.units)
    return _xlsx(
        export.stats_xlsx(report, cards, fig),
        _("案件统计-%(unit)s-%(period)s.xlsx") % {"unit": unit.name, "period": period},
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_export(request: AuthedRequest) -> HttpResponse:
    """The ledger of the unit's subtree: masked on GET; POST ``reveal=1`` (CSRF-checked) reveals for
    roles that may (403 otherwise). Audited either way by ``actions.export_ledger``."""
    unit = _unit(request)
    reveal = request.method == "POST" and request.POST.get("reveal") == "1"
    start = end = None
    if request.GET.get("year"):  # from the statistics page: the period it shows
        year, month = _period(request)
        period = stats.month_period(year, month) if month else stats.year_period(year)
        start, end = period.start, period.end
    data = actions.export_ledger(request.user, unit, reveal=reveal, start=start, end=end)
    name = _("案件台账-%(unit)s-%(day)s.xlsx") % {"unit": unit.name, "day": f"{timezone.localdate():%Y%m%d}"}
    return _xlsx(data, name)
