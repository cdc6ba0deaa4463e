"""The scope layer: every role sees its subtree and nothing else."""

from __future__ import annotations

import pytest

from fanzha.org import scope
from fanzha.org.scope import Cap

pytestmark = pytest.mark.django_db

EXPECTED_PEOPLE = {
    # who: names visible
    "school_admin": {"张三", "李四", "王五", "张父", "校管理员"} - {"校管理员"},
    "college_admin": {"张三", "李四", "张父"},
    "counsellor": {"张三", "李四", "张父"},
    "police_liaison": {"张三", "李四", "王五", "张父"},
    "auditor": {"张三", "李四", "王五", "张父"},
    "student": {"张三"},
    "parent": {"张三", "张父"},
    "outsider": {"赵六"},
}


@pytest.mark.parametrize("who", sorted(EXPECTED_PEOPLE))
def test_people_visible_per_role(cast, who):
    user = cast.users()[who]
    names = set(scope.people_for(user).values_list("name", flat=True))
    assert names == EXPECTED_PEOPLE[who]
    # The form that counts (and lists small scopes) holds exactly the same people, for every capability.
    for cap in (Cap.VIEW, Cap.EDIT_PEOPLE, Cap.REVEAL):
        assert set(scope.people_by_ids(user, cap)) == set(scope.people_for(user, cap))
    assert scope.people_by_ids(user).count() == len(names)


def test_units_subtree(cast):
    codes = set(scope.units_for(cast.college_admin).values_list("code", flat=True))
    # The college, its classes, and the room where its student 张三 lives (reached by membership).
    assert codes == {"CS", "CS2301", "CS2302", "D1-101"}
    assert set(scope.scope_paths(cast.college_admin)) == {cast.cs.path}
    assert not scope.units_for(cast.outsider).filter(path__startswith=cast.uni.path).exists()


def test_readonly_roles_cannot_edit(cast):
    for user in (cast.auditor, cast.police_liaison, cast.student_user, cast.parent_user):
        assert not scope.people_for(user, Cap.EDIT_PEOPLE).exists()
        assert not scope.units_for(user, Cap.EDIT_UNITS).exists()
    assert scope.people_for(cast.counsellor, Cap.EDIT_PEOPLE).filter(pk=cast.student.pk).exists()
    assert not scope.units_for(cast.counsellor, Cap.EDIT_UNITS).exists()


def test_nested_grants_collapse(cast):
    from fanzha.org import actions

    actions.grant_role(cast.college_admin, cast.cs2301, "counsellor")
    assert scope.scope_paths(cast.college_admin) == [cast.cs.path]
