"""Roles for every level (issue "Everyone who must act can sign in and act", item 2), decided in
``org.scope``: what each role may do, where, and the dormitory rooms reached through one's students."""

from __future__ import annotations

import pytest

from fanzha.org import actions, scope
from fanzha.org.models import Role
from fanzha.org.scope import Cap

pytestmark = pytest.mark.django_db

# What each new role may do at the unit it is granted at (Cap values), and where that is in the cast.
AT_HOME = {
    "class_teacher": ("m0701", {"view", "edit_people", "reveal", "campaign", "record", "publish", "counsel"}),
    "kg_teacher": ("k0101", {"view", "edit_people", "reveal", "campaign", "record", "publish", "counsel"}),
    "dorm_manager": ("d1", {"view", "record"}),
    "security_officer": ("uni", {"view", "campaign", "record", "publish", "case_view", "case_edit"}),
    "police_admin": (
        "police",
        {"view", "edit_people", "edit_units", "campaign", "record", "publish", "case_police", "case_reveal"},
    ),
    "police_officer": ("station", {"view", "record", "publish", "case_view", "case_police"}),
    "branch_manager": ("branch", {"view", "campaign", "record", "publish"}),
    "outlet_manager": ("outlet", {"view", "record", "publish"}),
}
# What they may not do there.
NOT_AT_HOME = {
    "class_teacher": {"edit_units", "import", "grant", "case_police"},
    "kg_teacher": {"edit_units", "import", "grant"},
    "dorm_manager": {"edit_people", "campaign", "publish", "case_view", "reveal"},
    "security_officer": {"edit_people", "edit_units", "case_police"},
    "police_admin": {"accountability"},
    "police_officer": {"campaign", "edit_people", "edit_units", "grant"},
    "branch_manager": {"edit_people", "edit_units", "case_view", "reveal"},
    "outlet_manager": {"campaign", "edit_people", "case_view"},
}


@pytest.mark.parametrize("who", sorted(AT_HOME))
def test_each_role_may_do_its_work_at_home_and_nothing_outside(county_cast, who):
    c = county_cast
    user = c.users()[who]
    home_name, caps = AT_HOME[who]
    home = getattr(c, home_name)
    for cap in caps:
        assert scope.in_scope(user, home, Cap(cap)), (who, cap)
    for cap in NOT_AT_HOME[who]:
        assert not scope.in_scope(user, home, Cap(cap)), (who, cap)
    # Nothing at all in another organisation's tree.
    others = [c.oc01, c.branch2 if home_name not in ("branch", "outlet") else c.station2]
    for unit in others:
        assert not any(scope.in_scope(user, unit, cap) for cap in Cap), (who, unit)


def test_the_police_liaison_runs_the_police_plan_at_police_units_only(county_cast):
    c = county_cast
    liaison = c.police_liaison
    for cap in (Cap.CAMPAIGN, Cap.RECORD, Cap.PUBLISH):
        assert scope.in_scope(liaison, c.police, cap) and scope.in_scope(liaison, c.station, cap)
        assert not scope.in_scope(liaison, c.uni, cap) and not scope.in_scope(liaison, c.cs2301, cap)
    # Its case powers hold at the schools as before.
    assert scope.in_scope(liaison, c.cs2301, Cap.CASE_POLICE)
    assert scope.role_caps(Role.POLICE_LIAISON, "school") == scope.ROLE_CAPS[Role.POLICE_LIAISON]
    assert Cap.CAMPAIGN in scope.role_caps(Role.POLICE_LIAISON)  # somewhere: it may answer for units
    assert Role.POLICE_LIAISON in scope.roles_with(Cap.RECORD)


