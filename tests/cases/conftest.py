"""Fixtures of the case ledger: a valid intake for the cast's student, and ways to vary it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from fanzha.campaigns import actions as campaigns
from fanzha.campaigns.models import Campaign, CampaignTemplate
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
from fanzha.cases.intake import CaseInput, IndicatorIn, TransferIn
from fanzha.cases.models import ContactChannel, FraudKind, FundSource, IndicatorKind, Side, TransferMethod
from fanzha.org import actions as org
from fanzha.org.models import Role, Unit, User
from tests.conftest import make_staff

# A card number that passes the Luhn check, and one that does not.
GOOD_CARD = "6222021234567890128"
BAD_CARD = "6222021234567890127"


def intake(unit: Any, victim: Any = None, now: datetime | None = None, **changes: Any) -> CaseInput:
    """A complete, valid intake: a brushing scam by QQ, two transfers in the last hours."""
    now = now or timezone.now()
    data = CaseInput(
        unit=unit,
        victim=victim,
        victim_name="" if victim else "居民甲",
        occurred_at=now - timedelta(hours=5),
        reported_at=now - timedelta(minutes=10),
        place="宿舍",
        channel=ContactChannel.QQ,
        fraud_type=FraudKind.BRUSHING,
        impersonated="电商客服",
        narrative="在QQ群看到刷单兼职，先返小额佣金，后要求连续垫付。",
        fund_sources=[FundSource.LIVING_ALLOWANCE],
        funds_note="本月生活费",
        family="单亲家庭，母亲务农",
        indicators=[
            IndicatorIn(IndicatorKind.PHONE, "+86 171 2345 6789"),
            IndicatorIn(IndicatorKind.BANK_CARD, GOOD_CARD, note="某银行"),
            IndicatorIn(IndicatorKind.URL, "Shua.Example.com/task"),
            IndicatorIn(IndicatorKind.BANK_CARD, "4111111111111111", side=Side.VICTIM),
        ],
        transfers=[
            TransferIn(
                now - timedelta(hours=4),
                "500.00",
                TransferMethod.BANK_TRANSFER,
                "4111111111111111",
                GOOD_CARD,
            ),
            TransferIn(
                now - timedelta(hours=2), "1200", TransferMethod.ALIPAY, "", "pay@example.com", "某某"
            ),
        ],
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


@pytest.fixture
def make_intake() -> Callable[..., CaseInput]:
    return intake


@dataclass
class District:
    bureau: Unit
    school: Unit
    klass: Unit
    bureau_admin: User
    school_admin: User
    counsellor: User
    campaign: Campaign


def start(code: str, unit: Unit) -> Campaign:
    sync_builtin_templates()
    template = CampaignTemplate.objects.get(code=code)
    return campaigns.start_campaign(template, unit, timezone.localdate() - timedelta(days=30), None, {})


@pytest.fixture
def district(cast) -> District:
    bureau = org.create_unit(parent=None, name="示范区教育局", code="DIST", kind="bureau_district")
    school = org.create_unit(parent=bureau, name="第一中学", code="S1", kind="school")
    klass = org.create_unit(parent=school, name="初一1班", code="S1C1", kind="class")
    return District(
        bureau=bureau,
        school=school,
        klass=klass,
        bureau_admin=make_staff(bureau, "B0001", "区教育局管理员", Role.BUREAU_ADMIN, bureau),
        school_admin=make_staff(bureau, "B0002", "一中管理员", Role.SCHOOL_ADMIN, school),
        counsellor=make_staff(bureau, "B0003", "一中班主任", Role.COUNSELLOR, klass, kind="teacher"),
        campaign=start("district-education-system", bureau),
    )
