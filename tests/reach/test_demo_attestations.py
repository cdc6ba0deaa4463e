"""The demo world starts with member attestations on the university and district campaigns."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from fanzha.reach import demo as reach_demo
from fanzha.reach.models import Attestation
from fanzha.reach.queries import applies, campaign_items, roster
from fanzha.reports import kpis

TINY = "0.02"


@pytest.fixture
def world(db) -> None:
    call_command("demo", "--no-serve", "--scale", TINY, stdout=StringIO())


def test_demo_attestations(world):
    campaigns = {c.template.code: c for c in reach_demo.demo_attestation_campaigns()}
    university = campaigns["university-fraud-free-campus"]
    assert set(campaigns) == set(reach_demo.TEMPLATES)
    assert Attestation.objects.filter(campaign=university).exists()

    items = campaign_items(university)
    people = dict(roster(university, university.unit).values_list("pk", "kind"))
    homes = kpis.homes_of(people)
    due: Counter[int] = Counter()
    done: Counter[int] = Counter()
    for pk, kind in people.items():
        due[homes[pk].unit_id] += sum(applies(item, kind) for item in items)
    for pk in Attestation.objects.filter(campaign=university).values_list("person_id", flat=True):
        done[homes[pk].unit_id] += 1
    assert 0 < sum(done.values()) < sum(due.values())
    assert any(done[unit] < due[unit] for unit in due)

    before = Attestation.objects.count()
    assert reach_demo.build_attestations(lambda _m: None) == 0
    assert Attestation.objects.count() == before