def test_existing_roles_keep_their_powers():
    admin = scope.ROLE_CAPS[Role.SCHOOL_ADMIN]
    assert {
        Cap.EDIT_UNITS,
        Cap.EDIT_PEOPLE,
        Cap.CAMPAIGN,
        Cap.RECORD,
        Cap.PUBLISH,
        Cap.ACCOUNTABILITY,
    } <= admin
    for role in (Role.BUREAU_ADMIN, Role.COLLEGE_ADMIN, Role.BANK_ADMIN):
        assert {Cap.CAMPAIGN, Cap.RECORD, Cap.PUBLISH} <= scope.ROLE_CAPS[role]
    counsellor = scope.ROLE_CAPS[Role.COUNSELLOR]
    assert {Cap.EDIT_PEOPLE, Cap.RECORD, Cap.PUBLISH, Cap.COUNSEL} <= counsellor
    assert Cap.CAMPAIGN not in counsellor
    assert not {Cap.CAMPAIGN, Cap.RECORD, Cap.PUBLISH} & scope.ROLE_CAPS[Role.AUDITOR]
    # The class teacher is the counsellor of a school's or kindergarten's class, and starts its lesson.
    assert scope.ROLE_CAPS[Role.CLASS_TEACHER] == counsellor | {Cap.CAMPAIGN}


def test_the_dorm_manager_sees_the_residents_of_the_building(county_cast):
    c = county_cast
    names = set(scope.people_for(c.dorm_manager).values_list("name", flat=True))
    assert names == {"张三", "王五", "张父"}  # the residents, and their guardians as for every role
    assert scope.in_scope(c.dorm_manager, c.d1_101, Cap.RECORD)
    assert not scope.in_scope(c.dorm_manager, c.cs2301)


# Rooms reached through one's students -----------------------------------------------------------------


@pytest.fixture
def d1_102(cast):
    room = actions.create_unit(parent=cast.d1, name="102室", code="D1-102", kind="dorm_room")
    actions.add_membership(cast.math_student, room)
    return room


def test_a_counsellor_reaches_the_room_where_their_student_lives(cast, d1_102):
    counsellor = cast.counsellor
    for cap in (Cap.VIEW, Cap.RECORD):
        assert scope.in_scope(counsellor, cast.d1_101, cap)
        assert not scope.in_scope(counsellor, d1_102, cap)
        assert not scope.in_scope(counsellor, cast.d1, cap)
        assert set(scope.units_for(counsellor, cap).values_list("code", flat=True)) == {"CS2301", "D1-101"}
    # Seeing and recording at the room, nothing else there: not its people, its letters or the room itself.
    for cap in (Cap.EDIT_PEOPLE, Cap.EDIT_UNITS, Cap.REVEAL, Cap.CASE_VIEW):
        assert not scope.in_scope(counsellor, cast.d1_101, cap)
    assert not scope.in_tree_scope(counsellor, cast.d1_101, Cap.RECORD)
    assert scope.reached_only(counsellor, cast.d1_101) and not scope.reached_only(counsellor, cast.cs2301)


def test_the_reach_does_not_widen_the_people(cast):
    counsellor = cast.counsellor
    assert set(scope.people_for(counsellor).values_list("name", flat=True)) == {"张三", "李四", "张父"}
    seen = {
        (m.person.name, m.unit.code)
        for m in scope.memberships_for(counsellor).select_related("person", "unit")
    }
    assert seen == {("张三", "CS2301"), ("李四", "CS2301"), ("张三", "D1-101")}


def test_the_reach_follows_the_roster(cast, d1_102):
    """Moving a student to another room moves the reach with them, with no grant changed."""
    actions.add_membership(cast.student, d1_102)
    counsellor = cast.counsellor
    assert scope.in_scope(counsellor, d1_102, Cap.RECORD)
    other = cast.outsider
    assert not scope.in_scope(other, d1_102) and not scope.units_for(other).filter(pk=d1_102.pk).exists()


def test_reach_costs_no_query_for_roles_without_it(cast, django_assert_num_queries):
    """Only counsellors, class teachers and college admins look for rooms: nobody else pays for it."""
    with django_assert_num_queries(1):  # the grants
        assert not scope.in_scope(cast.auditor, cast.oc01)
        assert scope.in_scope(cast.auditor, cast.d1_101)
        assert scope.reach_paths(cast.auditor) == []
    with django_assert_num_queries(2):  # the grants, then the one room asked about (cached after)
        assert scope.in_scope(cast.counsellor, cast.d1_101, Cap.RECORD)
        assert scope.in_scope(cast.counsellor, cast.d1_101, Cap.RECORD)
