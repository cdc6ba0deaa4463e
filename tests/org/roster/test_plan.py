"""Planning and writing a roster import: people, places and guardians created or updated by number,
all or nothing, and an identical re-import writes nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fanzha.org.models import Guardianship, Membership, Person, Unit, UnitKind

from .files import (
    ID_A,
    lines,
    run,
    snapshot,
    student,
    xlsx,
)

pytestmark = pytest.mark.django_db


def test_import_creates_people_places_guardian_and_coverage(cast):
    row = student(
        "2023009",
        building="D1",
        room="D1-101",
        role="宿舍长",
        phone="138 1234 5678",
        id_number=ID_A,
        enrolment_year=2023,
        guardian_name="新家长",
        guardian_phone="+86 139 1234 5678",
        guardian_relation="母亲",
        coverer="2023002",
    )
    result = run(xlsx([row]), cast.uni)
    assert result.ok and result.committed, lines(result)
    person = Person.objects.get(root=cast.uni, external_number="2023009")
    assert (person.name, person.kind, person.initials) == ("新同学", "student", "xtx")
    assert person.phone == "13812345678" and person.phone_masked == "138****5678"
    assert person.id_number == ID_A and "2005" not in person.id_number_masked
    assert (person.gender, person.birth_year, person.enrolment_year) == ("m", 2005, 2023)  # from the ID
    assert person.covered_by_id == cast.monitor.pk
    places = set(Membership.objects.filter(person=person).values_list("unit__code", "role"))
    assert places == {("CS2301", "member"), ("D1-101", "dorm_head")}
    link = Guardianship.objects.get(student=person)
    assert (link.guardian.name, link.guardian.kind, link.relation) == ("新家长", "parent", "mother")
    assert link.guardian.phone == "13912345678" and link.guardian.root_id == cast.uni.pk
    assert result.summary["people_created"] == 1 and result.summary["guardians_created"] == 1


def test_reimporting_the_same_file_writes_nothing(cast):
    data = xlsx(
        [
            student(
                "2023009",
                phone="13812345678",
                id_number=ID_A,
                guardian_name="新家长",
                guardian_phone="13912345678",
            ),
            student("2023010", name="另一位", room="D1-101", building="D1", coverer="2023009"),
        ]
    )
    with CaptureQueriesContext(connection) as first:
        assert run(data, cast.uni).ok
    assert any(q["sql"].startswith("INSERT") for q in first)  # the fast inserts are counted too
    before = list(Person.objects.order_by("pk").values_list("pk", "updated_at"))
    with CaptureQueriesContext(connection) as queries:
        again = run(data, cast.uni)
    assert again.ok and again.committed
    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert list(Person.objects.order_by("pk").values_list("pk", "updated_at")) == before
    assert again.summary["people_unchanged"] == 2 and again.summary["people_created"] == 0


def test_edited_file_updates_people_by_number_without_duplicates(cast):
    assert run(xlsx([student("2023009", phone="13812345678")]), cast.uni).ok
    count = Person.objects.count()
    edited = xlsx([student("2023009", name="改名了", phone="13812340000", **{"class": "CS2302"})])
    result = run(edited, cast.uni)
    assert result.ok and result.summary["people_updated"] == 1
    assert Person.objects.count() == count
    person = Person.objects.get(root=cast.uni, external_number="2023009")
    assert (person.name, person.initials, person.phone) == ("改名了", "gml", "13812340000")
    assert list(Membership.objects.filter(person=person).values_list("unit__code", flat=True)) == ["CS2302"]


def test_existing_student_moves_class_and_keeps_other_places(cast):
    # 张三 is in CS2301 and in room D1-101; the file moves him to CS2302 and says nothing of rooms.
    result = run(xlsx([student("2023001", name="张三", **{"class": "CS2302"})]), cast.uni)
    assert result.ok, lines(result)
    places = set(Membership.objects.filter(person=cast.student).values_list("unit__code", "role"))
    assert places == {("CS2302", "member"), ("D1-101", "member")}
    student_row = Person.objects.get(pk=cast.student.pk)
    assert student_row.phone == "13800138000"  # blank cells leave stored values alone
    assert student_row.covered_by_id == cast.monitor.pk


def test_dry_run_reports_counts_and_writes_nothing(cast):
    before = snapshot()
    result = run(xlsx([student("2023009"), student("2023010", name="乙")]), cast.uni, dry_run=True)
    assert result.ok and not result.committed
    assert result.summary["people_created"] == 2
    assert snapshot() == before


def test_create_units_makes_missing_classes_and_dormitories(cast):
    row = student("2023009", **{"class": "CS2399"}, building="D9", room="909")
    before = snapshot()
    refused = run(xlsx([row]), cast.uni)
    assert lines(refused) == [
        "row 2, column 班级代码: 未知的班级代码 CS2399",
        "row 2, column 宿舍楼代码: 未知的宿舍楼代码 D9",
    ]
    assert snapshot() == before
    result = run(
        xlsx([row, student("2023010", **{"class": "CS2399"}, building="D9", room="909")]),
        cast.uni,
        create_units=True,
    )
    assert result.ok and result.summary["units_created"] == 3
    klass = Unit.objects.get(code="CS2399")
    assert (klass.kind, klass.parent_path) == (UnitKind.CLASS, cast.cs.path)
    building = Unit.objects.get(code="D9")
    assert (building.kind, building.parent_path) == (UnitKind.DORM_BUILDING, cast.uni.path)
    room = Unit.objects.get(code="909")
    assert (room.kind, room.parent_path) == (UnitKind.DORM_ROOM, building.path)
    assert Unit.objects.find_problems() == ([], [], [], [], [])
    assert Membership.objects.filter(unit=klass).count() == 2


def test_create_units_needs_an_existing_college(cast):
    result = run(xlsx([student("2023009", college="", **{"class": "ZZ01"})]), cast.uni, create_units=True)
    assert lines(result) == ["row 2, column 班级代码: 未知的班级代码 ZZ01：要自动创建班级，请填写学院代码"]
    result = run(xlsx([student("2023009", college="NOPE", **{"class": "ZZ01"})]), cast.uni, create_units=True)
    assert lines(result) == ["row 2, column 学院代码: 未知的学院代码 NOPE"]


def test_created_units_may_not_take_an_organisations_code(cast):
    rows = [student("2023009", **{"class": "OTH"}), student("2023010", building="OTH", room="R1")]
    before = snapshot()
    result = run(xlsx(rows), cast.uni, create_units=True)
    assert lines(result) == [
        "row 2, column 班级代码: 班级代码 OTH 是一个组织（顶级单位）的代码，不能用作新单位的代码",
        "row 3, column 宿舍楼代码: 宿舍楼代码 OTH 是一个组织（顶级单位）的代码，不能用作新单位的代码",
    ]
    assert snapshot() == before


def test_class_codes_resolve_bare_by_path_and_within_college(cast):
    from fanzha.org import actions

    actions.create_unit(parent=cast.ma, name="同代码班", code="CS2301", kind="class")
    ambiguous = run(xlsx([student("2023009", college="")]), cast.uni)
    assert lines(ambiguous) == [
        "row 2, column 班级代码: 班级代码 CS2301 不唯一：请同时填写上级代码，或写成 上级代码/代码"
    ]
    rows = [student("2023009", college="MA"), student("2023010", college="", **{"class": "CS/CS2301"})]
    result = run(xlsx(rows), cast.uni)
    assert result.ok, lines(result)
    assert Membership.objects.get(person__external_number="2023009").unit.parent_path == cast.ma.path
    assert Membership.objects.get(person__external_number="2023010").unit_id == cast.cs2301.pk


def test_people_outside_the_import_unit_are_not_touched(cast):
    # 王五 (2023101) is in MA2301; importing into CS must not change him.
    result = run(xlsx([student("2023101", name="冒名")]), cast.cs)
    assert lines(result) == [
        "row 2, column 学号/工号: 此人已属于本单位范围以外，不能在此修改（学号/工号 2023101）"
    ]
    assert Person.objects.get(pk=cast.math_student.pk).name == "王五"
    # The same number in another organisation is another person.
    assert run(xlsx([student("2023001", name="张三", **{"class": "CS2301"})]), cast.uni).ok
    assert Person.objects.get(pk=cast.other_student.pk).name == "赵六"


def test_id_number_of_another_person_is_refused(cast):
    result = run(xlsx([student("2023009", id_number="11010519491231002X")]), cast.uni)
    assert lines(result) == ["row 2, column 身份证号: 身份证号已属于另一名已有人员"]
