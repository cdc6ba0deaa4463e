"""Writes of the outreach feature: the reach goal kept equal to what the records say.

Why a record and not a computed figure on the dashboard: the dashboards show a reach_count goal as
its latest ``GoalRecord`` (``reports.queries.goal_rows``); when the campaign's template declares what
outreach counts by (``[reach]``), the records are the truth, so every change of an outreach record
writes the new value here (only when it changed), marked as counted from the records, and a person
may no longer type one in (``campaigns.actions.record_goal_value`` refuses).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.utils.translation import gettext as _

from ..models import Campaign, Goal, GoalRecord
from .queries import campaign_reach_value


def refresh_reach_goals(campaign_ids: Iterable[int | None]) -> list[GoalRecord]:
    """Record the reach_count goals of these campaigns anew from their outreach records, where changed.
    Called inside the activity verbs' transactions; no query without a campaign."""
    made: list[GoalRecord] = []
    ids = sorted({pk for pk in campaign_ids if pk})
    if not ids:
        return made
    for campaign in Campaign.objects.filter(pk__in=ids).select_related("unit"):
        if campaign.spec().reach is None:
            continue
        for goal in Goal.objects.filter(campaign=campaign, metric="reach_count"):
            value = Decimal(campaign_reach_value(campaign, goal)).quantize(Decimal("0.01"))
            latest = goal.records.order_by("-recorded_at", "-pk").first()
            if latest is not None and latest.value == value:
                continue
            made.append(
                GoalRecord.objects.create(
                    goal=goal, value=value, note=_("由各单位登记的覆盖记录自动统计"), recorded_by=None
                )
            )
    return made
