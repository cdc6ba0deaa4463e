"""The six built-in campaigns in the demo world, started and worked on the way their owners would.

Why: every seed plan (篇一 to 篇六) must run end to end in the demo — started from its built-in
template on a fitting unit, with its leaders filled in, responsibility letters generated and
partly signed, and activities recorded from the start of the school year until today, so that
the dashboards show done, due and overdue work and a few units lagging behind.

Everything goes through the campaign verbs (``start_campaign``, ``set_school_calendar``,
``generate_letters``, ``sign_letter``, ``bulk_record_activities``, ``add_attendees``,
``add_evidence``, ``close_campaign``). Random choices come from fixed seeds keyed by the units'
places in the tree, so two builds on the same day record the same work. A campaign that is
already there is kept as it is, so a second run adds nothing.

Dates follow today's date: the school campaigns start on 1 September of the current school year
(a six-month one in the current half year), the bank's publicity month is the template's
May–June window that began most recently (closed once it is over).
"""

from __future__ import annotations

import hashlib
import math
import random
import struct
import time
import zlib
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from datetime import time as clock
from functools import cache
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from fanzha.org import demo as org_demo
from fanzha.org.models import Membership, MembershipRole, Person, Role, RoleGrant, Unit, UnitKind, User
from fanzha.org.scope import path_q, role_caps, roles_with

from . import compliance
from . import periods as P
from .actions import close_campaign, set_school_calendar, start_campaign
from .activities import actions as activity_actions
from .duties import actions as duty_actions
from .letters import actions as letters_actions
from .models import (
    Activity,
    ActivityKind,
    Campaign,
    CampaignTemplate,
    Evidence,
    LetterSignature,
    Obligation,
    ResponsibilityLetter,
    SchoolCalendar,
)
from .plan_templates.actions import sync_builtin_templates
from .spec import Reach

SEED = f"{org_demo.SEED}:campaigns"
Log = Callable[[str], None]
Side = LetterSignature.Side

# ---------------------------------------------------------------------------------------------
# Dates


def school_year_start(today: date) -> date:
    """1 September of the school year that holds ``today``."""
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


def half_year_start(today: date) -> date:
    """The start of the current half of the school year: 1 September, or 1 March in spring."""
    autumn = school_year_start(today)
    spring = date(autumn.year + 1, 3, 1)
    return spring if today >= spring else autumn


def window_start(mmdd: str, today: date) -> date:
    """The most recent ``mmdd`` ("MM-DD") on or before today."""
    month, day = (int(part) for part in mmdd.split("-"))
    this_year = date(today.year, month, day)
    return this_year if this_year <= today else date(today.year - 1, month, day)


def semesters(year_start: date, university: bool) -> list[P.Semester]:
    """Autumn and spring semesters of the school year starting ``year_start``."""
    y = year_start.year
    autumn_end, spring_start, spring_end = (
        (date(y + 1, 1, 17), date(y + 1, 2, 23), date(y + 1, 7, 3))
        if university
        else (date(y + 1, 1, 24), date(y + 1, 2, 16), date(y + 1, 7, 10))
    )
    return [
        P.Semester(date(y, 9, 1), autumn_end, f"{y}—{y + 1}学年第一学期"),
        P.Semester(spring_start, spring_end, f"{y}—{y + 1}学年第二学期"),
    ]


# ---------------------------------------------------------------------------------------------
# Small generated images: a drawn signature and a "photo" of an event (no Pillow needed)


