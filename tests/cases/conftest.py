"""Fixtures of the case ledger: a valid intake for the cast's student, and ways to vary it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from fanzha.cases.actions import CaseInput, IndicatorIn, TransferIn
from fanzha.cases.models import ContactChannel, FraudKind, FundSource, IndicatorKind, Side, TransferMethod

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
