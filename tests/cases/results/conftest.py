"""A county police tree with cases in March 2024 and March 2025 and results dated in March 2025."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.models import Case
from fanzha.cases.results import actions as results
from fanzha.org import actions as org
from fanzha.org.models import Role, Unit, User
from tests.cases.conftest import intake
from tests.conftest import make_staff


def at(y: int, m: int, d: int) -> datetime:
    return timezone.make_aware(datetime(y, m, d, 12, 0))


@dataclass
class Police:
    bureau: Unit
    a: Unit
    b: Unit
    other: Unit
    admin: User
    officer_a: User
    outsider: User
    a0: Case  # March 2024 at A
    a1: Case  # March 2025 at A
    a2: Case  # March 2025 at A
    b1: Case  # March 2025 at B
    x1: Case  # March 2025 in the other county


def report(unit: Unit, actor: User, when: datetime) -> Case:
    return actions.report_case(intake(unit, None, now=when), actor, now=when)


@pytest.fixture
def police(db: Any) -> Police:
    bureau = org.create_unit(parent=None, name="青山县公安局", code="QSGA", kind="police_bureau")
    a = org.create_unit(parent=bureau, name="城关派出所", code="CG", kind="police_station")
    b = org.create_unit(parent=bureau, name="东关派出所", code="DG", kind="police_station")
    other = org.create_unit(parent=None, name="远山县公安局", code="YSGA", kind="police_bureau")
    admin = make_staff(bureau, "P0001", "反诈中心民警", Role.POLICE_ADMIN, bureau, "police")
    officer_a = make_staff(bureau, "P0002", "城关民警", Role.POLICE_OFFICER, a, "police")
    outsider = make_staff(other, "Y0001", "远山民警", Role.POLICE_ADMIN, other, "police")
    return Police(
        bureau=bureau,
        a=a,
        b=b,
        other=other,
        admin=admin,
        officer_a=officer_a,
        outsider=outsider,
        a0=report(a, admin, at(2024, 3, 10)),
        a1=report(a, admin, at(2025, 3, 3)),
        a2=report(a, admin, at(2025, 3, 12)),
        b1=report(b, admin, at(2025, 3, 15)),
        x1=report(other, outsider, at(2025, 3, 15)),
    )


@pytest.fixture
def with_results(police: Police) -> Police:
    """March 2025: a1 and a0 cleared, 3 suspects and 500 yuan on a1, a gang of 4 at A (a1, a2); March
    2024: 2 suspects on a0. The other county: everything on x1 (never counted for our users)."""
    p = police
    results.record_cleared(p.a1, p.admin, on=date(2025, 3, 20))
    results.record_cleared(p.a0, p.admin, on=date(2025, 3, 5))
    results.record_suspects(p.a1, p.admin, count=3, on=date(2025, 3, 21))
    results.record_suspects(p.a0, p.admin, count=2, on=date(2024, 3, 15))
    results.record_recovery(p.a1, p.admin, amount="500", on=date(2025, 3, 22))
    results.record_gang(
        p.admin,
        unit=p.a,
        name="“3·25”刷单诈骗团伙",
        broken_on=date(2025, 3, 25),
        members_caught=4,
        case_ids=[p.a1.pk, p.a2.pk],
    )
    results.record_cleared(p.x1, p.outsider, on=date(2025, 3, 20))
    results.record_suspects(p.x1, p.outsider, count=9, on=date(2025, 3, 20))
    results.record_recovery(p.x1, p.outsider, amount=Decimal("100"), on=date(2025, 3, 20))
    results.record_gang(
        p.outsider,
        unit=p.other,
        name="远山团伙",
        broken_on=date(2025, 3, 20),
        members_caught=7,
        case_ids=[p.x1.pk],
    )
    return p
