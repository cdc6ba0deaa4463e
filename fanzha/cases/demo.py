"""A year of fraud cases in the demo world: the ledger, its alerts and their answers, as they would
have accumulated over the last twelve months.

Why: the ledger's pages, alerts, statistics, trace-backs and the linking of cases only show what
they are for with a realistic history behind them — a few cases a month at the university
(students, in their classes), many more at the police stations (residents), a handful in the
district's schools (two losses above 50,000 yuan and one above 100,000, so accountability rules
fire), the common scam types for each, suspects' numbers, cards and sites of the kinds the police
see, and clusters of cases in different units sharing one card, number or site.

Everything goes through the verbs, with ``now`` set to the moment each step happened:
``actions.report_case`` (which raises the alert, trace-back and follow-up), the alert verbs
(acknowledged within minutes or late after escalation; the latest one to three wait from minutes ago;
resolved with a note, some of the last two days still in progress), then ``change_state`` to file,
investigate and close; the follow-ups' sessions and the accountability actions after the year.
Random choices come from a fixed seed, so two builds on the same day give the same cases; a build is
one transaction and a second run adds nothing (the cases carry ``demo-case:`` submit tokens). Alert
messages are queued but not delivered during the build.

All suspects' data is made up: phone numbers are valid but random, bank cards have a correct
Luhn check digit on random digits, and sites use the reserved ``.example`` and ``.test`` domains.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from fanzha.core import crypto
from fanzha.core.models import AuditRecord
from fanzha.org import demo as org_demo
from fanzha.org.models import Gender, Membership, Person, PersonKind, Role, RoleGrant, Unit, UnitKind, User
from fanzha.org.scope import Cap, in_scope, path_q

from . import actions
from .alerts import actions as alert_actions
from .cardfraud import actions as cardfraud_actions
from .followup import actions as followup_actions
from .freeze import actions as freeze_actions
from .freeze import queries as freeze_queries
from .intake import CaseInput, IndicatorIn, TransferIn
from .models import (
    AccountabilityAction,
    Alert,
    AlertRecipient,
    Callback,
    CardFraudRecord,
    Case,
    CaseEvent,
    CaseResult,
    CaseState,
    Clue,
    ContactChannel,
    DissuasionTask,
    FollowUp,
    FollowUpSession,
    FraudKind,
    FreezeRequest,
    FundSource,
    Gang,
    IndicatorKind,
    Outcome,
    ReportedVia,
    Side,
    TransferMethod,
)
from .stats.queries import minus_year

SEED = f"{org_demo.SEED}:cases"
TOKEN = "demo-case:"
MONTHS = 12
LATE_SHARE = 0.08  # alerts acknowledged after the 10-minute target (escalated first)
OPEN_NOW = 3  # at most this many alerts raised minutes ago, not acknowledged yet
IN_PROGRESS = timedelta(days=2)  # acknowledged alerts younger than this may still be in progress
ACK_NOTES = ["已电话联系受害人，核实转账账户", "已通知辖区派出所民警上门", "已联系银行紧急止付"]
BASE_MONTHS = 6  # months of the year before with station cases, for year-on-year figures
Log = Callable[[str], None]

UNIVERSITY = "university"
POLICE = "police"
DISTRICT = "district"

F = FraudKind
C = ContactChannel
M = TransferMethod
K = IndicatorKind

# ---------------------------------------------------------------------------------------------
# What happens: scam types, their channels, amounts and stories

# Relative frequency of each type among students and among residents.
STUDENT_TYPES: dict[str, int] = {
    F.BRUSHING: 24,
    F.FAKE_CS: 14,
    F.GAME: 13,
    F.LOAN: 11,
    F.INVESTMENT: 9,
    F.ROMANCE: 8,
    F.CREDIT: 6,
    F.SHOPPING: 5,
    F.ACQUAINTANCE: 3,
    F.POLICE: 3,
    F.BLACKHAT: 2,
    F.MILITARY: 1,
    F.OTHER: 1,
}
RESIDENT_TYPES: dict[str, int] = {
    F.INVESTMENT: 17,
    F.BRUSHING: 14,
    F.FAKE_CS: 13,
    F.LOAN: 10,
    F.POLICE: 9,
    F.ACQUAINTANCE: 8,
    F.ROMANCE: 7,
    F.SHOPPING: 6,
    F.CREDIT: 5,
    F.MILITARY: 4,
    F.GAME: 3,
    F.BLACKHAT: 2,
    F.OTHER: 2,
}
PUPIL_TYPES: dict[str, int] = {F.GAME: 5, F.BRUSHING: 2, F.SHOPPING: 2, F.ACQUAINTANCE: 1}

CHANNELS: dict[str, list[str]] = {
    F.BRUSHING: [C.QQ, C.WECHAT, C.APP],
    F.FAKE_CS: [C.CALL, C.CALL, C.SMS],
    F.INVESTMENT: [C.WECHAT, C.APP, C.WEBSITE],
    F.LOAN: [C.APP, C.WEBSITE, C.CALL],
    F.CREDIT: [C.CALL],
    F.SHOPPING: [C.WECHAT, C.WEBSITE, C.QQ],
    F.POLICE: [C.CALL],
    F.ACQUAINTANCE: [C.QQ, C.WECHAT],
    F.GAME: [C.QQ, C.APP, C.WEBSITE],
    F.ROMANCE: [C.APP, C.WECHAT],
    F.MILITARY: [C.CALL, C.WECHAT],
    F.BLACKHAT: [C.WEBSITE, C.QQ],
    F.OTHER: [C.SMS, C.CALL],
}

# How the money went, where it is not a mix of bank transfers, Alipay and WeChat Pay.
METHODS: dict[str, list[str]] = {
    F.GAME: [M.ALIPAY, M.WECHAT_PAY, M.GIFT_CARD],
    F.INVESTMENT: [M.BANK_TRANSFER, M.BANK_TRANSFER, M.CRYPTO],
    F.POLICE: [M.BANK_TRANSFER],
    F.SHOPPING: [M.WECHAT_PAY, M.ALIPAY],
}

# Loss range in yuan (log-uniform between the two) for an adult; students lose less.
AMOUNTS: dict[str, tuple[int, int]] = {
    F.BRUSHING: (300, 30000),
    F.FAKE_CS: (500, 40000),
    F.INVESTMENT: (3000, 90000),
    F.LOAN: (600, 12000),
    F.CREDIT: (2000, 45000),
    F.SHOPPING: (150, 4000),
    F.POLICE: (5000, 90000),
    F.ACQUAINTANCE: (1500, 40000),
    F.GAME: (200, 6000),
    F.ROMANCE: (2000, 80000),
    F.MILITARY: (3000, 30000),
    F.BLACKHAT: (500, 6000),
    F.OTHER: (200, 8000),
}
# Scams that run for days or weeks before the victim notices (the other ones take hours).
SLOW = {F.INVESTMENT, F.ROMANCE, F.LOAN}

IMPERSONATED: dict[str, list[str]] = {
    F.BRUSHING: ["兼职中介", "电商店铺"],
    F.FAKE_CS: ["电商平台客服", "快递公司客服", "直播平台客服"],
    F.INVESTMENT: ["投资导师", "证券公司分析师"],
    F.LOAN: ["网贷平台客服", "银行信贷员"],
    F.CREDIT: ["金融平台客服", "征信中心工作人员"],
    F.SHOPPING: ["二手卖家", "代购"],
    F.POLICE: ["公安民警", "检察官"],
    F.ACQUAINTANCE: ["辅导员", "单位领导", "亲戚"],
    F.GAME: ["游戏玩家", "游戏代练"],
    F.ROMANCE: ["网友"],
    F.MILITARY: ["部队采购人员"],
    F.BLACKHAT: ["“黑客”"],
    F.OTHER: [""],
}

NARRATIVES: dict[str, list[str]] = {
    F.BRUSHING: [
        "看到“点赞返佣”兼职，前几单小额返佣到账；之后被要求做“连单任务”，垫付后被告知操作失误需继续充值解冻。",
        "被拉进“做任务领红包”群，下载指定App接单，垫付金额越滚越大，提现时被要求再交“保证金”。",
    ],
    F.FAKE_CS: [
        "接到自称客服的电话，称所购商品有质量问题可理赔，被引导下载会议软件共享屏幕，按提示转账“验证流水”。",
        "对方称其误开通了“会员服务”将每月扣费，要求配合“关闭”，按指引在多个平台借款后转出。",
    ],
    F.INVESTMENT: [
        "被拉进“投资交流群”，听“导师”讲解后在其提供的平台充值，前期小额盈利可提现，加大投入后无法登录。",
        "网友介绍“内部渠道”的数字货币理财，在对方网站充值后账面收益很高，提现时被要求缴纳“税费”。",
    ],
    F.LOAN: [
        "急需用钱，在网上找到“低息无抵押”贷款，对方以“解冻费”“保证金”“刷流水”为由多次要求转账，贷款始终未到账。",
    ],
    F.CREDIT: [
        "接到自称金融平台的电话，称其“学生贷款账户需注销，否则影响征信”，按要求借款后转入所谓“安全账户”。",
    ],
    F.SHOPPING: [
        "在社交平台看到低价出售的二手手机，私下交易付款后，对方以“未交保证金”为由要求加款，随后拉黑。",
        "网上购买演唱会门票，付款后对方称需加付“出票费”，再付后失联。",
    ],
    F.POLICE: [
        "接到自称公安机关的电话，称其涉嫌洗钱，要求配合“资金清查”，在视频中出示“通缉令”，诱导将存款转入“安全账户”。",
    ],
    F.ACQUAINTANCE: [
        "QQ上冒充熟人的账号称急需用钱、不便接电话，要求先代为转账，事后核实系冒充。",
        "微信收到“领导”好友申请，对方称需给合作方转账，让其先行垫付。",
    ],
    F.GAME: [
        "在游戏交易群看到低价出售账号，在对方发来的“交易平台”链接付款后，被告知账户冻结需缴纳解冻费。",
        "添加“代练”后按要求在陌生网站充值，对方收款后不再回复。",
    ],
    F.ROMANCE: [
        "在交友软件结识“网友”，确立恋爱关系后对方以家人住院、带其投资赚钱等理由多次要钱。",
    ],
    F.MILITARY: [
        "自称部队采购人员称需大量采购，要求其先向“指定供应商”垫付货款，垫付后对方失联。",
    ],
    F.BLACKHAT: [
        "在网上寻找“黑客”帮忙追回此前被骗的钱，对方收取“技术费”后以各种理由加价，最终失联。",
    ],
    F.OTHER: [
        "收到“课程退费”短信，按链接填写信息并转账“手续费”后发现被骗。",
    ],
}

STUDENT_PLACES = ["宿舍", "宿舍", "教室", "图书馆", "校外租住处", "实习单位"]
RESIDENT_PLACES = ["家中", "家中", "单位", "店铺", "出租屋", "工地宿舍"]
PUPIL_PLACES = ["家中", "学生宿舍"]
STUDENT_FUNDS = [FundSource.LIVING_ALLOWANCE, FundSource.LOAN, FundSource.FAMILY, FundSource.SAVINGS]
RESIDENT_FUNDS = [FundSource.SAVINGS, FundSource.SALARY, FundSource.BORROWED, FundSource.LOAN]
FAMILIES = ["父母在外务工", "单亲家庭", "家庭经济困难，受资助", "独生子女，父母均在本地工作", ""]

# The last two are the demo's own bank (``org.demo.plan_bank``): their freeze requests are routed to it
# (four names, as before: the same draws of the random stream, so the rest of the demo is unchanged).
BANKS = ["某国有银行", "某股份制银行", "青山农商银行", "青山农村商业银行城关支行"]
CARD_PREFIXES = ["622202", "621700", "622848", "621483", "623058", "622588", "621226", "622908"]
APP_HEADS = ["速融", "鑫盈", "乐享", "星耀", "心动", "云游", "聚财", "易借", "趣玩", "优选", "金牛", "福运"]
APP_TAILS = ["贷", "宝", "任务", "交易", "交友", "账号", "理财", "商城"]
URL_WORDS = ["licai", "task", "vip", "trade", "loan", "game", "shop", "coin", "jiaoyi", "fuli"]
URL_TLDS = ["example", "test", "example", "test"]
FOREIGN_REGIONS = ["PH", "KH"]  # +63, +855: where many fraud calls come from


# ---------------------------------------------------------------------------------------------
# Suspects' numbers, cards and sites


def luhn_digit(body: str) -> str:
    """The check digit that makes ``body`` + digit pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def bank_card(rng: random.Random) -> str:
    length = rng.choice([16, 19, 19])
    body = rng.choice(CARD_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(length - 7))
    return body + luhn_digit(body)


