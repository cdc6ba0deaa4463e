"""Every organisation page against every member of the cast.

Out of scope answers 404 exactly like a missing object; a visible object that the role may
not change answers 403 on a write; a refused write changes nothing in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import reverse

from fanzha.core.models import AuditRecord
from fanzha.org.models import (
    Guardianship,
    Jurisdiction,
    Membership,
    Person,
    RoleGrant,
    SignInCode,
    Unit,
    UnitEvent,
)
from tests.conftest import COUNTY_ROLES, Cast

pytestmark = pytest.mark.django_db

ROLES = [
    "school_admin",
    "college_admin",
    "counsellor",
    "police_liaison",
    "auditor",
    "student",
    "parent",
    "outsider",
]


@dataclass
class Case:
    """A page: how to reach it, and the expected status for each role, in the order of ``ROLES``."""

    url: Callable[[Cast], str]
    expected: str
    method: str = "get"
    data: Callable[[Cast], dict[str, Any]] = field(default=lambda c: {})

    def status(self, role: str) -> int:
        return int(self.expected.split()[ROLES.index(role)])


def unit(name: str, view: str = "unit_detail") -> Callable[[Cast], str]:
    return lambda c: reverse(view, args=[getattr(c, name).pk])


def person(name: str, view: str = "person_detail") -> Callable[[Cast], str]:
    return lambda c: reverse(view, args=[getattr(c, name).pk])


def student_membership(c: Cast) -> str:
    membership = Membership.objects.get(person=c.student, unit=c.cs2301)
    return reverse("person_remove_membership", args=[c.student.pk, membership.pk])


PERSON_EDIT = {"name": "改名", "kind": "student", "external_number": "2023001", "phone": "13912345678"}

#            school college counsellor police auditor student parent outsider
CASES: dict[str, Case] = {
    # a student and a parent go on to their own page of tasks (/me/)
    "home": Case(lambda c: reverse("home"), "200 200 200 200 200 302 302 200"),
    "unit list": Case(lambda c: reverse("unit_list"), "200 200 200 200 200 200 200 200"),
    # … and so does their "我的信息", the people list (issue 15: never a people search)
    "people list": Case(lambda c: reverse("person_list"), "200 200 200 200 200 302 302 200"),
    "unit root": Case(unit("uni"), "200 404 404 200 200 404 404 404"),
    "unit inside": Case(unit("cs2301"), "200 200 200 200 200 404 404 404"),
    "unit sibling college": Case(unit("ma2301"), "200 404 404 200 200 404 404 404"),
    "unit other school": Case(unit("oc01"), "404 404 404 404 404 404 404 200"),
    "people of unit inside": Case(
        lambda c: reverse("person_list") + f"?unit={c.cs2301.pk}", "200 200 200 200 200 404 404 404"
    ),
    "people of other school": Case(
        lambda c: reverse("person_list") + f"?unit={c.oc01.pk}", "404 404 404 404 404 404 404 200"
    ),
    "person inside": Case(person("student"), "200 200 200 200 200 200 200 404"),
    "person parent": Case(person("parent"), "200 200 200 200 200 404 200 404"),
    "person sibling college": Case(person("math_student"), "200 404 404 200 200 404 404 404"),
    "person other school": Case(person("other_student"), "404 404 404 404 404 404 404 200"),
    "edit form": Case(person("student", "person_edit"), "200 200 200 403 403 403 403 404"),
    "edit other school": Case(person("other_student", "person_edit"), "404 404 404 404 404 404 404 200"),
    "reveal": Case(
        person("student", "person_reveal"),
        "200 200 200 403 403 403 403 404",
        "post",
        lambda c: {"field": "phone"},
    ),
    "reveal other school": Case(
        person("other_student", "person_reveal"),
        "404 404 404 404 404 404 404 200",
        "post",
        lambda c: {"field": "id_number"},
    ),
    "edit": Case(
        person("student", "person_edit"), "302 302 302 403 403 403 403 404", "post", lambda c: PERSON_EDIT
    ),
    "add membership": Case(
        person("student", "person_add_membership"),
        # The counsellor may edit the student but CS2302 is outside their scope: a form error.
        "302 302 200 403 403 403 403 404",
        "post",
        lambda c: {"member-unit": "CS2302", "member-role": "member"},
    ),
    "remove membership": Case(student_membership, "302 302 302 403 403 404 404 404", "post"),
    "add child": Case(
        unit("cs2301", "unit_add_child"),
        "302 302 403 403 403 404 404 404",
        "post",
        lambda c: {"child-name": "新宿舍", "child-code": "NEW", "child-kind": "dorm_room"},
    ),
    "rename": Case(
        unit("cs2301", "unit_rename"),
        "302 302 403 403 403 404 404 404",
        "post",
        lambda c: {"rename-name": "改名班", "rename-code": "X1"},
    ),
    "move": Case(
        unit("cs2302", "unit_move"),
        # The college admin may move CS2302 but not to MA, outside their scope: a form error.
        "302 200 404 403 403 404 404 404",
        "post",
        lambda c: {"move-target": "MA"},
    ),
    "move other school": Case(
        unit("oc01", "unit_move"), "404 404 404 404 404 404 404 302", "post", lambda c: {"move-target": "OTH"}
    ),
    "deactivate": Case(
        unit("cs2302", "unit_set_active"),
        "302 302 404 403 403 404 404 404",
        "post",
        lambda c: {"active": "0"},
    ),
    # A personal sign-in code: shown once to those who may edit the person; nobody else changes it.
    "issue code": Case(person("student", "person_code_issue"), "200 200 200 403 403 403 403 404", "post"),
    "issue code other school": Case(
        person("other_student", "person_code_issue"), "404 404 404 404 404 404 404 200", "post"
    ),
    "revoke code": Case(person("student", "person_code_revoke"), "302 302 302 403 403 403 403 404", "post"),
}


def snapshot() -> list[list[tuple[Any, ...]]]:
    """Everything a page of the org app could change."""
    return [
        list(Unit.objects.order_by("pk").values_list("pk", "path", "name", "code", "is_active", "numchild")),
        list(UnitEvent.objects.order_by("pk").values_list("pk")),
        list(
            Person.objects.order_by("pk").values_list(
                "pk", "name", "kind", "external_number", "phone_enc", "id_number_enc", "is_active"
            )
        ),
        list(Membership.objects.order_by("pk").values_list("pk", "person", "unit", "role")),
        list(Guardianship.objects.order_by("pk").values_list("pk", "guardian", "student")),
        list(RoleGrant.objects.order_by("pk").values_list("pk", "user", "unit", "role")),
        list(SignInCode.objects.order_by("pk").values_list("pk", "person", "code_hash")),
        list(AuditRecord.objects.order_by("pk").values_list("pk")),
    ]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(CASES))
def test_page_scope(client, cast, name, role):
    case = CASES[name]
    client.force_login(cast.users()[role])
    url = case.url(cast)
    before = snapshot()
    response = getattr(client, case.method)(url, case.data(cast))
    expected = case.status(role)
    assert response.status_code == expected, f"{name} as {role}: {response.status_code} != {expected}"
    if case.method == "post" and expected != 302:
        reveal_ok = name.startswith("reveal") and expected == 200
        issue_ok = name.startswith("issue code") and expected == 200
        after = snapshot()
        if reveal_ok:  # a reveal writes exactly one audit record and nothing else
            assert after[:-1] == before[:-1]
            assert len(after[-1]) == len(before[-1]) + 1
        elif issue_ok:  # an issue writes the person's code row and one audit record, nothing else
            assert after[:-2] == before[:-2]
            assert len(after[-2]) == len(before[-2]) + 1 and len(after[-1]) == len(before[-1]) + 1
        else:
            assert after == before, f"refused {name} as {role} changed the database"
    if expected == 404:
        # The same answer as for an object that does not exist.
        assert b"13800138000" not in response.content


def test_missing_objects_are_404(client, cast):
    client.force_login(cast.school_admin)
    assert client.get(reverse("unit_detail", args=[999999])).status_code == 404
    assert client.get(reverse("person_detail", args=[999999])).status_code == 404
    assert client.post(reverse("person_reveal", args=[999999]), {"field": "phone"}).status_code == 404


def test_every_named_route_is_covered():
    """A new page must join the matrix."""
    from fanzha.org import urls
    from fanzha.org.apps import ACCOUNT_PAGES

    covered = {
        "home",
        "unit_list",
        "person_list",
        "unit_detail",
        "person_detail",
        "person_edit",
        "person_reveal",
        "person_add_membership",
        "person_remove_membership",
        "unit_add_child",
        "unit_rename",
        "unit_move",
        "unit_set_active",
        "unit_jurisdiction",
        "jurisdiction_remove",
        "person_code_issue",
        "person_code_revoke",
        # The account pages: their own matrix in tests/org/accounts/test_scope.py (administrators'
        # pages), and their flows in tests/org/accounts/ (a person's own pages need no grant).
        *ACCOUNT_PAGES,
        "account_welcome",
        "account_reset_link",
        "account_forgot",
        "account_forgot_code",
        "account_password_change",
    }

    def names(patterns):
        for p in patterns:
            yield from names(p.url_patterns) if hasattr(p, "url_patterns") else [p.name]

    assert set(names(urls.urlpatterns)) - {"login", "logout"} == covered


# The roles of every level (``county_cast``): their own units answer, everything else is missing, and a
# write their role does not allow is refused and changes nothing.
#         class_teacher kg_teacher dorm_manager security police_admin police_officer branch outlet
COUNTY_CASES: dict[str, Case] = {
    "home": Case(lambda c: reverse("home"), "200 200 200 200 200 200 200 200"),
    "unit list": Case(lambda c: reverse("unit_list"), "200 200 200 200 200 200 200 200"),
    "people list": Case(lambda c: reverse("person_list"), "200 200 200 200 200 200 200 200"),
    "university": Case(unit("uni"), "404 404 404 200 404 404 404 404"),
    "university class": Case(unit("cs2301"), "404 404 404 200 404 404 404 404"),
    "dormitory room": Case(unit("d1_101"), "404 404 200 200 404 404 404 404"),
    "middle-school class": Case(unit("m0701"), "200 404 404 404 404 404 404 404"),
    "its sibling class": Case(unit("m0702"), "404 404 404 404 404 404 404 404"),
    "kindergarten class": Case(unit("k0101"), "404 200 404 404 404 404 404 404"),
    "the bureau": Case(unit("county"), "404 404 404 404 404 404 404 404"),
    "police station": Case(unit("station"), "404 404 404 404 200 200 404 404"),
    "another station": Case(unit("station2"), "404 404 404 404 200 404 404 404"),
    "bank branch": Case(unit("branch"), "404 404 404 404 404 404 200 404"),
    "its outlet": Case(unit("outlet"), "404 404 404 404 404 404 200 200"),
    "another branch": Case(unit("branch2"), "404 404 404 404 404 404 404 404"),
    "other school": Case(unit("oc01"), "404 404 404 404 404 404 404 404"),
    "pupil": Case(person("pupil"), "200 404 404 404 404 404 404 404"),
    "child": Case(person("child"), "404 200 404 404 404 404 404 404"),
    "university student": Case(person("student"), "404 404 200 200 404 404 404 404"),
    "other school's student": Case(person("other_student"), "404 404 404 404 404 404 404 404"),
    "edit pupil": Case(
        person("pupil", "person_edit"),
        "302 404 404 404 404 404 404 404",
        "post",
        lambda c: {"name": "孙小明", "kind": "student", "external_number": "2025010101"},
    ),
    "edit university student": Case(
        person("student", "person_edit"), "404 404 403 403 404 404 404 404", "post", lambda c: PERSON_EDIT
    ),
    "reveal university student": Case(
        person("student", "person_reveal"),
        "404 404 403 403 404 404 404 404",
        "post",
        lambda c: {"field": "phone"},
    ),
    "add a unit at the station": Case(
        unit("station", "unit_add_child"),
        "404 404 404 404 302 403 404 404",
        "post",
        lambda c: {"child-name": "西街社区", "child-code": "PCS01-02", "child-kind": "community"},
    ),
    "rename the class": Case(
        unit("m0701", "unit_rename"),
        "403 404 404 404 404 404 404 404",
        "post",
        lambda c: {"rename-name": "改名班", "rename-code": "X1"},
    ),
    "rename the building": Case(
        unit("d1", "unit_rename"),
        "404 404 403 403 404 404 404 404",
        "post",
        lambda c: {"rename-name": "改名楼", "rename-code": "X2"},
    ),
    "rename the branch": Case(
        unit("branch", "unit_rename"),
        "404 404 404 404 404 404 403 404",
        "post",
        lambda c: {"rename-name": "改名支行", "rename-code": "X3"},
    ),
    "issue a code to the pupil": Case(
        person("pupil", "person_code_issue"), "200 404 404 404 404 404 404 404", "post"
    ),
    # Jurisdiction (辖区): only the place's own tree assigns it. The police may not pull the middle school
    # into a station (they would read its cases); they administer the station's own community.
    "assign the middle school to the station": Case(
        unit("m01", "unit_jurisdiction"),
        "404 404 404 404 404 404 404 404",
        "post",
        lambda c: {"jur-station": c.station.pk},
    ),
    "assign the station's community to an outlet": Case(
        unit("community", "unit_jurisdiction"),
        "404 404 404 404 302 403 404 404",
        "post",
        lambda c: {"jur-outlet": c.outlet.pk},
    ),
    # Either side's administrator may take a place out; the station's officer may not.
    "take the middle school out of the station": Case(
        lambda c: reverse("jurisdiction_remove", args=[_m01_at_station(c).pk]),
        "404 404 404 404 302 403 404 404",
        "post",
    ),
}


def _m01_at_station(c: Cast) -> Jurisdiction:
    """M01 in the station's jurisdiction (written directly: no unit event, so the snapshot sees only
    what the page does)."""
    row, _ = Jurisdiction.objects.get_or_create(unit=c.m01, side="police", defaults={"authority": c.station})
    return row


@pytest.mark.parametrize("role", COUNTY_ROLES)
@pytest.mark.parametrize("name", list(COUNTY_CASES))
def test_page_scope_of_every_level(client, county_cast, name, role):
    case = COUNTY_CASES[name]
    client.force_login(county_cast.users()[role])
    before = snapshot()
    response = getattr(client, case.method)(case.url(county_cast), case.data(county_cast))
    expected = int(case.expected.split()[COUNTY_ROLES.index(role)])
    assert response.status_code == expected, f"{name} as {role}: {response.status_code} != {expected}"
    if case.method == "post" and expected != 302:
        after = snapshot()
        if name.startswith("issue") and expected == 200:  # the person's code row and one audit record
            assert after[:-2] == before[:-2]
        else:
            assert after == before, f"refused {name} as {role} changed the database"
    if expected == 404:
        assert b"13800138000" not in response.content
