"""The demo world: a university, a county education bureau, a county police bureau and a bank.

Why: fanzha is about reaching every person of a real-sized grid, so the demo and the
benchmarks need one — tens of thousands of people with the names, numbers, class
committees, guardians, dormitories and scoped roles of a real roster. Everything comes
from fixed seeds, so two builds give the same names, numbers and codes. Nothing is real:
names are drawn from our own lists of surnames and given-name characters; phone numbers
are random but valid; ID-card numbers use real region codes, a birth date in the person's
birth year and a correct GB 11643 check digit.

The world is planned in memory (``plan_*`` functions, no database access) and written
section by section with the bulk verbs of ``actions``. The large world (``size="large"``)
adds a province education department with about 1,000,000 people over more than 40,000
units; it is planned and written one district at a time to keep memory flat.
"""

from __future__ import annotations

import calendar
import random
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from fanzha.core import crypto

from . import actions
from .credentials import actions as credentials
from .models import (
    Gender,
    Guardianship,
    Jurisdiction,
    JurisdictionSide,
    Membership,
    MembershipRole,
    Person,
    PersonKind,
    Role,
    RoleGrant,
    Unit,
    UnitKind,
    User,
)

SEED = "fanzha-demo-2026"
# The school year the demo is set in (autumn term): first-year students enrolled this year.
ACADEMIC_YEAR = 2025
Log = Callable[[str], None]

UNIVERSITY_CODE = "JCUT"
EDUCATION_CODE = "QSJY"
POLICE_CODE = "QSGA"
BANK_CODE = "QSNSH"
PROVINCE_CODE = "JNJY"
SUPERUSER_NAME = "admin"

# Fixed numbers of the demo logins, so that they are the same at every size and scale.
# Generated numbers use sequence numbers from 100 up, so they never clash with these.
DEMO_NUMBERS: dict[str, str] = {
    Role.BUREAU_ADMIN: "201000001",
    Role.SCHOOL_ADMIN: "20090001",
    Role.COLLEGE_ADMIN: "20110002",
    Role.COUNSELLOR: "20180003",
    Role.AUDITOR: "20120004",
    Role.POLICE_LIAISON: "031001",
    Role.BANK_ADMIN: "0100001",
    Role.SECURITY_OFFICER: "20150005",
    Role.PSYCHOLOGIST: "20160006",
    Role.DORM_MANAGER: "20170007",  # 楼长 of the demo student's building
    "kg_teacher": "201690001",  # a class's teacher at 青山县实验幼儿园 (tag 90: no school has it)
    "class_teacher": "201891001",  # 班主任 of 七年级(1)班 at 青山县第一初级中学 (tag 91)
    Role.POLICE_ADMIN: "031002",  # 反电诈中心
    Role.POLICE_OFFICER: "031003",  # 城关派出所
    Role.BANK_BRANCH_MANAGER: "0100002",  # 城关支行
    "student": "2023010105",
}
# The demo logins whose own units keep this period's work waiting for them (``campaigns.demo``): the
# campaigns record everyone else's work, so that these logins find an obligation due, a letter to sign.
WAITING_LOGINS = (
    "kg_teacher",
    "class_teacher",
    Role.DORM_MANAGER,
    Role.POLICE_OFFICER,
    Role.POLICE_ADMIN,
    Role.BANK_BRANCH_MANAGER,
    "dorm_head",
)
# The demo student's personal sign-in code for the phone pages (class link, activity check-in),
# printed with the demo logins. Real codes are drawn at random and shown once (org.credentials).
DEMO_MEMBER_CODE = "2468013579"

# ---------------------------------------------------------------------------------------------
# Names and identifiers

# Common surnames with rough relative frequencies (per thousand).
_SURNAMES = (
    "王71 李70 张67 刘54 陈45 杨31 黄22 赵20 吴20 周19 徐13 孙13 马12 朱12 胡11 郭11 何10 高10 林10 "
    "罗9 郑9 梁8 谢7 宋7 唐7 许6 韩6 冯6 邓6 曹6 彭5 曾5 肖5 田5 董5 袁4 潘4 于4 蒋4 蔡4 余4 杜4 "
    "叶4 程4 苏3 魏3 吕3 丁3 任3 沈3 姚3 卢3 姜3 崔3 钟3 谭3 陆3 汪3 范3 金3 石3 廖3 贾2 夏2 韦2 "
    "付2 方2 白2 邹2 孟2 熊2 秦2 邱2 江2 尹2 薛2 闫2 段2 雷2 侯2 龙2 史2 陶2 黎2 贺2 顾2 毛2 郝2 "
    "龚2 邵2 万2 钱2 严1 覃1 武1 戴1 莫1 孔1 向1 汤1 欧阳1 上官1 司马1 诸葛1"
).split()
SURNAMES = [item.rstrip("0123456789") for item in _SURNAMES]
_SURNAME_CUM: list[float] = []
for _item, _name in zip(_SURNAMES, SURNAMES, strict=True):
    _SURNAME_CUM.append((_SURNAME_CUM[-1] if _SURNAME_CUM else 0) + int(_item[len(_name) :]))

MALE_CHARS = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳博文轩睿晨昊然宏志建国峰成嘉泽"
    "天铭哲航锐骏豪彬恒毅诚亮松柏江海川岳山坤鸿翔德春东振"
)
FEMALE_CHARS = (
    "芳娜敏静丽艳娟霞秀玲婷雪慧颖琳欣怡佳悦涵萱雨诗梦瑶琪晓倩婉妍馨紫月蕾丹洁璐莉薇燕琴云清"
    "岚菲彤蓉露桂兰梅荷茜珊钰楠"
)
NEUTRAL_CHARS = "子思一安文欣宇晨嘉若雨可乐心以承书言亦逸"

# Real county-level region codes (GB/T 2260) for the first six digits of ID numbers. Each list
# mixes codes created in the 1980s and 1990s with older ones, so that every birth year finds
# codes that existed then (see ``regions_for_year``).
Regions = tuple[str, ...]
REGIONS_NATIONAL: Regions = tuple(
    "110101 110105 110108 120101 120104 130102 130104 140105 150102 210102 210103 220102 230103 "
    "310104 310112 320102 320106 330106 330108 340104 350102 360102 370102 370212 410105 420102 "
    "420111 430104 440106 440304 450103 500103 510107 520102 530102 610113 620102 640104 650102 "
    "110102 120102 140121 210122 310104 330122 340121 350121 360121 430121 510121 610323 620121 "
    "422822 422823".split()
)
# The county of the demo (its schools, police and bank): Huanggang, Hubei.
# Codes before 1995 (黄冈地区) are included: a code is only valid for births in its years.
REGIONS_LOCAL: Regions = tuple(
    "421102 421121 421122 421123 421124 421125 421126 421127 421181 421182 "
    "422123 422125 422126 422127 422128 422130".split()
)
# The province of the large world: Hubei.
REGIONS_PROVINCE: Regions = tuple(
    "420102 420103 420104 420105 420106 420107 420111 420112 420113 420114 420115 420116 420117 "
    "420202 420281 420302 420303 420502 420503 420581 420602 420606 420682 420702 420704 420802 "
    "420881 420902 420981 421002 421003 421087 421202 421281 421303 422801 "
    "420121 420122 420221 422822 422823 422825 422125 422126 422127 422128 422130".split()
)

# Mobile prefixes of the three carriers (and their virtual operators), weighted by use.
PHONE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 173 175 176 177 "
    "178 180 181 182 183 184 185 186 187 188 189 191 198 199 135 136 137 138 139 138 139 186 187 188"
).split()

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of a resident ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


@cache
def regions_for_year(regions: Regions, year: int) -> Regions:
    """The region codes that existed in ``year``: an ID number is only valid with one of those.

    Why: ``normalize_id_number`` (python-stdnum) rejects a birth place that did not exist at
    the birth date, so a demo roster exported and imported again must pass that check too.
    """

    def valid(region: str) -> bool:
        try:
            ric.get_birth_place(f"{region}{year}01010000")
        except StdnumError:
            return False
        return True

    return tuple(r for r in regions if valid(r))


