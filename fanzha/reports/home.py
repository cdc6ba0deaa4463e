"""What the dashboards add to a unit administrator's workbench: for each running campaign, the
periods overdue and still due in their part of it, and the few child units that lag most.

Registered with ``core.hooks.on_home`` in ``ReportsConfig.ready``. Why here and not in campaigns:
these figures are the pre-aggregated counts the dashboards read (``KpiCount``), a few indexed rows
per campaign whatever the size of the subtree, and the numbers are the dashboard's own, so the link
behind each shows the same figure. Computing compliance live would walk every obligation below a
province's bureau on every visit to the home page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.campaigns.models import Campaign
from fanzha.core.hooks import URGENT, WEEK, HomeLink, HomePanel, WorkItem
from fanzha.org.models import Unit
from fanzha.org.scope import in_scope, scope_paths

from . import queries
from .queries import Kpis, Row

CAMPAIGNS = 2  # running campaigns whose figures the workbench shows
LAGGING = 3  # child units shown as lagging, worst first


def viewpoint(user: Any, campaign: Campaign) -> tuple[Unit | None, list[Unit]]:
    """Where the campaign's dashboard opens for ``user`` (``views.dashboard_campaign``): the campaign's
    unit when in scope, else the single unit where the scope begins, else the scope's roots (None)."""
    if in_scope(user, campaign.unit):
        return campaign.unit, []
    paths = [p for p in scope_paths(user) if p.startswith(campaign.unit.path)]
    roots = list(Unit.objects.filter(path__in=paths, is_active=True).order_by("path"))
    if len(roots) == 1:
        return roots[0], []
    return None, roots


def standing(user: Any, campaign: Campaign) -> tuple[Any, list[Row]]:
    """The viewpoint's figures and its child units, worst coverage first (three small queries)."""
    at, roots = viewpoint(user, campaign)
    children = (
        list(Unit.objects.filter(parent_path=at.path, is_active=True).order_by("path")) if at else roots
    )
    kpis = Kpis(campaign)
    counts = queries.sums(campaign, [u.pk for u in children] + ([at.pk] if at else []))
    current = counts[at.pk] if at is not None else queries.total(counts[u.pk] for u in children)
    rows = [
        Row(u, kpis.figures(counts[u.pk]), reverse("dashboard_unit", args=[campaign.pk, u.pk]))
        for u in children
    ]
    return kpis.figures(current), queries.worst_first(rows, "coverage")


def home_items(user: Any, caps: frozenset[str]) -> Iterable[HomeLink | HomePanel | WorkItem]:
    """Overdue and due periods and lagging units, for those who run units (``edit_units``)."""
    if "edit_units" not in caps:
        return []
    today = timezone.localdate()
    running = (
        queries.campaigns_for(user)
        .filter(status=Campaign.Status.ACTIVE, starts_on__lte=today, ends_on__gte=today)
        .select_related("unit")
        .order_by("-starts_on", "-id")[:CAMPAIGNS]
    )
    items: list[HomeLink | HomePanel | WorkItem] = []
    lagging = []
    for campaign in running:
        figures, rows = standing(user, campaign)
        url = reverse("dashboard_campaign", args=[campaign.pk])
        tally = figures.tally
        items.append(WorkItem(30, _("逾期未完成的工作"), tally.overdue, url, URGENT, campaign.title))
        items.append(WorkItem(30, _("本期尚待完成的工作"), tally.due, url, WEEK, campaign.title))
        worst = [r for r in rows if r.figures.coverage is not None][:LAGGING]
        if worst:
            lagging.append({"campaign": campaign, "url": url, "rows": worst})
    if lagging:
        items.append(HomePanel(40, "reports/home_lagging.html", {"campaigns": lagging}))
    return items
