"""The demo world: its plan at full size, a tiny build in the database, the demo logins, serving."""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from stdnum.cn import ric

from fanzha.core import crypto
from fanzha.core.identifiers import normalize_phone
from fanzha.org import demo
from fanzha.org.models import (
    Guardianship,
    Membership,
    MembershipRole,
    Person,
    PersonKind,
    Role,
    RoleGrant,
    Unit,
    UnitKind,
)

TINY = 0.02


@pytest.fixture(scope="module")
def full_plan() -> list[tuple[demo.Section, list[demo.Chunk]]]:
    """The small world at scale 1, planned in memory (no database)."""
    return [(section, list(section.chunks)) for section in demo.plan_world("small", 1.0)]


def section(plan, key):
    for sec, chunks in plan:
        if sec.key == key:
            return sec, [p for c in chunks for p in c.people]
    raise KeyError(key)


def nodes(root, kind=None):
    return [n for n in root.walk() if kind is None or n.kind == kind]


def test_university_has_the_required_size(full_plan):
    uni, people = section(full_plan, "university")
    assert len(nodes(uni.root, UnitKind.COLLEGE)) >= 10
    assert len(nodes(uni.root, UnitKind.CLASS)) >= 300
    assert nodes(uni.root, UnitKind.DORM_BUILDING) and nodes(uni.root, UnitKind.DORM_ROOM)
    students = [p for p in people if p.spec.kind == PersonKind.STUDENT]
    assert len(students) >= 15_000
    assert all(1 <= len(s.guardians) <= 2 for s in students)
    assert all(s.covered_by is not None and s.covered_by is not s for s in students)
    roles = Counter(role for p in people for _, role in p.memberships)
    classes = len(nodes(uni.root, UnitKind.CLASS))
    assert roles[MembershipRole.MONITOR] == classes
    assert roles[MembershipRole.COMMITTEE] >= 3 * classes
    assert roles[MembershipRole.COUNSELLOR] == classes
    assert roles[MembershipRole.VOLUNTEER] > 0
    # Every student has a class and a dormitory room.
    for s in students[:500]:
        kinds = {unit.kind for unit, _ in s.memberships}
        assert {UnitKind.CLASS, UnitKind.DORM_ROOM} <= kinds


def test_bureau_police_and_bank(full_plan):
    edu, edu_people = section(full_plan, "education")
    schools = [n for n in edu.root.children if n.kind in (UnitKind.SCHOOL, UnitKind.KINDERGARTEN)]
    assert len(schools) >= 20
    names = [s.name for s in schools]
    assert any(s.kind == UnitKind.KINDERGARTEN for s in schools)
    assert any(n.endswith("小学") for n in names) and any("初级中学" in n for n in names)
    for school in schools:
        assert nodes(school, UnitKind.GRADE) and nodes(school, UnitKind.CLASS)
    police, _ = section(full_plan, "police")
    departments = {n.name for n in nodes(police.root, UnitKind.POLICE_DEPARTMENT)}
    assert {name for name, _, _ in demo.POLICE_DEPARTMENTS} <= departments
    assert len(nodes(police.root, UnitKind.POLICE_STATION)) >= 10
    bank, _ = section(full_plan, "bank")
    assert bank.root.kind == UnitKind.BANK_HEAD
    branches = nodes(bank.root, UnitKind.BANK_BRANCH)
    assert len(branches) >= 3 and all(nodes(b, UnitKind.BANK_OUTLET) for b in branches)


def test_identifiers_are_valid_and_unique(full_plan):
    people = [p for sec, chunks in full_plan for c in chunks for p in c.people]
    phones = [p.spec.phone for p in people if p.spec.phone]
    ids = [p.spec.id_number for p in people]
    assert len(set(phones)) == len(phones) and len(set(ids)) == len(ids)
    for person in people[::97]:
        spec = person.spec
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", spec.name)
        assert ric.is_valid(spec.id_number)
        assert int(spec.id_number[6:10]) == spec.birth_year
        assert int(spec.id_number[16]) % 2 == (1 if spec.gender == "m" else 0)
        if spec.phone:
            assert re.fullmatch(r"1[3-9]\d{9}", spec.phone)
            assert normalize_phone(spec.phone) == spec.phone
    uni, uni_people = section(full_plan, "university")
    numbers = [p.spec.external_number for p in uni_people if p.spec.kind == PersonKind.STUDENT]
    assert all(re.fullmatch(r"202[2-5](0[1-9]|1[0-2])\d{4}", n) for n in numbers)
    assert demo.DEMO_NUMBERS["student"] in numbers