CN_DIGITS = "零一二三四五六七八九十"


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 23 → 二十三 (for class and building names)."""
    if n <= 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return (CN_DIGITS[tens] if tens > 1 else "") + "十" + (CN_DIGITS[ones] if ones else "")


class Identities:
    """Generates names, phone and ID-card numbers; a number is never handed out twice."""

    def __init__(self) -> None:
        self.phones: set[str] = set()
        self.ids: set[str] = set()

    @staticmethod
    def surname(rng: random.Random) -> str:
        return rng.choices(SURNAMES, cum_weights=_SURNAME_CUM)[0]

    def name(self, rng: random.Random, gender: str, surname: str | None = None) -> str:
        chars = MALE_CHARS if gender == Gender.MALE else FEMALE_CHARS
        given = rng.choice(chars)
        if rng.random() < 0.75:
            given = (
                rng.choice(NEUTRAL_CHARS + chars) + given if rng.random() < 0.5 else given + rng.choice(chars)
            )
        return (surname or self.surname(rng)) + given

    def phone(self, rng: random.Random) -> str:
        while True:
            number = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def id_number(self, rng: random.Random, regions: Regions, birth_year: int, gender: str) -> str:
        regions = regions_for_year(regions, birth_year) or regions_for_year(REGIONS_NATIONAL, birth_year)
        while True:
            month = rng.randint(1, 12)
            day = rng.randint(1, calendar.monthrange(birth_year, month)[1])
            sex = rng.choice("13579" if gender == Gender.MALE else "02468")
            first17 = (
                f"{rng.choice(regions)}{birth_year:04d}{month:02d}{day:02d}{rng.randrange(100):02d}{sex}"
            )
            number = first17 + id_check_digit(first17)
            if number not in self.ids:
                self.ids.add(number)
                return number


# ---------------------------------------------------------------------------------------------
# The plan: units and people in memory, written later


@dataclass(eq=False)
class UnitPlan(actions.UnitTree):
    """A unit of the plan; ``unit`` is set once it is in the database."""

    unit: Unit | None = None

    def add(self, name: str, code: str, kind: str) -> UnitPlan:
        child = UnitPlan(name, code, kind)
        self.children.append(child)
        return child

    @property
    def pk(self) -> int:
        assert self.unit is not None, f"unit {self.code} is not written yet"
        return self.unit.pk


@dataclass(eq=False)
class PersonPlan:
    """A person of the plan with their places, guardians, coverage and (optional) account."""

    spec: actions.PersonSpec
    memberships: list[tuple[UnitPlan, str]] = field(default_factory=list)
    guardians: list[tuple[PersonPlan, str]] = field(default_factory=list)
    covered_by: PersonPlan | None = None
    # None: no account; a list (maybe empty): an account with these role grants.
    grants: list[tuple[UnitPlan, str]] | None = None
    pk: int | None = None


@dataclass
class Chunk:
    """Units to create under an already written parent, and the people that go with them."""

    parent: UnitPlan
    trees: list[actions.UnitTree]  # UnitPlan nodes
    people: list[PersonPlan]


@dataclass
class Section:
    """One organisation of the world: its root and a lazy stream of chunks."""

    key: str
    root: UnitPlan
    chunks: Iterator[Chunk]


class Planner:
    """Shared state of one world plan: the scale, the identity registry and helpers for people."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self.ids = Identities()

    def n(self, value: float, minimum: int = 1) -> int:
        """A count scaled down for tests, never below ``minimum``."""
        return max(minimum, round(value * self.scale))

    def person(
        self,
        rng: random.Random,
        kind: str,
        *,
        gender: str,
        birth_year: int,
        regions: Regions,
        number: str = "",
        phone: bool = True,
        surname: str | None = None,
        enrolment_year: int | None = None,
    ) -> PersonPlan:
        spec = actions.PersonSpec(
            name=self.ids.name(rng, gender, surname),
            kind=kind,
            external_number=number,
            phone=self.ids.phone(rng) if phone else "",
            id_number=self.ids.id_number(rng, regions, birth_year, gender),
            gender=gender,
            birth_year=birth_year,
            enrolment_year=enrolment_year,
        )
        return PersonPlan(spec)

    def adult(
        self, rng: random.Random, kind: str, number: str, regions: Regions, *, hired: int | None = None
    ) -> PersonPlan:
        """A member of staff (teacher, officer, bank clerk) aged 24 to 58."""
        gender = Gender.MALE if rng.random() < 0.5 else Gender.FEMALE
        birth = (hired - rng.randint(22, 30)) if hired else ACADEMIC_YEAR - rng.randint(24, 58)
        return self.person(rng, kind, gender=gender, birth_year=birth, regions=regions, number=number)

    def guardians(
        self, rng: random.Random, student: PersonPlan, regions: Regions, grandparents: float = 0.1
    ) -> list[PersonPlan]:
        """One or two guardians of a student, linked to the student; returns the new people."""
        rel = Guardianship.Relation
        birth = student.spec.birth_year or ACADEMIC_YEAR - 15
        surname = student.spec.name[:2] if student.spec.name[:2] in SURNAMES else student.spec.name[0]
        if rng.random() < 0.65:
            kinds = [rel.FATHER, rel.MOTHER]
            if rng.random() < grandparents:
                kinds[rng.randrange(2)] = rel.GRANDPARENT
        else:
            kinds = [rng.choices([rel.MOTHER, rel.FATHER, rel.GRANDPARENT, rel.OTHER], [45, 35, 15, 5])[0]]
            if rng.random() < grandparents:
                kinds = [rel.GRANDPARENT]
        # Most families come from one place: the student's birth place, if it existed back then.
        home = (student.spec.id_number[:6],) if student.spec.id_number and rng.random() < 0.85 else ()
        result = []
        for relation in kinds:
            if relation == rel.FATHER:
                gender, age, family = Gender.MALE, rng.randint(24, 36), surname
            elif relation == rel.MOTHER:
                gender, age, family = Gender.FEMALE, rng.randint(22, 34), None
            elif relation == rel.GRANDPARENT:
                gender = Gender.MALE if rng.random() < 0.5 else Gender.FEMALE
                age, family = rng.randint(46, 62), surname if gender == Gender.MALE else None
            else:
                gender = Gender.MALE if rng.random() < 0.5 else Gender.FEMALE
                age, family = rng.randint(25, 50), None
            guardian = self.person(
                rng,
                PersonKind.PARENT,
                gender=gender,
                birth_year=birth - age,
                regions=home if regions_for_year(home, birth - age) else regions,
                surname=family,
            )
            student.guardians.append((guardian, relation))
            result.append(guardian)
        return result


def class_committee(rng: random.Random, students: list[PersonPlan], cls: UnitPlan, size: int = 4) -> None:
    """Make students members of their class with a monitor and committee, and cover every one.

    The monitor and each committee member look after a share of the class; the monitor
    is covered by the first committee member and the committee by the monitor.
    """
    if len(students) < 2:
        for student in students:
            student.memberships.append((cls, MembershipRole.MEMBER))
        return
    picked = [students[i] for i in rng.sample(range(len(students)), min(len(students), size + 1))]
    monitor, committee = picked[0], picked[1:]
    leader_ids = {id(p) for p in picked}
    ordinary = [s for s in students if id(s) not in leader_ids]
    monitor.memberships.append((cls, MembershipRole.MONITOR))
    monitor.covered_by = committee[0]
    for member in committee:
        member.memberships.append((cls, MembershipRole.COMMITTEE))
        member.covered_by = monitor
    for i, student in enumerate(ordinary):
        student.memberships.append((cls, MembershipRole.MEMBER))
        student.covered_by = picked[i % len(picked)]


class Dormitories:
    """Fills dormitory rooms building by building, one gender per building, a fresh room per group."""

    def __init__(
        self, parent: UnitPlan, beds: int, rooms_per_floor: int, floors: int, label: Callable[[str, int], str]
    ) -> None:
        self.parent, self.beds, self.label = parent, beds, label
        self.per_floor, self.floors = rooms_per_floor, floors
        self.count = 0
        self.open: dict[str, tuple[UnitPlan, int]] = {}  # gender → (building, rooms used)
        self.room: dict[str, UnitPlan | None] = {}
        self.occupants: dict[str, int] = {}

    def new_group(self) -> None:
        """Start a fresh room for the next class or cohort."""
        self.room = {}

    def place(self, student: PersonPlan) -> None:
        gender = student.spec.gender
        room = self.room.get(gender)
        if room is None or self.occupants[gender] >= self.beds:
            building, used = self.open.get(gender, (None, self.per_floor * self.floors))
            if building is None or used >= self.per_floor * self.floors:
                self.count += 1
                building = self.parent.add(
                    self.label(gender, self.count), f"D{self.count:02d}", UnitKind.DORM_BUILDING
                )
                used = 0
            floor, number = divmod(used, self.per_floor)
            room_no = f"{floor + 1}{number + 1:02d}"
            room = building.add(f"{room_no}室", f"{building.code}-{room_no}", UnitKind.DORM_ROOM)
            self.open[gender] = (building, used + 1)
            self.room[gender], self.occupants[gender] = room, 0
            student.memberships.append((room, MembershipRole.DORM_HEAD))
        else:
            student.memberships.append((room, MembershipRole.MEMBER))
        self.occupants[gender] += 1


