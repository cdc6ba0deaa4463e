"""Writes of the outreach feature: the reach goal kept equal to what the records say.

Why a record and not a computed figure on the dashboard: the dashboards show a reach_count goal as
its latest ``GoalRecord`` (``reports.queries.goal_rows``); when the campaign's template declares what
outreach counts by (``[reach]``), the records are the truth, so every change of an outreach record
writes the new value here (only when it changed), marked as counted from the records, and a person
may no longer type one in (``campaigns.actions.record_goal_value`` refuses).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from fanzha.org.models import RoleGrant, Unit

from ..models import Campaign, Goal, GoalRecord
from .queries import campaign_reach_value


def refresh_reach_goals(campaign_ids: Iterable[int | None], actor: Any = None) -> list[GoalRecord]:
    """Record the reach_count goals of these campaigns anew from their outreach records, where changed.
    Called inside the activity verbs' transactions; no query without a campaign.

    The record names ``actor`` (whose record changed the figure), else whoever started the campaign:
    the dashboards show who a goal's value came from. With neither, nothing is recorded (the goal
    waits for the next change made by a person)."""
    made: list[GoalRecord] = []
    ids = sorted({pk for pk in campaign_ids if pk})
    if not ids:
        return made
    for campaign in Campaign.objects.filter(pk__in=ids).select_related("unit", "created_by"):
        who = actor if getattr(actor, "pk", None) else campaign.created_by
        if campaign.spec().reach is None or who is None:
            continue
        for goal in Goal.objects.filter(campaign=campaign, metric="reach_count"):
            value = Decimal(campaign_reach_value(campaign, goal)).quantize(Decimal("0.01"))
            latest = goal.records.order_by("-recorded_at", "-pk").first()
            if latest is not None and latest.value == value:
                continue
            made.append(
                GoalRecord.objects.create(
                    goal=goal, value=value, note=_("由各单位登记的覆盖记录自动统计"), recorded_by=who
                )
            )
    return made


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