def test_check_digit():
    assert demo.id_check_digit("11010519491231002") == "X"
    assert demo.id_check_digit("44030119900101001") == ric.calc_check_digit("44030119900101001" + "0")


def test_plan_is_deterministic():
    def snapshot():
        out = []
        for sec in demo.plan_world("small", TINY):
            out += [(n.code, n.name, n.kind) for n in sec.root.walk()]
            for chunk in sec.chunks:
                out += [
                    (p.spec.name, p.spec.external_number, p.spec.phone, p.spec.id_number)
                    for p in chunk.people
                ]
        return out

    assert snapshot() == snapshot()


# ---------------------------------------------------------------------------------------------
# The tiny world in the database


@pytest.fixture
def world(db):
    demo.build_world("small", TINY, log=lambda _: None)


def db_snapshot():
    units = list(Unit.objects.order_by("path").values_list("code", "name", "kind", "depth"))
    people = sorted(Person.objects.values_list("name", "external_number", "phone_masked", "id_number_masked"))
    return units, people


def test_world_in_database(world):
    for code in (demo.UNIVERSITY_CODE, demo.EDUCATION_CODE, demo.POLICE_CODE, demo.BANK_CODE):
        assert Unit.objects.filter(parent_path="", code=code).exists()
    kinds = set(Unit.objects.values_list("kind", flat=True))
    assert {
        UnitKind.SCHOOL,
        UnitKind.KINDERGARTEN,
        UnitKind.COLLEGE,
        UnitKind.GRADE,
        UnitKind.CLASS,
        UnitKind.DORM_BUILDING,
        UnitKind.DORM_ROOM,
        UnitKind.BUREAU_DISTRICT,
        UnitKind.POLICE_BUREAU,
        UnitKind.POLICE_DEPARTMENT,
        UnitKind.POLICE_STATION,
        UnitKind.BANK_HEAD,
        UnitKind.BANK_BRANCH,
        UnitKind.BANK_OUTLET,
    } <= kinds
    # Tree bookkeeping is right: numchild and parent_path agree with the paths.
    for unit in Unit.objects.all()[:300]:
        assert unit.numchild == Unit.objects.filter(parent_path=unit.path).count()
        assert (
            unit.path.startswith(unit.parent_path) and len(unit.path) == len(unit.parent_path) + Unit.steplen
        )
    # Sensitive values are encrypted, hashed and masked together.
    person = Person.objects.exclude(phone_enc="").first()
    assert person is not None and person.phone_hash == crypto.keyed_hash(person.phone)
    assert (
        person.phone_masked[:3] == person.phone[:3] and person.id_number_masked[-4:] == person.id_number[-4:]
    )


def test_students_are_covered_and_have_guardians(world):
    students = Person.objects.filter(kind=PersonKind.STUDENT)
    kindergarten = Unit.objects.filter(kind=UnitKind.KINDERGARTEN)
    in_kindergarten = Membership.objects.filter(
        unit__path__regex=r"^(" + "|".join(u.path for u in kindergarten) + ")"
    ).values("person")
    assert not students.exclude(pk__in=in_kindergarten).filter(covered_by=None).exists()
    for student in students.exclude(covered_by=None).select_related("covered_by")[:200]:
        cls = Membership.objects.get(person=student, unit__kind=UnitKind.CLASS).unit
        assert Membership.objects.filter(
            person=student.covered_by,
            unit=cls,
            role__in=[MembershipRole.MONITOR, MembershipRole.COMMITTEE],
        ).exists()
    counts = Counter(Guardianship.objects.values_list("student_id", flat=True))
    assert set(counts) == set(students.values_list("pk", flat=True))
    assert set(counts.values()) <= {1, 2}