class StaffNumbers:
    """Staff numbers ``<year hired><tag><sequence>``; sequences from 100 up, below are the demo's."""

    def __init__(self, tag: str = "", width: int = 4) -> None:
        self.tag, self.width, self.seq = tag, width, 99

    def next(self, rng: random.Random) -> tuple[str, int]:
        self.seq += 1
        hired = rng.randint(1994, 2022)
        return f"{hired}{self.tag}{self.seq:0{self.width}d}", hired


# ---------------------------------------------------------------------------------------------
# The university

COLLEGES = [
    (
        "计算机科学与技术学院",
        0.72,
        [("计算机科学与技术", "计科"), ("软件工程", "软工"), ("网络空间安全", "网安")],
    ),
    ("电子信息工程学院", 0.7, [("电子信息工程", "电信"), ("通信工程", "通信")]),
    ("机械工程学院", 0.8, [("机械设计制造及其自动化", "机制"), ("车辆工程", "车辆")]),
    ("土木与建筑工程学院", 0.7, [("土木工程", "土木"), ("工程管理", "工管"), ("建筑学", "建筑")]),
    ("经济与管理学院", 0.4, [("会计学", "会计"), ("工商管理", "工商"), ("市场营销", "营销")]),
    ("文学与新闻传播学院", 0.3, [("汉语言文学", "汉文"), ("新闻学", "新闻")]),
    ("外国语学院", 0.25, [("英语", "英语"), ("日语", "日语")]),
    ("数学与统计学院", 0.55, [("数学与应用数学", "数学"), ("统计学", "统计")]),
    ("化学与材料工程学院", 0.6, [("应用化学", "应化"), ("材料科学与工程", "材料")]),
    ("法学院", 0.4, [("法学", "法学"), ("知识产权", "知产")]),
    ("艺术设计学院", 0.35, [("视觉传达设计", "视传"), ("环境设计", "环设")]),
    ("医学与护理学院", 0.3, [("护理学", "护理"), ("临床医学", "临床")]),
]


def plan_university(p: Planner) -> Section:
    """江城理工大学: colleges, classes, dormitories, counsellors, committees, volunteers, guardians."""
    rng = random.Random(f"{SEED}:university")
    regions = REGIONS_NATIONAL
    root = UnitPlan("江城理工大学", UNIVERSITY_CODE, UnitKind.SCHOOL)
    security = root.add("保卫处", "BWC", UnitKind.OTHER)
    audit = root.add("审计处", "SJC", UnitKind.OTHER)
    staff_no = StaffNumbers()
    people: list[PersonPlan] = []

    def staff(unit: UnitPlan, role: str, number: str | None = None, hired: int | None = None) -> PersonPlan:
        if number is None:
            number, hired = staff_no.next(rng)
        person = p.adult(rng, PersonKind.TEACHER, number, regions, hired=hired)
        person.memberships.append((unit, role))
        people.append(person)
        return person

    staff(root, MembershipRole.LEADER)  # 党委副书记, heads the anti-fraud leadership group
    staff(root, MembershipRole.DEPUTY)  # 副校长
    head = staff(security, MembershipRole.LEADER, DEMO_NUMBERS[Role.SCHOOL_ADMIN], 2009)
    head.memberships.append((root, MembershipRole.LIAISON))
    head.grants = [(root, Role.SCHOOL_ADMIN)]
    for _ in range(p.n(5)):
        staff(security, MembershipRole.MEMBER)
    auditor = staff(audit, MembershipRole.MEMBER, DEMO_NUMBERS[Role.AUDITOR], 2012)
    auditor.grants = [(root, Role.AUDITOR)]
    for _ in range(p.n(3)):
        staff(audit, MembershipRole.MEMBER)

    classes: list[tuple[int, UnitPlan, list[PersonPlan]]] = []  # (college index, class, students)
    for ci, (college_name, male_share, majors) in enumerate(COLLEGES[: p.n(len(COLLEGES), 2)], 1):
        college = root.add(college_name, f"{ci:02d}", UnitKind.COLLEGE)
        short = college_name.removesuffix("学院")[:4]
        team = college.add(f"{short}学院反诈志愿服务队", f"{ci:02d}ZYD", UnitKind.OTHER)
        staff(college, MembershipRole.LEADER)  # 党委书记
        staff(college, MembershipRole.DEPUTY)  # 副院长
        demo_admin = ci == 1
        liaison = staff(
            college,
            MembershipRole.LIAISON,
            DEMO_NUMBERS[Role.COLLEGE_ADMIN] if demo_admin else None,
            2011 if demo_admin else None,
        )
        liaison.grants = [(college, Role.COLLEGE_ADMIN)]
        for _ in range(p.n(8)):
            staff(college, MembershipRole.MEMBER)
        volunteers: list[PersonPlan] = []
        for year in range(ACADEMIC_YEAR - 3, ACADEMIC_YEAR + 1):
            demo = ci == 1 and year == 2023
            counsellor = staff(
                college,
                MembershipRole.MEMBER,
                DEMO_NUMBERS[Role.COUNSELLOR] if demo else None,
                2018 if demo else None,
            )
            counsellor.grants = []
            seq = 0
            for _major, abbr in majors[: p.n(len(majors))]:
                for k in range(p.n(rng.choice([2, 3, 3, 4]))):
                    seq += 1
                    code = f"{year}{ci:02d}{seq:02d}"
                    cls = college.add(f"{abbr}{year % 100:02d}{k + 1:02d}班", code, UnitKind.CLASS)
                    counsellor.memberships.append((cls, MembershipRole.COUNSELLOR))
                    counsellor.grants.append((cls, Role.COUNSELLOR))
                    students = []
                    for s in range(p.n(rng.randint(42, 54), 6)):
                        gender = Gender.MALE if rng.random() < male_share else Gender.FEMALE
                        birth = year - rng.choices([17, 18, 19], [10, 70, 20])[0]
                        student = p.person(
                            rng,
                            PersonKind.STUDENT,
                            gender=gender,
                            birth_year=birth,
                            regions=regions,
                            number=f"{code}{s + 1:02d}",
                            enrolment_year=year,
                        )
                        students.append(student)
                        people.append(student)
                        people.extend(p.guardians(rng, student, regions))
                    class_committee(rng, students, cls)
                    for volunteer in rng.sample(students, min(len(students), p.n(2))):
                        volunteers.append(volunteer)
                    classes.append((ci, cls, students))
        for i, volunteer in enumerate(volunteers):
            volunteer.memberships.append(
                (team, MembershipRole.LEADER if i == 0 else MembershipRole.VOLUNTEER)
            )

    def building_name(gender: str, n: int) -> str:
        return f"{'桃李苑' if gender == Gender.MALE else '芳华苑'}{n}号楼"

    dorms = Dormitories(root, beds=4, rooms_per_floor=24, floors=6, label=building_name)
    last_group = None
    for ci, cls, students in sorted(classes, key=lambda c: (c[1].code[:4], c[0], c[1].code)):
        group = (cls.code[:4], ci)
        if group != last_group:
            dorms.new_group()
            last_group = group
        for student in students:
            dorms.place(student)
    demo_student = next(
        s for _, _, ss in classes for s in ss if s.spec.external_number == DEMO_NUMBERS["student"]
    )
    demo_student.grants = []
    demo_student.guardians[0][0].grants = []
    # The case ledger's contacts, planned last so that everyone above keeps their name: the security
    # office's duty officer hears every stop-payment alert with the police liaison; the counselling
    # centre's psychologist follows victims up.
    officer = staff(security, MembershipRole.MEMBER, DEMO_NUMBERS[Role.SECURITY_OFFICER], 2015)
    officer.grants = [(root, Role.SECURITY_OFFICER)]
    centre = root.add("心理健康教育中心", "XLZX", UnitKind.OTHER)
    psychologist = staff(centre, MembershipRole.MEMBER, DEMO_NUMBERS[Role.PSYCHOLOGIST], 2016)
    psychologist.grants = [(root, Role.PSYCHOLOGIST)]
    # The demo student's building: its manager (楼长) and the head (宿舍长) of a room in it.
    room = next(u for u, _ in demo_student.memberships if u.kind == UnitKind.DORM_ROOM)
    building = next(b for b in root.children if isinstance(b, UnitPlan) and room in b.children)
    manager = staff(building, MembershipRole.MEMBER, DEMO_NUMBERS[Role.DORM_MANAGER], 2017)
    manager.grants = [(building, Role.DORM_MANAGER)]
    dorm_head = dorm_head_of(people, building, not_person=demo_student)
    if dorm_head is not None:
        dorm_head.grants = []  # an account: the head signs the room's letter
    return Section("university", root, iter([Chunk(root, list(root.children), people)]))


