"""Jurisdiction (辖区): a school assigned to a police station is the station's for cases, alerts and
figures, never for its roster; only the school's own tree may assign it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fanzha.cases import actions as case_actions
from fanzha.cases.models import AlertRecipient, Case
from fanzha.cases.queries import alerts_for, can, cases_for
from fanzha.cases.stats.queries import change, month_period, unit_cases
from fanzha.org import actions
from fanzha.org.models import Jurisdiction, Role, UnitEvent
from fanzha.org.scope import Cap, memberships_for, people_for, scope_paths, units_for
from tests.cases.conftest import intake
from tests.conftest import Cast, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(county_cast: Cast) -> Cast:
    c = county_cast
    c.bureau_admin = make_staff(c.county, "T1999", "教育局管理员", Role.BUREAU_ADMIN, c.county)
    c.officer2 = make_staff(c.police, "P1003", "东岭所民警", Role.POLICE_OFFICER, c.station2, "police")
    return c


def _assign(c: Cast) -> None:
    actions.assign_jurisdiction(c.m01, c.station, c.bureau_admin)
    actions.assign_jurisdiction(c.m01, c.outlet, c.bureau_admin)


def _case(c: Cast, **changes) -> Case:
    return case_actions.report_case(intake(c.m0701, victim=c.pupil, **changes), c.class_teacher)


def test_station_and_county_bureau_see_jurisdiction_cases_others_do_not(world: Cast) -> None:
    c = world
    case = _case(c)
    assert not cases_for(c.police_officer).filter(pk=case.pk).exists()
    _assign(c)
    for user in (c.police_officer, c.police_admin):
        user.__dict__.pop("_fanzha_scope", None)
        assert cases_for(user).filter(pk=case.pk).exists()
        assert alerts_for(user).filter(case=case).exists()
        assert can(user, case, Cap.CASE_POLICE)
    # Another station, the bank outlet the school is also assigned to, and the branch: no cases.
    for user in (c.officer2, c.outlet_manager, c.branch_manager):
        assert not cases_for(user).exists()
        assert not can(user, case, Cap.CASE_VIEW)
    # No roster through jurisdiction: not the school, its people or memberships.
    officer = c.police_officer
    assert not units_for(officer).filter(pk=c.m01.pk).exists()
    assert not people_for(officer).filter(pk=c.pupil.pk).exists()
    assert not memberships_for(officer).filter(person=c.pupil).exists()
    assert c.m01.path not in "".join(scope_paths(officer, Cap.VIEW))
    # Unassigned: gone again.
    actions.unassign_jurisdiction(Jurisdiction.objects.get(unit=c.m01, side="police"), c.bureau_admin)
    officer.__dict__.pop("_fanzha_scope", None)
    assert not cases_for(officer).filter(pk=case.pk).exists()


def test_station_pages_show_cases_never_the_roster(world: Cast) -> None:
    c = world
    _assign(c)
    case = _case(c)
    client = Client()
    client.force_login(c.police_officer)
    page = client.get(reverse("case_detail", args=[case.pk]))
    assert page.status_code == 200
    assert "孙小明" not in page.content.decode()  # the victim masked as usual
    assert client.get(reverse("case_list")).content.decode().count(case.number) >= 1
    assert client.get(reverse("person_detail", args=[c.pupil.pk])).status_code == 404
    assert client.get(reverse("unit_detail", args=[c.m01.pk])).status_code == 404
    assert client.get(reverse("roster_export"), {"unit": c.m01.pk}).status_code == 404
    assert "孙小明" not in client.get(reverse("person_list"), {"q": "孙"}).content.decode()
    # The station's page lists its jurisdiction.
    station = client.get(reverse("unit_detail", args=[c.station.pk])).content.decode()
    assert c.m01.name in station


def test_only_the_places_own_tree_may_assign(world: Cast) -> None:
    c = world
    # The attack: a police administrator pulling a school into their station to read its cases.
    for user in (c.police_admin, c.police_officer, c.class_teacher, c.outsider, c.outlet_manager):
        with pytest.raises(PermissionDenied):
            actions.assign_jurisdiction(c.m01, c.station, user)
    client = Client()
    client.force_login(c.police_admin)
    url = reverse("unit_jurisdiction", args=[c.m01.pk])
    assert client.post(url, {"jur-station": c.station.pk}).status_code == 404
    assert not Jurisdiction.objects.exists()
    # Wrong kinds refused, nothing written.
    with pytest.raises(ValidationError):
        actions.assign_jurisdiction(c.m01, c.branch, c.bureau_admin)
    with pytest.raises(ValidationError):
        actions.assign_jurisdiction(c.m0701, c.station, c.bureau_admin)
    assert not Jurisdiction.objects.exists()
    # The education bureau's administrator assigns through the unit page; the change is in its history.
    client.force_login(c.bureau_admin)
    response = client.post(url, {"jur-station": c.station.pk, "jur-outlet": c.outlet.pk})
    assert response.status_code == 302
    assert set(Jurisdiction.objects.values_list("side", "authority")) == {
        ("police", c.station.pk),
        ("bank", c.outlet.pk),
    }
    assert (
        UnitEvent.objects.filter(unit=c.m01, kind=UnitEvent.Kind.ASSIGNED, actor=c.bureau_admin).count() == 2
    )
    # Moving it to the other station replaces the first (one station per unit).
    actions.assign_jurisdiction(c.m01, c.station2, c.bureau_admin)
    assert Jurisdiction.objects.get(unit=c.m01, side="police").authority == c.station2
    # The station's administrator may hand it back, from the station's side.
    row = Jurisdiction.objects.get(unit=c.m01, side="police")
    client.force_login(c.police_admin)
    assert client.post(reverse("jurisdiction_remove", args=[row.pk])).status_code == 302
    assert not Jurisdiction.objects.filter(side="police").exists()
    # A station officer (no unit editing) may not remove the bank side; an outsider does not see it.
    bank = Jurisdiction.objects.get(side="bank")
    client.force_login(c.outsider)
    assert client.post(reverse("jurisdiction_remove", args=[bank.pk])).status_code == 404
    client.force_login(c.outlet_manager)
    assert client.post(reverse("jurisdiction_remove", args=[bank.pk])).status_code == 403
    assert Jurisdiction.objects.filter(side="bank").exists()


def test_alert_at_a_jurisdiction_school_reaches_the_station(world: Cast) -> None:
    c = world
    _assign(c)
    case = _case(c)
    told = set(AlertRecipient.objects.filter(alert__case=case).values_list("user", flat=True))
    assert c.police_officer.pk in told
    assert c.officer2.pk not in told


def test_station_and_bureau_figures_count_jurisdiction_cases(world: Cast) -> None:
    c = world
    now = timezone.now()
    _case(c, now=now)
    _case(c, now=now - timedelta(days=365))
    _case(c, now=now - timedelta(days=365))
    _assign(c)
    c.police_officer.__dict__.pop("_fanzha_scope", None)
    assert unit_cases(c.police_officer, c.station).count() == 3
    period = month_period(now.year, now.month)
    for unit in (c.station, c.police):
        figures = change(Case.objects.all(), unit, period)
        assert figures.current.cases >= 1
    assert change(Case.objects.all(), c.station2, period).current.cases == 0


def test_by_unit_counts_jurisdiction_for_the_station_and_its_bureau(world: Cast) -> None:
    from fanzha.cases.stats.queries import by_unit

    c = world
    now = timezone.now()
    _case(c, now=now)
    _assign(c)
    period = month_period(now.year, now.month)
    qs = Case.objects.all()
    county = {r.unit.pk: r.tally.cases for r in by_unit(qs, c.police, period)}
    assert county[c.station.pk] == 1 and county[c.station2.pk] == 0
    station = {r.unit.pk: r.tally.cases for r in by_unit(qs, c.station, period)}
    assert station[c.m01.pk] == 1


def test_the_police_start_on_their_own_unit_not_on_a_jurisdiction_school(world: Cast) -> None:
    """A school assigned to the station lies earlier in the tree than the police bureau; the statistics
    and the bulletin still open on the user's own unit, and list it first among the choices."""
    from fanzha.cases.stats.queries import scoped_unit

    c = world
    _assign(c)
    for user, own in ((c.police_officer, c.station), (c.police_admin, c.police)):
        user.__dict__.pop("_fanzha_scope", None)
        assert scoped_unit(user, "") == own
        client = Client()
        client.force_login(user)
        page = client.get(reverse("case_stats"))
        assert page.context["unit"] == own
        bulletin = client.get(reverse("bulletin")).content.decode()
        assert own.name in bulletin.split("关于")[0]


def test_a_switched_off_place_leaves_the_stations_area(world: Cast) -> None:
    """``subtree_jurisdiction`` drops inactive places, as the case scope does, so every figure built on
    it (statistics, the overview, the plan's goals) stops counting a school that was switched off."""
    from fanzha.org.models import Unit
    from fanzha.org.scope import area_paths, subtree_jurisdiction

    c = world
    _assign(c)
    assert (c.station.path, c.m01.path) in subtree_jurisdiction(c.police)
    Unit.objects.filter(pk=c.m01.pk).update(is_active=False)
    assert all(place != c.m01.path for _, place in subtree_jurisdiction(c.police))
    assert c.m01.path not in area_paths(c.station)
