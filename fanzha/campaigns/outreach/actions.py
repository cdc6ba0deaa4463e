"""Writes of the outreach feature: the notice that a finished campaign's summary reports are ready.

(A reach_count goal of a template that declares what outreach counts by, ``[reach]``, is computed
from the records where it is shown, ``reports.queries.goal_rows``; nobody records it by hand.)
"""

from __future__ import annotations

from datetime import date, timedelta

from django.urls import reverse
from django.utils.translation import gettext as _

from fanzha.org.models import RoleGrant, Unit

from ..models import Campaign

# The summary report after the month ------------------------------------------------------------

# A campaign's report is announced on the days after its end up to this many days (the daily job may
# have missed a day; an old campaign found on a new installation is not announced).
REPORT_WINDOW_DAYS = 14


def queue_reports(today: date) -> int:
    """After a campaign that counts outreach has ended, tell the head office and each branch (everyone
    holding a role there) that their summary report is ready, with the link to it. Idempotent: one
    message per person and unit, whatever the number of runs. Returns how many were queued."""
    from fanzha.notify import actions as notify
    from fanzha.notify.models import ChannelKind, Outbox

    queued = 0
    ended = Campaign.objects.filter(
        ends_on__lt=today, ends_on__gte=today - timedelta(days=REPORT_WINDOW_DAYS)
    ).select_related("unit")
    for campaign in ended:
        if campaign.spec().reach is None:
            continue
        depth = campaign.unit.depth + 1
        branches = list(
            Unit.objects.filter(path__startswith=campaign.unit.path, depth=depth, is_active=True).order_by(
                "path"
            )
        )
        base = reverse("campaign_outreach", args=[campaign.pk])
        for unit in [campaign.unit, *branches]:
            link = base if unit == campaign.unit else f"{base}?unit={unit.pk}"
            subject = _("%(unit)s集中宣传月覆盖情况总结报告已生成") % {"unit": unit.name}
            body = _(
                "专项行动“%(campaign)s”已结束，可在覆盖统计页下载本单位的总结报告（Word）和统计表（Excel）。"
            ) % {"campaign": campaign.title}
            users = {
                g.user
                for g in RoleGrant.objects.filter(unit=unit, user__is_active=True).select_related("user")
            }
            for user in sorted(users, key=lambda u: u.pk):
                key = f"outreach-report:{campaign.pk}:{unit.pk}:{user.pk}"
                if Outbox.objects.filter(idempotency_key=key).exists():
                    continue
                notify.queue(ChannelKind.IN_APP, user, subject=subject, body=body, key=key, link=link)
                queued += 1
    return queued