def dorm_head_of(people: list[PersonPlan], building: UnitPlan, not_person: PersonPlan) -> PersonPlan | None:
    """The head of the first room of ``building`` (in room order) who is not ``not_person``."""
    heads = {
        id(unit): person
        for person in people
        for unit, role in person.memberships
        if role == MembershipRole.DORM_HEAD and person is not not_person
    }
    return next((heads[id(r)] for r in building.children if id(r) in heads), None)


# ---------------------------------------------------------------------------------------------
# Schools under an education bureau (the county's and, in the large world, the province's)


@dataclass(frozen=True)
class Grade:
    code: str
    name: str
    years_in: int  # 0 for the first year of the school
    age: int  # age at enrolment

    def class_name(self, n: int) -> str:
        if self.code in {"XB", "ZB", "DB"}:
            return f"{self.name[0]}{cn_number(n)}班"
        return f"{self.name}({n})班"


KINDERGARTEN = [Grade("XB", "小班", 0, 3), Grade("ZB", "中班", 1, 3), Grade("DB", "大班", 2, 3)]
PRIMARY = [Grade(f"G{g}", f"{cn_number(g)}年级", g - 1, 6) for g in range(1, 7)]
MIDDLE = [Grade(f"G{g}", f"{cn_number(g)}年级", g - 7, 12) for g in range(7, 10)]
HIGH = [Grade(f"G{g}", f"高{cn_number(g - 9)}", g - 10, 15) for g in range(10, 13)]


@dataclass(frozen=True)
class SchoolSpec:
    """What a school looks like: stage, grades, classes per grade, class size, boarding share."""

    stage: str  # kindergarten, primary, middle, high
    grades: list[Grade]
    classes: int
    size: tuple[int, int]
    boarding: float = 0.0

    @property
    def kind(self) -> str:
        return UnitKind.KINDERGARTEN if self.stage == "kindergarten" else UnitKind.SCHOOL


def numbering(prefix: str) -> Callable[[int, int, int], str]:
    """Student numbers ``<year enrolled><school prefix><class><seat>``."""

    def number(year: int, cls: int, seat: int) -> str:
        return f"{year}{prefix}{cls:02d}{seat:02d}"

    return number


def plan_school(
    p: Planner,
    rng: random.Random,
    parent: UnitPlan,
    name: str,
    code: str,
    spec: SchoolSpec,
    *,
    regions: Regions,
    student_number: Callable[[int, int, int], str],
    staff_no: StaffNumbers,
    people: list[PersonPlan],
    grandparents: float = 0.1,
    demo_teacher: str = "",
) -> UnitPlan:
    """Add one school with grades, classes, teachers, committees, guardians, volunteers and dorms.

    ``demo_teacher``: the number of the demo login who teaches the school's first class (an account
    with the class teacher's grant there)."""
    school = parent.add(name, code, spec.kind)
    kindergarten = spec.stage == "kindergarten"

    def teacher(unit: UnitPlan, role: str) -> PersonPlan:
        number, hired = staff_no.next(rng)
        person = p.adult(rng, PersonKind.TEACHER, number, regions, hired=hired)
        person.memberships.append((unit, role))
        people.append(person)
        return person

    teacher(school, MembershipRole.LEADER)  # 校长 / 园长
    teacher(school, MembershipRole.DEPUTY)  # 副校长
    teacher(school, MembershipRole.LIAISON)  # 安全办主任
    team_name = {"kindergarten": "家长志愿者队", "primary": "红领巾反诈宣传队"}.get(
        spec.stage, "反诈志愿服务队"
    )
    team = school.add(team_name, "ZYD", UnitKind.OTHER)
    dorms = None
    if spec.boarding:
        dorms = Dormitories(school, beds=6, rooms_per_floor=12, floors=5, label=lambda g, n: f"{n}号宿舍楼")
    volunteers: list[PersonPlan] = []
    for grade in spec.grades:
        grade_unit = school.add(grade.name, grade.code, UnitKind.GRADE)
        year = ACADEMIC_YEAR - grade.years_in
        for c in range(1, p.n(spec.classes) + 1):
            cls = grade_unit.add(grade.class_name(c), f"{year}{c:02d}", UnitKind.CLASS)
            head = teacher(school, MembershipRole.MEMBER)
            head.memberships.append((cls, MembershipRole.COUNSELLOR))  # 班主任
            if demo_teacher and grade is spec.grades[0] and c == 1:
                head.spec.external_number = demo_teacher
                head.grants = [(cls, Role.CLASS_TEACHER)]
            students = []
            for s in range(1, p.n(rng.randint(*spec.size), 6 if not kindergarten else 2) + 1):
                gender = Gender.MALE if rng.random() < 0.52 else Gender.FEMALE
                birth = year - grade.age - (1 if rng.random() < 0.2 else 0)
                student = p.person(
                    rng,
                    PersonKind.STUDENT,
                    gender=gender,
                    birth_year=birth,
                    regions=regions,
                    number=student_number(year, c, s),
                    phone=False,  # minors: no phone number on file
                    enrolment_year=year,
                )
                students.append(student)
                people.append(student)
                people.extend(p.guardians(rng, student, regions, grandparents))
            if kindergarten:
                for student in students:
                    student.memberships.append((cls, MembershipRole.MEMBER))
                volunteers.append(students[0].guardians[0][0])
            else:
                class_committee(rng, students, cls, size=3)
                if spec.stage != "primary":
                    volunteers.extend(rng.sample(students, min(len(students), 2)))
                elif grade.years_in >= 3:  # from the fourth grade up
                    volunteers.append(rng.choice(students))
            if dorms is not None:
                dorms.new_group()
                for student in students:
                    if rng.random() < spec.boarding:
                        dorms.place(student)
    for i, volunteer in enumerate(volunteers):
        volunteer.memberships.append((team, MembershipRole.LEADER if i == 0 else MembershipRole.VOLUNTEER))
    return school


COUNTY_SCHOOLS: list[tuple[str, str, SchoolSpec]] = [
    ("青山县实验幼儿园", "K01", SchoolSpec("kindergarten", KINDERGARTEN, 3, (25, 30))),
    ("城关镇中心幼儿园", "K02", SchoolSpec("kindergarten", KINDERGARTEN, 2, (22, 30))),
    ("青山县机关幼儿园", "K03", SchoolSpec("kindergarten", KINDERGARTEN, 2, (20, 28))),
    ("东岭镇中心幼儿园", "K04", SchoolSpec("kindergarten", KINDERGARTEN, 1, (18, 26))),
    ("青山县实验小学", "P01", SchoolSpec("primary", PRIMARY, 3, (42, 48))),
    ("城关第一小学", "P02", SchoolSpec("primary", PRIMARY, 3, (40, 46))),
    ("城关第二小学", "P03", SchoolSpec("primary", PRIMARY, 3, (40, 46))),
    ("南湖小学", "P04", SchoolSpec("primary", PRIMARY, 2, (36, 44))),
    ("东岭镇中心小学", "P05", SchoolSpec("primary", PRIMARY, 2, (32, 42))),
    ("西河乡中心小学", "P06", SchoolSpec("primary", PRIMARY, 2, (30, 40))),
    ("桃源镇中心小学", "P07", SchoolSpec("primary", PRIMARY, 2, (30, 40))),
    ("白沙镇中心小学", "P08", SchoolSpec("primary", PRIMARY, 2, (30, 40))),
    ("石桥村小学", "P09", SchoolSpec("primary", PRIMARY, 1, (12, 24))),
    ("凤凰村小学", "P10", SchoolSpec("primary", PRIMARY, 1, (10, 22))),
    ("青山县第一初级中学", "M01", SchoolSpec("middle", MIDDLE, 4, (44, 50))),
    ("青山县第二初级中学", "M02", SchoolSpec("middle", MIDDLE, 4, (44, 50))),
    ("城关中学", "M03", SchoolSpec("middle", MIDDLE, 3, (42, 50))),
    ("东岭镇初级中学", "M04", SchoolSpec("middle", MIDDLE, 3, (40, 48), boarding=0.6)),
    ("桃源镇初级中学", "M05", SchoolSpec("middle", MIDDLE, 2, (40, 48), boarding=0.6)),
    ("白沙镇初级中学", "M06", SchoolSpec("middle", MIDDLE, 2, (38, 46), boarding=0.6)),
    ("青山县第一中学", "H01", SchoolSpec("high", HIGH, 5, (46, 52), boarding=0.7)),
    ("青山县第二中学", "H02", SchoolSpec("high", HIGH, 4, (46, 52), boarding=0.7)),
]


