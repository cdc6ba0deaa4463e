"""What campaigns add to the home page: quick links to each role's usual tasks, and for the people
who record activities (counsellors) the obligations of their units whose current period is not
yet met. Registered with ``core.hooks.on_home`` in ``CampaignsConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.core.hooks import HomeLink, HomePanel
from fanzha.org.models import Unit

from . import compliance, queries
from .activities.actions import RECORD
from .letters.actions import headed_units
from .models import Campaign

DASHBOARDS = 3  # running campaigns whose dashboards the home page links to
DUE_CAMPAIGNS = 5  # running campaigns whose obligations a counsellor's home page checks
DUE_ROWS = 12


@dataclass(frozen=True)
class DueRow:
    """An obligation whose current period still lacks activities."""

    campaign: Campaign
    unit_name: str
    title: str
    end: date
    count: int
    min_count: int
    overdue: int
    url: str
    record_url: str


def _running(user: Any, today: date) -> Any:
    return (
        queries.campaigns_for(user)
        .filter(status=Campaign.Status.ACTIVE, starts_on__lte=today, ends_on__gte=today)
        .select_related("unit")
        .order_by("-starts_on", "-id")
    )


def due_rows(user: Any, today: date | None = None, limit: int = DUE_ROWS) -> list[DueRow]:
    """Obligations of the units the user records for whose current period is not met, soonest end first.

    Four queries per running campaign (at most ``DUE_CAMPAIGNS``) and one for the units' names.
    Meant for a small scope (a counsellor's classes); a school's is summed up on the dashboards.
    """
    today = today or timezone.localdate()
    scoped = queries.obligations_for(user, RECORD)
    found: list[tuple[Campaign, compliance.ObligationState]] = []
    for campaign in _running(user, today)[:DUE_CAMPAIGNS]:
        snap = compliance.snapshot(campaign, scoped, today)
        for item in snap.items:
            state = snap.state(item)
            if state.current is not None and state.current.status == compliance.Status.DUE:
                found.append((campaign, state))
    found.sort(key=lambda cs: (cs[1].current.period.end if cs[1].current else today, cs[1].item.path))
    found = found[:limit]
    names = dict(Unit.objects.filter(pk__in={s.item.unit_id for _c, s in found}).values_list("pk", "name"))
    rows = []
    for campaign, state in found:
        assert state.current is not None
        query = {"unit": state.item.unit_id, "obligation": state.item.pk}
        if state.rule.activity_kinds:
            query["kind"] = state.rule.activity_kinds[0]
        rows.append(
            DueRow(
                campaign=campaign,
                unit_name=names.get(state.item.unit_id, ""),
                title=state.rule.title,
                end=state.current.period.end,
                count=state.current.count,
                min_count=state.rule.min_count,
                overdue=state.tally.overdue,
                url=reverse("campaign_obligation", args=[campaign.pk, state.item.pk]),
                record_url=reverse("activity_record") + "?" + urlencode(query),
            )
        )
    return rows


def home_items(user: Any, caps: frozenset[str]) -> Iterable[HomeLink | HomePanel]:
    """Start a campaign and the dashboards for those who run or watch campaigns; record an activity,
    sign letters and the obligations due for those who do the work in classes."""
    items: list[HomeLink | HomePanel] = []
    manages = "campaign" in caps
    records = RECORD in caps
    worker = records and not manages
    if manages:
        hint = _("选择方案模板，任务自动下发到各单位")
        items.append(HomeLink(10, _("发起专项行动"), reverse("campaign_start_choose"), hint))
    if "view" in caps and not worker:
        today = timezone.localdate()
        for campaign in _running(user, today)[:DASHBOARDS]:
            url = reverse("campaign_dashboard", args=[campaign.pk])
            items.append(HomeLink(30, _("落实看板"), url, campaign.title))
    if records:
        items.append(HomeLink(40, _("记录活动"), reverse("activity_record"), _("拍照上传佐证，扫码签到")))
    if records or headed_units(user):  # "待我签署" only to those who sign a side (``can_sign``)
        items.append(HomeLink(50, _("责任书签署"), reverse("letter_index"), _("待我签署的责任书和签署情况")))
    elif "view" in caps:
        items.append(HomeLink(50, _("责任书"), reverse("letter_index"), _("各专项行动的责任书签署情况")))
    if worker:
        items.append(HomePanel(20, "campaigns/home_due.html", {"due_rows": due_rows(user)}))
    return items
