"""The organisation pages: sign-in, home, unit tree, people, reveal and edit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fanzha.core.models import AuditRecord
from fanzha.org import actions
from fanzha.org.models import Membership, Person, Role, Unit, UnitEvent, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# Sign-in ---------------------------------------------------------------------------------------


def test_login_with_staff_number(client, cast):
    response = client.post(reverse("login"), {"username": "T0002", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).context["user"] == cast.college_admin


def test_login_with_phone(client, cast):
    response = client.post(reverse("login"), {"username": "138 0013 8000", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home"), follow=True).context["user"] == cast.student_user


def test_login_page_and_wrong_password(client, cast):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "T0002", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_login(client, cast):
    statuses = [
        client.post(reverse("login"), {"username": "T0002", "password": "wrong"}).status_code
        for _ in range(6)
    ]
    assert statuses[-1] == 429
    response = client.post(reverse("login"), {"username": "T0002", "password": PASSWORD})
    assert response.status_code == 429
    assert "registration/locked.html" in [t.name for t in response.templates]
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post(client, cast):
    client.force_login(cast.auditor)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.parametrize("name", ["home", "unit_list", "person_list"])
def test_pages_need_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_language_switch(client, cast):
    client.force_login(cast.auditor)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/units/"})
    assert response.status_code == 302
    assert response["Location"] == "/units/"
    assert response.cookies["django_language"].value == "en"
    body = client.get(reverse("home")).content.decode()
    assert '<html lang="en">' in body


# Home ------------------------------------------------------------------------------------------


def test_home_of_school_admin(client, cast):
    client.force_login(cast.school_admin)
    response = client.get(reverse("home"))
    assert list(response.context["top_units"]) == [cast.uni]
    assert [g.unit for g in response.context["grants"]] == [cast.uni]
    assert reverse("unit_detail", args=[cast.uni.pk]) in response.content.decode()


def test_home_of_student_shows_own_record(client, cast):
    """A student's home is their page of tasks (/me/), with their own record, the phone masked."""
    client.force_login(cast.student_user)
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain == [(reverse("member_home"), 302)]
    assert response.context["person"] == cast.student and response.context["guardian"] == []
    body = response.content.decode()
    # their own record, with no link into the staff pages of people (a staff menu, "not in your units")
    assert "138****8000" in body and reverse("person_detail", args=[cast.student.pk]) not in body
    assert "13800138000" not in body


def test_home_of_parent_shows_children(client, cast):
    from fanzha.reach.actions import ensure_class_link

    ensure_class_link(cast.cs2301)  # made when the class was created (``reach.links_for_new_classes``)
    client.force_login(cast.parent_user)
    response = client.get(reverse("home"), follow=True)
    assert response.context["person"] == cast.parent and response.context["own"] is None
    assert [g["children"] for g in response.context["guardian"]] == [[cast.student]]
    assert cast.student.name in response.content.decode()
    assert reverse("person_detail", args=[cast.student.pk]) not in response.content.decode()


def test_home_of_an_account_linked_to_nobody_says_so(client, cast):
    lone = User.objects.create_user("lone", password=PASSWORD)
    client.force_login(lone)
    body = client.get(reverse("home")).content.decode()
    assert "您的账号尚未关联人员信息" in body


def test_home_of_superuser_sees_every_root(client, cast):
    admin = User.objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)
    response = client.get(reverse("home"))
    assert list(response.context["top_units"]) == [cast.uni, cast.other]


# Units -----------------------------------------------------------------------------------------


def test_unit_list_shows_top_scope_units(client, cast):
    client.force_login(cast.college_admin)
    rows = client.get(reverse("unit_list")).context["rows"]
    assert [row["unit"] for row in rows] == [cast.cs]
    assert rows[0]["parent"] == cast.uni
    assert rows[0]["unit"].people == 2


