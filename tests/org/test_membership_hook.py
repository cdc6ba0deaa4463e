"""Every org verb that changes who belongs where tells ``core.hooks.membership_changed`` the units
concerned, after commit (the dashboards follow it at once; see ``reports.kpis.apply_membership``)."""

from __future__ import annotations

import pytest

from fanzha.core import hooks
from fanzha.org import actions
from fanzha.org.models import Membership, MembershipRole
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(monkeypatch) -> list[list[int]]:
    """The unit ids of each call of the hook (only this recorder is registered)."""
    calls: list[list[int]] = []
    monkeypatch.setattr(hooks, "_membership_changed", [lambda ids: calls.append(sorted(ids))])
    return calls


def test_each_membership_verb_names_its_units(cast: Cast, heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        membership = actions.add_membership(cast.math_student, cast.cs2302)
    assert heard == [[cast.cs2302.pk]]
    with django_capture_on_commit_callbacks(execute=True):
        actions.add_membership(cast.math_student, cast.cs2302)  # already there: nothing changed
        actions.remove_membership(membership)
    assert heard[1:] == [[cast.cs2302.pk]]
    with django_capture_on_commit_callbacks(execute=True):
        actions.insert_memberships([(cast.math_student.pk, cast.cs2301.pk, MembershipRole.MEMBER)])
        actions.bulk_add_memberships([(cast.math_student.pk, cast.cs2302.pk, MembershipRole.MEMBER)])
        ids = Membership.objects.filter(person=cast.math_student, unit__in=[cast.cs2301, cast.cs2302])
        actions.bulk_remove_memberships(list(ids.values_list("pk", flat=True)))
    assert heard[2:] == [[cast.cs2301.pk], [cast.cs2302.pk], [cast.cs2301.pk, cast.cs2302.pk]]


def test_people_and_units_switched_off_name_their_units(
    cast: Cast, heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        actions.save_person(root=cast.uni, person=cast.math_student, name="王五五")  # no change of place
    assert heard == []
    with django_capture_on_commit_callbacks(execute=True):
        actions.save_person(root=cast.uni, person=cast.math_student, is_active=False)
    assert heard == [sorted([cast.ma2301.pk, cast.d1_101.pk])]
    cast.monitor.kind = "teacher"
    with django_capture_on_commit_callbacks(execute=True):
        actions.bulk_update_people([(cast.monitor, ["kind"])])
        actions.set_unit_active(cast.cs2302, False)
    assert heard[1:] == [[cast.cs2301.pk], [cast.cs2302.pk]]
