"""The reach page of a campaign that counts outreach (/campaigns/<id>/outreach/) and its summary report.

Thin: the campaign and records come from the scoped queries; a campaign the user cannot see, one that
counts no outreach, or a unit outside the user's scope answers 404. The head office sees every branch
and may download each branch's report; a branch sees and downloads its own.

Why a package apart from ``outreach``: the report uses the plan document's layout (``documents``),
which reads the campaign verbs, while ``outreach`` (options, tables, the goal's refresh) is used by the
activity verbs; kept apart, no feature of the app imports another in a circle.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from fanzha.core.downloads import generated_response
from fanzha.org.models import Unit
from fanzha.org.scope import in_scope, units_for
from fanzha.org.views import AuthedRequest

from .. import queries as campaign_queries
from ..models import Campaign
from ..outreach.queries import Totals, records_for, totals
from . import report

FORMATS = ("docx", "xlsx")


def _campaign(request: AuthedRequest, pk: int) -> Campaign:
    campaign = get_object_or_404(campaign_queries.campaigns_for(request.user).select_related("unit"), pk=pk)
    if campaign.spec().reach is None:
        raise Http404
    return campaign


def _unit(request: AuthedRequest, campaign: Campaign) -> Unit | None:
    """The unit the page is narrowed to (``?unit=``, else the user's own part of a campaign above
    them); None: the whole campaign. A unit outside the campaign or the user's scope answers 404."""
    raw = request.GET.get("unit", "")
    if raw:
        if not raw.isdigit():
            raise Http404
        return get_object_or_404(
            units_for(request.user).filter(path__startswith=campaign.unit.path), pk=int(raw)
        )
    if in_scope(request.user, campaign.unit):
        return None
    own = units_for(request.user).filter(path__startswith=campaign.unit.path).order_by("depth", "path")
    return own.first()


def _totals(request: AuthedRequest, campaign: Campaign, unit: Unit | None) -> Totals:
    records = records_for(request.user, campaign)
    if unit is not None:
        records = records.filter(unit__path__startswith=unit.path)
    found = totals(campaign, records)
    assert found is not None  # _campaign admits only campaigns that count outreach
    return found


@login_required
def outreach_page(request: AuthedRequest, pk: int) -> HttpResponse:
    """Reach per branch × group × channel × township (village), against the goals."""
    campaign = _campaign(request, pk)
    unit = _unit(request, campaign)
    found = _totals(request, campaign, unit)
    return render(
        request,
        "campaigns/outreach.html",
        {
            "campaign": campaign,
            "tab": "outreach",
            "unit": unit,
            "totals": found,
            "tables": report.tables(found),
            "branches": [] if unit is not None else [r.unit for r in found.rows if r.unit != campaign.unit],
            "unit_query": f"?unit={unit.pk}" if unit is not None else "",
        },
    )


@login_required
def outreach_report(request: AuthedRequest, pk: int, fmt: str) -> HttpResponse:
    """The summary report (总结报告) of the campaign or one branch, as DOCX or XLSX."""
    if fmt not in FORMATS:
        raise Http404
    campaign = _campaign(request, pk)
    unit = _unit(request, campaign)
    found = _totals(request, campaign, unit)
    content, content_type = report.render(found, fmt, unit)
    return generated_response(content, content_type, f"{report.report_title(found, unit)}.{fmt}")
