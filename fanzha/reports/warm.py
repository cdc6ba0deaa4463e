"""Warm the root dashboards before a server process takes traffic (a ``core.warm`` step).

Why: the province root dashboard is what a crowd opens first (a morning meeting, a load test); its
first rendering in a fresh process compiles the page's templates and runs its aggregate queries on a
cold database. Here each running campaign issued at a root unit is rendered once, as a superuser
would see it, through the real view: templates, queries, the shared figures (``core.singleflight``)
and the database's pages are then warm. Without a superuser the figures alone are computed.
"""

from __future__ import annotations

from typing import cast

from django.test import RequestFactory
from django.utils import timezone

from fanzha.campaigns.models import Campaign
from fanzha.org.models import User
from fanzha.org.views import AuthedRequest

from . import queries
from .queries import Kpis

ROOT_CAMPAIGNS = 5  # the most recent running campaigns at root units; each takes well under a second warm


def root_campaigns() -> list[Campaign]:
    today = timezone.localdate()
    return list(
        Campaign.objects.filter(
            status=Campaign.Status.ACTIVE, unit__parent_path="", starts_on__lte=today, ends_on__gte=today
        )
        .select_related("unit")
        .order_by("-starts_on", "-pk")[:ROOT_CAMPAIGNS]
    )


def warm_root_dashboards() -> int:
    """Render (or, without a superuser, compute) the root dashboard of each running root campaign."""
    from .views import dashboard_unit

    admin = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    warmed = 0
    for campaign in root_campaigns():
        if admin is not None:
            request = RequestFactory().get(f"/dashboards/{campaign.pk}/{campaign.unit.pk}/", secure=True)
            request.user = admin
            dashboard_unit(cast(AuthedRequest, request), campaign.pk, campaign.unit.pk)
        else:
            kpis = Kpis(campaign)
            counts = queries.sums(campaign, [campaign.unit.pk])
            queries.trend(kpis, [campaign.unit.pk], counts[campaign.unit.pk])
        warmed += 1
    return warmed