def plan_education(p: Planner) -> Section:
    """青山县教育局: kindergartens, primary, middle and high schools, with grades and classes."""
    rng = random.Random(f"{SEED}:education")
    regions = REGIONS_LOCAL
    root = UnitPlan("青山县教育局", EDUCATION_CODE, UnitKind.BUREAU_DISTRICT)
    people: list[PersonPlan] = []
    bureau_staff = StaffNumbers("00", 3)
    for role in (MembershipRole.LEADER, MembershipRole.DEPUTY):
        number, hired = bureau_staff.next(rng)
        person = p.adult(rng, PersonKind.STAFF, number, regions, hired=hired)
        person.memberships.append((root, role))
        people.append(person)
    admin = p.adult(rng, PersonKind.STAFF, DEMO_NUMBERS[Role.BUREAU_ADMIN], regions, hired=2010)
    admin.memberships.append((root, MembershipRole.LIAISON))  # 安全稳定科科长
    admin.grants = [(root, Role.BUREAU_ADMIN)]
    people.append(admin)
    for _ in range(p.n(4)):
        number, hired = bureau_staff.next(rng)
        person = p.adult(rng, PersonKind.STAFF, number, regions, hired=hired)
        person.memberships.append((root, MembershipRole.MEMBER))
        people.append(person)
    by_type: dict[str, list[tuple[str, str, SchoolSpec]]] = {}
    for entry in COUNTY_SCHOOLS:
        by_type.setdefault(entry[1][0], []).append(entry)
    school_no = 0
    demo_teachers = {"K01": DEMO_NUMBERS["kg_teacher"], "M01": DEMO_NUMBERS["class_teacher"]}
    for entries in by_type.values():
        for name, code, spec in entries[: p.n(len(entries))]:
            school_no += 1
            prefix = f"{school_no:03d}"
            plan_school(
                p,
                rng,
                root,
                name,
                code,
                spec,
                regions=regions,
                student_number=numbering(prefix),
                staff_no=StaffNumbers(f"{school_no:02d}", 3),
                people=people,
                demo_teacher=demo_teachers.get(code, ""),
            )
    return Section("education", root, iter([Chunk(root, list(root.children), people)]))


# ---------------------------------------------------------------------------------------------
# The county police bureau and the bank

POLICE_DEPARTMENTS = [
    ("刑侦大队", "XZ", 20),
    ("网安大队", "WA", 10),
    ("经侦大队", "JZ", 10),
    ("治安大队", "ZA", 12),
    ("指挥中心", "ZHZX", 12),
    ("情报中心", "QBZX", 8),
    ("政治处", "ZZC", 8),
    ("督察大队", "DC", 6),
    ("看守所", "KSS", 15),
    ("科信大队", "KX", 8),
    ("法制大队", "FZ", 6),
    ("警务保障室", "BZS", 6),
]
TOWNS = [
    "城关", "东岭", "西河", "桃源", "白沙", "石桥", "凤凰", "南湖", "青龙", "大坪", "长岭", "双河",
    "黄土", "金山", "柳林", "马鞍", "龙潭", "新店", "高桥", "横山", "三溪", "五里", "七星", "九龙",
    "红岩", "清水", "花园", "永丰", "和平", "太平", "安乐", "兴隆", "古城", "沙河", "官渡", "杨柳",
    "樟树", "竹林", "松坡", "梨园", "槐树", "杏花", "梅岭", "枫林", "兰溪", "荷塘", "茶山", "云台",
]  # fmt: skip
COMMUNITIES = ["东门", "西街", "南关", "北城", "新华", "人民", "建设", "解放", "文化", "幸福", "团结", "光明"]


def plan_police(p: Planner) -> Section:
    """青山县公安局: departments, an anti-fraud centre in criminal investigation, stations and their grid."""
    rng = random.Random(f"{SEED}:police")
    regions = REGIONS_LOCAL
    root = UnitPlan("青山县公安局", POLICE_CODE, UnitKind.POLICE_BUREAU)
    people: list[PersonPlan] = []
    seq = iter(range(31100, 99999))

    def officer(unit: UnitPlan, role: str, number: str | None = None) -> PersonPlan:
        person = p.adult(rng, PersonKind.POLICE, number or f"{next(seq):06d}", regions)
        person.memberships.append((unit, role))
        people.append(person)
        return person

    officer(root, MembershipRole.LEADER)  # 局长, heads the leadership group
    for _ in range(p.n(3)):
        officer(root, MembershipRole.DEPUTY)  # 副局长
    for name, code, size in POLICE_DEPARTMENTS:
        unit = root.add(name, code, UnitKind.POLICE_DEPARTMENT)
        officer(unit, MembershipRole.LEADER)
        for _ in range(p.n(size - 1)):
            officer(unit, MembershipRole.MEMBER)
        if code == "XZ":
            # The leadership group's office sits in criminal investigation: the anti-fraud centre.
            centre = unit.add("反电诈中心", "FZZX", UnitKind.POLICE_DEPARTMENT)
            liaison = officer(centre, MembershipRole.LEADER, DEMO_NUMBERS[Role.POLICE_LIAISON])
            liaison.memberships.append((root, MembershipRole.LIAISON))
            liaison.grants = [(root, Role.POLICE_LIAISON)]  # school grants are added by plan_world
            members = [officer(centre, MembershipRole.MEMBER) for _ in range(p.n(5))]
            members[0].spec.external_number = DEMO_NUMBERS[Role.POLICE_ADMIN]
            members[0].grants = [(root, Role.POLICE_ADMIN)]  # runs the county's plan (篇五)
    for i, town in enumerate(TOWNS[: p.n(12, 10)], 1):
        station = root.add(f"{town}派出所", f"PCS{i:02d}", UnitKind.POLICE_STATION)
        officer(station, MembershipRole.LEADER)  # 所长
        officer(station, MembershipRole.DEPUTY)  # 教导员
        officers = [officer(station, MembershipRole.MEMBER) for _ in range(p.n(rng.randint(10, 22)))]
        if i == 1:
            officers[0].spec.external_number = DEMO_NUMBERS[Role.POLICE_OFFICER]
            officers[0].grants = [(station, Role.POLICE_OFFICER)]
        grid = (
            rng.sample(COMMUNITIES, 3)
            if i == 1
            else [f"{town}{v}" for v in rng.sample(["村", "东村", "西村", "新村"], 2)]
        )
        for j, place in enumerate(grid, 1):
            kind = UnitKind.COMMUNITY if i == 1 else UnitKind.VILLAGE
            label = f"{place}社区" if i == 1 else place
            area = station.add(label, f"PCS{i:02d}-{j:02d}", kind)
            officers[(j - 1) % len(officers)].memberships.append((area, MembershipRole.LIAISON))  # 社区民警
    return Section("police", root, iter([Chunk(root, list(root.children), people)]))


