"""Fixtures of the activity and letter tests: a running campaign on the cast's university.

The campaign's rows are created directly from a small template (parsed with ``spec.parse_template``),
so these tests do not depend on how campaigns are started.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from fanzha.campaigns.models import Campaign, CampaignTemplate, Obligation, ObligationRule
from fanzha.campaigns.spec import parse_template
from fanzha.org.models import Unit
from tests.conftest import Cast

TEMPLATE = '''
code = "activity-test"
title = "{organisation}{year}年防范电信网络诈骗专项行动"
issuer_kinds = ["school"]
levels = ["school", "college", "class", "dorm_room"]

[[placeholders]]
name = "leader"
label = "领导小组组长"
default = "校长"

[[obligations]]
code = "monthly-meeting"
title = "每月一次反诈主题班会"
level = "class"
frequency = "monthly"
evidence = ["photos", "attendees"]
activity_kinds = ["class_meeting"]
responsible = "counsellor"

[[letters]]
upper = "school"
lower = "college"
title = "{organisation}与{lower_unit}防诈责任书"
body = """{year}年，{upper_unit}与{lower_unit}签订本责任书，共同落实《{campaign_title}》。\
领导小组组长：{leader}。"""

[[letters]]
upper = "college"
lower = "class"
title = "{upper_unit}与{lower_unit}防诈责任书"
body = "班级每月召开一次反诈主题班会。"

[[letters]]
upper = "class"
lower = "dorm_room"
title = "辅导员与{lower_unit}防诈责任书"
body = "宿舍成员互相提醒，发现受骗立即报告辅导员。"

[[sections]]
heading = "总体要求"
body = "让每一名师生都会识骗防骗。"
'''


@pytest.fixture
def fresh_cache() -> None:
    """Check-in limits live in the cache; each test starts with none used."""
    cache.clear()


@pytest.fixture
def campaign(cast: Cast) -> Campaign:
    """A campaign issued by the university with one rule, "monthly class meeting", on every class."""
    return make_campaign(cast)


def make_campaign(cast: Cast) -> Campaign:
    """The ``campaign`` fixture's rows (a plain function, for the browser tests' committed world)."""
    spec = parse_template(TEMPLATE, source="activity-test")
    template = CampaignTemplate.objects.create(code=spec.code, title=spec.title, text=TEMPLATE)
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        template=template,
        template_text=TEMPLATE,
        unit=cast.uni,
        title=f"示范大学{today.year}年防范电信网络诈骗专项行动",
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=300),
        placeholders={"leader": "王校长"},
    )
    rule_spec = spec.obligations[0]
    rule = ObligationRule.objects.create(
        campaign=campaign,
        code=rule_spec.code,
        title=rule_spec.title,
        level=rule_spec.level,
        frequency=rule_spec.frequency,
        evidence=list(rule_spec.evidence),
        activity_kinds=list(rule_spec.activity_kinds),
        responsible=rule_spec.responsible,
    )
    for unit in (cast.cs2301, cast.cs2302, cast.ma2301):
        Obligation.objects.create(rule=rule, campaign=campaign, unit=unit)
    return campaign


def obligation_of(campaign: Campaign, unit: Unit) -> Obligation:
    return Obligation.objects.get(campaign=campaign, unit=unit)