@pytest.mark.parametrize(
    "who,query,expected",
    [
        ("school_admin", "jsj", {"CS"}),
        ("school_admin", "计科", {"CS2301", "CS2302"}),
        ("school_admin", "ma23", {"MA2301"}),
        ("school_admin", "shuxue", {"MA", "MA2301"}),
        ("college_admin", "数学", set()),
        ("outsider", "jsj", set()),
        ("outsider", "qt", {"OC", "OC01"}),
    ],
)
def test_unit_search_within_scope(client, cast, who, query, expected):
    client.force_login(cast.users()[who])
    rows = client.get(reverse("unit_list"), {"q": query}).context["rows"]
    assert {row["unit"].code for row in rows} == expected


def test_unit_detail_breadcrumbs_link_only_inside_scope(client, cast):
    url = reverse("unit_detail", args=[cast.cs2301.pk])
    client.force_login(cast.counsellor)
    crumbs = client.get(url).context["crumbs"]
    assert [(c["unit"].code, c["link"]) for c in crumbs] == [("UNI", False), ("CS", False)]
    client.force_login(cast.college_admin)
    crumbs = client.get(url).context["crumbs"]
    assert [(c["unit"].code, c["link"]) for c in crumbs] == [("UNI", False), ("CS", True)]
    body = client.get(url).content.decode()
    assert reverse("unit_detail", args=[cast.cs.pk]) in body
    assert reverse("unit_detail", args=[cast.uni.pk]) not in body


def test_unit_detail_children_members_history(client, cast):
    client.force_login(cast.school_admin)
    response = client.get(reverse("unit_detail", args=[cast.cs.pk]))
    children = list(response.context["children"].page)
    assert [(c.code, c.people) for c in children] == [("CS2301", 2), ("CS2302", 0)]
    assert response.context["people_count"] == 2
    assert response.context["unit_count"] == 2
    assert [e.kind for e in response.context["events"]] == ["created"]

    body = page(client, cast.school_admin, reverse("unit_detail", args=[cast.cs2301.pk]))
    assert "张三" in body and "李四" in body
    assert "138****8000" in body
    assert "13800138000" not in body


def test_unit_detail_children_are_paginated(client, cast):
    actions.bulk_create_children(
        cast.cs2302, [actions.UnitSpec(name=f"小组{i}", code=f"G{i:02}", kind="other") for i in range(55)]
    )
    client.force_login(cast.school_admin)
    url = reverse("unit_detail", args=[cast.cs2302.pk])
    first = client.get(url).context["children"]
    assert len(first.page.object_list) == 50
    assert first.next_url == "?page=2"
    second = client.get(url, {"page": 2}).context["children"]
    assert [u.code for u in second.page] == [f"G{i:02}" for i in range(50, 55)]


def test_edit_forms_only_for_unit_editors(client, cast):
    url = reverse("unit_detail", args=[cast.cs2301.pk])
    assert reverse("unit_add_child", args=[cast.cs2301.pk]) in page(client, cast.college_admin, url)
    assert "add-child" not in page(client, cast.auditor, url)
    assert "add-child" not in page(client, cast.counsellor, url)


def test_add_child_unit(client, cast):
    client.force_login(cast.college_admin)
    response = client.post(
        reverse("unit_add_child", args=[cast.cs.pk]),
        {"child-name": "计科2303班", "child-code": "CS2303", "child-kind": "class"},
    )
    child = Unit.objects.get(code="CS2303")
    assert response.status_code == 302
    assert response["Location"] == reverse("unit_detail", args=[child.pk])
    assert child.parent_path == cast.cs.path
    assert child.initials == "jk2303b"
    assert UnitEvent.objects.get(unit=child).actor == cast.college_admin


def test_add_child_duplicate_code_is_a_form_error(client, cast):
    client.force_login(cast.college_admin)
    before = Unit.objects.count()
    response = client.post(
        reverse("unit_add_child", args=[cast.cs.pk]),
        {"child-name": "重复", "child-code": "CS2301", "child-kind": "class"},
    )
    assert response.status_code == 200
    assert response.context["child_form"].errors["code"]
    assert Unit.objects.count() == before


