"""Fixtures of the dashboard tests: a campaign started on the cast's university that tracks four
items, with a monthly class-meeting obligation on every class (for activity compliance).

Hooks run after commit; pytest-django wraps each test in a transaction, so tests that go through
``reach.actions`` run the callbacks with ``django_capture_on_commit_callbacks(execute=True)``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fanzha.campaigns import actions as campaign_actions
from fanzha.campaigns.models import Campaign, CampaignTemplate
from fanzha.reports import kpis
from tests.conftest import Cast

TEMPLATE = """
code = "reports-test"
title = "{organisation}防范电信网络诈骗专项行动"
issuer_kinds = ["school"]
levels = ["school", "college", "class", "dorm_room"]
audiences = ["student", "teacher", "staff", "parent"]
attestations = ["pledge_signed", "app_installed", "parent_notice_signed", "quiz_passed"]

[[goals]]
code = "awareness"
metric = "awareness_rate"
target = 100
unit = "percent"
deadline = ""
description = "全体师生防诈知晓率达到100%"

[[goals]]
code = "activities"
metric = "activity_compliance"
target = 100
unit = "percent"
deadline = ""
description = "每个班级每月召开一次反诈主题班会"

[[obligations]]
code = "monthly-meeting"
title = "每月一次反诈主题班会"
level = "class"
frequency = "monthly"
evidence = ["photos"]
activity_kinds = ["class_meeting"]
responsible = "counsellor"

[[sections]]
heading = "总体要求"
body = "让每一名师生都会识骗防骗。"
"""

ITEMS = ("pledge_signed", "app_installed", "parent_notice_signed", "quiz_passed")


def start_campaign(cast: Cast, days_ago: int = 30) -> Campaign:
    template = CampaignTemplate.objects.create(code="reports-test", title="反诈专项行动", text=TEMPLATE)
    today = timezone.localdate()
    return campaign_actions.start_campaign(
        template, cast.uni, today - timedelta(days=days_ago), today + timedelta(days=300), {}
    )


@pytest.fixture
def campaign(cast: Cast) -> Campaign:
    """The campaign, with home units and counts built (no attestations yet)."""
    campaign = start_campaign(cast)
    kpis.refresh_homes()
    kpis.rebuild(campaign)
    return campaign
