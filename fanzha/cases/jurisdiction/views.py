"""The jurisdiction overview page (/cases/jurisdiction/) and its XLSX, for a police station (a row per
place assigned to it) and the police units above it (a row per station). Thin: the figures come from
``queries.overview``; a unit that is not a police unit of the user's own case tree answers 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from fanzha.org.models import Unit
from fanzha.org.views import AuthedRequest

from ..stats import queries as stats
from ..stats.views import YEARS_SHOWN, _xlsx
from . import export, queries


def _unit(request: AuthedRequest) -> Unit:
    unit = queries.overview_unit(request.user, request.GET.get("unit") or "")
    if unit is None:
        raise Http404
    return unit


def _query(unit: Unit, year: int) -> str:
    return "?" + urlencode({"unit": unit.pk, "year": year})


@login_required
@require_GET
def jurisdiction_overview(request: AuthedRequest) -> HttpResponse:
    unit = _unit(request)
    year, _month = stats.period_of(request.GET)
    data = queries.overview(request.user, unit, year)
    today = timezone.localdate()
    rows = [
        {
            "row": row,
            "url": reverse("jurisdiction_overview") + _query(row.unit, year)
            if data.per_station
            else reverse("case_stats") + _query(row.unit, year),
        }
        for row in data.rows
    ]
    context = {
        "data": data,
        "unit": unit,
        "rows": rows,
        "year": year,
        "years": list(range(today.year, max(stats.FIRST_YEAR, today.year - YEARS_SHOWN) - 1, -1)),
        "export_url": reverse("jurisdiction_overview_export") + _query(unit, year),
    }
    return render(request, "cases/jurisdiction.html", context)


@login_required
@require_GET
def jurisdiction_overview_export(request: AuthedRequest) -> HttpResponse:
    unit = _unit(request)
    year, _month = stats.period_of(request.GET)
    data = queries.overview(request.user, unit, year)
    return _xlsx(
        export.overview_xlsx(data), _("辖区概况-%(unit)s-%(year)s.xlsx") % {"unit": unit.name, "year": year}
    )