def test_rename_and_recode(client, cast):
    client.force_login(cast.college_admin)
    response = client.post(
        reverse("unit_rename", args=[cast.cs2302.pk]),
        {"rename-name": "人工智能2302班", "rename-code": "AI2302"},
    )
    assert response.status_code == 302
    unit = Unit.objects.get(pk=cast.cs2302.pk)
    assert (unit.name, unit.code, unit.initials) == ("人工智能2302班", "AI2302", "rgzn2302b")
    assert set(unit.events.values_list("kind", flat=True)) == {"created", "renamed", "recoded"}


def test_move_unit_by_code(client, cast):
    client.force_login(cast.school_admin)
    response = client.post(reverse("unit_move", args=[cast.cs2302.pk]), {"move-target": "MA"})
    assert response.status_code == 302
    unit = Unit.objects.get(pk=cast.cs2302.pk)
    assert unit.parent_path == cast.ma.path
    assert unit.events.filter(kind="moved").exists()


@pytest.mark.parametrize(
    "who,unit,target",
    [
        ("college_admin", "cs2302", "MA"),  # target outside the scope
        ("school_admin", "cs", "CS2301"),  # into its own subtree
        ("school_admin", "cs2302", "OC"),  # another organisation
        ("school_admin", "cs2302", "NOPE"),
    ],
)
def test_move_refused_is_a_form_error(client, cast, who, unit, target):
    moving = getattr(cast, unit)
    client.force_login(cast.users()[who])
    response = client.post(reverse("unit_move", args=[moving.pk]), {"move-target": target})
    assert response.status_code == 200
    assert response.context["move_form"].errors
    assert Unit.objects.get(pk=moving.pk).path == moving.path


def test_deactivate_and_reactivate(client, cast):
    client.force_login(cast.college_admin)
    url = reverse("unit_set_active", args=[cast.cs2302.pk])
    assert client.post(url, {"active": "0"}).status_code == 302
    assert not Unit.objects.get(pk=cast.cs2302.pk).is_active
    assert client.post(url, {"active": "1"}).status_code == 302
    assert Unit.objects.get(pk=cast.cs2302.pk).is_active
    kinds = list(UnitEvent.objects.filter(unit=cast.cs2302).values_list("kind", flat=True))
    assert kinds == ["reactivated", "deactivated", "created"]


def test_cannot_deactivate_own_grant_unit(client, cast):
    client.force_login(cast.college_admin)
    response = client.post(reverse("unit_set_active", args=[cast.cs.pk]), {"active": "0"}, follow=True)
    assert Unit.objects.get(pk=cast.cs.pk).is_active
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


# People ----------------------------------------------------------------------------------------


def names(response):
    return [p.name for p in response.context["paged"].page]


def test_people_list_masks_numbers(client, cast):
    client.force_login(cast.school_admin)
    response = client.get(reverse("person_list"))
    assert set(names(response)) == {"张三", "李四", "王五", "张父"}
    body = response.content.decode()
    assert "138****8000" in body and "110***********002X" in body
    assert "13800138000" not in body and "11010519491231002X" not in body


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"unit": "cs"}, {"张三", "李四"}),
        ({"unit": "d1"}, {"张三", "王五"}),
        ({"unit": "uni", "kind": "parent"}, set()),
        ({"kind": "parent"}, {"张父"}),
        ({"q": "zs"}, {"张三"}),
        ({"q": "王"}, {"王五"}),
        ({"q": "2023101"}, {"王五"}),
        ({"q": "20230"}, {"张三", "李四"}),
    ],
)
def test_people_filters(client, cast, params, expected):
    if "unit" in params:
        params = {**params, "unit": getattr(cast, params["unit"]).pk}
    client.force_login(cast.school_admin)
    assert set(names(client.get(reverse("person_list"), params))) == expected