def plan_bank(p: Planner) -> Section:
    """青山农商银行: head office, branches (支行) and their outlets (网点)."""
    rng = random.Random(f"{SEED}:bank")
    regions = REGIONS_LOCAL
    root = UnitPlan("青山农村商业银行", BANK_CODE, UnitKind.BANK_HEAD)
    people: list[PersonPlan] = []
    seq = iter(range(100100, 9_999_999))

    def clerk(unit: UnitPlan, role: str, number: str | None = None) -> PersonPlan:
        person = p.adult(rng, PersonKind.BANK_STAFF, number or f"{next(seq):07d}", regions)
        person.memberships.append((unit, role))
        people.append(person)
        return person

    clerk(root, MembershipRole.LEADER)  # 董事长
    clerk(root, MembershipRole.DEPUTY)  # 行长
    admin = clerk(root, MembershipRole.LIAISON, DEMO_NUMBERS[Role.BANK_ADMIN])  # 合规部总经理
    admin.grants = [(root, Role.BANK_ADMIN)]
    for _ in range(p.n(12)):
        clerk(root, MembershipRole.MEMBER)
    towns = TOWNS[: p.n(8, 2)]
    for i, town in enumerate(towns, 1):
        branch = root.add(f"{town}支行", f"ZH{i:02d}", UnitKind.BANK_BRANCH)
        manager = clerk(branch, MembershipRole.LEADER)  # 行长
        if i == 1:
            manager.spec.external_number = DEMO_NUMBERS[Role.BANK_BRANCH_MANAGER]
            manager.grants = [(branch, Role.BANK_BRANCH_MANAGER)]
        clerk(branch, MembershipRole.LIAISON)
        for _ in range(p.n(5)):
            clerk(branch, MembershipRole.MEMBER)
        places = rng.sample(TOWNS[12:] + COMMUNITIES, p.n(rng.randint(2, 4)))
        for j, place in enumerate(places, 1):
            outlet = branch.add(f"{place}分理处", f"ZH{i:02d}{j:02d}", UnitKind.BANK_OUTLET)
            clerk(outlet, MembershipRole.LEADER)
            for _ in range(p.n(rng.randint(4, 8))):
                clerk(outlet, MembershipRole.MEMBER)
    return Section("bank", root, iter([Chunk(root, list(root.children), people)]))


# ---------------------------------------------------------------------------------------------
# The large world: a province education department for benchmarks

CITIES = ["江城", "临川", "云阳", "南屏", "北陵", "东阳", "西岭", "安平", "永宁"]
COUNTIES = [
    "青山", "白水", "石门", "龙泉", "清河", "松林", "柳溪", "杏坛", "梅岭", "竹溪", "枫林", "兰亭",
    "金沙", "玉泉", "铜鼓", "银川", "宝丰", "富源", "长乐", "永安", "崇仁", "广信", "新安", "凤台",
]  # fmt: skip

# One district of the large world (numbers at scale 1): mostly small rural schools and
# teaching points, as in a real inland province, with boarding middle and high schools.
DISTRICT_SCHOOLS: list[tuple[str, int, SchoolSpec]] = [
    ("{county}实验幼儿园", 1, SchoolSpec("kindergarten", KINDERGARTEN, 2, (24, 30))),
    ("{town}镇中心幼儿园", 3, SchoolSpec("kindergarten", KINDERGARTEN, 1, (10, 18))),
    ("{village}村教学点", 6, SchoolSpec("primary", PRIMARY[:3], 1, (3, 10))),
    ("{village}村小学", 12, SchoolSpec("primary", PRIMARY, 1, (8, 20))),
    ("{town}镇中心小学", 3, SchoolSpec("primary", PRIMARY, 2, (30, 40))),
    ("{county}实验小学", 1, SchoolSpec("primary", PRIMARY, 3, (40, 48))),
    ("{town}镇初级中学", 2, SchoolSpec("middle", MIDDLE, 2, (36, 46), boarding=0.7)),
    ("{county}第一初级中学", 1, SchoolSpec("middle", MIDDLE, 4, (42, 50))),
    ("{county}第一中学", 1, SchoolSpec("high", HIGH, 5, (44, 50), boarding=0.7)),
]


def plan_province(p: Planner) -> Section:
    """江南省教育厅 → 9 cities → 72 districts → 30 schools each: 1,000,000 people, 40,000 units."""
    rng = random.Random(f"{SEED}:province")
    regions = REGIONS_PROVINCE
    root = UnitPlan("江南省教育厅", PROVINCE_CODE, UnitKind.BUREAU_PROVINCE)
    districts: list[tuple[int, UnitPlan, str]] = []
    for ci, city in enumerate(CITIES[: p.n(len(CITIES))], 1):
        city_unit = root.add(f"{city}市教育局", f"{ci:02d}", UnitKind.BUREAU_CITY)
        names = ["城东区", "城西区"] + [f"{c}县" for c in rng.sample(COUNTIES, 6)]
        for di, county in enumerate(names[: p.n(len(names))], 1):
            unit = city_unit.add(f"{county}教育局", f"{ci:02d}{di:02d}", UnitKind.BUREAU_DISTRICT)
            districts.append((len(districts) + 1, unit, county[:-1]))

    def chunks() -> Iterator[Chunk]:
        yield Chunk(root, list(root.children), [])
        for dno, district, county in districts:
            people: list[PersonPlan] = []
            drng = random.Random(f"{SEED}:province:{dno}")
            places = drng.sample(TOWNS, len(TOWNS))
            village_names = iter(f"{a}{b}" for a in places for b in ["坪", "湾", "岗", "桥", "冲", "畈"])
            towns = iter(places)
            school_no = 0
            staff = StaffNumbers(f"{dno:03d}", 4)
            for pattern, count, spec in DISTRICT_SCHOOLS:
                for _ in range(p.n(count)):
                    school_no += 1
                    name = pattern.format(county=county, town=next(towns), village=next(village_names))
                    prefix = f"{dno:03d}{school_no:02d}"
                    plan_school(
                        p,
                        drng,
                        district,
                        name,
                        f"S{school_no:02d}",
                        spec,
                        regions=regions,
                        student_number=numbering(prefix),
                        staff_no=staff,
                        people=people,
                        grandparents=0.3,  # many rural children live with their grandparents
                    )
            yield Chunk(district, list(district.children), people)

    return Section("province", root, chunks())


# ---------------------------------------------------------------------------------------------
# The whole world


def plan_world(size: str = "small", scale: float = 1.0) -> list[Section]:
    """The sections of the world in build order; only the large world adds the province."""
    if size not in {"small", "large"}:
        raise ValueError(size)
    p = Planner(scale)
    university, education = plan_university(p), plan_education(p)
    police, bank = plan_police(p), plan_bank(p)
    sections = [university, education, police, bank]
    # The police liaison sees the schools too: school–police rapid contact.
    # Chunks are lazy, so the grants are attached when the police chunk is produced.
    police_chunks = police.chunks

    def with_school_grants() -> Iterator[Chunk]:
        for chunk in police_chunks:
            for person in chunk.people:
                if (
                    person.spec.external_number == DEMO_NUMBERS[Role.POLICE_LIAISON]
                    and person.grants is not None
                ):
                    person.grants += [
                        (university.root, Role.POLICE_LIAISON),
                        (education.root, Role.POLICE_LIAISON),
                    ]
            yield chunk

    police.chunks = with_school_grants()
    if size == "large":
        sections.append(plan_province(p))
    return sections


def summarize(size: str = "small", scale: float = 1.0) -> Counter[str]:
    """Counts of the planned world without touching the database: units by kind, people by kind, links."""
    counts: Counter[str] = Counter()
    for section in plan_world(size, scale):
        counts["unit:" + section.root.kind] += 1
        for chunk in section.chunks:
            for tree in chunk.trees:
                for node in tree.walk():
                    counts["unit:" + node.kind] += 1
                    counts[f"{section.key}:unit:{node.kind}"] += 1
            for person in chunk.people:
                counts["person:" + person.spec.kind] += 1
                counts[f"{section.key}:person:{person.spec.kind}"] += 1
                counts["guardianships"] += len(person.guardians)
                counts["covered"] += person.covered_by is not None
                for _, role in person.memberships:
                    counts["membership:" + role] += 1
                counts["accounts"] += person.grants is not None
            counts[f"{section.key}:people"] += len(chunk.people)
    counts["units"] = sum(v for k, v in counts.items() if k.startswith("unit:"))
    counts["people"] = sum(v for k, v in counts.items() if k.startswith("person:"))
    return counts


def _root(code: str) -> Unit | None:
    return Unit.objects.filter(parent_path="", code=code).first()


def _pk(person: PersonPlan) -> int:
    assert person.pk is not None, "person is not written yet"
    return person.pk


