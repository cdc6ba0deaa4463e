"""Every cast member against every API endpoint: who may read and write what; refused writes change nothing.

Statuses follow one rule: outside your scope (or absent) → 404; visible but your role may not
change it → 403; a create whose target you cannot see → 400, the same answer as for an id
that does not exist; no token → 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.conftest import API, client_for, snapshot
from tests.conftest import COUNTY_ROLES, Cast

pytestmark = pytest.mark.django_db

WHO = [
    "school_admin",
    "college_admin",
    "counsellor",
    "police_liaison",
    "auditor",
    "student",
    "parent",
    "outsider",
    "anonymous",
]
MISSING = 987654

Request = tuple[str, str, dict[str, Any] | None]


def _m(cast: Cast, person: str, unit: str) -> int:
    return getattr(cast, person).memberships.get(unit=getattr(cast, unit)).pk


# name → (request builder, {who: status}); "*" is the default for anyone not listed.
OPERATIONS: dict[str, tuple[Callable[[Cast], Request], dict[str, int]]] = {
    # ------------------------------------------------------------------ units
    "units.list": (lambda c: ("get", f"{API}/units/", None), {"*": 200}),
    "units.retrieve.inside": (
        lambda c: ("get", f"{API}/units/{c.cs2301.pk}/", None),
        {
            "school_admin": 200,
            "college_admin": 200,
            "counsellor": 200,
            "police_liaison": 200,
            "auditor": 200,
            "*": 404,
        },
    ),
    "units.retrieve.other_school": (
        lambda c: ("get", f"{API}/units/{c.oc01.pk}/", None),
        {"outsider": 200, "*": 404},
    ),
    "units.retrieve.missing": (lambda c: ("get", f"{API}/units/{MISSING}/", None), {"*": 404}),
    "units.create": (
        lambda c: (
            "post",
            f"{API}/units/",
            {"parent": c.cs.pk, "name": "计科2399班", "code": "CS2399", "kind": "class"},
        ),
        {"school_admin": 201, "college_admin": 201, "outsider": 400, "*": 403},
    ),
    "units.update.inside": (
        lambda c: ("patch", f"{API}/units/{c.cs2301.pk}/", {"name": "改名班"}),
        {
            "school_admin": 200,
            "college_admin": 200,
            "counsellor": 403,
            "police_liaison": 403,
            "auditor": 403,
            "*": 404,
        },
    ),
    "units.update.other_school": (
        lambda c: ("put", f"{API}/units/{c.oc01.pk}/", {"name": "改名班", "code": "OC99"}),
        {"outsider": 200, "*": 404},
    ),
    "units.move.across_colleges": (
        lambda c: ("post", f"{API}/units/{c.cs2302.pk}/move/", {"parent": c.ma.pk}),
        {"school_admin": 200, "college_admin": 400, "police_liaison": 403, "auditor": 403, "*": 404},
    ),
    "units.move.within_college": (
        lambda c: ("post", f"{API}/units/{c.cs2302.pk}/move/", {"parent": c.cs2301.pk}),
        {"school_admin": 200, "college_admin": 200, "police_liaison": 403, "auditor": 403, "*": 404},
    ),
    "units.move.other_school_under_ours": (
        lambda c: ("post", f"{API}/units/{c.oc01.pk}/move/", {"parent": c.cs.pk}),
        {"outsider": 400, "*": 404},
    ),
    "units.delete": (lambda c: ("delete", f"{API}/units/{c.cs2302.pk}/", None), {"*": 405}),
    # ------------------------------------------------------------------ people
    "people.list": (lambda c: ("get", f"{API}/people/", None), {"*": 200}),
    "people.retrieve.student": (
        lambda c: ("get", f"{API}/people/{c.student.pk}/", None),
        {"outsider": 404, "*": 200},
    ),
    "people.retrieve.math_student": (
        lambda c: ("get", f"{API}/people/{c.math_student.pk}/", None),
        {"school_admin": 200, "police_liaison": 200, "auditor": 200, "*": 404},
    ),
    "people.retrieve.other_school": (
        lambda c: ("get", f"{API}/people/{c.other_student.pk}/", None),
        {"outsider": 200, "*": 404},
    ),
    "people.retrieve.missing": (lambda c: ("get", f"{API}/people/{MISSING}/", None), {"*": 404}),
    "people.create": (
        lambda c: (
            "post",
            f"{API}/people/",
            {"name": "新同学", "kind": "student", "unit": c.cs2301.pk, "external_number": "2023999"},
        ),
        {"school_admin": 201, "college_admin": 201, "counsellor": 201, "outsider": 400, "*": 403},
    ),
    "people.create.other_college": (
        lambda c: ("post", f"{API}/people/", {"name": "新同学", "kind": "student", "unit": c.ma2301.pk}),
        {"school_admin": 201, "police_liaison": 403, "auditor": 403, "student": 403, "parent": 403, "*": 400},
    ),
    "people.update.student": (
        lambda c: ("patch", f"{API}/people/{c.student.pk}/", {"name": "张三丰", "phone": "13700137000"}),
        {
            "school_admin": 200,
            "college_admin": 200,
            "counsellor": 200,
            "outsider": 404,
            "*": 403,  # police, auditor, and the student and parent themselves: visible, read-only
        },
    ),
    "people.update.parent": (
        lambda c: ("patch", f"{API}/people/{c.parent.pk}/", {"birth_year": 1975}),
        {
            "school_admin": 200,
            "college_admin": 200,
            "counsellor": 200,
            "student": 404,
            "outsider": 404,
            "*": 403,
        },
    ),
    "people.update.math_student": (
        lambda c: ("put", f"{API}/people/{c.math_student.pk}/", {"name": "王五", "kind": "teacher"}),
        {"school_admin": 200, "police_liaison": 403, "auditor": 403, "*": 404},
    ),
    "people.update.other_school": (
        lambda c: ("patch", f"{API}/people/{c.other_student.pk}/", {"name": "赵七"}),
        {"outsider": 200, "*": 404},
    ),
    "people.delete": (lambda c: ("delete", f"{API}/people/{c.student.pk}/", None), {"*": 405}),
    # ------------------------------------------------------------------ memberships
    "memberships.list": (lambda c: ("get", f"{API}/memberships/", None), {"*": 200}),
    "memberships.retrieve.inside": (
        lambda c: ("get", f"{API}/memberships/{_m(c, 'student', 'cs2301')}/", None),
        {
            "school_admin": 200,
            "college_admin": 200,
            "counsellor": 200,
            "police_liaison": 200,
            "auditor": 200,
            "*": 404,
        },
    ),
    "memberships.retrieve.other_school": (
        lambda c: ("get", f"{API}/memberships/{_m(c, 'other_student', 'oc01')}/", None),
        {"outsider": 200, "*": 404},
    ),
    "memberships.create.same_class": (
        lambda c: (
            "post",
            f"{API}/memberships/",
            {"person": c.student.pk, "unit": c.cs2301.pk, "role": "committee"},
        ),
        {"school_admin": 201, "college_admin": 201, "counsellor": 201, "outsider": 400, "*": 403},
    ),
    "memberships.create.other_class": (
        lambda c: ("post", f"{API}/memberships/", {"person": c.monitor.pk, "unit": c.cs2302.pk}),
        {"school_admin": 201, "college_admin": 201, "counsellor": 400, "outsider": 400, "*": 403},
    ),
    "memberships.create.cross_school": (
        lambda c: ("post", f"{API}/memberships/", {"person": c.other_student.pk, "unit": c.cs2301.pk}),
        {"police_liaison": 403, "auditor": 403, "student": 403, "parent": 403, "*": 400},
    ),
    "memberships.delete.inside": (
        lambda c: ("delete", f"{API}/memberships/{_m(c, 'monitor', 'cs2301')}/", None),
        {
            "school_admin": 204,
            "college_admin": 204,
            "counsellor": 204,
            "police_liaison": 403,
            "auditor": 403,
            "*": 404,
        },
    ),
    "memberships.delete.other_college": (
        lambda c: ("delete", f"{API}/memberships/{_m(c, 'math_student', 'ma2301')}/", None),
        {"school_admin": 204, "police_liaison": 403, "auditor": 403, "*": 404},
    ),
    "memberships.delete.other_school": (
        lambda c: ("delete", f"{API}/memberships/{_m(c, 'other_student', 'oc01')}/", None),
        {"outsider": 204, "*": 404},
    ),
    "memberships.update": (
        lambda c: ("patch", f"{API}/memberships/{_m(c, 'monitor', 'cs2301')}/", {"role": "member"}),
        {"*": 405},
    ),
}


def expected_status(operation: str, who: str) -> int:
    if who == "anonymous":
        return 401
    table = OPERATIONS[operation][1]
    return table.get(who, table["*"])


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_scope_matrix(cast, api, operation, who):
    method, url, body = OPERATIONS[operation][0](cast)
    client = api(None if who == "anonymous" else who)
    before = snapshot()

    response = getattr(client, method)(url, body, format="json")

    expected = expected_status(operation, who)
    assert response.status_code == expected, response.content.decode()
    after = snapshot()
    if method == "get" or expected >= 400:
        assert after == before, "a read or a refused write changed the database"
    else:
        assert after != before, "an accepted write changed nothing"


# What each cast member's lists return: exactly their scope, nothing from outside it.
VISIBLE_UNITS = {
    "school_admin": {"UNI", "CS", "CS2301", "CS2302", "MA", "MA2301", "D1", "D1-101"},
    # and the room where their student 张三 lives (reached through the class, not the tree)
    "college_admin": {"CS", "CS2301", "CS2302", "D1-101"},
    "counsellor": {"CS2301", "D1-101"},
    "police_liaison": {"UNI", "CS", "CS2301", "CS2302", "MA", "MA2301", "D1", "D1-101"},
    "auditor": {"UNI", "CS", "CS2301", "CS2302", "MA", "MA2301", "D1", "D1-101"},
    "student": set(),
    "parent": set(),
    "outsider": {"OTH", "OC", "OC01"},
}
VISIBLE_PEOPLE = {
    "school_admin": {"张三", "李四", "王五", "张父"},
    "college_admin": {"张三", "李四", "张父"},
    "counsellor": {"张三", "李四", "张父"},
    "police_liaison": {"张三", "李四", "王五", "张父"},
    "auditor": {"张三", "李四", "王五", "张父"},
    "student": {"张三"},
    "parent": {"张三", "张父"},
    "outsider": {"赵六"},
}
_WHOLE_SCHOOL = {"张三@CS2301", "张三@D1-101", "李四@CS2301", "王五@MA2301", "王五@D1-101"}
VISIBLE_MEMBERSHIPS = {
    "school_admin": _WHOLE_SCHOOL,
    # their student's room, not who else lives there (王五@D1-101)
    "college_admin": {"张三@CS2301", "张三@D1-101", "李四@CS2301"},
    "counsellor": {"张三@CS2301", "张三@D1-101", "李四@CS2301"},
    "police_liaison": _WHOLE_SCHOOL,
    "auditor": _WHOLE_SCHOOL,
    "student": set(),
    "parent": set(),
    "outsider": {"赵六@OC01"},
}


@pytest.mark.parametrize("who", sorted(VISIBLE_UNITS))
def test_lists_hold_exactly_the_scope(cast, api, who):
    client = api(who)
    units = client.get(f"{API}/units/", {"page_size": 500}).json()["results"]
    assert {u["code"] for u in units} == VISIBLE_UNITS[who]
    people = client.get(f"{API}/people/", {"page_size": 500}).json()["results"]
    assert {p["name"] for p in people} == VISIBLE_PEOPLE[who]
    codes = {u.pk: u.code for u in (cast.uni, cast.cs, cast.cs2301, cast.ma2301, cast.d1_101, cast.oc01)}
    memberships = client.get(f"{API}/memberships/", {"page_size": 500}).json()["results"]
    assert {f"{m['person_name']}@{codes[m['unit']]}" for m in memberships} == VISIBLE_MEMBERSHIPS[who]


@pytest.mark.parametrize("resource", ["units", "people", "memberships"])
def test_outside_answers_exactly_like_missing(cast, api, resource):
    """The body of a 404 for another school's object is byte for byte the body for an absent id."""
    target = {"units": cast.oc01.pk, "people": cast.other_student.pk}.get(resource)
    if target is None:
        target = cast.other_student.memberships.get().pk
    client = api("school_admin")
    outside = client.get(f"{API}/{resource}/{target}/")
    missing = client.get(f"{API}/{resource}/{MISSING}/")
    assert outside.status_code == missing.status_code == 404
    assert outside.content == missing.content
    patched = client.patch(f"{API}/{resource}/{target}/", {"name": "x"}, format="json")
    assert patched.status_code in (404, 405)