def test_people_filter_by_unit_outside_scope_is_404(client, cast):
    client.force_login(cast.college_admin)
    assert client.get(reverse("person_list"), {"unit": cast.ma.pk}).status_code == 404
    assert client.get(reverse("person_list"), {"unit": cast.oc01.pk}).status_code == 404


def test_people_list_is_paginated(client, cast):
    for i in range(60):
        person = actions.save_person(root=cast.uni, name=f"学生{i:02}", kind="student")
        actions.add_membership(person, cast.cs2302)
    client.force_login(cast.college_admin)
    first = client.get(reverse("person_list"), {"unit": cast.cs2302.pk})
    assert len(first.context["paged"].page.object_list) == 50
    assert f"unit={cast.cs2302.pk}" in first.context["paged"].next_url
    second = client.get(reverse("person_list") + first.context["paged"].next_url)
    assert len(second.context["paged"].page.object_list) == 10


def test_student_and_parent_people_pages(client, cast):
    # a student's or parent's people search is their own page (/me/: their record, their children)
    for user in (cast.student_user, cast.parent_user):
        client.force_login(user)
        assert client.get(reverse("person_list")).url == reverse("member_home")


def test_person_detail_relations(client, cast):
    client.force_login(cast.counsellor)
    response = client.get(reverse("person_detail", args=[cast.student.pk]))
    ctx = response.context
    # The dormitory is outside the counsellor's subtree, but it is their student's room: shown.
    assert [row["m"].unit for row in ctx["memberships"]] == [cast.cs2301, cast.d1_101]
    assert [row["removable"] for row in ctx["memberships"]] == [True, False]
    assert [g.guardian for g in ctx["guardians"]] == [cast.parent]
    assert ctx["covered_by"] == cast.monitor
    assert ctx["can_reveal"] and ctx["can_edit"]
    body = response.content.decode()
    assert "138****8000" in body and "13800138000" not in body
    assert response["Cache-Control"].startswith("max-age=0")

    monitor = client.get(reverse("person_detail", args=[cast.monitor.pk])).context
    assert list(monitor["covering"]) == [cast.student]
    parent = client.get(reverse("person_detail", args=[cast.parent.pk])).context
    assert [w.student for w in parent["wards"]] == [cast.student]
    # A child at another school is the parent's too, but not the counsellor's to see.
    actions.link_guardian(cast.parent, cast.other_student)
    parent = client.get(reverse("person_detail", args=[cast.parent.pk])).context
    assert [w.student for w in parent["wards"]] == [cast.student]
    client.force_login(cast.outsider)
    other = client.get(reverse("person_detail", args=[cast.other_student.pk])).context
    assert [g.guardian for g in other["guardians"]] == [cast.parent]


@pytest.mark.parametrize("field,value", [("phone", "13800138000"), ("id_number", "11010519491231002X")])
def test_reveal_shows_value_once_and_audits(client, cast, field, value):
    client.force_login(cast.counsellor)
    url = reverse("person_reveal", args=[cast.student.pk])
    response = client.post(url, {"field": field})
    assert response.status_code == 200
    assert value in response.content.decode()
    assert value not in response.request["PATH_INFO"] + response.request.get("QUERY_STRING", "")
    assert "no-store" in response["Cache-Control"]
    record = AuditRecord.objects.get()
    assert (record.actor, record.action, record.object_id, record.detail) == (
        cast.counsellor,
        "reveal",
        str(cast.student.pk),
        field,
    )
    # The next plain view is masked again.
    assert value not in client.get(reverse("person_detail", args=[cast.student.pk])).content.decode()


def test_reveal_is_post_only_and_validates_field(client, cast):
    client.force_login(cast.counsellor)
    url = reverse("person_reveal", args=[cast.student.pk])
    assert client.get(url).status_code == 405
    assert client.post(url, {"field": "name"}).status_code == 400
    assert not AuditRecord.objects.exists()


