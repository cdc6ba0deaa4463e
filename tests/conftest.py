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

``build_cast(county=True)`` (the ``county_cast`` fixture) adds a county in roots of its own, with an
account for every role of every level, and leaves everything above as it is:

    QS 青山县教育局 (district bureau)
      M01 青山县第一初级中学 (school) → G7 七年级 → M0701 七年级(1)班   pupil 孙小明, class teacher
                                                   M0702 七年级(2)班
      K01 青山县实验幼儿园 (kindergarten) → XB 小班 → K0101 小一班       child 周豆豆, teacher
    QSGA 青山县公安局 (police bureau)                  anti-fraud centre admin; the police liaison too
      XZ 刑侦大队 → FZZX 反电诈中心
      PCS01 城关派出所 → PCS01-01 东门社区             station officer
      PCS02 东岭派出所
    QSNSH 青山农商银行 (bank head)
      ZH01 城关支行 → ZH0101 东门分理处                branch manager, outlet manager
      ZH02 东岭支行
    and at the university: the security officer (UNI), the dorm manager (D1)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.utils import translation

from fanzha.bench.robots import Fakes, running_fakes
from fanzha.org import actions
from fanzha.org.models import Guardianship, MembershipRole, Person, Role, Unit, User
from tests.webhooks import Receiver, running_receiver

PASSWORD = "Test-pass-2026!"


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the site's language: a request made in English (Accept-Language) leaves
    English active in the worker's thread, and a later test that renders outside a request (a plan
    document, a command) would read English where it expects Chinese."""
    translation.deactivate()
    yield
    translation.deactivate()


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
    # The county (``build_cast(county=True)``); None otherwise.
    county: Unit | None = None
    m01: Unit | None = None
    m0701: Unit | None = None
    m0702: Unit | None = None
    k01: Unit | None = None
    k0101: Unit | None = None
    police: Unit | None = None
    centre: Unit | None = None
    station: Unit | None = None
    community: Unit | None = None
    station2: Unit | None = None
    bank: Unit | None = None
    branch: Unit | None = None
    outlet: Unit | None = None
    branch2: Unit | None = None
    pupil: Person | None = None
    child: Person | None = None
    class_teacher: User | None = None
    kg_teacher: User | None = None
    dorm_manager: User | None = None
    security_officer: User | None = None
    police_admin: User | None = None
    police_officer: User | None = None
    branch_manager: User | None = None
    outlet_manager: User | None = None

    def users(self) -> dict[str, User]:
        users = {
            "school_admin": self.school_admin,
            "college_admin": self.college_admin,
            "counsellor": self.counsellor,
            "police_liaison": self.police_liaison,
            "auditor": self.auditor,
            "student": self.student_user,
            "parent": self.parent_user,
            "outsider": self.outsider,
        }
        for name in COUNTY_ROLES:
            user = getattr(self, name)
            if user is not None:
                users[name] = user
        return users


# The roles of the county world, in the order the matrices list them.
COUNTY_ROLES = (
    "class_teacher",
    "kg_teacher",
    "dorm_manager",
    "security_officer",
    "police_admin",
    "police_officer",
    "branch_manager",
    "outlet_manager",
)


def make_staff(
    root: Unit, number: str, name: str, role: str | None, unit: Unit | None, kind: str = "staff"
) -> User:
    person = actions.save_person(root=root, name=name, kind=kind, external_number=number)
    user = actions.create_account(person, PASSWORD)
    if role and unit:
        actions.grant_role(user, unit, role)
    return user


def build_cast(county: bool = False) -> Cast:
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
    cast = Cast(
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
    if county:
        add_county(cast)
    return cast


def add_county(c: Cast) -> None:
    """The county world of ``build_cast(county=True)`` (see the module's docstring)."""
    unit = actions.create_unit
    c.county = unit(parent=None, name="青山县教育局", code="QS", kind="bureau_district")
    c.m01 = unit(parent=c.county, name="青山县第一初级中学", code="M01", kind="school")
    g7 = unit(parent=c.m01, name="七年级", code="G7", kind="grade")
    c.m0701 = unit(parent=g7, name="七年级(1)班", code="M0701", kind="class")
    c.m0702 = unit(parent=g7, name="七年级(2)班", code="M0702", kind="class")
    c.k01 = unit(parent=c.county, name="青山县实验幼儿园", code="K01", kind="kindergarten")
    xb = unit(parent=c.k01, name="小班", code="XB", kind="grade")
    c.k0101 = unit(parent=xb, name="小一班", code="K0101", kind="class")
    c.police = unit(parent=None, name="青山县公安局", code="QSGA", kind="police_bureau")
    xz = unit(parent=c.police, name="刑侦大队", code="XZ", kind="police_department")
    c.centre = unit(parent=xz, name="反电诈中心", code="FZZX", kind="police_department")
    c.station = unit(parent=c.police, name="城关派出所", code="PCS01", kind="police_station")
    c.community = unit(parent=c.station, name="东门社区", code="PCS01-01", kind="community")
    c.station2 = unit(parent=c.police, name="东岭派出所", code="PCS02", kind="police_station")
    c.bank = unit(parent=None, name="青山农商银行", code="QSNSH", kind="bank_head")
    c.branch = unit(parent=c.bank, name="城关支行", code="ZH01", kind="bank_branch")
    c.outlet = unit(parent=c.branch, name="东门分理处", code="ZH0101", kind="bank_outlet")
    c.branch2 = unit(parent=c.bank, name="东岭支行", code="ZH02", kind="bank_branch")

    c.pupil = actions.save_person(root=c.county, name="孙小明", kind="student", external_number="2025010101")
    c.child = actions.save_person(root=c.county, name="周豆豆", kind="student", external_number="2025030101")
    actions.add_membership(c.pupil, c.m0701)
    actions.add_membership(c.child, c.k0101)
    c.class_teacher = make_staff(c.county, "T1001", "班主任甲", Role.CLASS_TEACHER, c.m0701, kind="teacher")
    c.kg_teacher = make_staff(c.county, "T1002", "幼儿园教师甲", Role.CLASS_TEACHER, c.k0101, kind="teacher")
    for user, klass in ((c.class_teacher, c.m0701), (c.kg_teacher, c.k0101)):
        actions.add_membership(user.person, klass, MembershipRole.COUNSELLOR)
    c.dorm_manager = make_staff(c.uni, "T0010", "楼长甲", Role.DORM_MANAGER, c.d1)
    c.security_officer = make_staff(c.uni, "S0001", "保卫处干事", Role.SECURITY_OFFICER, c.uni)
    c.police_admin = make_staff(c.police, "P1001", "反诈中心管理员", Role.POLICE_ADMIN, c.police, "police")
    c.police_officer = make_staff(c.police, "P1002", "城关所民警", Role.POLICE_OFFICER, c.station, "police")
    c.branch_manager = make_staff(
        c.bank, "B1001", "城关支行行长", Role.BANK_BRANCH_MANAGER, c.branch, "bank_staff"
    )
    c.outlet_manager = make_staff(
        c.bank, "B1002", "分理处主任", Role.BANK_OUTLET_MANAGER, c.outlet, "bank_staff"
    )
    # As in the demo, the police liaison also holds a grant at the police bureau.
    actions.grant_role(c.police_liaison, c.police, Role.POLICE_LIAISON)


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


@pytest.fixture
def county_cast(db) -> Cast:
    """The cast with the county: an account for every role of every level."""
    return build_cast(county=True)


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
