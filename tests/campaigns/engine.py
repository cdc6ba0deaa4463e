"""Helpers of the campaign-engine tests: the test template, starting it, recording activities.

Plain functions rather than a conftest, so each test module says what it uses.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from django.utils import timezone

from fanzha.campaigns import actions
from fanzha.campaigns.models import Activity, Campaign, CampaignTemplate, Evidence, Obligation
from fanzha.org.models import Unit

TEMPLATE_FILE = Path(__file__).parent / "fixtures" / "test_template.toml"
START, END = date(2026, 3, 1), date(2027, 2, 28)  # 2026-03-01 is a Sunday


def make_template(code: str = "engine-test") -> CampaignTemplate:
    text = TEMPLATE_FILE.read_text(encoding="utf-8").replace('code = "engine-test"', f'code = "{code}"')
    return CampaignTemplate.objects.create(code=code, title="测试行动", text=text)


def start(
    unit: Unit,
    template: CampaignTemplate | None = None,
    starts_on: date = START,
    ends_on: date | None = END,
    **placeholders: str,
) -> Campaign:
    return actions.start_campaign(
        template or make_template(), unit, starts_on, ends_on, placeholders or {"contact": "王老师"}
    )


def obligation(campaign: Campaign, code: str, unit: Unit) -> Obligation:
    return Obligation.objects.get(campaign=campaign, rule__code=code, unit=unit)


def record(ob: Obligation, *days: date, **fields: Any) -> list[Activity]:
    """Activities linked to ``ob`` on ``days`` (the recording verbs live elsewhere; rows suffice here).

    Each is entered on its own day (``entered`` overrides it, to enter records late) and carries the
    evidence its rule asks for (``evidence=False`` leaves it bare).
    """
    needed = set(ob.rule.evidence) if fields.get("evidence", True) else set()
    made = []
    for day in days:
        activity = Activity.objects.create(
            campaign=ob.campaign,
            obligation=ob,
            unit=ob.unit,
            kind=fields.get("kind", "other"),
            occurred_on=day,
            title=fields.get("title", "测试活动"),
            is_deleted=fields.get("is_deleted", False),
            link="https://example.org/a" if "link" in needed else "",
            attendance_count=30 if "attendees" in needed else None,
        )
        for kind, ev in (("photos", "photo"), ("document", "document"), ("video", "video")):
            if kind in needed:
                Evidence.objects.create(
                    activity=activity,
                    file=f"evidence/{ev}.bin",
                    kind=ev,
                    content_type="application/x-test",
                    size=1,
                    sha256=f"{ev}{activity.pk:056d}",
                    original_name=f"{ev}.bin",
                )
        entered = fields.get("entered", day)
        Activity.objects.filter(pk=activity.pk).update(
            created_at=timezone.make_aware(datetime.combine(entered, time(12)))
        )
        made.append(activity)
    return made