def test_reveal_button_only_for_revealers(client, cast):
    url = reverse("person_detail", args=[cast.student.pk])
    assert reverse("person_reveal", args=[cast.student.pk]) in page(client, cast.counsellor, url)
    assert reverse("person_reveal", args=[cast.student.pk]) not in page(client, cast.auditor, url)
    assert reverse("person_reveal", args=[cast.student.pk]) not in page(client, cast.student_user, url)


def test_edit_person(client, cast):
    client.force_login(cast.counsellor)
    url = reverse("person_edit", args=[cast.student.pk])
    form = client.get(url).context["form"]
    assert form.initial["name"] == "张三"
    assert "13800138000" not in client.get(url).content.decode()
    data = {
        "name": "张叁",
        "kind": "student",
        "gender": "m",
        "external_number": "2023001",
        "birth_year": "2005",
        "enrolment_year": "2023",
        "phone": "+86 139-0000-1111",
        "id_number": "",
        "is_active": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    person = Person.objects.get(pk=cast.student.pk)
    assert (person.name, person.initials, person.phone, person.phone_masked) == (
        "张叁",
        "zs",
        "13900001111",
        "139****1111",
    )
    assert person.id_number == "11010519491231002X"  # blank keeps it

    response = client.post(url, {**data, "phone": "", "clear_phone": "on"})
    person = Person.objects.get(pk=cast.student.pk)
    assert (person.phone, person.phone_masked, person.phone_hash) == ("", "", "")


@pytest.mark.parametrize(
    "change,field",
    [
        ({"phone": "12345"}, "phone"),
        ({"id_number": "110105194912310021"}, "id_number"),
        ({"birth_year": "2999"}, "birth_year"),
        ({"external_number": "2023002"}, "external_number"),  # the monitor's number
        ({"name": ""}, "name"),
    ],
)
def test_edit_person_validation(client, cast, change, field):
    client.force_login(cast.school_admin)
    data = {"name": "张三", "kind": "student", "external_number": "2023001", "is_active": "on", **change}
    response = client.post(reverse("person_edit", args=[cast.student.pk]), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    person = Person.objects.get(pk=cast.student.pk)
    assert (person.name, person.external_number, person.phone) == ("张三", "2023001", "13800138000")


def test_add_and_remove_membership(client, cast):
    client.force_login(cast.school_admin)
    url = reverse("person_add_membership", args=[cast.math_student.pk])
    response = client.post(url, {"member-unit": "UNI/CS/CS2302", "member-role": "committee"})
    assert response.status_code == 302
    membership = Membership.objects.get(person=cast.math_student, unit=cast.cs2302)
    assert membership.role == "committee"

    remove = reverse("person_remove_membership", args=[cast.math_student.pk, membership.pk])
    assert client.post(remove).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_add_membership_outside_scope_is_a_form_error(client, cast):
    client.force_login(cast.counsellor)
    response = client.post(
        reverse("person_add_membership", args=[cast.student.pk]),
        {"member-unit": "CS2302", "member-role": "member"},
    )
    assert response.status_code == 200
    assert response.context["membership_form"].errors["unit"]
    assert not Membership.objects.filter(person=cast.student, unit=cast.cs2302).exists()


def test_removing_last_visible_membership_returns_to_list(client, cast):
    client.force_login(cast.counsellor)
    membership = Membership.objects.get(person=cast.monitor, unit=cast.cs2301)
    response = client.post(reverse("person_remove_membership", args=[cast.monitor.pk, membership.pk]))
    assert response["Location"] == reverse("person_list")


# Query counts ----------------------------------------------------------------------------------


def grow_class(cast, n):
    """Put ``n`` more people (with phones) into CS2302 and ``n`` more child units under it."""
    start = Person.objects.count()
    for i in range(n):
        person = actions.save_person(
            root=cast.uni, name=f"学生{start + i}", kind="student", phone=f"1370000{start + i:04}"
        )
        actions.add_membership(person, cast.cs2302)
        actions.add_membership(person, cast.d1_101)
    actions.bulk_create_children(
        cast.cs2302,
        [actions.UnitSpec(name=f"小组{start + i}", code=f"G{start + i}", kind="other") for i in range(n)],
    )


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


# session, user, grants (once), filter unit, count, page, prefetch.
PEOPLE_LIST_QUERIES = 7
UNIT_DETAIL_QUERIES = 14  # with the grants at the unit (administrator), the people under the children


def test_people_list_query_count_does_not_grow(client, cast, django_assert_num_queries):
    client.force_login(cast.school_admin)
    url = reverse("person_list") + f"?unit={cast.cs2302.pk}"
    grow_class(cast, 5)
    small = count_queries(client, url)
    grow_class(cast, 35)
    assert count_queries(client, url) == small
    with django_assert_num_queries(PEOPLE_LIST_QUERIES):
        response = client.get(url)
    assert len(response.context["paged"].page.object_list) == 40


def test_unit_detail_query_count_does_not_grow(client, cast, django_assert_num_queries):
    client.force_login(cast.college_admin)
    url = reverse("unit_detail", args=[cast.cs2302.pk])
    grow_class(cast, 5)
    small = count_queries(client, url)
    grow_class(cast, 35)
    assert count_queries(client, url) == small
    with django_assert_num_queries(UNIT_DETAIL_QUERIES):
        response = client.get(url)
    assert len(response.context["members"].page.object_list) == 40
    assert len(response.context["children"].page.object_list) == 40


def test_unit_detail_query_count_does_not_grow_with_grants(client, cast):
    """Whether each grant may be revoked is decided for all of them at once, not one query per grant."""
    client.force_login(cast.college_admin)
    url = reverse("unit_detail", args=[cast.cs2302.pk])
    accounts = []
    for n in range(6):
        person = actions.enrol_person(unit=cast.cs, name=f"教师{n}", kind="teacher", external_number=f"G{n}")
        accounts.append(actions.create_account(person, PASSWORD))
    actions.grant_role(accounts[0], cast.cs2302, Role.COUNSELLOR)
    one = count_queries(client, url)
    for user in accounts[1:]:
        actions.grant_role(user, cast.cs2302, Role.COUNSELLOR)
    assert count_queries(client, url) == one


def test_a_college_admin_cannot_take_another_organisations_root_code(client, cast):
    client.force_login(cast.college_admin)
    before = Unit.objects.count()
    response = client.post(
        reverse("unit_add_child", args=[cast.cs.pk]),
        {"child-name": "冒名班", "child-code": "OTH", "child-kind": "class"},
    )
    assert response.status_code == 200
    assert "顶级单位" in response.context["child_form"].errors["code"][0]
    response = client.post(
        reverse("unit_rename", args=[cast.cs2302.pk]), {"rename-name": "计科2302班", "rename-code": "OTH"}
    )
    assert response.status_code == 200 and "顶级单位" in response.content.decode()
    assert Unit.objects.count() == before and Unit.objects.get(pk=cast.cs2302.pk).code == "CS2302"


def test_people_are_counted_one_way_on_every_page(client, cast):
    """Issue 15: the home page counted everyone the scope lets one see (guardians too) while the units
    pages counted members. One count (``org.counts``: people with a membership in the subtree, guardians
    not counted), and a label that says so."""
    client.force_login(cast.school_admin)
    members = Membership.objects.filter(unit__path__startswith=cast.uni.path).values("person_id").distinct()
    expected = members.count()
    assert cast.parent.pk not in set(members.values_list("person_id", flat=True))  # a guardian only
    home = client.get(reverse("home"))  # the workbench: work, not a second count of the scope
    assert "people_count" not in home.context and "管辖人员" not in home.content.decode()
    units = client.get(reverse("unit_list"))
    assert [row["unit"].people for row in units.context["rows"] if row["unit"] == cast.uni] == [expected]
    assert "人员（不含家长）" in units.content.decode()
    unit = client.get(reverse("unit_detail", args=[cast.uni.pk]))
    assert unit.context["people_count"] == expected
    assert "人员（含下级，不含家长）" in unit.content.decode()
