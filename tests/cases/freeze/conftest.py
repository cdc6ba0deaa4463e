"""Fixtures of the freeze requests: a county case whose payee account names the county's bank branch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.freeze import queries
from fanzha.cases.intake import IndicatorIn, TransferIn
from fanzha.cases.models import Case, IndicatorKind, TransferMethod
from fanzha.org import actions as org
from fanzha.org.models import Role, User
from tests.cases.conftest import GOOD_CARD, intake
from tests.conftest import make_staff

PHONE = "17123456789"
# A second payee card (Luhn-valid) at a bank that is not in the tree.
OTHER_CARD = "6217000010001234569"


@dataclass
class World:
    cast: Any
    case: Case
    bank_admin: User
    other_bank_manager: User
    other_police: User
    now: datetime

    def key(self, value: str) -> str:
        return next(t.key for t in queries.targets(self.case) if t.value == value)


@pytest.fixture
def world(county_cast: Any) -> World:
    c = county_cast
    now = timezone.now()
    data = intake(c.cs2301, c.student, now=now)
    data.indicators = [IndicatorIn(IndicatorKind.PHONE, PHONE)]
    data.transfers = [
        TransferIn(
            now - timedelta(hours=3),
            "800",
            TransferMethod.BANK_TRANSFER,
            "",
            GOOD_CARD,
            "李某 青山农村商业银行城关支行",
        ),
        TransferIn(
            now - timedelta(hours=2), "300", TransferMethod.BANK_TRANSFER, "", OTHER_CARD, "王某 远方银行"
        ),
    ]
    case = actions.report_case(data, c.counsellor, now=now)
    other_bank = org.create_unit(parent=None, name="远山银行", code="YS", kind="bank_head")
    other_branch = org.create_unit(parent=other_bank, name="城关支行", code="YS01", kind="bank_branch")
    other_county = org.create_unit(parent=None, name="远山县公安局", code="YSGA", kind="police_bureau")
    return World(
        cast=c,
        case=case,
        bank_admin=make_staff(c.bank, "B1000", "银行管理员", Role.BANK_ADMIN, c.bank, "bank_staff"),
        other_bank_manager=make_staff(
            other_bank, "Y1001", "远山城关行长", Role.BANK_BRANCH_MANAGER, other_branch, "bank_staff"
        ),
        other_police=make_staff(
            other_county, "Y2001", "远山县民警", Role.POLICE_ADMIN, other_county, "police"
        ),
        now=now,
    )