def test_counsellors_have_memberships_and_grants(world):
    counsellor_grants = RoleGrant.objects.filter(role=Role.COUNSELLOR)
    assert counsellor_grants.exists()
    for grant in counsellor_grants:
        person = Person.objects.get(user=grant.user)
        assert Membership.objects.filter(
            person=person, unit=grant.unit, role=MembershipRole.COUNSELLOR
        ).exists()
        assert grant.unit.kind == UnitKind.CLASS


def test_build_is_idempotent_and_deterministic(world):
    before = db_snapshot()
    built = demo.build_world("small", TINY, log=lambda _: None)
    assert not any(built.values())
    assert db_snapshot() == before
    demo.reset_world(log=lambda _: None)
    assert not Person.objects.exists()
    demo.build_world("small", TINY, log=lambda _: None)
    assert db_snapshot() == before


EXPECTED_GRANTS = {
    "superuser": None,
    Role.BUREAU_ADMIN: {(Role.BUREAU_ADMIN, UnitKind.BUREAU_DISTRICT)},
    Role.SCHOOL_ADMIN: {(Role.SCHOOL_ADMIN, UnitKind.SCHOOL)},
    Role.COLLEGE_ADMIN: {(Role.COLLEGE_ADMIN, UnitKind.COLLEGE)},
    Role.COUNSELLOR: {(Role.COUNSELLOR, UnitKind.CLASS)},
    Role.POLICE_LIAISON: {
        (Role.POLICE_LIAISON, UnitKind.POLICE_BUREAU),
        (Role.POLICE_LIAISON, UnitKind.SCHOOL),
        (Role.POLICE_LIAISON, UnitKind.BUREAU_DISTRICT),
    },
    Role.BANK_ADMIN: {(Role.BANK_ADMIN, UnitKind.BANK_HEAD)},
    Role.AUDITOR: {(Role.AUDITOR, UnitKind.SCHOOL)},
    Role.SECURITY_OFFICER: {(Role.SECURITY_OFFICER, UnitKind.SCHOOL)},
    Role.PSYCHOLOGIST: {(Role.PSYCHOLOGIST, UnitKind.SCHOOL)},
    "kg_teacher": {(Role.CLASS_TEACHER, UnitKind.CLASS)},
    "class_teacher": {(Role.CLASS_TEACHER, UnitKind.CLASS)},
    "pupil_parent": set(),  # a parent of the class teacher's class: the notice and the app (篇三)
    Role.DORM_MANAGER: {(Role.DORM_MANAGER, UnitKind.DORM_BUILDING)},
    "dorm_head": set(),
    Role.POLICE_ADMIN: {(Role.POLICE_ADMIN, UnitKind.POLICE_BUREAU)},
    Role.POLICE_OFFICER: {(Role.POLICE_OFFICER, UnitKind.POLICE_STATION)},
    Role.BANK_BRANCH_MANAGER: {(Role.BANK_BRANCH_MANAGER, UnitKind.BANK_BRANCH)},
    "student": set(),
    "parent": set(),
}


def test_demo_logins_exist_with_the_right_grants(world):
    logins = demo.demo_logins()
    assert [d.role for d in logins] == list(EXPECTED_GRANTS)
    for login in logins:
        assert login.user is not None, login.role
        assert login.login and login.name
        expected = EXPECTED_GRANTS[login.role]
        if expected is None:
            assert login.user.is_superuser
            continue
        grants = {
            (g.role, g.unit.kind) for g in RoleGrant.objects.filter(user=login.user).select_related("unit")
        }
        assert grants == expected, login.role
    parent = next(d for d in logins if d.role == "parent")
    student = next(d for d in logins if d.role == "student")
    assert Guardianship.objects.filter(guardian__user=parent.user, student__user=student.user).exists()
    # Numbers that name an account name only that one account (all demo accounts share a password).
    numbers = [d.login for d in logins]
    assert len(set(numbers)) == len(numbers)
    # (the superuser and the two parents sign in by name and phone)
    assert Person.objects.filter(user__isnull=False, external_number__in=numbers).count() == len(numbers) - 3
    # The teachers teach the classes they are granted: a kindergarten's, a middle school's first class.
    for key, school in (("kg_teacher", "青山县实验幼儿园"), ("class_teacher", "青山县第一初级中学")):
        login = next(d for d in logins if d.role == key)
        grant = RoleGrant.objects.select_related("unit").get(user=login.user)
        assert Membership.objects.filter(
            person__user=login.user, unit=grant.unit, role=MembershipRole.COUNSELLOR
        ).exists()
        assert Unit.objects.get(path=grant.unit.path[:8]).name == school
    # The dorm head heads a room of the dorm manager's building.
    head = next(d for d in logins if d.role == "dorm_head")
    building = RoleGrant.objects.get(user=next(d for d in logins if d.role == Role.DORM_MANAGER).user).unit
    assert Membership.objects.filter(
        person__user=head.user, role=MembershipRole.DORM_HEAD, unit__path__startswith=building.path
    ).exists()


