"""The demo year of cases: counts per month and place, clusters across units, alerts answered late
or never, most old cases closed; deterministic plans and an idempotent build."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import phonenumbers
import pytest
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from fanzha.cases import demo as cases_demo
from fanzha.cases.alerts import actions as alert_actions
from fanzha.cases.models import Alert, Case, CaseEvent, CaseState, Indicator, IndicatorKind, Side
from fanzha.core.identifiers import luhn_ok, normalize_phone
from fanzha.org import demo as org_demo
from fanzha.org.models import Unit, UnitKind

pytestmark = pytest.mark.django_db

TINY = 0.02


def _root(code: str) -> Unit:
    return Unit.objects.get(parent_path="", code=code)


def _month(moment) -> tuple[int, int]:
    local = timezone.localtime(moment)
    return local.year, local.month


def test_luhn_cards_and_numbers_are_valid():
    rng = random.Random(1)
    for _ in range(200):
        assert luhn_ok(cases_demo.bank_card(rng))
        assert normalize_phone(cases_demo.mobile(rng))
        assert normalize_phone(cases_demo.service_number(rng)).startswith("400")
        foreign = cases_demo.foreign_number(rng)
        assert foreign.startswith(("+63", "+855"))
        assert phonenumbers.is_valid_number(phonenumbers.parse(foreign))
    assert cases_demo.luhn_digit("7992739871") == "3"  # the textbook example


def test_the_demo_year(db):
    org_demo.build_world("small", TINY, log=lambda _m: None)
    lines: list[str] = []
    now = timezone.now()
    added = cases_demo.build_cases(lines.append)
    assert added == Case.objects.count() > 150
    assert lines and "[cases]" in lines[-1]

    uni, police, bureau = (_root(c) for c in (org_demo.UNIVERSITY_CODE, org_demo.POLICE_CODE, "QSJY"))
    cases = list(Case.objects.select_related("unit", "victim"))
    at = {c.pk: c for c in cases}
    by_root: dict[str, list[Case]] = {"uni": [], "police": [], "district": []}
    for case in cases:
        key = next(
            k
            for k, root in (("uni", uni), ("police", police), ("district", bureau))
            if case.unit.path.startswith(root.path)
        )
        by_root[key].append(case)

    # A year of them: 3–6 a month at the university, 10–20 at the police stations, a handful in the district.
    full_months: set[tuple[int, int]] = set()
    first = timezone.localtime(now).date().replace(day=1)
    for _ in range(11):  # the eleven whole months before this one
        first = (first - timedelta(days=1)).replace(day=1)
        full_months.add((first.year, first.month))
    uni_months = Counter(_month(c.reported_at) for c in by_root["uni"])
    police_months = Counter(_month(c.reported_at) for c in by_root["police"])
    for month in full_months:
        assert 3 <= uni_months[month] <= 6, (month, uni_months)
        assert 10 <= police_months[month] <= 20, (month, police_months)
    # The year before: the last six months' calendar months, at the stations only and more of them, so
    # that the police plan's "cases down year on year" has a base.
    this_year = now - timedelta(days=366)
    older = [c for c in cases if c.reported_at <= this_year]
    assert older and all(c in by_root["police"] for c in older)
    assert min(c.reported_at for c in cases) > now - timedelta(days=366 + 7 * 31)
    base_months = Counter(_month(c.reported_at) for c in older)
    for year, month in full_months:
        if (year - 1, month) in base_months and month != timezone.localtime(now).month:
            assert 12 <= base_months[(year - 1, month)] <= 22, (month, base_months)
    assert len(base_months) >= 5
    assert max(c.reported_at for c in cases) < now
    assert 4 <= len(by_root["district"]) <= 8

    # Students are victims in their classes; residents are names only, at stations and their grid.
    assert all(
        c.victim is not None and c.unit.kind == UnitKind.CLASS for c in by_root["uni"] + by_root["district"]
    )
    assert all(c.victim is None and c.victim_name for c in by_root["police"])
    assert {c.unit.kind for c in by_root["police"]} <= {
        UnitKind.POLICE_STATION,
        UnitKind.COMMUNITY,
        UnitKind.VILLAGE,
    }
    kinds = Counter(c.fraud_type for c in by_root["uni"])
    assert kinds.most_common(1)[0][0] in {"brushing", "fake_cs", "game", "loan", "investment", "romance"}
    assert len({c.fraud_type for c in cases}) >= 11

    # Amounts: small to tens of thousands; in the district two above 50,000 and one above 100,000.
    losses = sorted(c.total_loss for c in cases)
    assert losses[0] < 500 and losses[-1] > 50_000
    district = sorted(c.total_loss for c in by_root["district"])
    assert district[-1] > 100_000 and district[-3] > 50_000
    for case in cases:
        assert case.total_loss == sum((t.amount for t in case.transfers.all()), Decimal("0"))

    # Suspects' lines: valid cards, Chinese, 400 and foreign numbers, made-up domains only.
    suspects = list(Indicator.objects.filter(side=Side.SUSPECT).values_list("kind", "value"))
    cards = [v for k, v in suspects if k == IndicatorKind.BANK_CARD]
    phones = [v for k, v in suspects if k == IndicatorKind.PHONE]
    urls = [v for k, v in suspects if k == IndicatorKind.URL]
    assert cards and all(luhn_ok(v) for v in cards)
    assert any(p.startswith("400") for p in phones) and any(p.startswith("1") for p in phones)
    assert any(p.startswith("+63") for p in phones) and any(p.startswith("+855") for p in phones)
    assert urls and all(u.split("/")[2].rsplit(".", 1)[1] in ("example", "test") for u in urls)

    # Clusters: cards, numbers or sites shared by cases in different units, 4 to 6 such rings.
    shared = (
        Indicator.objects.filter(
            side=Side.SUSPECT, kind__in=[IndicatorKind.BANK_CARD, IndicatorKind.PHONE, IndicatorKind.URL]
        )
        .values("kind", "value")
        .annotate(cases=Count("case", distinct=True), units=Count("case__unit", distinct=True))
        .filter(units__gte=2)
    )
    rings = list(shared)
    assert 4 <= len(rings) <= 7, rings
    assert {r["kind"] for r in rings} == {IndicatorKind.BANK_CARD, IndicatorKind.PHONE, IndicatorKind.URL}
    crossing = 0
    for ring in rings:
        roots = {
            at[pk].unit.path[: uni.steplen]
            for pk in Indicator.objects.filter(kind=ring["kind"], value=ring["value"]).values_list(
                "case_id", flat=True
            )
        }
        crossing += len(roots) >= 2
    assert crossing >= 3  # most rings reach both the university (or district) and the police's stations

    # Alerts: most answered within the limit, some late (after escalating).
    limit = settings.FANZHA_ALERT_ESCALATE_MINUTES * 60
    alerts = list(Alert.objects.select_related("case"))
    assert len(alerts) > len(cases) / 2
    quick = [a for a in alerts if a.seconds_to_ack is not None and a.seconds_to_ack <= limit]
    late = [a for a in alerts if alert_actions.is_late(a)]
    assert len(quick) > len(late) >= 10
    # none left unanswered for long (issue 15): one to three wait from minutes ago, for the countdown
    waiting = [a for a in alerts if a.acknowledged_at is None and a.ended_at is None]
    assert 1 <= len(waiting) <= 3 and all(now - a.raised_at < timedelta(minutes=30) for a in waiting)
    late_case = late[0].case
    assert late_case.events.filter(kind=CaseEvent.Kind.ESCALATED).exists()
    assert late_case.events.filter(kind=CaseEvent.Kind.ACKNOWLEDGED, detail__late=True).exists()
    assert all(a.raised_at == a.case.reported_at for a in alerts)
    assert Alert.objects.filter(status=Alert.Status.RESOLVED).exists()
    # Closing ended the alerts of closed cases (the police queue holds only open cases' alerts).
    ended = [a for a in alerts if a.case.state == CaseState.CLOSED]
    assert ended and all(a.status == Alert.Status.ENDED and a.ended_at == a.case.closed_at for a in ended)
    assert all(a.status != Alert.Status.ENDED for a in alerts if a.case.state != CaseState.CLOSED)

    # Most cases older than three months are closed, with an outcome; recent ones mostly open.
    old = [c for c in cases if now - c.reported_at > timedelta(days=92)]
    closed_old = [c for c in old if c.state == CaseState.CLOSED]
    assert len(closed_old) > 0.75 * len(old)
    assert all(c.outcome and c.closed_at and c.closed_at < now for c in closed_old)
    assert all(c.police_case_number for c in cases if c.state in (CaseState.FILED, CaseState.INVESTIGATING))
    recent = [c for c in cases if now - c.reported_at < timedelta(days=20)]
    assert sum(c.state != CaseState.CLOSED for c in recent) > 0.8 * len(recent)
    # Every timeline runs forward in time.
    for case in cases[:60]:
        # the follow-up's sessions and the accountability steps are recorded after the year, at their dates
        later = [CaseEvent.Kind.FOLLOWUP, CaseEvent.Kind.ACCOUNTABILITY]
        times = list(case.events.exclude(kind__in=later).order_by("id").values_list("at", flat=True))
        assert times == sorted(times), case.number

    # A second run adds nothing.
    before = (Case.objects.count(), CaseEvent.objects.count(), Alert.objects.count())
    assert cases_demo.build_cases(lines.append) == 0
    assert (Case.objects.count(), CaseEvent.objects.count(), Alert.objects.count()) == before
    assert "already there" in lines[-1]


def test_plans_are_deterministic(db):
    org_demo.build_world("small", TINY, log=lambda _m: None)
    world = cases_demo.read_world()
    assert world is not None
    now = timezone.now()

    def plan() -> list[tuple]:
        plans = cases_demo.plan_cases(world, now, random.Random(cases_demo.SEED))
        return [
            (
                p.population,
                p.victim.unit.pk,
                p.victim.person_id,
                p.victim.name,
                p.reported_at,
                p.fraud_type,
                p.loss,
                p.shared,
                p.ack,
            )
            for p in plans
        ]

    first, second = plan(), plan()
    assert first == second
    assert first != [
        (
            p.population,
            p.victim.unit.pk,
            p.victim.person_id,
            p.victim.name,
            p.reported_at,
            p.fraud_type,
            p.loss,
            p.shared,
            p.ack,
        )
        for p in cases_demo.plan_cases(world, now, random.Random("another seed"))
    ]


def test_no_world_no_cases(db):
    assert cases_demo.build_cases(lambda _m: None) == 0
    assert Case.objects.count() == 0