def _png(width: int, height: int, colour_type: int, rows: Iterable[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


SIGNATURE_VARIANTS = 24


@cache
def signature_png(variant: int) -> bytes:
    """A transparent 180×56 RGBA PNG with one pen stroke; ``variant`` changes the stroke's shape."""
    width, height = 180, 56
    rng = random.Random(f"{SEED}:signature:{variant}")
    canvas = bytearray(width * height * 4)
    ink = bytes((0x11, 0x18, 0x27, 0xFF))
    waves = [(rng.uniform(3, 9), rng.uniform(0.03, 0.12), rng.uniform(0, 6.3)) for _ in range(3)]
    slope = rng.uniform(-0.08, 0.08)
    previous: int | None = None
    for x in range(14, width - 14):
        y = round(height / 2 + slope * (x - width / 2) + sum(a * math.sin(f * x + p) for a, f, p in waves))
        y = max(3, min(height - 4, y))
        low, high = (y, y) if previous is None else (min(y, previous), max(y, previous))
        for yy in range(low - 1, high + 2):
            offset = (yy * width + x) * 4
            canvas[offset : offset + 4] = ink
        previous = y
    return _png(width, height, 6, (bytes(canvas[r * width * 4 : (r + 1) * width * 4]) for r in range(height)))


def photo_png(seed: str) -> bytes:
    """A 96×64 RGB "photo": sky, a red banner with a white line of "text", people, ground."""
    width, height = 96, 64
    rng = random.Random(f"{SEED}:photo:{seed}")
    sky = (rng.randint(120, 190), rng.randint(170, 215), rng.randint(215, 250))
    ground = (rng.randint(90, 140), rng.randint(100, 150), rng.randint(80, 110))
    banner_top, banner_left = rng.randint(6, 14), rng.randint(6, 18)
    banner_right = width - rng.randint(6, 18)
    heads = [rng.randrange(4, width - 4) for _ in range(rng.randint(6, 12))]
    rows = []
    for y in range(height):
        if y < 40:
            shade = y * 2
            base = bytes((max(0, sky[0] - shade), max(0, sky[1] - shade), max(0, sky[2] - shade)))
        else:
            base = bytes(ground)
        row = bytearray(base * width)
        if banner_top <= y < banner_top + 12:
            colour = b"\xff\xf0\xd0" if y == banner_top + 6 else b"\xc8\x1e\x1e"
            row[banner_left * 3 : banner_right * 3] = colour * (banner_right - banner_left)
        if 34 <= y < 48:
            for x in heads:
                lo, hi = x - (1 if y < 38 else 3), x + (2 if y < 38 else 4)
                person = b"\x2a\x2a\x33" if y < 38 else b"\x33\x55\x99"
                row[lo * 3 : hi * 3] = person * (hi - lo)
        rows.append(bytes(row))
    return _png(width, height, 2, rows)


# ---------------------------------------------------------------------------------------------
# What gets recorded: titles, places and numbers per activity kind

TOPICS = [
    "刷单返利",
    "虚假网络投资理财",
    "虚假网络贷款",
    "冒充电商物流客服",
    "冒充公检法",
    "网络游戏虚假交易",
    "网络婚恋交友",
    "冒充领导熟人",
    "虚假征信",
    "出租出借“两卡”",
    "注销“校园贷”",
    "低价代购门票",
]
CHILD_TOPICS = [
    "陌生人给的东西不能要",
    "迷路了找警察",
    "不给陌生人开门",
    "记住爸爸妈妈的电话",
    "天上不会掉馅饼",
]
OUTREACH_PLACES = {
    UnitKind.POLICE_STATION: ["社区", "乡镇", "学校", "企业", "市场"],
    UnitKind.BANK_BRANCH: ["集市", "村委会", "商户", "学校", "工地", "老年活动中心"],
}

# A bank branch's outreach (篇六): which channels each rule's records go out on (the template's channel
# kinds), and the townships and villages of its area; a rule not listed (the branch's plan) reaches nobody.
REACH_CHANNEL_KINDS = {
    "traditional-media": ("traditional",),
    "new-media": ("new_media",),
    "outdoor": ("outdoor", "outdoor", "outdoor", "counter"),
}
FIVE_INTO = "five-into"
REACH_AREAS = ["城关镇", "城关镇东岭村", "东岭镇", "东岭镇石桥村", "青山乡", "青山乡柳湾村", "工业园区"]


def reach_fields(
    rng: random.Random, reach: Reach | None, rule_code: str, present: int | None, n: int = 0
) -> dict[str, Any]:
    """An outreach record's groups, channel, township (village), people reached and materials, when the
    campaign counts outreach; nothing otherwise. A police station's "five into" goes round the kinds of
    place, one record each, in a named place of its area."""
    if reach is not None and rule_code == FIVE_INTO:
        place = reach.channels[n % len(reach.channels)]
        return {
            "channel": place.code,
            "area": f"{rng.choice(REACH_AREAS)}{place.name}",
            "attendance_count": present or rng.randint(20, 200),
        }
    families = REACH_CHANNEL_KINDS.get(rule_code)
    if reach is None or families is None:
        return {}
    family = rng.choice(families)
    channels = [c.code for c in reach.channels if c.kind == family] or [reach.channels[0].code]
    channel = rng.choice(channels)
    groups = rng.sample([g.code for g in reach.groups], k=rng.choice((1, 1, 2)))
    if family in ("traditional", "new_media"):
        return {
            "target_groups": tuple(groups),
            "channel": channel,
            "area": "",
            "attendance_count": rng.randrange(500, 5000, 50),
            "materials_count": None,
        }
    return {
        "target_groups": tuple(groups),
        "channel": channel,
        "area": rng.choice(REACH_AREAS),
        "attendance_count": present or rng.randint(20, 200),
        "materials_count": rng.randrange(20, 400, 10),
    }


TITLES: dict[str, str] = {
    ActivityKind.CLASS_MEETING: "“识破{topic}骗局”主题班会",
    ActivityKind.LECTURE: "{topic}诈骗防范专题讲座",
    ActivityKind.TRAINING: "反诈专题培训：{topic}",
    ActivityKind.FIRST_LESSON: "开学安全第一课：防范电信网络诈骗",
    ActivityKind.POSTER: "反诈宣传展板：警惕{topic}",
    ActivityKind.BLACKBOARD: "防骗专题黑板报：{topic}",
    ActivityKind.RADIO: "校园广播“反诈之声”：{topic}",
    ActivityKind.ARTICLE: "反诈推文：警惕{topic}",
    ActivityKind.VIDEO: "观看反诈视频《{topic}骗局揭秘》",
    ActivityKind.TIP: "班级群防诈提示：{topic}",
    ActivityKind.CONTEST: "反诈原创作品大赛（绘画、诗歌、微视频）",
    ActivityKind.OUTREACH: "反诈宣传进{place}",
    ActivityKind.PLEDGE: "师生联名签署防诈倡议书",
    ActivityKind.PARENT_LETTER: "《致家长的一封信》发放与回执",
    ActivityKind.PARENT_MEETING: "家长会反诈宣讲：{topic}",
    ActivityKind.STAFF_BRIEFING: "教职工大会传达反诈工作要求",
    ActivityKind.DORM_VISIT: "走访宿舍宣传防诈知识",
    ActivityKind.LAW_EDUCATION: "“两卡”违法犯罪法治教育",
    ActivityKind.NOTICE: "{rule}",
    ActivityKind.MEETING: "反诈工作会商会（{month}月）",
    ActivityKind.INSPECTION: "{rule}",
    ActivityKind.SCENARIO: "情景表演《豆豆迷路了》",
    ActivityKind.OTHER: "{rule}",
}
SUMMARIES: dict[str, str] = {
    ActivityKind.CLASS_MEETING: "结合真实案例讲解{topic}的常见套路，同学们分组讨论并总结防范要点。",
    ActivityKind.LECTURE: "邀请民警讲解{topic}案例，现场答疑。",
    ActivityKind.TRAINING: "面向辅导员、班干部和志愿者，讲解{topic}的识别方法和受骗后的紧急止付流程。",
    ActivityKind.OUTREACH: "发放宣传折页，现场解答群众咨询，提醒下载国家反诈中心APP。",
    ActivityKind.DORM_VISIT: "逐间提醒不出租出借银行卡和电话卡，核对国家反诈中心APP安装情况。",
    ActivityKind.SCENARIO: "孩子们分别扮演豆豆、妈妈、陌生人和民警，演完后讨论迷路了该怎么办。",
    ActivityKind.TIP: "在班级群发布今日防骗提示，提醒同学警惕{topic}。",
}
KINDS = frozenset(ActivityKind.values)
# Kinds whose records carry how many people took part.
ATTENDED = {
    ActivityKind.CLASS_MEETING,
    ActivityKind.LECTURE,
    ActivityKind.TRAINING,
    ActivityKind.FIRST_LESSON,
    ActivityKind.VIDEO,
    ActivityKind.STAFF_BRIEFING,
    ActivityKind.PARENT_MEETING,
    ActivityKind.LAW_EDUCATION,
    ActivityKind.MEETING,
    ActivityKind.SCENARIO,
    ActivityKind.OUTREACH,
    ActivityKind.CONTEST,
    ActivityKind.PLEDGE,
}
# Work done in the first weeks of its period: plans, notices, the first lesson, the pledge.
EARLY = {
    "six-pledge",
    "college-plans",
    "first-lesson",
    "kg-first-lesson",
    "notice",
    "line-plan",
    "branch-plan",
    "staff-briefing",
}
EARLY_DAYS = 20
PHOTOS_PER_CAMPAIGN = 4


# ---------------------------------------------------------------------------------------------
# The six campaigns


@dataclass(frozen=True)
class DemoCampaign:
    """One built-in template started on one demo unit."""

    seed: str  # 篇一 … 篇六
    template: str
    root: str  # code of the demo organisation
    unit: str = ""  # code of the issuing unit directly below the root ("" = the root itself)
    admin: str = ""  # key of ``org_demo.DEMO_NUMBERS`` whose account starts and records; "" = superuser
    letter_shares: tuple[float, ...] = ()  # share of letters signed by both sides, per letter level
    # Runs over last month and this one (a branch's own plan, filed now), not the template's window.
    running: bool = False


CAMPAIGNS = [
    DemoCampaign(
        "篇二",
        "university-fraud-free-campus",
        org_demo.UNIVERSITY_CODE,
        admin=Role.SCHOOL_ADMIN,
        letter_shares=(1.0, 0.8, 0.5),
    ),
    DemoCampaign(
        "篇三",
        "district-education-system",
        org_demo.EDUCATION_CODE,
        admin=Role.BUREAU_ADMIN,
        letter_shares=(0.95, 1.0, 0.7),
    ),
    DemoCampaign("篇四", "school-publicity", org_demo.EDUCATION_CODE, "M01", admin=Role.BUREAU_ADMIN),
    DemoCampaign("篇一", "kindergarten-lesson", org_demo.EDUCATION_CODE, "K01", admin=Role.BUREAU_ADMIN),
    DemoCampaign("篇五", "county-police-special-action", org_demo.POLICE_CODE, admin=Role.POLICE_ADMIN),
    DemoCampaign("篇六", "bank-publicity-month", org_demo.BANK_CODE, admin=Role.BANK_ADMIN),
    # 篇六 asks each branch to file its own plan: the demo branch manager's, running now.
    DemoCampaign(
        "篇六",
        "bank-publicity-month",
        org_demo.BANK_CODE,
        "ZH01",
        admin=Role.BANK_BRANCH_MANAGER,
        running=True,
    ),
]
# Fictional office numbers (Huanggang's area code) for the plans' contact lines.
PHONES = {
    "university-fraud-free-campus": "0713-5211110",
    "district-education-system": "0713-5236017",
    "kindergarten-lesson": "0713-5233061",
    "bank-publicity-month": "0713-5219968",
}


def issuing_unit(plan: DemoCampaign) -> Unit | None:
    root = Unit.objects.filter(parent_path="", code=plan.root).first()
    if root is None or not plan.unit:
        return root
    return Unit.objects.filter(parent_path=root.path, code=plan.unit).first()


def holder(unit: Unit, role: str) -> Person | None:
    """The first person holding ``role`` in ``unit`` (in the order the roster was written)."""
    return (
        Person.objects.filter(memberships__unit=unit, memberships__role=role)
        .order_by("memberships__pk")
        .first()
    )


def _name(person: Person | None) -> str:
    return person.name if person is not None else ""


def placeholders(plan: DemoCampaign, unit: Unit) -> dict[str, str]:
    """Leaders and contacts for the plan's placeholders, taken from the demo roster."""
    leader, deputy = holder(unit, MembershipRole.LEADER), holder(unit, MembershipRole.DEPUTY)
    phone = {"contact_phone": PHONES[plan.template]} if plan.template in PHONES else {}
    if plan.template == "university-fraud-free-campus":
        return {"leader": _name(leader), "police_authority": "青山县公安局", **phone}
    if plan.template == "district-education-system":
        return {"leader": _name(leader), "office": "安全稳定科", **phone}
    if plan.template == "school-publicity":
        liaison = _name(holder(unit, MembershipRole.LIAISON))
        members = "、".join(([f"{liaison}（安全办主任）"] if liaison else []) + ["各年级组长", "各班班主任"])
        return {"leader": _name(leader), "deputy": _name(deputy), "members": members}
    if plan.template == "kindergarten-lesson":
        return {"teacher": "各班班主任", **phone}
    if plan.template == "county-police-special-action":
        investigation = Unit.objects.filter(parent_path=unit.path, code="XZ").first()
        director = holder(investigation, MembershipRole.LEADER) if investigation else None
        return {"area": "青山县", "leader": _name(deputy), "office_director": _name(director)}
    if plan.template == "bank-publicity-month":
        # The head office's plan is led by its deputy governor; a branch's by its own head (行长).
        return {"leader": _name(leader if unit.kind == UnitKind.BANK_BRANCH else deputy), **phone}
    return {}


def dates(plan: DemoCampaign, template: CampaignTemplate, today: date) -> tuple[date, date | None]:
    """When the demo campaign runs (``None`` as the end: the template's usual length)."""
    spec = template.spec()
    if plan.running:
        return (today.replace(day=1) - timedelta(days=1)).replace(day=1), None
    if plan.template == "bank-publicity-month":
        start = window_start(spec.extra.get("period_start", "05-01"), today)
        return start, P.month_day(spec.extra.get("period_end", "06-30"), start)
    if spec.period_months < 12:
        return half_year_start(today), None
    return school_year_start(today), None


# ---------------------------------------------------------------------------------------------
# Who does the work


def login_user(key: str) -> User | None:
    """The account of a demo login (see ``org_demo.DEMO_NUMBERS``); the superuser for ""."""
    if not key:
        return User.objects.filter(username=org_demo.SUPERUSER_NAME).first()
    if key == "dorm_head":
        head = org_demo.demo_person(key, org_demo.UNIVERSITY_CODE)
        return head.user if head is not None else None
    person = (
        Person.objects.filter(external_number=org_demo.DEMO_NUMBERS[key], user__isnull=False)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return person.user if person is not None else None


@dataclass(frozen=True)
class Waiting:
    """Units whose work of the current period is left to do: the demo logins' own (``WAITING_LOGINS``),
    so that each finds an obligation due and a letter to sign. A building's rooms wait with it."""

    exact: frozenset[str] = frozenset()
    below: tuple[str, ...] = ()

    def __contains__(self, unit: object) -> bool:
        path = getattr(unit, "path", "")
        return path in self.exact or (bool(self.below) and path.startswith(self.below))


def waiting_units() -> Waiting:
    users = [user for key in org_demo.WAITING_LOGINS if (user := login_user(key)) is not None]
    exact: set[str] = set()
    below: list[str] = []
    for path, kind in RoleGrant.objects.filter(user__in=users).values_list("unit__path", "unit__kind"):
        if kind == UnitKind.DORM_BUILDING:
            below.append(path)
        else:
            exact.add(path)
    heads = Membership.objects.filter(
        person__user__in=users, role__in=[MembershipRole.DORM_HEAD, MembershipRole.LEADER]
    ).values_list("unit__path", flat=True)
    exact.update(heads)
    return Waiting(frozenset(exact), tuple(below))


class Recorders:
    """Who records a unit's activities: the nearest account that may record there, else ``fallback``.

    A dormitory room's work is recorded by the counsellor of the class it signed its letter with.
    """

    def __init__(self, root: Unit, fallback: User | None, dorm_class: dict[int, str]) -> None:
        grants = [
            (path, user_id)
            for path, user_id, role, kind in RoleGrant.objects.filter(
                unit__path__startswith=root.path, role__in=roles_with(activity_actions.RECORD)
            )
            .order_by("pk")
            .values_list("unit__path", "user_id", "role", "unit__kind")
            if activity_actions.RECORD in role_caps(role, kind)
        ]
        users = User.objects.in_bulk({user_id for _path, user_id in grants})
        self.by_path: dict[str, User] = {}
        for path, user_id in grants:
            self.by_path.setdefault(path, users[user_id])
        self.fallback = fallback
        self.dorm_class = dorm_class

    def __call__(self, unit: Unit) -> User | None:
        path = self.dorm_class.get(unit.pk) or str(unit.path)
        for prefix in compliance.ancestor_paths(path):
            if prefix in self.by_path:
                return self.by_path[prefix]
        return self.fallback


class Headcounts:
    """Members of each unit's subtree (one grouped query), for plausible attendance numbers."""

    def __init__(self, root: Unit) -> None:
        rows = (
            Membership.objects.filter(unit__path__startswith=root.path)
            .order_by()
            .values_list("unit__path")
            .annotate(n=Count("id"))
        )
        counts = dict(rows)
        self.paths = sorted(counts)
        self.totals: list[int] = []
        running = 0
        for path in self.paths:
            running += counts[path]
            self.totals.append(running)

    def __call__(self, unit: Unit) -> int:
        lo = bisect_left(self.paths, unit.path)
        hi = bisect_right(self.paths, unit.path + "\uffff")
        if hi <= lo:
            return 0
        return self.totals[hi - 1] - (self.totals[lo - 1] if lo else 0)


def attendance(rng: random.Random, kind: str, unit: Unit, headcount: int) -> int | None:
    if kind not in ATTENDED:
        return None
    if kind == ActivityKind.MEETING:
        return rng.randint(12, 28)
    if kind == ActivityKind.OUTREACH and unit.kind in OUTREACH_PLACES:
        return rng.randint(40, 260)
    if unit.kind == UnitKind.CLASS:
        return max(1, round(headcount * rng.uniform(0.86, 1.0)))
    if kind == ActivityKind.STAFF_BRIEFING:
        return max(8, round(headcount * rng.uniform(0.04, 0.08)))
    if kind in (ActivityKind.LECTURE, ActivityKind.TRAINING, ActivityKind.CONTEST, ActivityKind.OUTREACH):
        return max(15, min(headcount, rng.randint(60, 320)))
    return max(10, round(headcount * rng.uniform(0.6, 0.95)))


# ---------------------------------------------------------------------------------------------
# Activities over the campaign so far


def diligence(campaign: Campaign, units: Iterable[Unit]) -> dict[int, float]:
    """How reliably each unit does its work (0–1): a few top-level units lag, with their whole subtree.

    Why by top-level unit: the dashboard lists the units one level below the campaign's owner,
    so the demo needs some of those clearly behind (interviews, notices) and most on track.
    """
    root = campaign.unit
    rng = random.Random(f"{SEED}:{campaign.template.code}:diligence")
    top = sorted(Unit.objects.filter(parent_path=root.path).values_list("path", flat=True))
    order = rng.sample(top, len(top))
    lagging = set(order[: max(1, round(0.15 * len(top)))]) if top else set()
    patchy = set(order[len(lagging) : len(lagging) + round(0.2 * len(top))])
    factor = {
        path: (
            rng.uniform(0.2, 0.5)
            if path in lagging
            else rng.uniform(0.6, 0.85)
            if path in patchy
            else rng.uniform(0.93, 1.0)
        )
        for path in top
    }
    result = {}
    for unit in units:
        own = random.Random(f"{SEED}:{campaign.template.code}:{unit.path[len(root.path) :]}")
        noise = own.uniform(0.92, 1.0) if own.random() < 0.85 else own.uniform(0.5, 0.85)
        result[unit.pk] = factor.get(unit.path[: len(root.path) + Unit.steplen], 1.0) * noise
    return result


def _weekday(rng: random.Random, first: date, last: date) -> date:
    """A random working day in ``first`` … ``last`` (a weekend day when the range holds no other)."""
    day = first + timedelta(days=rng.randint(0, (last - first).days))
    if day.weekday() >= 5:
        friday = day - timedelta(days=day.weekday() - 4)
        monday = day + timedelta(days=7 - day.weekday())
        day = friday if friday >= first else monday if monday <= last else day
    return day


def plan_activities(
    campaign: Campaign,
    obligations: list[Obligation],
    today: date,
    recorders: Recorders,
    headcounts: Headcounts,
    waiting: Waiting = Waiting(),
) -> list[activity_actions.NewActivity]:
    """The activities that the units of ``obligations`` recorded from the start until today (a waiting
    unit's current period left to do)."""
    schedule = compliance.Schedule(campaign, compliance.load_calendars(campaign.unit.path))
    reliability = diligence(campaign, {o.unit for o in obligations})
    reach = campaign.spec().reach
    slug = campaign.unit.code.lower()
    kindergartens = tuple(
        Unit.objects.filter(path__startswith=campaign.unit.path, kind=UnitKind.KINDERGARTEN).values_list(
            "path", flat=True
        )
    )
    items: list[activity_actions.NewActivity] = []
    for obligation in obligations:
        rule, unit = obligation.rule, obligation.unit
        rng = random.Random(
            f"{SEED}:{campaign.template.code}:{rule.code}:{unit.path[len(campaign.unit.path) :]}"
        )
        d = reliability[unit.pk]
        kinds = [k for k in rule.activity_kinds if k in KINDS] or [ActivityKind.OTHER]
        weights = [1 / (i + 1) for i in range(len(kinds))]
        recorder = recorders(unit)
        headcount = headcounts(unit)
        places = OUTREACH_PLACES.get(unit.kind, ["社区", "学校", "企业"])
        topics = CHILD_TOPICS if unit.path.startswith(kindergartens) else TOPICS
        need = max(1, rule.min_count)
        for period in schedule.for_rule(rule, unit.path).periods:
            if period.start > today:
                break
            if period.end >= today and unit in waiting:
                break  # the demo login's own work of this period: waiting for them
            end = period.end
            if rule.code in EARLY:
                end = min(end, period.start + timedelta(days=EARLY_DAYS))
            last = min(end, today)
            if rule.frequency == P.DAILY:
                count = 1 if rng.random() < d else 0
            elif end < today:  # over (or its first weeks are): done, or short of the minimum
                count = need if rng.random() < d else rng.randrange(need)
                if count and rng.random() < 0.2:
                    count += 1
            else:  # under way: the share of it gone by decides
                gone = ((today - period.start).days + 1) / ((end - period.start).days + 1)
                count = need if rng.random() < d * gone else rng.randrange(need)
            for n in range(count):
                kind = rng.choices(kinds, weights)[0]
                day = period.start if rule.frequency == P.DAILY else _weekday(rng, period.start, last)
                values = {
                    "topic": rng.choice(topics),
                    "place": places[n % len(places)],
                    "rule": rule.title,
                    "month": day.month,
                }
                link = ""
                if "link" in rule.evidence:  # a notice in the parents' group or a news page
                    link = f"https://www.example.com/{slug}/news/{day:%Y%m%d}-{rng.randrange(1000):03d}.html"
                present = attendance(rng, kind, unit, headcount)
                if present is None and "attendees" in rule.evidence:
                    present = max(1, round(headcount * rng.uniform(0.8, 1.0))) if headcount else 20
                fields: dict[str, Any] = {"attendance_count": present}
                fields.update(reach_fields(rng, reach, rule.code, present, n))
                items.append(
                    activity_actions.NewActivity(
                        unit=unit,
                        kind=kind,
                        occurred_on=day,
                        title=TITLES.get(kind, "{rule}").format(**values),
                        summary=SUMMARIES.get(kind, "").format(**values),
                        link=link,
                        obligation=obligation,
                        recorded_by=recorder,
                        **fields,
                    )
                )
    return items


def with_attendees(
    campaign: Campaign, items: list[activity_actions.NewActivity], today: date
) -> tuple[list[activity_actions.NewActivity], dict[int, list[Person]]]:
    """The demo counsellor's classes: their latest class meeting lists who came (by index in ``items``)."""
    counsellor = login_user(Role.COUNSELLOR)
    if counsellor is None:
        return items, {}
    classes = set(
        RoleGrant.objects.filter(user=counsellor, role=Role.COUNSELLOR).values_list("unit_id", flat=True)
    )
    latest: dict[int, int] = {}
    for index, item in enumerate(items):
        if (
            item.unit.pk in classes
            and item.kind == ActivityKind.CLASS_MEETING
            and item.occurred_on < today
            and (item.unit.pk not in latest or items[latest[item.unit.pk]].occurred_on <= item.occurred_on)
        ):
            latest[item.unit.pk] = index
    students: dict[int, list[Person]] = defaultdict(list)
    for membership in (
        Membership.objects.filter(
            unit_id__in=list(latest),
            role__in=[MembershipRole.MEMBER, MembershipRole.MONITOR, MembershipRole.COMMITTEE],
        )
        .select_related("person")
        .order_by("pk")
    ):
        students[membership.unit_id].append(membership.person)
    attendees: dict[int, list[Person]] = {}
    rng = random.Random(f"{SEED}:{campaign.template.code}:attendees")
    for unit_id, index in sorted(latest.items()):
        present = [p for p in students[unit_id] if rng.random() > 0.05]
        if present:
            attendees[index] = present
            items[index] = replace(items[index], attendance_count=len(present))
    return items, attendees


def record(
    campaign: Campaign,
    today: date,
    actor: User | None,
    dorm_class: dict[int, str],
    waiting: Waiting = Waiting(),
) -> int:
    """Record the campaign's activities so far, a few with attendees and photos; returns how many."""
    # Each obligation shares the campaign and its rule (not a copy per row): no JSON decoded twice.
    rules = {rule.pk: rule for rule in campaign.rules.all()}
    obligations = list(
        Obligation.objects.filter(campaign=campaign, is_active=True)
        .select_related("unit")
        .order_by("unit__path", "rule__code")
    )
    for obligation in obligations:
        obligation.campaign, obligation.rule = campaign, rules[obligation.rule_id]
    recorders = Recorders(campaign.unit, actor, dorm_class)
    items = plan_activities(campaign, obligations, today, recorders, Headcounts(campaign.unit), waiting)
    items, attendees = with_attendees(campaign, items, today)
    activities = activity_actions.bulk_record_activities(items, actor)
    for index, people in attendees.items():
        activity_actions.add_attendees(activities[index], people, activities[index].recorded_by)
    photographed = [
        a for a in activities if a.kind not in (ActivityKind.TIP, ActivityKind.ARTICLE) and a.attendance_count
    ][:PHOTOS_PER_CAMPAIGN]
    for index in attendees:
        if activities[index] not in photographed:
            photographed.append(activities[index])
    entered_on_the_day(activities)
    file_evidence(campaign, [a for a in activities if a not in photographed], rules)
    for activity in photographed:
        name = f"现场照片{activity.occurred_on:%m%d}.png"
        upload = ContentFile(
            photo_png(f"{campaign.template.code}:{activity.unit.path}:{activity.occurred_on}")
        )
        upload.name = name
        activity_actions.add_evidence(activity, upload, activity.recorded_by)
    return len(activities)


def entered_on_the_day(activities: list[Activity]) -> None:
    """The demo's records were typed in on the evening of the day they happened, not all today
    (a record entered after its period closed would make the period late). One update per day."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for activity in activities:
        by_day[activity.occurred_on].append(activity.pk)
    for day, pks in by_day.items():
        at = timezone.make_aware(datetime.combine(day, clock(18)))
        for start in range(0, len(pks), 500):
            Activity.objects.filter(pk__in=pks[start : start + 500]).update(created_at=at)
    activity_actions.records_changed(activity.campaign_id for activity in activities)


DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def file_evidence(campaign: Campaign, activities: list[Activity], rules: dict[int, Any]) -> int:
    """Give the demo's records the photos and documents their rules ask for, as rows sharing one stored
    file per kind and campaign (the few ``photographed`` records get their own through ``add_evidence``).

    Why shared files: thousands of generated images would only slow the demo down; the rows are what
    compliance reads. Returns the rows written.
    """
    stored: dict[str, tuple[str, str, int, str]] = {}

    def store(kind: str) -> tuple[str, str, int, str]:
        if kind not in stored:
            if kind == Evidence.Kind.PHOTO:
                content, ext, ctype = photo_png(f"{campaign.template.code}:shared"), "png", "image/png"
            else:
                content, ext, ctype = DEMO_PDF, "pdf", "application/pdf"
            name = default_storage.save(
                f"evidence/demo/{campaign.template.code}-{kind}.{ext}", ContentFile(content)
            )
            stored[kind] = (name, ctype, len(content), hashlib.sha256(content).hexdigest())
        return stored[kind]

    rows = []
    for activity in activities:
        obligation = activity.obligation
        rule = rules.get(obligation.rule_id) if obligation is not None else None
        if rule is None:
            continue
        for wanted, kind in (("photos", Evidence.Kind.PHOTO), ("document", Evidence.Kind.DOCUMENT)):
            if wanted in rule.evidence:
                name, ctype, size, digest = store(kind)
                rows.append(
                    Evidence(
                        activity=activity,
                        file=name,
                        kind=kind,
                        content_type=ctype,
                        size=size,
                        sha256=digest,
                        original_name=name.rsplit("/", 1)[-1],
                        uploaded_by=activity.recorded_by,
                    )
                )
    Evidence.objects.bulk_create(rows, batch_size=500)
    activity_actions.records_changed([campaign.pk])
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Responsibility letters


SIGNER_ROLES = {
    UnitKind.CLASS: MembershipRole.COUNSELLOR,
    UnitKind.DORM_ROOM: MembershipRole.DORM_HEAD,
}


def sign_letters(
    campaign: Campaign, shares: tuple[float, ...], waiting: Waiting = Waiting()
) -> tuple[int, int]:
    """Sign ``shares[level]`` of each level's letters on both sides, some on the upper side only.

    Each side is signed by the person answering for its unit (leader; a class's counsellor;
    a room's head) with a drawn signature, under their own account when they have one.
    Returns (letters signed by both sides, letters signed by one).
    """
    letters = list(
        ResponsibilityLetter.objects.filter(campaign=campaign)
        .select_related("upper_unit", "lower_unit")
        .defer("body")
        .order_by("level", "lower_unit__path")
    )
    for letter in letters:
        letter.campaign = campaign
    unit_ids = {u.pk for letter in letters for u in (letter.upper_unit, letter.lower_unit)}
    signers: dict[tuple[int, str], tuple[str, int | None]] = {}
    for unit_id, role, name, user_id in (
        Membership.objects.filter(
            unit_id__in=unit_ids, role__in=[MembershipRole.LEADER, *SIGNER_ROLES.values()]
        )
        .order_by("pk")
        .values_list("unit_id", "role", "person__name", "person__user_id")
    ):
        signers.setdefault((unit_id, role), (name, user_id))
    users = User.objects.in_bulk({user_id for _name, user_id in signers.values() if user_id})
    rng = random.Random(f"{SEED}:{campaign.template.code}:letters")
    both = one = 0
    for letter in letters:
        share = shares[letter.level] if letter.level < len(shares) else 0.0
        roll = rng.random()
        sides = (
            [Side.UPPER, Side.LOWER]
            if roll < share
            else [Side.UPPER]
            if roll < share + (1 - share) * 0.4
            else []
        )
        if letter.lower_unit in waiting:  # the demo login's letter: theirs to sign
            sides = [side for side in sides if side == Side.UPPER]
        for side in sides:
            unit = letter.upper_unit if side == Side.UPPER else letter.lower_unit
            signer_name, signer_id = signers.get(
                (unit.pk, SIGNER_ROLES.get(unit.kind, MembershipRole.LEADER)),
                (f"{unit.name[:50]}负责人", None),
            )
            png = signature_png(zlib.crc32(signer_name.encode()) % SIGNATURE_VARIANTS)
            signer = users.get(signer_id) if signer_id else None
            letters_actions.sign_letter(letter, side, signer_name, png, signer)
        both += len(sides) == 2
        one += len(sides) == 1
    return both, one


# ---------------------------------------------------------------------------------------------
# The whole set


@dataclass
class Built:
    plan: DemoCampaign
    campaign: Campaign
    created: bool


def set_calendars(today: date, log: Log) -> None:
    """Semesters of the current school year on the university and on the bureau's schools (once)."""
    year_start = school_year_start(today)
    units: list[tuple[Unit, bool]] = []
    university = Unit.objects.filter(parent_path="", code=org_demo.UNIVERSITY_CODE).first()
    if university is not None:
        units.append((university, True))
    bureau = Unit.objects.filter(parent_path="", code=org_demo.EDUCATION_CODE).first()
    if bureau is not None:
        schools = Unit.objects.filter(
            parent_path=bureau.path, kind__in=[UnitKind.SCHOOL, UnitKind.KINDERGARTEN]
        ).order_by("path")
        units += [(school, False) for school in schools]
    have = set(
        SchoolCalendar.objects.filter(unit__in=[u for u, _ in units]).values_list("unit_id", flat=True)
    )
    missing = [(unit, uni) for unit, uni in units if unit.pk not in have]
    for unit, uni in missing:
        set_school_calendar(unit, semesters(year_start, uni))
    if missing:
        log(f"[campaigns] school calendars set on {len(missing)} schools")


def start(
    plan: DemoCampaign, unit: Unit, template: CampaignTemplate, today: date, waiting: Waiting = Waiting()
) -> tuple[Campaign, str]:
    """Start one demo campaign and work on it until today; returns it and a line for the log."""
    actor = login_user(plan.admin)
    starts_on, ends_on = dates(plan, template, today)
    campaign = start_campaign(template, unit, starts_on, ends_on, placeholders(plan, unit), actor=actor)
    campaign = Campaign.objects.select_related("unit", "template").get(pk=campaign.pk)
    letters = ""
    dorm_class: dict[int, str] = {}
    if campaign.spec().letters:
        if not ResponsibilityLetter.objects.filter(campaign=campaign).exists():
            letters_actions.generate_letters(campaign, actor)  # unless starting the campaign did
        both, one = sign_letters(campaign, plan.letter_shares, waiting)
        total = ResponsibilityLetter.objects.filter(campaign=campaign).count()
        letters = f", {total} letters ({both} signed, {one} half-signed)"
        dorm_class = dict(
            ResponsibilityLetter.objects.filter(
                campaign=campaign, lower_unit__kind=UnitKind.DORM_ROOM
            ).values_list("lower_unit_id", "upper_unit__path")
        )
    activities = record(campaign, today, actor, dorm_class, waiting)
    duties = assign_duty_persons(campaign, actor)
    if duties:
        letters += f", {duties} duties with a person in charge"
    if campaign.ends_on < today:
        close_campaign(campaign, actor)
    obligations = Obligation.objects.filter(campaign=campaign).count()
    return campaign, f"{obligations} obligations{letters}, {activities} activities"


# The share of department duties (篇五) whose person in charge the office has named; the rest show "未指定".
DUTY_ASSIGNED_SHARE = 0.75


def assign_duty_persons(campaign: Campaign, actor: User | None) -> int:
    """The office names a person in charge for most department duties, each a member of that department
    (through the verb, so the campaign's history says so); the duties' records come with every other
    obligation's in ``record``. Returns how many were named."""
    duties = list(
        Obligation.objects.filter(campaign=campaign, is_active=True)
        .exclude(rule__department="")
        .select_related("rule", "unit")
        .order_by("unit__path", "rule__code")
    )
    if not duties:
        return 0
    members: dict[int, list[Person]] = defaultdict(list)
    for membership in (
        Membership.objects.filter(unit_id__in={o.unit_id for o in duties}, person__is_active=True)
        .select_related("person")
        .order_by("pk")
    ):
        members[membership.unit_id].append(membership.person)
    rng = random.Random(f"{SEED}:{campaign.template.code}:duties")
    named = 0
    for index, obligation in enumerate(duties):
        people = members.get(obligation.unit_id)
        if not people or rng.random() >= DUTY_ASSIGNED_SHARE:
            continue
        duty_actions.assign_person_in_charge(obligation, people[index % len(people)], actor)
        named += 1
    return named


def build_campaigns(log: Log = print, today: date | None = None) -> list[Built]:
    """Start every demo campaign that is not there yet (each in one transaction); keep the others."""
    today = today or timezone.localdate()
    started = time.monotonic()
    sync_builtin_templates()
    templates = {t.code: t for t in CampaignTemplate.objects.filter(source=CampaignTemplate.Source.BUILTIN)}
    set_calendars(today, log)
    waiting = waiting_units()
    result: list[Built] = []
    for plan in CAMPAIGNS:
        unit = issuing_unit(plan)
        template = templates.get(plan.template)
        if unit is None or template is None:
            log(f"[{plan.seed}] {plan.template}: no unit {plan.root}/{plan.unit} in the demo world, skipped")
            continue
        existing = Campaign.objects.filter(unit=unit, template=template).order_by("pk").first()
        if existing is not None:
            log(f"[{plan.seed}] {existing.title} already there, kept")
            result.append(Built(plan, existing, False))
            continue
        t0 = time.monotonic()
        with transaction.atomic():
            campaign, summary = start(plan, unit, template, today, waiting)
        log(f"[{plan.seed}] {campaign.title}: {summary}, {time.monotonic() - t0:.1f} s")
        result.append(Built(plan, campaign, True))
    log(f"demo campaigns ready in {time.monotonic() - started:.1f} s")
    return result


def format_campaigns(built: list[Built]) -> str:
    """Where to look: the campaigns page and each demo campaign's dashboard."""
    lines = ["专项行动：/campaigns/"]
    for item in built:
        lines.append(f"  {item.plan.seed} {item.campaign.title}：/campaigns/{item.campaign.pk}/dashboard/")
    return "\n".join(lines)


def demo_campaigns() -> list[Built]:
    """The demo campaigns as they are in the database (for the login table)."""
    result = []
    for plan in CAMPAIGNS:
        unit = issuing_unit(plan)
        campaign = (
            Campaign.objects.filter(unit=unit, template__code=plan.template).order_by("pk").first()
            if unit is not None
            else None
        )
        if campaign is not None:
            result.append(Built(plan, campaign, False))
    return result


def reset_campaigns(log: Log = print) -> None:
    """Remove the campaign rows on the demo units (activities, campaigns) before the units go.

    Their files (evidence, signatures) are deleted once the transaction commits, so a reset that
    fails leaves them in place.
    """
    roots = [root.path for root in Unit.objects.filter(parent_path="", code__in=org_demo.DEMO_ROOTS)]
    if not roots:
        return
    activities = Activity.objects.filter(path_q(roots, "unit__path"))
    campaigns = Campaign.objects.filter(path_q(roots, "unit__path"))
    names = list(Evidence.objects.filter(activity__in=activities).values_list("file", flat=True))
    names += LetterSignature.objects.filter(letter__campaign__in=campaigns).values_list("image", flat=True)
    activities.delete()
    count = campaigns.count()
    campaigns.delete()
    if count:
        log(f"removed {count} campaigns")

    def delete_files() -> None:
        for name in names:
            if name:
                default_storage.delete(name)

    if names:
        transaction.on_commit(delete_files)


# ---------------------------------------------------------------------------------------------
# Joint consultations (会商) of the county police plan

# (days ago held, topic, minutes, codes of the units present)
MEETINGS = (
    (
        40,
        "电诈案件高发研判及预警劝阻联动",
        "指挥中心通报近期案件态势，刑侦、网安、各派出所就预警劝阻分工会商。",
        ("ZHZX", "XZ", "WA", "PCS01", "PCS02"),
    ),
    (
        12,
        "涉诈资金止付冻结与“五进”宣传推进",
        "经侦大队通报止付冻结反馈时效，各派出所汇报“五进”宣传进度。",
        ("JZ", "ZA", "PCS01", "PCS03"),
    ),
)
# (meeting index, decision, owner unit's code, days from the meeting to the due date, done note or "")
DECISIONS = (
    (0, "建立预警名单当日劝阻、次日回访机制", "ZHZX", 14, "已印发工作机制，各所按日反馈劝阻结果。"),
    (0, "对辖区高风险号码开展集中核查", "WA", 20, ""),  # due 20 days after a meeting 40 days ago: overdue
    (1, "督促银行网点压缩止付冻结反馈时间", "JZ", 30, ""),
    (1, "五月底前完成辖区学校、社区“五进”宣传全覆盖", "PCS01", 25, ""),
)


def build_consultations(log: Log = print, today: date | None = None) -> int:
    """Two joint consultations of the county police plan (篇五), once: their decisions are owned by
    departments and stations, one done, the others open, one of them past its due date, so that the
    plan's consultations tab shows each state. Returns the meetings added (0 when they are there)."""
    from .consultations import actions as consultation_actions

    today = today or timezone.localdate()
    police = Unit.objects.filter(parent_path="", code=org_demo.POLICE_CODE).first()
    actor = login_user(Role.POLICE_ADMIN)
    campaign = (
        Campaign.objects.filter(unit=police, template__code="county-police-special-action")
        .order_by("pk")
        .first()
        if police is not None
        else None
    )
    if campaign is None or actor is None:
        return 0
    if campaign.consultations.exists():
        log("[篇五] consultations already there, kept")
        return 0
    units = {u.code: u for u in Unit.objects.filter(path__startswith=police.path, is_active=True)}
    with transaction.atomic():
        meetings = [
            consultation_actions.record_meeting(
                campaign,
                police,
                held_on=today - timedelta(days=ago),
                title=title,
                units_present=[units[c] for c in codes if c in units] or [police],
                minutes=minutes,
                actor=actor,
            )
            for ago, title, minutes, codes in MEETINGS
        ]
        for index, text, code, days, note in DECISIONS:
            owner = units.get(code, police)
            people = consultation_actions.owner_people(owner)
            decision = consultation_actions.add_decision(
                meetings[index],
                text=text,
                owner_unit=owner,
                owner_person=people[0] if people else None,
                due_on=meetings[index].held_on + timedelta(days=days),
                actor=actor,
            )
            if note:
                consultation_actions.close_decision(decision, note=note, actor=actor)
    log(f"[篇五] {len(meetings)} consultations, {len(DECISIONS)} decisions")
    return len(meetings)