def mobile(rng: random.Random) -> str:
    prefix = rng.choice(["170", "171", "165", "167", "162"] + org_demo.PHONE_PREFIXES[:20])
    return prefix + f"{rng.randrange(100_000_000):08d}"


def service_number(rng: random.Random) -> str:
    return f"400{rng.randrange(10_000_000):07d}"


def foreign_number(rng: random.Random) -> str:
    """A valid mobile number of the Philippines or Cambodia, as ``+CC…``."""
    region = rng.choice(FOREIGN_REGIONS)
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    national = str(example.national_number)
    for _ in range(50):
        digits = national[:3] + "".join(rng.choice("0123456789") for _ in range(len(national) - 3))
        candidate = phonenumbers.parse(f"+{example.country_code}{digits}")
        if phonenumbers.is_valid_number(candidate):
            return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def suspect_phone(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.15:
        return foreign_number(rng)
    if roll < 0.3:
        return service_number(rng)
    return mobile(rng)


def site(rng: random.Random) -> str:
    word = rng.choice(URL_WORDS)
    return (
        f"https://{word}{rng.randint(2, 99)}.{rng.choice(URL_TLDS)}/{rng.choice(['h5', 'app', 'login', 'm'])}"
    )


def qq(rng: random.Random) -> str:
    return str(rng.randint(10_000_000, 3_999_999_999))


def wechat_id(rng: random.Random) -> str:
    return "wxid_" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz0123456789") for _ in range(10))


# ---------------------------------------------------------------------------------------------
# The plan of one case


@dataclass
class Victim:
    """Who lost money: a person of the roster (in their class) or a resident known by name."""

    unit: Unit
    person_id: int | None = None
    name: str = ""
    phone: str = ""


@dataclass
class Plan:
    """One case as it will be recorded, before anything is written."""

    seq: int
    population: str
    victim: Victim
    reported_at: datetime
    fraud_type: str
    channel: str
    loss: Decimal
    self_report: bool = False
    late_report: bool = False  # reported more than a day after the last transfer: no alert
    shared: list[tuple[str, str]] = field(default_factory=list)  # (kind, value) of a cluster
    ack: str = "quick"  # quick, late, never


def money(rng: random.Random, lo: float, hi: float) -> Decimal:
    """A plausible amount between ``lo`` and ``hi``: round hundreds for large ones, some cents for small."""
    value = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if value >= 2000:
        return Decimal(round(value / 100) * 100)
    if value >= 300:
        return Decimal(round(value / 10) * 10)
    return Decimal(f"{value:.2f}")


def split(rng: random.Random, total: Decimal, parts: int) -> list[Decimal]:
    """``total`` in ``parts`` growing payments (scams ask for more each time), cents exact."""
    weights = sorted(rng.uniform(0.5, 2.0) * (i + 1) for i in range(parts))
    s = sum(weights)
    amounts = [Decimal(f"{float(total) * w / s:.2f}") for w in weights[:-1]]
    amounts.append(total - sum(amounts, Decimal("0")))
    return amounts


def months_back(now: datetime) -> list[tuple[datetime, datetime]]:
    """The current calendar month (up to now) and the eleven before it, oldest first."""
    local = timezone.localtime(now)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    windows: list[tuple[datetime, datetime]] = []
    end = now
    for _ in range(MONTHS):
        windows.append((start, end))
        end = start
        start = (start - timedelta(days=1)).replace(day=1)
    return list(reversed(windows))


def moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A time between ``start`` and ``end``, by day mostly (people report in the daytime)."""
    span = (end - start).total_seconds()
    at = start + timedelta(seconds=rng.random() * span)
    local = timezone.localtime(at)
    if local.hour < 7:
        shifted = at + timedelta(hours=rng.randint(8, 12))
        at = shifted if shifted < end else at
    return at


# ---------------------------------------------------------------------------------------------
# The demo world's people and units


@dataclass
class World:
    """What the demo cases need from the demo world, read once."""

    students: list[tuple[int, int]]  # (person, class unit) at the university
    pupils: list[tuple[int, int]]  # (person, class unit) in the district's middle and high schools
    stations: list[Unit]  # police stations and their community / village units
    units: dict[int, Unit]
    counsellors: dict[int, User]  # class unit → its counsellor's account
    school_admin: User | None
    bureau_admin: User | None
    police: User | None


def _root(code: str) -> Unit | None:
    return Unit.objects.filter(parent_path="", code=code).first()


def _class_members(paths: list[str]) -> list[tuple[int, int]]:
    if not paths:
        return []
    return list(
        Membership.objects.filter(
            path_q(paths, "unit__path"), unit__kind=UnitKind.CLASS, person__kind=PersonKind.STUDENT
        )
        .order_by("person_id", "unit_id")
        .values_list("person_id", "unit_id")
        .distinct()
    )


def read_world() -> World | None:
    """The demo's units, people and logins; None when the university or police bureau is missing."""
    from fanzha.campaigns.demo import login_user

    university = _root(org_demo.UNIVERSITY_CODE)
    police = _root(org_demo.POLICE_CODE)
    if university is None or police is None:
        return None
    education = _root(org_demo.EDUCATION_CODE)
    schools = (
        list(
            Unit.objects.filter(parent_path=education.path, code__regex=r"^[MH]\d").values_list(
                "path", flat=True
            )
        )
        if education is not None
        else []
    )
    students = _class_members([university.path])
    pupils = _class_members(schools)
    station_units = list(
        Unit.objects.filter(path__startswith=police.path, kind=UnitKind.POLICE_STATION).order_by("path")
    )
    areas = list(
        Unit.objects.filter(
            path__startswith=police.path, kind__in=[UnitKind.COMMUNITY, UnitKind.VILLAGE]
        ).order_by("path")
    )
    class_ids = {u for _, u in students} | {u for _, u in pupils}
    units = Unit.objects.in_bulk(class_ids)
    units.update({u.pk: u for u in station_units + areas})
    counsellors: dict[int, User] = {}
    grants = RoleGrant.objects.filter(unit_id__in=class_ids, role=Role.COUNSELLOR).select_related("user")
    for grant in grants.order_by("pk"):
        counsellors.setdefault(grant.unit_id, grant.user)
    return World(
        students=students,
        pupils=pupils,
        stations=station_units * 3 + areas,  # most cases are booked at the station itself
        units=units,
        counsellors=counsellors,
        school_admin=login_user(Role.SCHOOL_ADMIN),
        bureau_admin=login_user(Role.BUREAU_ADMIN),
        police=login_user(Role.POLICE_LIAISON),
    )


# ---------------------------------------------------------------------------------------------
# Planning


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def plan_cases(world: World, now: datetime, rng: random.Random, scale: float = 1.0) -> list[Plan]:
    """Every demo case, in report order: who, where, when, which scam and how much.

    ``scale`` below 1 (the tests' tiny worlds) thins the monthly counts, keeping at least one.
    """

    def per_month(lo: int, hi: int) -> int:
        count = rng.randint(lo, hi)
        return count if scale >= 1 else max(1, round(count * scale))

    people = org_demo.Identities()
    plans: list[Plan] = []
    windows = months_back(now)
    district_months = sorted(rng.sample(range(MONTHS - 1), min(7, MONTHS - 1)))
    big = {district_months[1]: 118_000, district_months[3]: 56_000, district_months[5]: 73_500}

    def add(
        population: str, victim: Victim, at: datetime, fraud_type: str, loss: Decimal | None = None
    ) -> None:
        lo, hi = AMOUNTS[fraud_type]
        if loss is None:
            factor = {UNIVERSITY: 0.45, DISTRICT: 0.25}.get(population, 1.0)
            loss = money(rng, max(100, lo * factor), max(300, hi * factor))
        self_report = population == UNIVERSITY and rng.random() < 0.12
        plans.append(
            Plan(
                seq=0,
                population=population,
                victim=victim,
                reported_at=at,
                fraud_type=fraud_type,
                channel=rng.choice(CHANNELS[fraud_type]),
                loss=loss,
                self_report=self_report,
                late_report=not self_report and rng.random() < 0.18,
            )
        )

    for index, (start, end) in enumerate(windows):
        end = min(end, now - timedelta(minutes=30))
        if end - start < timedelta(hours=6):
            continue  # the first hours of a new month: nothing yet
        for _ in range(per_month(3, 6) if world.students else 0):
            person, unit = rng.choice(world.students)
            add(
                UNIVERSITY,
                Victim(world.units[unit], person),
                moment(rng, start, end),
                _weighted(rng, STUDENT_TYPES),
            )
        for _ in range(per_month(10, 20) if world.stations else 0):
            gender = Gender.MALE if rng.random() < 0.5 else Gender.FEMALE
            resident = Victim(rng.choice(world.stations), None, people.name(rng, gender), people.phone(rng))
            add(POLICE, resident, moment(rng, start, end), _weighted(rng, RESIDENT_TYPES))
        if world.pupils and index in district_months:
            person, unit = rng.choice(world.pupils)
            amount = big.get(index)
            fraud_type = F.POLICE if amount and amount > 100_000 else _weighted(rng, PUPIL_TYPES)
            if amount and amount < 100_000:
                fraud_type = rng.choice([F.GAME, F.ACQUAINTANCE])
            add(
                DISTRICT,
                Victim(world.units[unit], person),
                moment(rng, start, end),
                fraud_type,
                Decimal(amount) if amount else None,
            )
    # The same months a year earlier, at the stations only and a little more often: the base the police
    # plan's "cases down year on year" is measured against (its period runs from the plan's start).
    for start, end in windows[-BASE_MONTHS:]:
        end = min(end, now - timedelta(minutes=30))
        if end - start < timedelta(hours=6):
            continue
        for _ in range(per_month(12, 22) if world.stations else 0):
            gender = Gender.MALE if rng.random() < 0.5 else Gender.FEMALE
            resident = Victim(rng.choice(world.stations), None, people.name(rng, gender), people.phone(rng))
            add(
                POLICE,
                resident,
                moment(rng, minus_year(start), minus_year(end)),
                _weighted(rng, RESIDENT_TYPES),
            )
    plans.sort(key=lambda p: p.reported_at)
    for seq, plan in enumerate(plans, 1):
        plan.seq = seq
    clusters(plans, rng)
    alerting = [p for p in plans if p.self_report or not p.late_report]
    for plan in alerting:
        plan.ack = "late" if rng.random() < LATE_SHARE else "quick"
    # The latest alerts came in minutes ago and wait for the police: the workbench's countdown. Moved to
    # then, they stay the latest, so the report order (and the ``seq`` of the others) does not change.
    older = [p for p in alerting if now - p.reported_at > timedelta(days=7)]
    rng.sample(older, min(4, len(older)))  # drawn as before, so that the rest of the world stays the same
    waiting_rng = random.Random(f"{SEED}:waiting")
    waiting = alerting[-waiting_rng.randint(1, OPEN_NOW) :] if alerting else []
    ago = sorted(waiting_rng.sample(range(2, 9), len(waiting)), reverse=True)
    for plan, minutes in zip(waiting, ago, strict=True):
        plan.reported_at = now - timedelta(minutes=minutes)
        plan.ack = "never"
    return plans


# (kind, fraud type, how many cases in each population): the rings the linking of cases finds.
CLUSTERS: list[tuple[str, str, dict[str, int]]] = [
    (K.BANK_CARD, F.BRUSHING, {UNIVERSITY: 2, POLICE: 3}),
    (K.PHONE, F.POLICE, {POLICE: 2, DISTRICT: 1, UNIVERSITY: 1}),
    (K.URL, F.INVESTMENT, {UNIVERSITY: 1, POLICE: 3}),
    (K.PHONE, F.FAKE_CS, {UNIVERSITY: 2, POLICE: 2}),
    (K.BANK_CARD, F.GAME, {UNIVERSITY: 2, DISTRICT: 1}),
]


def clusters(plans: list[Plan], rng: random.Random) -> None:
    """Make groups of cases share one suspect card, number or site (a ring working for months)."""
    used: set[int] = {p.seq for p in plans if p.population == DISTRICT and p.loss >= 50_000}
    for kind, fraud_type, members in CLUSTERS:
        if kind == K.BANK_CARD:
            value = bank_card(rng)
        elif kind == K.URL:
            value = f"https://{rng.choice(URL_WORDS)}-{rng.choice(URL_WORDS)}.example/invite"
        elif fraud_type == F.POLICE:
            value = foreign_number(rng)
        else:
            value = service_number(rng)
        start = rng.randrange(max(1, len(plans) - len(plans) // 3))
        window = plans[start : start + max(len(plans) // 3, 12)]
        for population, count in members.items():
            candidates = [p for p in window if p.population == population and p.seq not in used]
            if len(candidates) < count:  # few cases of that kind in the window: any time of the year
                candidates = [p for p in plans if p.population == population and p.seq not in used]
            for plan in rng.sample(candidates, min(count, len(candidates))):
                used.add(plan.seq)
                plan.fraud_type = fraud_type
                plan.channel = rng.choice(CHANNELS[fraud_type])
                if kind == K.PHONE:
                    plan.channel = C.CALL
                plan.shared.append((kind, value))


# ---------------------------------------------------------------------------------------------
# Building one case


def intake(plan: Plan, rng: random.Random, victims: dict[int, Person]) -> CaseInput:
    """The intake form of a planned case: transfers before the report, the suspects' lines."""
    report = plan.reported_at
    if plan.late_report:
        last = report - timedelta(hours=rng.uniform(30, 240))
    else:
        last = report - timedelta(minutes=rng.uniform(12, 60 * 18))
    slow = plan.fraud_type in SLOW
    parts = rng.choice([1, 2, 2, 3, 4, 5] if slow else [1, 1, 2, 2, 3])
    span = timedelta(days=rng.uniform(2, 30)) if slow else timedelta(minutes=rng.uniform(20, 300))
    times = sorted(last - span * rng.random() for _ in range(parts - 1)) + [last]
    occurred = times[0] - timedelta(minutes=rng.uniform(10, 120 if not slow else 60 * 24 * 5))
    methods = METHODS.get(plan.fraud_type, [M.BANK_TRANSFER, M.ALIPAY, M.WECHAT_PAY])
    shared_card = next((v for k, v in plan.shared if k == K.BANK_CARD), "")
    victim_card = bank_card(rng) if rng.random() < 0.5 else ""
    indicators: list[IndicatorIn] = []
    transfers: list[TransferIn] = []
    for i, (at, amount) in enumerate(zip(times, split(rng, plan.loss, parts), strict=True)):
        method = M.BANK_TRANSFER if shared_card and i == len(times) - 1 else rng.choice(methods)
        to_account = to_name = ""
        if method == M.BANK_TRANSFER:
            to_account = shared_card if shared_card and i == len(times) - 1 else bank_card(rng)
            to_name = rng.choice(BANKS)
            indicators.append(IndicatorIn(K.BANK_CARD, to_account, note=to_name))
        elif method == M.ALIPAY:
            to_account = f"pay{rng.randint(1000, 99999)}@{rng.choice(URL_TLDS)}mail.example"
            indicators.append(IndicatorIn(K.ALIPAY, to_account))
        elif method == M.WECHAT_PAY:
            to_account = wechat_id(rng)
            indicators.append(IndicatorIn(K.WECHAT_PAY, to_account))
        transfers.append(
            TransferIn(
                at, str(amount), method, victim_card if method == M.BANK_TRANSFER else "", to_account, to_name
            )
        )
    if plan.channel in (C.CALL, C.SMS):
        indicators.append(IndicatorIn(K.PHONE, suspect_phone(rng)))
    elif plan.channel == C.QQ:
        indicators.append(IndicatorIn(K.QQ, qq(rng)))
    elif plan.channel == C.WECHAT:
        indicators.append(IndicatorIn(K.WECHAT, wechat_id(rng)))
    elif plan.channel == C.APP:
        indicators.append(IndicatorIn(K.APP, rng.choice(APP_HEADS) + rng.choice(APP_TAILS)))
        if rng.random() < 0.5:
            indicators.append(IndicatorIn(K.URL, site(rng)))
    elif plan.channel == C.WEBSITE:
        indicators.append(IndicatorIn(K.URL, site(rng)))
    for kind, value in plan.shared:
        if kind != K.BANK_CARD:
            indicators.append(IndicatorIn(kind, value))
    if victim_card:
        indicators.append(IndicatorIn(K.BANK_CARD, victim_card, side=Side.VICTIM, note=rng.choice(BANKS)))
    person = victims.get(plan.victim.person_id) if plan.victim.person_id else None
    student = plan.population != POLICE
    places = {UNIVERSITY: STUDENT_PLACES, DISTRICT: PUPIL_PLACES}.get(plan.population, RESIDENT_PLACES)
    funds = STUDENT_FUNDS if student else RESIDENT_FUNDS
    if plan.population == DISTRICT:
        funds = [FundSource.FAMILY, FundSource.SAVINGS]
    return CaseInput(
        unit=plan.victim.unit,
        victim=person,
        victim_name="" if person else plan.victim.name,
        victim_phone="" if person else plan.victim.phone,
        occurred_at=occurred,
        reported_at=report,
        place=rng.choice(places),
        channel=plan.channel,
        fraud_type=plan.fraud_type,
        impersonated=rng.choice(IMPERSONATED[plan.fraud_type]),
        narrative=rng.choice(NARRATIVES[plan.fraud_type]),
        fund_sources=rng.sample(funds, rng.choice([1, 1, 2])),
        funds_note="",
        family=rng.choice(FAMILIES) if student else "",
        indicators=indicators,
        transfers=transfers,
    )


def recorder(plan: Plan, world: World) -> User | None:
    if plan.population == UNIVERSITY:
        return world.counsellors.get(plan.victim.unit.pk) or world.school_admin
    if plan.population == DISTRICT:
        return world.bureau_admin
    return world.police


def _escalate_until(alert: Alert, until: datetime) -> None:
    """Let the alert climb its tiers as it would have, unanswered, until ``until``."""
    for _ in range(10):
        alert.refresh_from_db(fields=["next_escalation_at", "status"])
        due = alert.next_escalation_at
        if alert.status != Alert.Status.OPEN or due is None or due >= until:
            return
        alert_actions.escalate_due(now=due, delivery="off")


@dataclass
class Counts:
    cases: int = 0
    alerts: int = 0
    late: int = 0
    never: int = 0
    closed: int = 0
    by: dict[str, int] = field(default_factory=dict)


def follow(plan: Plan, case: Case, world: World, rng: random.Random, now: datetime, counts: Counts) -> None:
    """What happened after the report: the alert answered (or not), filing, investigation, closing."""
    police = world.police
    if police is None:
        return
    limit = timedelta(minutes=settings.FANZHA_ALERT_ESCALATE_MINUTES)
    t = plan.reported_at
    alert = Alert.objects.filter(case=case).first()
    if alert is not None:
        counts.alerts += 1
        if plan.ack == "quick":
            ack = alert.raised_at + timedelta(seconds=rng.uniform(40, limit.total_seconds() - 30))
        elif plan.ack == "late":
            ack = alert.raised_at + limit + timedelta(minutes=rng.uniform(2, 150))
        else:
            ack = now + timedelta(days=1)
        _escalate_until(alert, min(ack, now))
        if ack < now:
            alert_actions.acknowledge_alert(alert, police, note=rng.choice(ACK_NOTES), now=ack)
            counts.late += plan.ack == "late"
            t = send_freeze_requests(case, police, ack, now, random.Random(f"{SEED}:freeze:{plan.seq}"))
            outcome_at = max(ack + timedelta(minutes=rng.uniform(30, 300)), t + timedelta(minutes=1))
            # Older alerts are all resolved; of the last two days', about half are still in progress.
            if outcome_at < now and (rng.random() < 0.5 or now - ack > IN_PROGRESS):
                frozen = Decimal("0")
                if rng.random() < 0.45:
                    frozen = (plan.loss * Decimal(str(round(rng.uniform(0.15, 0.9), 2)))).quantize(
                        Decimal("1")
                    )
                banked = sum(case.freeze_requests.values_list("frozen_amount", flat=True), Decimal("0"))
                if banked > 0:  # what the banks answered they froze
                    frozen = min(banked, case.total_loss)
                note = "已冻结部分涉案资金" if frozen else "资金已被快速转移，未能止付"
                alert_actions.record_alert_outcome(alert, police, frozen, 0, note=note, now=outcome_at)
                t = outcome_at
        else:
            counts.never += plan.ack == "never"
    filed = plan.loss >= 3000 and rng.random() < 0.92 or rng.random() < 0.3
    if filed:
        at = t + timedelta(hours=rng.uniform(4, 72))
        if at >= now:
            return
        year = timezone.localtime(at).year
        actions.change_state(
            case, CaseState.FILED, police, police_case_number=f"QSGA{year}{plan.seq:05d}", now=at
        )
        t = at
        if rng.random() < 0.85:
            at = t + timedelta(days=rng.uniform(1, 10))
            if at >= now:
                return
            actions.change_state(case, CaseState.INVESTIGATING, police, now=at)
            t = at
    age = now - plan.reported_at
    share = 0.9 if age > timedelta(days=90) else 0.4 if age > timedelta(days=30) else 0.05
    if rng.random() >= share:
        return
    at = max(t + timedelta(days=1), plan.reported_at + timedelta(days=rng.uniform(12, 85)))
    if at >= now - timedelta(hours=1):
        at = now - timedelta(hours=1)
        if at <= t:
            return
    case.refresh_from_db()
    loss, frozen = case.total_loss, case.frozen_amount
    if frozen > 0:
        recovered = frozen if rng.random() < 0.8 else (frozen / 2).quantize(Decimal("0.01"))
    elif rng.random() < 0.12:
        recovered = (loss * Decimal(str(round(rng.uniform(0.1, 0.6), 2)))).quantize(Decimal("0.01"))
    else:
        recovered = Decimal("0")
    if recovered <= 0:
        outcome = Outcome.UNRECOVERED
        recovered = Decimal("0")
    elif recovered >= loss:
        outcome, recovered = Outcome.RECOVERED, loss
    else:
        outcome = Outcome.PARTLY
    actions.change_state(case, CaseState.CLOSED, police, outcome=outcome, recovered_amount=recovered, now=at)
    counts.closed += 1


def build_one(
    plan: Plan, world: World, rng: random.Random, victims: dict[int, Person], now: datetime
) -> Case:
    data = intake(plan, rng, victims)
    token = f"{TOKEN}{plan.seq}"
    if plan.self_report and data.victim is not None:
        return actions.report_case(
            data, None, via=ReportedVia.SELF, reporter=data.victim, submit_token=token, now=plan.reported_at
        )
    via = ReportedVia.POLICE if plan.population == POLICE else ReportedVia.STAFF
    return actions.report_case(data, recorder(plan, world), via=via, submit_token=token, now=plan.reported_at)


def build_cases(log: Log = print, today: date | None = None, scale: float = 1.0) -> int:
    """Record the demo year of cases (once); returns how many were added (0 when they are there).

    ``today`` sets the end of the year (default: now); ``scale`` below 1 makes fewer cases a month
    (``fanzha demo --scale`` for tests; the demo itself builds the full year).
    """
    if Case.objects.filter(submit_token__startswith=TOKEN).exists():
        log("[cases] demo cases already there, kept")
        return 0
    world = read_world()
    if world is None or world.police is None:
        log("[cases] no demo university or police bureau, skipped")
        return 0
    started = time.monotonic()
    now = timezone.now()
    if today is not None and today < timezone.localdate(now):
        now = timezone.make_aware(datetime.combine(today, dtime(18, 0)))
    rng = random.Random(SEED)
    plans = plan_cases(world, now, rng, scale)
    victims = Person.objects.in_bulk({p.victim.person_id for p in plans if p.victim.person_id})
    counts = Counts()
    # Messages of a year of alerts stay queued: delivering them all now would only make noise.
    with override_settings(FANZHA_ALERT_DELIVERY="off"), transaction.atomic():
        for plan in plans:
            case = build_one(plan, world, rng, victims, now)
            follow(plan, case, world, rng, now, counts)
            counts.cases += 1
            counts.by[plan.population] = counts.by.get(plan.population, 0) + 1
        freeze_actions.escalate_overdue(now)
        sessions = record_followups(now, random.Random(f"{SEED}:followup"))
        handled = handle_accountability(now, random.Random(f"{SEED}:accountability"))
    settle_alert_messages(now)
    freeze = FreezeRequest.objects.filter(case__submit_token__startswith=TOKEN).count()
    by = ", ".join(f"{k} {v}" for k, v in sorted(counts.by.items()))
    log(
        f"[cases] {counts.cases} cases ({by}), {counts.alerts} alerts ({counts.late} acknowledged late, "
        f"{counts.never} waiting), {counts.closed} closed, {freeze} freeze requests, {sessions} counselling "
        f"sessions, {handled} accountability actions issued, "
        f"{time.monotonic() - started:.1f} s"
    )
    return counts.cases


# Follow-ups (心理疏导): sessions on a weekly-to-fortnightly rhythm, the first a few days after the
# report, closed after the planned number; of those still open, a few are overdue by some days.
OVERDUE_SHARE = 0.07  # of all the demo's follow-ups
SESSION_NOTES = [
    "首次谈心，了解被骗经过和目前的情绪、睡眠情况，告知报案进展，约定下次时间。",
    "情绪较上次平稳，能正常上课；讨论了经济压力，已协助申请临时困难补助。",
    "自责情绪减轻，愿意在班会上分享经历提醒同学；继续关注睡眠。",
    "与家长电话沟通，家长表示理解并配合关注孩子状态。",
    "状态良好，学习生活恢复正常，提醒其警惕“退款”“帮你追回损失”的二次诈骗。",
]
CLOSING_NOTES = [
    "已完成计划疏导，情绪稳定，学习生活恢复正常，转为日常关注。",
    "疏导结束，本人表示已走出阴影，辅导员继续日常关注。",
]


def _book(case: Case, at: datetime) -> None:
    """Date the follow-up event just written by a verb (which stamps it with the clock) to ``at``."""
    latest = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.FOLLOWUP).order_by("-pk").first()
    if latest is not None:
        CaseEvent.objects.filter(pk=latest.pk).update(at=at)


def record_followups(now: datetime, rng: random.Random) -> int:
    """Record the demo follow-ups' sessions through the verbs, as the counsellor and the psychologist
    held them, each at its date; close those that had all their planned sessions. Returns how many
    sessions were recorded."""
    today = timezone.localdate(now)
    rows = (
        FollowUp.objects.filter(case__submit_token__startswith=TOKEN, status=FollowUp.Status.OPEN)
        .select_related("case__unit", "counsellor", "psychologist")
        .order_by("case__reported_at", "pk")
    )
    plans: list[tuple[FollowUp, list[date], date | None]] = []
    for followup in rows:
        if followup.counsellor is None and followup.psychologist is None:
            continue  # nobody on the roster may counsel there (no teacher account): on no one's list
        start = timezone.localdate(followup.case.reported_at)
        interval = rng.choice([7, 7, 10, 14])
        days: list[date] = []
        day = start + timedelta(days=rng.randint(1, 3))
        while day <= today and len(days) < followup.planned_sessions:
            days.append(day)
            day += timedelta(days=interval + rng.randint(-1, 2))
        plans.append((followup, days, None if len(days) == followup.planned_sessions else day))

    # A few of the open ones: the session due a few days ago was not held (the workbench's overdue).
    def floor(followup: FollowUp, days: list[date]) -> date:
        """The earliest day a session could have been missed: the day after the last one, or the report."""
        return (days[-1] if days else timezone.localdate(followup.case.reported_at)) + timedelta(days=1)

    still_open = [
        i for i, (f, d, following) in enumerate(plans) if following is not None and floor(f, d) < today
    ]
    for i in rng.sample(still_open, min(len(still_open), math.ceil(len(plans) * OVERDUE_SHARE))):
        followup, days, _following = plans[i]
        plans[i] = (followup, days, max(today - timedelta(days=rng.randint(1, 6)), floor(followup, days)))
    recorded = 0
    for followup, days, following in plans:
        staff = [u for u in (followup.counsellor, followup.psychologist) if u is not None]
        case = followup.case
        for n, day in enumerate(days):
            actor = staff[min(n, len(staff) - 1)]  # the counsellor talks first, the psychologist after
            at = timezone.make_aware(datetime.combine(day, dtime(rng.randint(9, 16), rng.choice([0, 30]))))
            next_date = days[n + 1] if n + 1 < len(days) else following
            notes = SESSION_NOTES[min(n, len(SESSION_NOTES) - 1)]
            session = followup_actions.add_session(followup, actor, day, notes, next_date=next_date, now=at)
            FollowUpSession.objects.filter(pk=session.pk).update(at=at)
            _book(case, at)
            recorded += 1
        if following is None and days:
            at = timezone.make_aware(datetime.combine(days[-1], dtime(17, 0)))
            followup_actions.close_followup(followup, staff[-1], rng.choice(CLOSING_NOTES), now=at)
            _book(case, at)
        elif following is not None and not days:
            FollowUp.objects.filter(pk=followup.pk).update(next_date=following)
    return recorded


# Accountability actions: issued a day or two after the case by the campaign's side, acknowledged by the
# unit held to account a few days later; those of the last fortnight still wait for the acknowledgement,
# those of the last two days for the issue.
ISSUE_NOTES = ["请于一周内报送整改报告", "请召开专题会议，倒查责任并落实整改", "请加强班级防骗宣传教育"]


def _admins(unit: Unit, up: bool) -> list[User]:
    """The active administrators granted at ``unit`` (and, with ``up``, above it), nearest first."""
    paths = [unit.path[:end] for end in range(Unit.steplen, len(unit.path) + 1, Unit.steplen)]
    grants = RoleGrant.objects.filter(
        unit__path__in=paths if up else [unit.path],
        role__in=[Role.BUREAU_ADMIN, Role.SCHOOL_ADMIN, Role.COLLEGE_ADMIN],
        user__is_active=True,
    ).select_related("user", "unit")
    return [g.user for g in sorted(grants, key=lambda g: (-len(g.unit.path), g.pk))]


def _booked(case: Case, kind: str, at: datetime) -> None:
    latest = CaseEvent.objects.filter(case=case, kind=kind).order_by("-pk").first()
    if latest is not None:
        CaseEvent.objects.filter(pk=latest.pk).update(at=at)


def handle_accountability(now: datetime, rng: random.Random) -> int:
    """Issue and acknowledge the demo cases' proposed accountability actions through the verbs, each at
    its moment; returns how many were issued."""
    from fanzha.notify.models import Outbox

    from .accountability import actions as accountability_actions

    rows = (
        AccountabilityAction.objects.filter(
            case__submit_token__startswith=TOKEN, status=AccountabilityAction.Status.PROPOSED
        )
        .select_related("case__unit", "campaign__unit", "target")
        .order_by("case__reported_at", "pk")
    )
    issued = 0
    for action in rows:
        age = now - action.case.reported_at
        if age < timedelta(days=2):
            continue  # just proposed: waiting for the issue
        issuer = next(
            (u for u in _admins(action.campaign.unit, True) if accountability_actions.can_issue(u, action)),
            None,
        )
        if issuer is None:
            continue
        at = min(action.case.reported_at + timedelta(hours=rng.uniform(20, 60)), now - timedelta(hours=1))
        accountability_actions.issue_accountability(action, issuer, rng.choice(ISSUE_NOTES), now=at)
        _booked(action.case, CaseEvent.Kind.ACCOUNTABILITY, at)
        issued += 1
        signer = next(
            (u for u in _admins(action.target, False) if accountability_actions.can_acknowledge(u, action)),
            None,
        )
        signed = at + timedelta(days=rng.uniform(1, 4))
        if signer is None or age < timedelta(days=14) or signed >= now:
            continue  # waits for the unit's acknowledgement
        accountability_actions.acknowledge_accountability(action, signer, now=signed)
        _booked(action.case, CaseEvent.Kind.ACCOUNTABILITY, signed)
        # its notice is history: booked as sent when it was issued, not delivered now
        Outbox.objects.filter(
            idempotency_key__startswith=f"accountability:{action.pk}:", status=Outbox.Status.PENDING
        ).update(status=Outbox.Status.SENT, sent_at=at)
    return issued


# Callbacks due more than this many days ago were made (a day after their date); those since are left
# to do, a few of them overdue, so that the callbacks page shows both.
CALLBACKS_LEFT_DAYS = 7


def record_callbacks(liaison: User | None, now: datetime) -> int:
    """Record the liaison's callbacks due before the last ``CALLBACKS_LEFT_DAYS`` days, each the day
    after it fell due; return how many."""
    from .callbacks import actions as callback_actions

    if liaison is None:
        return 0
    today = timezone.localdate(now)
    due = Callback.objects.filter(
        done_at__isnull=True, due_on__lt=today - timedelta(days=CALLBACKS_LEFT_DAYS)
    ).select_related("case__unit")
    made = 0
    for callback in due.order_by("due_on", "pk"):
        if not in_scope(liaison, callback.case.unit, Cap.CASE_EDIT):
            continue
        outcome, note = CALLBACK_OUTCOMES[made % len(CALLBACK_OUTCOMES)]
        at = timezone.make_aware(datetime.combine(callback.due_on + timedelta(days=1), dtime(10)))
        callback_actions.record_callback(callback, outcome, liaison, note, now=min(at, now))
        made += 1
    return made


# Freeze requests: after the demo's acknowledged alerts of the last ``FREEZE_DAYS``, for their payee
# cards and numbers. Most answers come within minutes, some late (after the deadline), and those of the
# last hours not yet (overdue, escalated).
FREEZE_DAYS = 60
FREEZE_RESULTS = {"frozen": 6, "empty": 2, "not_found": 1, "refused": 1}


def send_freeze_requests(
    case: Case, police: User, ack: datetime, now: datetime, rng: random.Random
) -> datetime:
    """Send the case's freeze, stop-payment and block requests a few minutes after the acknowledgement
    (an account no bank of the tree holds goes, by the police's hand, to the demo bank's head office)
    and answer those whose answer time has come, as the receiving contact; return the last moment used,
    so that what follows in the case's timeline comes after it."""
    last = ack
    at = ack + timedelta(minutes=rng.uniform(1, 6))
    if now - ack > timedelta(days=FREEZE_DAYS) or at >= now:
        return last
    fallback = Unit.objects.filter(parent_path="", code=org_demo.BANK_CODE).first()
    answers: list[tuple[datetime, FreezeRequest, bool]] = []
    for target in freeze_queries.targets(case):
        if not target.is_number and not target.value.isdigit():
            continue  # Alipay and WeChat handles: no bank of the tree holds them
        routed = freeze_queries.route(target, police)
        if routed is None and fallback is None:
            continue
        if target.is_number:
            kind = FreezeRequest.Kind.NUMBER_BLOCK
        else:
            kind = rng.choice([FreezeRequest.Kind.FREEZE, FreezeRequest.Kind.STOP_PAYMENT])
        req = freeze_actions.send_request(
            case, police, key=target.key, kind=kind, unit=None if routed else fallback, now=at
        )
        last = max(last, at)
        late = rng.random() < 0.2
        answered = at + timedelta(minutes=rng.uniform(35, 150) if late else rng.uniform(3, 25))
        if answered < now:  # else not answered yet: ``escalate_overdue`` marks it
            answers.append((answered, req, target.is_number))
    # Answered in the order the answers came, so that the case's timeline runs forward.
    for answered, req, is_number in sorted(answers, key=lambda a: a[0]):
        contacts = freeze_queries.nearest_contacts(req.unit)
        if not contacts:
            continue
        if is_number:
            result = "blocked" if rng.random() < 0.85 else "not_found"
        else:
            result = _weighted(rng, FREEZE_RESULTS)
        value = crypto.decrypt(req.target_enc)
        paid = sum((t.amount for t in case.transfers.all() if t.to_account == value), Decimal("0"))
        amount = (paid * Decimal(str(round(rng.uniform(0.3, 1), 2)))).quantize(Decimal("0.01"))
        stopped = result in ("frozen", "blocked")
        freeze_actions.answer_request(
            req,
            contacts[0],
            result=result,
            frozen_amount=amount if result == "frozen" and amount > 0 else None,
            frozen_at=answered - timedelta(minutes=rng.uniform(0, 2)) if stopped else None,
            reason="缺少协查法律文书，请补充后再发" if result == "refused" else "",
            now=answered,
        )
        last = max(last, answered)
    return last


def settle_alert_messages(now: datetime, recent: timedelta = timedelta(hours=48)) -> None:
    """The demo's alert messages: the in-app ones of the last two days delivered now (the police login
    finds them among its notifications), the rest booked as sent when they were raised — they are
    history, and ``fanzha deliver-outbox`` must not send a year of them at once."""
    from fanzha.notify.delivery import deliver_now
    from fanzha.notify.models import Outbox

    rows = (
        AlertRecipient.objects.filter(
            alert__case__submit_token__startswith=TOKEN, outbox__status=Outbox.Status.PENDING
        )
        .select_related("alert", "outbox")
        .order_by("pk")
    )
    for recipient in rows:
        outbox = recipient.outbox
        assert outbox is not None
        if outbox.channel_kind == "in_app" and now - recipient.alert.raised_at <= recent:
            deliver_now(outbox, now, retry=False)
        else:
            Outbox.objects.filter(pk=outbox.pk).update(
                status=Outbox.Status.SENT, sent_at=recipient.alert.raised_at
            )
    # The freeze requests' messages likewise: history, booked as sent when they were queued.
    Outbox.objects.filter(idempotency_key__startswith="freeze:", status=Outbox.Status.PENDING).update(
        status=Outbox.Status.SENT, sent_at=now
    )


def reset_cases(log: Log = print) -> None:
    """Remove every case and card-fraud record of the demo units (their alerts, events, follow-ups go
    with them), so that a reset can remove the units."""
    roots = [root.path for root in Unit.objects.filter(parent_path="", code__in=org_demo.DEMO_ROOTS)]
    if not roots:
        return
    cards, _by_model = CardFraudRecord.objects.filter(path_q(roots, "unit__path")).delete()
    if cards:
        log(f"removed {cards} card-fraud rows")
    clues, _by_model = Clue.objects.filter(
        path_q(roots, "centre__path") | path_q(roots, "assignee__path")
    ).delete()
    tasks, _by_model = DissuasionTask.objects.filter(path_q(roots, "unit__path")).delete()
    # The audit rows of the demo's warning-list imports name demo accounts (protected): they describe
    # units that go with the reset, so they go too. Other audit rows stay and block a reset.
    centres = Unit.objects.filter(path_q(roots, "path")).values_list("pk", flat=True)
    AuditRecord.objects.filter(object_type="warning_list", object_id__in=[str(pk) for pk in centres]).delete()
    if clues or tasks:
        log(f"removed {clues} clues and {tasks} dissuasion tasks")
    Gang.objects.filter(path_q(roots, "unit__path")).delete()  # a gang's unit is protected
    cases = Case.objects.filter(path_q(roots, "unit__path"))
    count = cases.count()
    cases.delete()
    if count:
        log(f"removed {count} cases")


# ---------------------------------------------------------------------------------------------
# Students and the "two cards" (涉"两卡")

# What the demo's card-fraud records say: (card kind, involvement, days ago found, source, handling,
# education given or "", days ago educated). The student is picked in a class of each college in turn.
CARD_RECORDS = (
    (
        "bank",
        "sell",
        40,
        "公安通报",
        "police",
        "保卫处谈话，家长到校共同教育，参加“两卡”法治教育课",
        35,
    ),
    ("phone", "rent", 21, "银行反馈", "warned", "辅导员谈话，签订不出租出借“两卡”承诺书", 18),
    ("both", "lend", 9, "学生举报", "educated", "班会上开展“两卡”法治教育，个别谈话", 7),
    ("bank", "rent", 3, "公安通报", "pending", "", 0),
)


def build_card_fraud(log: Log = print, today: date | None = None) -> int:
    """A few students of the demo university recorded for renting or selling cards, with the handling
    and the education given (once); returns how many were added (0 when they are there)."""
    university = _root(org_demo.UNIVERSITY_CODE)
    if university is None:
        return 0
    if CardFraudRecord.objects.filter(unit__path__startswith=university.path).exists():
        log("[cases] demo card-fraud records already there, kept")
        return 0
    from fanzha.campaigns.demo import login_user

    actor = login_user(Role.SCHOOL_ADMIN)
    if actor is None:
        return 0
    today = today or timezone.localdate()
    colleges = list(Unit.objects.filter(parent_path=university.path, kind=UnitKind.COLLEGE).order_by("path"))
    picked: list[tuple[Unit, Person]] = []
    for index in range(len(CARD_RECORDS) if colleges else 0):
        college = colleges[index % len(colleges)]
        member = (
            Membership.objects.filter(
                unit__path__startswith=college.path,
                unit__kind=UnitKind.CLASS,
                person__kind=PersonKind.STUDENT,
                person__is_active=True,
            )
            .exclude(person__external_number=org_demo.DEMO_NUMBERS["student"])
            .exclude(person_id__in=[p.pk for _u, p in picked])
            .select_related("unit", "person")
            .order_by("unit__path", "person__external_number")
            .first()
        )
        if member is not None:
            picked.append((member.unit, member.person))
    with transaction.atomic():
        for (unit, student), (card, involvement, ago, source, handling, education, taught) in zip(
            picked, CARD_RECORDS, strict=False
        ):
            cardfraud_actions.record(
                unit=unit,
                student=student,
                card_kind=card,
                involvement=involvement,
                found_on=today - timedelta(days=ago),
                source=source,
                details="（演示）卡号与收卡人信息",
                handling=handling,
                education=education,
                educated_on=today - timedelta(days=taught) if education else None,
                actor=actor,
            )
    log(f"[cases] {len(picked)} students recorded for renting or selling cards")
    return len(picked)


# ---------------------------------------------------------------------------------------------
# The county police plan's clue work (篇五): clues, a warning list, callbacks

# (source, content, indicators, receiving unit's code, days ago dispatched, answered?, closed?)
CLUES = (
    (
        "national",
        "国家反诈中心推送：辖区号码疑似与境外诈骗号码频繁通话",
        "+85265551234",
        "PCS01",
        12,
        True,
        True,
    ),
    (
        "bank",
        "农商银行反馈：一账户短时间内多笔小额转入后快速转出",
        "6222********1234",
        "PCS02",
        10,
        True,
        True,
    ),
    ("call", "群众来电：收到冒充客服退款电话，要求下载会议软件", "4001234567", "PCS01", 9, True, True),
    ("case", "刷单案件串并：同一收款账户涉及多起案件", "shua.example.com", "XZ", 8, True, False),
    ("national", "国家反诈中心推送：辖区居民安装涉诈APP", "", "PCS03", 7, True, False),
    ("bank", "银行反馈：老年客户大额取现，疑似被冒充公检法", "", "PCS01", 6, True, True),
    ("call", "群众来电：孩子收到“游戏装备交易”诈骗信息", "QQ 2345678", "PCS02", 6, True, False),
    ("other", "网格员报告：小区出现“养老投资”宣讲会", "", "PCS04", 5, True, True),
    ("national", "国家反诈中心推送：辖区号码被用于引流", "17012345678", "PCS02", 8, False, False),
    ("bank", "银行反馈：学生账户疑似出租出借", "", "PCS01", 6, False, False),
    ("call", "群众来电：冒充领导加好友借钱", "", "PCS03", 1, False, False),
    ("case", "投资理财案件资金流向线索", "", "XZ", 0, False, False),
)
FEEDBACK = (
    ("verified", "已上门核实，当事人确认接到诈骗电话，未转账，已开展劝阻宣传。"),
    ("handled", "已协调银行止付，账户已冻结，移交刑侦跟进。"),
    ("unfounded", "经核实为正常业务往来，不属实。"),
)
WARNING_NAMES = (
    "李桂兰",
    "王建国",
    "张秀英",
    "刘志强",
    "陈玉梅",
    "杨德明",
    "赵淑珍",
    "黄立新",
    "周春花",
    "吴长林",
)
WARNING_REASONS = ("疑似投资理财诈骗", "冒充公检法", "刷单返利", "冒充客服退款", "虚假贷款")
# Outcome of each warning row that was worked (the last rows are still open): (outcome, amount, note).
DISSUASIONS = (
    ("dissuaded", None, "电话劝阻，当事人表示不再转账"),
    ("avoided", "50000", "上门劝阻，避免转账5万元"),
    ("reached", None, "已联系，当事人称未接到可疑电话"),
    ("unreachable", None, "电话无人接听，已请社区网格员上门"),
    ("avoided", "8000", "银行网点协助劝阻，避免损失"),
    ("dissuaded", None, "家属陪同劝阻"),
    ("reached", None, "已联系并发放反诈宣传资料"),
)
CALLBACK_OUTCOMES = (("satisfied", "对办案满意"), ("needs_help", "希望协助申请法律援助"), ("not_reached", ""))


def build_police_work(log: Log = print, today: date | None = None) -> int:
    """The command centre's clue work in the demo county (once): a dozen clues dispatched (most answered,
    two overdue and escalated), a warning list worked by the stations, and callbacks to victims of
    closed cases recorded. Returns the clues added (0 when they are there)."""
    from fanzha.campaigns.demo import login_user

    from .clues import actions as clue_actions

    police = _root(org_demo.POLICE_CODE)
    admin = login_user(Role.POLICE_ADMIN)
    if police is None or admin is None:
        return 0
    if Clue.objects.filter(centre__path__startswith=police.path).exists():
        log("[cases] demo clues already there, kept")
        return 0
    now = timezone.now()
    units = {u.code: u for u in Unit.objects.filter(path__startswith=police.path, is_active=True)}
    rng = random.Random("fanzha-demo:clues")
    added = 0
    with transaction.atomic():
        for index, (source, content, marks, code, ago, answered, closed) in enumerate(CLUES):
            unit = units.get(code) or units.get("PCS01")
            if unit is None:
                continue
            at = now - timedelta(days=ago, hours=2)
            clue = clue_actions.record_clue(police, source, content, admin, marks, now=at)
            clue_actions.dispatch_clue(clue, unit, admin, deadline=at + timedelta(days=3), now=at)
            added += 1
            if not answered:
                continue
            heads = clue_actions.unit_heads(unit) or [admin]
            outcome, text = FEEDBACK[index % len(FEEDBACK)]
            clue_actions.answer_clue(clue, text, outcome, heads[0], now=at + timedelta(days=1))
            if closed:
                clue_actions.close_clue(clue, admin, now=at + timedelta(days=2))
        escalated = clue_actions.escalate_overdue_clues(now)
        stations = sorted(
            (u for u in units.values() if u.kind == UnitKind.POLICE_STATION), key=lambda u: u.path
        )
        rows = [
            {
                "name": name,
                "phone": mobile(rng),
                "reason": WARNING_REASONS[i % len(WARNING_REASONS)],
                "station": stations[i % len(stations)].pk,
            }
            for i, name in enumerate(WARNING_NAMES)
        ]
        tasks = (
            clue_actions.import_warning_list(police, "国家反诈中心预警名单（演示）", rows, admin)
            if stations
            else 0
        )
        worked = list(DissuasionTask.objects.filter(unit__path__startswith=police.path).order_by("pk"))
        for task, (outcome, amount, note) in zip(worked, DISSUASIONS, strict=False):
            closer = (clue_actions.unit_heads(task.unit) or [admin])[0]
            clue_actions.close_dissuasion(
                task, outcome, closer, amount, note, now=now - timedelta(hours=rng.randrange(2, 72))
            )
        made = record_callbacks(login_user(Role.POLICE_LIAISON), now)
    log(f"[cases] {added} clues ({escalated} escalated), {tasks} dissuasion tasks, {made} callbacks recorded")
    return added


# ---------------------------------------------------------------------------------------------
# Police results (破案战果) and a bulletin (通报)

RESULT_CASES = 12


def build_results(log: Log = print) -> int:
    """Results on the demo county's filed cases (once): a dozen cleared, suspects caught on most of them,
    money recovered on some, a gang linked to three of them; and last month's bulletin issued by the
    anti-fraud centre (the periodic-notice obligation's record). Returns the cases cleared."""
    from fanzha.campaigns.demo import login_user

    from .results import actions as results
    from .stats.queries import month_period

    police = _root(org_demo.POLICE_CODE)
    admin = login_user(Role.POLICE_ADMIN)
    if police is None or admin is None:
        return 0
    if CaseResult.objects.filter(case__unit__path__startswith=police.path).exists():
        log("[cases] demo results already there, kept")
        return 0
    today = timezone.localdate()
    rng = random.Random("fanzha-demo:results")
    filed = (
        Case.objects.filter(
            unit__path__startswith=police.path,
            state__in=[CaseState.FILED, CaseState.INVESTIGATING, CaseState.CLOSED],
        )
        .exclude(unit=police)
        .order_by("reported_at", "pk")
    )
    picked = list(filed[: RESULT_CASES * 3 : 3])
    cleared = []
    with transaction.atomic():
        for case in picked:
            start = timezone.localdate(case.reported_at)
            on = min(today, start + timedelta(days=rng.randint(5, 40)))
            results.record_cleared(case, admin, on=on, note="")
            cleared.append(case)
            if rng.random() < 0.75:
                results.record_suspects(case, admin, count=rng.randint(1, 4), on=on)
            left = case.total_loss - case.recovered_amount
            if left >= 100 and rng.random() < 0.5:
                amount = (left * Decimal(str(round(rng.uniform(0.2, 0.6), 2)))).quantize(Decimal("0.01"))
                results.record_recovery(case, admin, amount=amount, on=min(today, on + timedelta(days=3)))
        if len(cleared) >= 3:
            linked = cleared[-3:]
            results.record_gang(
                admin,
                unit=police,
                name="“净网”刷单返利诈骗团伙",
                broken_on=max(timezone.localdate(c.reported_at) for c in linked),
                members_caught=6,
                case_ids=[c.pk for c in linked],
            )
        last = today.replace(day=1) - timedelta(days=1)
        issued = 0
        try:
            results.issue_bulletin(admin, police, month_period(last.year, last.month))
            issued = 1
        except ValidationError:  # issued already (a reset that kept the campaigns)
            pass
    log(f"[cases] {len(cleared)} cases cleared, a gang broken, {issued} bulletin issued")
    return len(cleared)