@pytest.mark.parametrize("role", list(EXPECTED_GRANTS))
def test_every_demo_login_can_sign_in(world, client, role):
    login = next(d for d in demo.demo_logins() if d.role == role)
    response = client.post("/login/", {"username": login.login, "password": settings.FANZHA_DEMO_PASSWORD})
    assert response.status_code == 302, role
    assert client.session["_auth_user_id"] == str(login.user.pk)


def test_large_world_tiny(db):
    demo.build_world("large", 0.01, log=lambda _: None)
    province = Unit.objects.get(parent_path="", code=demo.PROVINCE_CODE)
    inside = Unit.objects.filter(path__startswith=province.path)
    kinds = set(inside.values_list("kind", flat=True))
    assert {UnitKind.BUREAU_CITY, UnitKind.BUREAU_DISTRICT, UnitKind.SCHOOL, UnitKind.CLASS} <= kinds
    assert Person.objects.filter(root=province, kind=PersonKind.STUDENT).exists()


def test_demo_command_no_serve(db):
    out = StringIO()
    call_command("demo", "--no-serve", "--scale", str(TINY), stdout=out)
    text = out.getvalue()
    for number in demo.DEMO_NUMBERS.values():
        assert number in text
    assert "admin" in text and settings.FANZHA_DEMO_PASSWORD in text
    again = StringIO()
    call_command("demo", "--no-serve", "--scale", str(TINY), stdout=again)
    assert "already there" in again.getvalue()
    rebuilt = StringIO()
    call_command("demo", "--no-serve", "--reset", "--scale", str(TINY), stdout=rebuilt)
    assert "removed" in rebuilt.getvalue() and "already there" not in rebuilt.getvalue()


def test_static_staleness(tmp_path, settings):
    from fanzha.core.management.commands.serve import static_is_stale

    settings.STATIC_ROOT = tmp_path / "static"
    assert static_is_stale()
    call_command("collectstatic", interactive=False, verbosity=0)
    assert not static_is_stale()


def test_the_demo_student_signs_in_on_the_phone_with_the_printed_code(world, client):
    from django.urls import reverse

    from fanzha.reach.actions import ensure_class_link

    student = Person.objects.get(
        root__parent_path="", root__code=demo.UNIVERSITY_CODE, external_number=demo.DEMO_NUMBERS["student"]
    )
    klass = Membership.objects.get(person=student, unit__kind=UnitKind.CLASS).unit
    link = ensure_class_link(klass)
    printed = demo.format_logins(demo.demo_logins())
    shown = re.search(r"个人登录码 (\d{5} \d{5})", printed)
    assert shown is not None
    response = client.post(
        reverse("member_signin", args=[link.token]),
        {"number": student.external_number, "code": shown.group(1)},
    )
    assert response.status_code == 302 and response["Location"].endswith("/tasks/")


def test_demo_assigns_schools_to_stations_and_outlets(world):
    """The police plan's case goals count the stations' jurisdiction: every demo school is in one."""
    from fanzha.org.models import Jurisdiction

    education = Unit.objects.get(parent_path="", code=demo.EDUCATION_CODE)
    schools = Unit.objects.filter(
        path__startswith=education.path, kind__in=[UnitKind.SCHOOL, UnitKind.KINDERGARTEN]
    )
    assert schools.exists()
    for school in schools:
        sides = dict(Jurisdiction.objects.filter(unit=school).values_list("side", "authority__kind"))
        assert sides == {"police": UnitKind.POLICE_STATION, "bank": UnitKind.BANK_OUTLET}
    assert demo.ensure_jurisdiction() == 0  # once
