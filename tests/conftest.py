"""Shared fixtures: the named cast that every scope test uses.

The cast lives in a small real world:

    UNI 示范大学 (school)
      CS 计算机学院 (college)
        CS2301 计科2301班 (class)   student 张三 (covered by monitor 李四), parent 张父
        CS2302 计科2302班 (class)
      MA 数学学院 (college)
        MA2301 数学2301班 (class)   student 王五
      D1 一号宿舍楼 (dorm building)
        D1-101 (dorm room)          张三, 王五
    OTH 另一所学校 (school)
      OC 其他学院 → OC01 其他1班     student 赵六
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fanzha.bench.robots import Fakes, running_fakes
from fanzha.org import actions
from fanzha.org.models import Guardianship, MembershipRole, Person, Role, Unit, User
from tests.webhooks import Receiver, running_receiver

PASSWORD = "Test-pass-2026!"


def require_all() -> bool:
    """In CI (FANZHA_REQUIRE_ALL=1) a missing service is a failure, not a skip."""
    return os.environ.get("FANZHA_REQUIRE_ALL") == "1"


def skip_or_fail(reason: str) -> None:
    if require_all():
        pytest.fail(f"FANZHA_REQUIRE_ALL=1 but {reason}")
    pytest.skip(reason)


@dataclass
class Cast:
    uni: Unit
    cs: Unit
    cs2301: Unit
    cs2302: Unit
    ma: Unit
    ma2301: Unit
    d1: Unit
    d1_101: Unit
    other: Unit
    oc01: Unit
    student: Person
    monitor: Person
    parent: Person
    math_student: Person
    other_student: Person
    school_admin: User
    college_admin: User
    counsellor: User
    police_liaison: User
    auditor: User
    outsider: User
    student_user: User
    parent_user: User

    def users(self) -> dict[str, User]:
        return {
            "school_admin": self.school_admin,
            "college_admin": self.college_admin,
            "counsellor": self.counsellor,
            "police_liaison": self.police_liaison,
            "auditor": self.auditor,
            "student": self.student_user,
            "parent": self.parent_user,
            "outsider": self.outsider,
        }


def make_staff(
    root: Unit, number: str, name: str, role: str | None, unit: Unit | None, kind: str = "staff"
) -> User:
    person = actions.save_person(root=root, name=name, kind=kind, external_number=number)
    user = actions.create_account(person, PASSWORD)
    if role and unit:
        actions.grant_role(user, unit, role)
    return user


def build_cast() -> Cast:
    uni = actions.create_unit(parent=None, name="示范大学", code="UNI", kind="school")
    cs = actions.create_unit(parent=uni, name="计算机学院", code="CS", kind="college")
    cs2301 = actions.create_unit(parent=cs, name="计科2301班", code="CS2301", kind="class")
    cs2302 = actions.create_unit(parent=cs, name="计科2302班", code="CS2302", kind="class")
    ma = actions.create_unit(parent=uni, name="数学学院", code="MA", kind="college")
    ma2301 = actions.create_unit(parent=ma, name="数学2301班", code="MA2301", kind="class")
    d1 = actions.create_unit(parent=uni, name="一号宿舍楼", code="D1", kind="dorm_building")
    d1_101 = actions.create_unit(parent=d1, name="101室", code="D1-101", kind="dorm_room")
    other = actions.create_unit(parent=None, name="另一所学校", code="OTH", kind="school")
    oc = actions.create_unit(parent=other, name="其他学院", code="OC", kind="college")
    oc01 = actions.create_unit(parent=oc, name="其他1班", code="OC01", kind="class")

    student = actions.save_person(
        root=uni,
        name="张三",
        kind="student",
        external_number="2023001",
        phone="13800138000",
        id_number="11010519491231002X",
        gender="m",
        birth_year=2005,
        enrolment_year=2023,
    )
    monitor = actions.save_person(root=uni, name="李四", kind="student", external_number="2023002")
    math_student = actions.save_person(root=uni, name="王五", kind="student", external_number="2023101")
    parent = actions.save_person(root=uni, name="张父", kind="parent", phone="13900139000")
    other_student = actions.save_person(root=other, name="赵六", kind="student", external_number="2023001")
    actions.add_membership(student, cs2301)
    actions.add_membership(student, d1_101)
    actions.add_membership(monitor, cs2301, MembershipRole.MONITOR)
    actions.add_membership(math_student, ma2301)
    actions.add_membership(math_student, d1_101)
    actions.add_membership(other_student, oc01)
    actions.link_guardian(parent, student, Guardianship.Relation.FATHER)
    actions.set_coverage(student, monitor)

    student_user = actions.create_account(student, PASSWORD)
    parent_user = actions.create_account(parent, PASSWORD)
    return Cast(
        uni=uni,
        cs=cs,
        cs2301=cs2301,
        cs2302=cs2302,
        ma=ma,
        ma2301=ma2301,
        d1=d1,
        d1_101=d1_101,
        other=other,
        oc01=oc01,
        student=student,
        monitor=monitor,
        parent=parent,
        math_student=math_student,
        other_student=other_student,
        school_admin=make_staff(uni, "T0001", "校管理员", Role.SCHOOL_ADMIN, uni),
        college_admin=make_staff(uni, "T0002", "院管理员", Role.COLLEGE_ADMIN, cs),
        counsellor=make_staff(uni, "T0003", "辅导员甲", Role.COUNSELLOR, cs2301, kind="teacher"),
        police_liaison=make_staff(uni, "P0001", "警务联络员", Role.POLICE_LIAISON, uni, kind="police"),
        auditor=make_staff(uni, "A0001", "审计员", Role.AUDITOR, uni),
        outsider=make_staff(other, "T0001", "外校管理员", Role.SCHOOL_ADMIN, other),
        student_user=student_user,
        parent_user=parent_user,
    )


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


@pytest.fixture
def robots(settings) -> Iterator[Fakes]:
    """Local fakes of the WeCom, DingTalk and Feishu robot services (fanzha/bench/robots.py), which
    check signatures, keywords, sizes and rates as the services do; allow-listed for delivery
    (FANZHA_WEBHOOK_ALLOWED_HOSTS), as an operator lists a private deployment."""
    with running_fakes() as fakes:
        settings.FANZHA_WEBHOOK_ALLOWED_HOSTS = [
            *settings.FANZHA_WEBHOOK_ALLOWED_HOSTS,
            *fakes.allowed_hosts(),
        ]
        yield fakes


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    """A generic HTTP endpoint on 127.0.0.1 (tests/webhooks.py) that answers as told: for what no robot
    service does (a captive portal's page, a timeout). Allow-listed like the fakes."""
    with running_receiver() as state:
        settings.FANZHA_WEBHOOK_ALLOWED_HOSTS = [*settings.FANZHA_WEBHOOK_ALLOWED_HOSTS, state.url]
        yield state
