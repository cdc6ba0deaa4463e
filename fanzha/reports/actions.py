"""Every write of the reports app: the weekly summary queued to each running campaign's admins.

Why in-app only: it is a nudge with two figures and a link; the dashboards hold the detail. The
outbox key holds the campaign, the admin and the week, so a second run the same week queues nothing.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from fanzha.campaigns.models import Campaign
from fanzha.notify import actions as notify
from fanzha.notify.models import ChannelKind, Outbox
from fanzha.org.models import Role, RoleGrant

ADMIN_ROLES = (Role.BUREAU_ADMIN, Role.SCHOOL_ADMIN, Role.COLLEGE_ADMIN, Role.BANK_ADMIN)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{int(100 * rate)}%"


@transaction.atomic
def queue_weekly_reports(week_start: date) -> int:
    """Queue to the admins granted at each running campaign's unit an in-app summary of the week:
    coverage and activity compliance of the whole campaign (``reports.queries``). Returns the count."""
    from . import queries

    queued = 0
    campaigns = Campaign.objects.filter(status=Campaign.Status.ACTIVE).select_related("unit").order_by("pk")
    for campaign in campaigns:
        admins = (
            RoleGrant.objects.filter(unit=campaign.unit, role__in=ADMIN_ROLES, user__is_active=True)
            .select_related("user")
            .order_by("user_id")
        )
        users = {grant.user_id: grant.user for grant in admins}
        if not users:
            continue
        figures = queries.Kpis(campaign).figures(queries.sums(campaign, [campaign.unit_id])[campaign.unit_id])
        subject = _("本周反诈工作周报：%(title)s") % {"title": campaign.title}
        body = _("截至 %(day)s，%(unit)s：宣传覆盖率 %(coverage)s，工作任务完成率 %(compliance)s。") % {
            "day": week_start.isoformat(),
            "unit": campaign.unit.name,
            "coverage": _percent(figures.coverage),
            "compliance": _percent(figures.tally.rate),
        }
        link = reverse("dashboard_campaign", args=[campaign.pk])
        keys = {pk: f"weekly-report:{campaign.pk}:{pk}:{week_start.isoformat()}" for pk in users}
        done = set(
            Outbox.objects.filter(idempotency_key__in=keys.values()).values_list("idempotency_key", flat=True)
        )
        for pk, user in users.items():
            if keys[pk] not in done:
                notify.queue(ChannelKind.IN_APP, user, subject=subject, body=body, key=keys[pk], link=link)
                queued += 1
    return queued