def test_visible_target_without_write_right_is_403(cast, api):
    """A college admin who may also read the whole school still writes only inside the college."""
    from fanzha.org import actions

    actions.grant_role(cast.college_admin, cast.uni, "auditor")
    client = api("college_admin")
    before = snapshot()
    attempts = [
        client.post(f"{API}/units/", {"parent": cast.ma.pk, "name": "x", "code": "X1", "kind": "class"}),
        client.post(f"{API}/units/{cast.cs2302.pk}/move/", {"parent": cast.ma.pk}),
        client.patch(f"{API}/units/{cast.ma2301.pk}/", {"name": "x"}),
        client.post(f"{API}/people/", {"name": "x", "kind": "student", "unit": cast.ma2301.pk}),
        client.patch(f"{API}/people/{cast.math_student.pk}/", {"name": "x"}),
        client.post(f"{API}/memberships/", {"person": cast.math_student.pk, "unit": cast.cs2301.pk}),
        client.post(f"{API}/memberships/", {"person": cast.student.pk, "unit": cast.ma2301.pk}),
        client.delete(f"{API}/memberships/{_m(cast, 'math_student', 'ma2301')}/"),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert snapshot() == before
    # …and inside the college everything still works.
    assert client.post(f"{API}/units/{cast.cs2302.pk}/move/", {"parent": cast.cs2301.pk}).status_code == 200


# The roles of every level (``county_cast``) ---------------------------------------------------------

_UNIVERSITY = {"UNI", "CS", "CS2301", "CS2302", "MA", "MA2301", "D1", "D1-101"}
COUNTY_UNITS = {
    "class_teacher": {"M0701"},
    "kg_teacher": {"K0101"},
    "dorm_manager": {"D1", "D1-101"},
    "security_officer": _UNIVERSITY,
    "police_admin": {"QSGA", "XZ", "FZZX", "PCS01", "PCS01-01", "PCS02"},
    "police_officer": {"PCS01", "PCS01-01"},
    "branch_manager": {"ZH01", "ZH0101"},
    "outlet_manager": {"ZH0101"},
}
COUNTY_PEOPLE = {
    "class_teacher": {"孙小明", "班主任甲"},  # the teacher is a member of the class too
    "kg_teacher": {"周豆豆", "幼儿园教师甲"},
    "dorm_manager": {"张三", "王五", "张父"},  # the residents, and their guardians
    "security_officer": {"张三", "李四", "王五", "张父"},
    "police_admin": set(),
    "police_officer": set(),
    "branch_manager": set(),
    "outlet_manager": set(),
}


@pytest.mark.parametrize("who", COUNTY_ROLES)
def test_lists_of_every_level_hold_exactly_the_scope(county_cast, who):
    client = client_for(county_cast.users()[who])
    units = client.get(f"{API}/units/", {"page_size": 500}).json()["results"]
    assert {u["code"] for u in units} == COUNTY_UNITS[who]
    people = client.get(f"{API}/people/", {"page_size": 500}).json()["results"]
    assert {p["name"] for p in people} == COUNTY_PEOPLE[who]


# name → (request, {who: status}), as ``OPERATIONS`` for the roles of every level.
COUNTY_OPERATIONS: dict[str, tuple[Callable[[Cast], Request], dict[str, int]]] = {
    "units.retrieve.station": (
        lambda c: ("get", f"{API}/units/{c.station.pk}/", None),
        {"police_admin": 200, "police_officer": 200, "*": 404},
    ),
    "units.update.station": (
        lambda c: ("patch", f"{API}/units/{c.station.pk}/", {"name": "城关中心派出所"}),
        {"police_admin": 200, "police_officer": 403, "*": 404},
    ),
    "units.create.under_branch": (
        lambda c: (
            "post",
            f"{API}/units/",
            {"parent": c.branch.pk, "name": "新网点", "code": "N1", "kind": "bank_outlet"},
        ),
        # the police admin may create units, but not in the bank: as for a parent that does not exist
        {"police_admin": 400, "*": 403},
    ),
    "units.update.class": (
        lambda c: ("patch", f"{API}/units/{c.m0701.pk}/", {"name": "改名班"}),
        {"class_teacher": 403, "*": 404},
    ),
    "people.update.pupil": (
        lambda c: ("patch", f"{API}/people/{c.pupil.pk}/", {"name": "孙小亮"}),
        {"class_teacher": 200, "*": 404},
    ),
    "people.update.resident": (
        lambda c: ("patch", f"{API}/people/{c.student.pk}/", {"name": "张三丰"}),
        {"dorm_manager": 403, "security_officer": 403, "*": 404},
    ),
    "people.create.in_class": (
        lambda c: ("post", f"{API}/people/", {"name": "新同学", "kind": "student", "unit": c.m0701.pk}),
        # who may add people somewhere else: an unknown unit to them; who may add nobody: 403
        {"class_teacher": 201, "kg_teacher": 400, "police_admin": 400, "*": 403},
    ),
    "memberships.create.pupil_in_kindergarten": (
        lambda c: ("post", f"{API}/memberships/", {"person": c.pupil.pk, "unit": c.k0101.pk}),
        {"class_teacher": 400, "kg_teacher": 400, "police_admin": 400, "*": 403},
    ),
}


@pytest.mark.parametrize("who", COUNTY_ROLES)
@pytest.mark.parametrize("operation", list(COUNTY_OPERATIONS))
def test_scope_matrix_of_every_level(county_cast, operation, who):
    request, table = COUNTY_OPERATIONS[operation]
    method, url, body = request(county_cast)
    client = client_for(county_cast.users()[who])
    before = snapshot()

    response = getattr(client, method)(url, body, format="json")

    expected = table.get(who, table["*"])
    assert response.status_code == expected, response.content.decode()
    after = snapshot()
    if method == "get" or expected >= 400:
        assert after == before, "a read or a refused write changed the database"
    else:
        assert after != before, "an accepted write changed nothing"
