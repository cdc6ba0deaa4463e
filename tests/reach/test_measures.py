"""The coverage figures behind measured obligations (``reach.measures``, the ``core.hooks.measure``
handler): a fixed number of queries for any number of units, and the same figures as the roster."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fanzha.org import actions as org_actions
from fanzha.org.models import PersonKind, Unit
from fanzha.reach import actions
from fanzha.reach.measures import APP_ALL, unit_measures
from fanzha.reach.models import COUNTED, Attestation, Item
from fanzha.reach.queries import APP_ITEMS, CHILD_ONLY, roster
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

ITEMS = (Item.PLEDGE_SIGNED, Item.PARENT_NOTICE_SIGNED, APP_ALL)


def one_by_one(
    campaign, item: str, unit: Unit, limit: int = 0, user=None
) -> tuple[int, int, tuple[str, ...]]:
    """The figure of one unit counted person by person from the roster, as the reach pages list it."""
    items = tuple(APP_ITEMS) if item == APP_ALL else (item,)
    people = list(roster(campaign, unit, user))
    if any(i in CHILD_ONLY for i in items):
        people = [p for p in people if p.kind == PersonKind.STUDENT]
    counted = set(
        Attestation.objects.filter(campaign=campaign, status__in=COUNTED).values_list("person_id", "item")
    )
    missing = [p for p in people if any((p.pk, i) not in counted for i in items)]
    return len(people) - len(missing), len(people), tuple(p.name for p in missing[:limit])


def classes(cast: Cast, count: int) -> list[Unit]:
    """``count`` classes under the CS college, two students in each, one of whom signed the pledge."""
    made = []
    for n in range(count):
        cls = org_actions.create_unit(parent=cast.cs, name=f"测试{n}班", code=f"T{n:02d}", kind="class")
        for k in range(2):
            org_actions.enrol_person(
                unit=cls, name=f"学生{n}-{k}", kind="student", external_number=f"T{n:02d}{k}"
            )
        made.append(cls)
    return made


def test_the_measure_costs_the_same_for_3_units_as_for_30(cast: Cast, campaign):
    units = classes(cast, 30)
    for cls in units[::3]:
        person = cls.memberships.first().person
        actions.attest(campaign, person, Item.PLEDGE_SIGNED, Attestation.Status.VERIFIED)
    for item in ITEMS:
        with CaptureQueriesContext(connection) as few:
            small = unit_measures(campaign, item, units[:3])
        with CaptureQueriesContext(connection) as many:
            large = unit_measures(campaign, item, units)
        assert len(many) == len(few) <= 2, item
        assert len(small) == 3 and len(large) == 30
        assert all(figure.total == 2 for figure in large.values())
    pledges = unit_measures(campaign, Item.PLEDGE_SIGNED, units)
    assert sum(figure.done for figure in pledges.values()) == 10


def test_the_batched_figures_equal_the_roster_one_unit_at_a_time(cast: Cast, campaign):
    units = [cast.uni, cast.cs, cast.ma, cast.cs2301, cast.cs2302, cast.ma2301, cast.d1, cast.d1_101]
    actions.attest(campaign, cast.student, Item.PLEDGE_SIGNED, Attestation.Status.VERIFIED)
    actions.attest(campaign, cast.monitor, Item.PLEDGE_SIGNED, Attestation.Status.REJECTED)
    actions.attest(campaign, cast.math_student, Item.PARENT_NOTICE_SIGNED, Attestation.Status.DECLARED)
    for app in APP_ITEMS:
        actions.attest(campaign, cast.student, app, Attestation.Status.VERIFIED)
    actions.attest(campaign, cast.monitor, APP_ITEMS[0], Attestation.Status.VERIFIED)
    staff = org_actions.enrol_person(unit=cast.cs, name="教职工", kind="staff", external_number="S001")
    actions.attest(campaign, staff, Item.PLEDGE_SIGNED, Attestation.Status.VERIFIED)
    gone = org_actions.enrol_person(unit=cast.cs2302, name="已离校", kind="student", external_number="X001")
    org_actions.save_person(root=cast.uni, person=gone, is_active=False)
    for user in (None, cast.school_admin, cast.counsellor):
        for item in ITEMS:
            batched = unit_measures(campaign, item, units, missing_limit=5, user=user)
            for unit in units:
                figure = batched[unit.pk]
                assert (figure.done, figure.total, figure.missing) == one_by_one(
                    campaign, item, unit, 5, user
                ), (item, unit.code, user)
    assert unit_measures(campaign, Item.PLEDGE_SIGNED, [cast.uni])[cast.uni.pk].total > 0