def _write_chunk(root: Unit, chunk: Chunk) -> None:
    if chunk.trees:
        assert chunk.parent.unit is not None
        units = actions.bulk_create_tree(chunk.parent.unit, chunk.trees)
        nodes = [node for tree in chunk.trees for node in tree.walk()]
        for node, unit in zip(nodes, units, strict=True):
            assert isinstance(node, UnitPlan)
            node.unit = unit
    # Class-committee members first, so that everyone else is written with their coverage;
    # only the committee's own coverage (they cover each other) needs an update afterwards.
    coverer_ids = {id(p.covered_by) for p in chunk.people if p.covered_by is not None}
    coverers = [p for p in chunk.people if id(p) in coverer_ids]
    others = [p for p in chunk.people if id(p) not in coverer_ids]
    plans = coverers + others
    for plan, pk in zip(coverers, actions.insert_people(root, [p.spec for p in coverers]), strict=True):
        plan.pk = pk
    for plan in others:
        plan.spec.covered_by_id = _pk(plan.covered_by) if plan.covered_by is not None else None
    for plan, pk in zip(others, actions.insert_people(root, [p.spec for p in others]), strict=True):
        plan.pk = pk
    actions.insert_memberships((_pk(p), u.pk, role) for p in plans for u, role in p.memberships)
    actions.bulk_link_guardians((_pk(g), _pk(p), rel) for p in plans for g, rel in p.guardians)
    actions.bulk_set_coverage((_pk(p), _pk(p.covered_by)) for p in coverers if p.covered_by)
    holders = [plan for plan in plans if plan.grants is not None]
    if holders:
        by_pk = Person.objects.in_bulk([_pk(plan) for plan in holders])
        actions.bulk_create_accounts([by_pk[_pk(plan)] for plan in holders], settings.FANZHA_DEMO_PASSWORD)
        for plan in holders:
            person = by_pk[_pk(plan)]
            assert person.user is not None and plan.grants is not None
            for unit_plan, role in plan.grants:
                assert unit_plan.unit is not None
                actions.grant_role(person.user, unit_plan.unit, role)


def build_world(size: str = "small", scale: float = 1.0, log: Log = print) -> dict[str, bool]:
    """Build every section that is not in the database yet; returns which sections were built.

    Each section is written in one transaction, so a section is either complete or absent,
    and a second run adds nothing.
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size=-262144")  # 256 MB: random hash-index inserts stay in memory
    built: dict[str, bool] = {}
    started = time.monotonic()
    sections = plan_world(size, scale)
    existing = {s.key: _root(s.root.code) for s in sections}
    for index, section in enumerate(sections):
        root_unit = existing[section.key]
        if root_unit is not None:
            section.root.unit = root_unit
            if any(existing[later.key] is None for later in sections[index + 1 :]):
                # Plan it all the same: the shared number registry must advance for later sections.
                for _chunk in section.chunks:
                    pass
            built[section.key] = False
            log(f"[{section.key}] {section.root.name} already there, kept")
            continue
        t0 = time.monotonic()
        units = people = 0
        with transaction.atomic():
            root = actions.create_unit(
                parent=None, name=section.root.name, code=section.root.code, kind=section.root.kind
            )
            section.root.unit = root
            for i, chunk in enumerate(section.chunks):
                _write_chunk(root, chunk)
                units += sum(1 for t in chunk.trees for _ in t.walk())
                people += len(chunk.people)
                if section.key == "province" and (i % 5 == 0):
                    log(
                        f"[{section.key}] {i} districts, {units:,} units, {people:,} people, "
                        f"{time.monotonic() - t0:.0f} s"
                    )
        built[section.key] = True
        seconds = time.monotonic() - t0
        log(f"[{section.key}] {section.root.name}: {units + 1:,} units, {people:,} people, {seconds:.1f} s")
    ensure_demo_member_code(ensure_superuser())
    ensure_pupil_parent()
    ensure_jurisdiction()
    if any(built.values()) and size == "large":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    log(f"demo world ready in {time.monotonic() - started:.1f} s")
    return built


def ensure_jurisdiction() -> int:
    """Put the county's schools and kindergartens in the areas of its police stations, and every school,
    kindergarten, community and village in the area of a bank outlet, in turn (once; a unit already
    assigned keeps its station). Why: the police plan's "cases down year on year" counts the cases of
    the stations' jurisdiction, and the demo's cases happen at schools. Returns the rows added."""
    education, police, bank = _root(EDUCATION_CODE), _root(POLICE_CODE), _root(BANK_CODE)
    if education is None or police is None:
        return 0
    actor = ensure_superuser()
    stations = list(
        Unit.objects.filter(
            path__startswith=police.path, kind=UnitKind.POLICE_STATION, is_active=True
        ).order_by("path")
    )
    outlets = (
        list(
            Unit.objects.filter(
                path__startswith=bank.path, kind=UnitKind.BANK_OUTLET, is_active=True
            ).order_by("path")
        )
        if bank is not None
        else []
    )
    taken = set(Jurisdiction.objects.values_list("unit_id", "side"))
    schools = list(
        Unit.objects.filter(
            path__startswith=education.path, kind__in=[UnitKind.SCHOOL, UnitKind.KINDERGARTEN], is_active=True
        ).order_by("path")
    )
    places = list(
        Unit.objects.filter(
            path__startswith=police.path, kind__in=[UnitKind.COMMUNITY, UnitKind.VILLAGE], is_active=True
        ).order_by("path")
    )
    added = 0
    for side, authorities, units in (
        (JurisdictionSide.POLICE, stations, schools),
        (JurisdictionSide.BANK, outlets, schools + places),
    ):
        for i, unit in enumerate(units):
            if authorities and (unit.pk, side) not in taken:
                actions.assign_jurisdiction(unit, authorities[i % len(authorities)], actor)
                added += 1
    return added


def ensure_superuser() -> User:
    """The demo's superuser ``admin`` with the demo password (created once)."""
    user = User.objects.filter(username=SUPERUSER_NAME).first()
    if user is None:
        user = User.objects.create_superuser(SUPERUSER_NAME, "", settings.FANZHA_DEMO_PASSWORD)
        user.first_name = "系统管理员"
        user.save(update_fields=["first_name"])
    return user


def ensure_demo_member_code(actor: User) -> None:
    """Give the demo student the known sign-in code again (a counsellor may have re-issued it)."""
    student = Person.objects.filter(
        root__parent_path="", root__code=UNIVERSITY_CODE, external_number=DEMO_NUMBERS["student"]
    ).first()
    if student is not None:
        credentials.issue_chosen_code(student, DEMO_MEMBER_CODE, actor)


def demo_pupil() -> Person | None:
    """The pupil whose parent is the demo's parent login of the county (篇三): the first student, by
    number, of the class the demo class teacher (班主任) runs who has a guardian with a phone."""
    grant = (
        RoleGrant.objects.filter(
            role=Role.CLASS_TEACHER,
            user__person__external_number=DEMO_NUMBERS["class_teacher"],
            user__person__root__parent_path="",
            user__person__root__code=EDUCATION_CODE,
        )
        .select_related("unit")
        .first()
    )
    if grant is None:
        return None
    return (
        Person.objects.filter(
            kind=PersonKind.STUDENT,
            is_active=True,
            memberships__unit=grant.unit,
            guardians__guardian__phone_enc__gt="",
        )
        .order_by("external_number", "pk")
        .distinct()
        .first()
    )


def pupil_parent(pupil: Person | None = None) -> Person | None:
    """The demo pupil's first guardian with a phone (the one the parent login signs in as)."""
    pupil = pupil if pupil is not None else demo_pupil()
    if pupil is None:
        return None
    link = (
        Guardianship.objects.filter(student=pupil, guardian__phone_enc__gt="")
        .select_related("guardian__user")
        .order_by("pk")
        .first()
    )
    return link.guardian if link else None


def ensure_pupil_parent() -> User | None:
    """An account (the demo password) for the demo pupil's parent, who signs in with their phone and
    finds the parent notice to sign and the app to install on /me/ (created once)."""
    guardian = pupil_parent()
    if guardian is None:
        return None
    if guardian.user is not None:
        return guardian.user
    return actions.create_account(guardian, settings.FANZHA_DEMO_PASSWORD)


DEMO_ROOTS = [UNIVERSITY_CODE, EDUCATION_CODE, POLICE_CODE, BANK_CODE, PROVINCE_CODE]


@transaction.atomic
def reset_world(log: Log = print) -> None:
    """Remove every demo section (units, people, their accounts); other data stays.

    Raises ``ProtectedError`` when records elsewhere (cases, audit records) still point at them.
    """
    roots = list(Unit.objects.filter(parent_path="", code__in=DEMO_ROOTS))
    if not roots:
        return
    people = Person.objects.filter(root__in=roots)
    user_ids = list(people.exclude(user=None).values_list("user_id", flat=True))
    Guardianship.objects.filter(student__root__in=roots).delete()
    Guardianship.objects.filter(guardian__root__in=roots).delete()
    Membership.objects.filter(person__root__in=roots).delete()
    people.update(covered_by=None, user=None)
    people.delete()
    RoleGrant.objects.filter(user_id__in=user_ids).delete()
    User.objects.filter(pk__in=user_ids).delete()
    for root in roots:
        Unit.objects.filter(path__startswith=root.path).delete()
        log(f"removed {root.name}")


# ---------------------------------------------------------------------------------------------
# The demo logins


@dataclass
class DemoLogin:
    role: str
    login: str
    name: str
    where: str
    user: User | None


ROLE_LABELS = {
    **dict(Role.choices),
    "kg_teacher": "幼儿园教师",
    "class_teacher": "班主任（初中）",
    "dorm_head": "宿舍长（学生）",
    "student": "学生",
    "parent": "家长",
    "pupil_parent": "家长（初中）",
    "superuser": "超级管理员",
}


def demo_logins() -> list[DemoLogin]:
    """The demo accounts as they are in the database: one per role, a student, a parent, a superuser."""
    result: list[DemoLogin] = []

    def named(unit: Unit) -> str:
        """A class or a room with the school, college or building it is in: 青山县第一初级中学 七年级(1)班."""
        if unit.depth <= 2:
            return unit.name
        above = Unit.objects.filter(path=unit.path[: 2 * Unit.steplen]).values_list("name", flat=True).first()
        return f"{above} {unit.name}" if above else unit.name

    def describe(user: User | None, nothing: str = "本人") -> str:
        if user is None:
            return "（未找到）"
        if user.is_superuser:
            return "全部单位"
        grants = RoleGrant.objects.filter(user=user).select_related("unit").order_by("pk")
        units = [named(g.unit) for g in grants]
        if not units:  # a member answering for a unit: a dormitory head's room
            headed = Membership.objects.filter(person__user=user, role=MembershipRole.DORM_HEAD)
            units = [f"{named(m.unit)}（宿舍长）" for m in headed.select_related("unit").order_by("pk")]
        if len(units) > 3:
            return "、".join(units[:2]) + f" 等 {len(units)} 个单位"
        return "、".join(units) or nothing

    superuser = User.objects.filter(username=SUPERUSER_NAME).first()
    result.append(DemoLogin("superuser", SUPERUSER_NAME, "系统管理员", describe(superuser), superuser))
    roots = {
        Role.BUREAU_ADMIN: EDUCATION_CODE,
        Role.SCHOOL_ADMIN: UNIVERSITY_CODE,
        Role.COLLEGE_ADMIN: UNIVERSITY_CODE,
        Role.COUNSELLOR: UNIVERSITY_CODE,
        Role.POLICE_LIAISON: POLICE_CODE,
        Role.BANK_ADMIN: BANK_CODE,
        Role.AUDITOR: UNIVERSITY_CODE,
        Role.SECURITY_OFFICER: UNIVERSITY_CODE,
        Role.PSYCHOLOGIST: UNIVERSITY_CODE,
        "kg_teacher": EDUCATION_CODE,
        "class_teacher": EDUCATION_CODE,
        Role.DORM_MANAGER: UNIVERSITY_CODE,
        "dorm_head": UNIVERSITY_CODE,
        Role.POLICE_ADMIN: POLICE_CODE,
        Role.POLICE_OFFICER: POLICE_CODE,
        Role.BANK_BRANCH_MANAGER: BANK_CODE,
        "student": UNIVERSITY_CODE,
    }
    for role, root_code in roots.items():
        person = demo_person(role, root_code)
        number = person.external_number if person else DEMO_NUMBERS.get(role, "")
        user = person.user if person else None
        result.append(DemoLogin(str(role), number, person.name if person else "", describe(user), user))
        if role == "class_teacher":  # a parent of that class: the notice to sign, the app to install
            pupil = demo_pupil()
            guardian = pupil_parent(pupil)
            classes = (
                [
                    named(m.unit)
                    for m in pupil.memberships.filter(unit__kind=UnitKind.CLASS).select_related("unit")
                ]
                if pupil is not None
                else []
            )
            result.append(
                DemoLogin(
                    "pupil_parent",
                    crypto.decrypt(guardian.phone_enc) if guardian else "",
                    guardian.name if guardian else "",
                    f"{pupil.name}的家长（{'、'.join(classes)}）" if pupil and guardian else "（未找到）",
                    guardian.user if guardian else None,
                )
            )
        if role == "student":
            link = (
                Guardianship.objects.filter(student=person, guardian__user__isnull=False)
                .select_related("guardian__user")
                .first()
                if person
                else None
            )
            guardian = link.guardian if link else None
            phone = crypto.decrypt(guardian.phone_enc) if guardian else ""
            result.append(
                DemoLogin(
                    "parent",
                    phone,
                    guardian.name if guardian else "",
                    f"{person.name}的家长" if person and guardian else "（未找到）",
                    guardian.user if guardian else None,
                )
            )
    return result


def demo_person(key: str, root_code: str) -> Person | None:
    """The person of a demo login (``DEMO_NUMBERS`` key, or "dorm_head": the student heading a room of
    the dorm manager's building), with their account loaded."""
    people = Person.objects.filter(root__parent_path="", root__code=root_code).select_related("user")
    if key == "dorm_head":
        manager = RoleGrant.objects.filter(
            role=Role.DORM_MANAGER, user__person__external_number=DEMO_NUMBERS[Role.DORM_MANAGER]
        ).first()
        if manager is None:
            return None
        heads = people.filter(
            user__isnull=False,
            memberships__role=MembershipRole.DORM_HEAD,
            memberships__unit__path__startswith=manager.unit.path,
        ).exclude(external_number=DEMO_NUMBERS["student"])
        return heads.order_by("memberships__unit__path").first()
    return people.filter(external_number=DEMO_NUMBERS[key]).first()


def logins_data(logins: Sequence[DemoLogin]) -> list[dict[str, str]]:
    """The demo logins for scripts and tests (``fanzha demo-logins --json``): the table's columns, the
    role's key and the demo password every demo account shares."""
    return [
        {
            "role": d.role,
            "label": str(ROLE_LABELS.get(d.role, d.role)),
            "login": d.login,
            "name": d.name,
            "scope": d.where,
            "password": settings.FANZHA_DEMO_PASSWORD,
        }
        for d in logins
    ]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_logins(logins: Sequence[DemoLogin]) -> str:
    """The demo logins as a plain-text table (CJK-aware column widths)."""
    header = ("角色", "登录名（学号/工号/手机号）", "姓名", "范围")
    rows = [(f"{ROLE_LABELS.get(d.role, d.role)}", d.login, d.name, d.where) for d in logins]
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(4)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule, "| " + " | ".join(_pad(h, w) for h, w in zip(header, widths, strict=True)) + " |", rule]
    for row in rows:
        lines.append("| " + " | ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)) + " |")
    lines.append(rule)
    lines.append(f"密码（全部账号）: {settings.FANZHA_DEMO_PASSWORD}")
    code = f"{DEMO_MEMBER_CODE[:5]} {DEMO_MEMBER_CODE[5:]}"
    lines.append(
        f"学生手机端（班级自助链接、活动签到）: 学号 {DEMO_NUMBERS['student']} + 个人登录码 {code}"
        "（其他学生的登录码由辅导员在班级页面打印登录条）"
    )
    lines.append(
        "家长手机端: 班级自助链接 → 家长登录，填上表家长的手机号；短信验证码不真实发送，"
        "以系统管理员登录后在 /notifications/sms-demo/（演示短信）查看"
    )
    lines.append(
        "家长（初中）: 用上表的手机号和密码登录，在“我的任务”（/me/）签署家长告知书、登记安装国家反诈中心APP"
    )
    return "\n".join(lines)
