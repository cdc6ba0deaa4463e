"""Campaign templates as data: the TOML format, its validation, and the loader.

A template declares everything a campaign plan (方案) carries — audiences, unit levels,
leadership group, department duties, goals, recurring obligations, accountability rules,
responsibility letters and the plan document's sections — so that starting a campaign is
reading data, not writing code. Errors name the file and the field.
"""

from __future__ import annotations

import builtins
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

BUILTIN_DIR = Path(__file__).resolve().parent / "templates_builtin"

FREQUENCIES = ("daily", "weekly", "monthly", "semester", "yearly", "once")
EVIDENCE_KINDS = ("photos", "attendees", "link", "document", "video")
GOAL_METRICS = (
    "awareness_rate",  # people who passed the quiz ÷ people in scope, percent
    "case_change_yoy",  # cases this year vs last year, percent (negative = fewer)
    "case_change_mom",
    "app_installed",
    "app_registered",
    "app_warnings_on",
    "pledge_signed",
    "parent_notice_signed",
    "staff_app_installed",
    "activity_compliance",
    "coverage",  # mean coverage over the template's attestation items, percent
    "evaluation",  # fraud-free class/college/campus rating
    "reach_count",  # people reached per group/channel (bank month)
    "custom",
)
# Goals only a person can judge (or count outside the platform): their value is a recorded judgement
# (``campaigns.actions.record_goal_value``: the value, who, when), shown as such on the dashboards.
RECORDED_METRICS = ("custom", "evaluation", "reach_count")
# Goals computed from the attestations: the item each metric counts.
ITEM_METRICS = {
    "awareness_rate": "quiz_passed",
    "app_installed": "app_installed",
    "app_registered": "app_registered",
    "app_warnings_on": "app_warnings_on",
    "pledge_signed": "pledge_signed",
    "parent_notice_signed": "parent_notice_signed",
    "staff_app_installed": "app_installed",
}
STAFF_AUDIENCES = ("teacher", "staff")
ACCOUNTABILITY_ACTIONS = ("listing", "interview", "notice")
# A section may ask the plan document to list part of the spec under its body.
AUTO_SECTIONS = ("goals", "leadership", "departments", "obligations", "accountability", "letters")
ATTESTATION_ITEMS = (
    "pledge_signed",
    "app_installed",
    "app_registered",
    "app_warnings_on",
    "parent_notice_signed",
    "parent_app_installed",
    "training_attended",
    "video_watched",
    "quiz_passed",
    "first_lesson_attended",
)
# What an obligation may be measured by: an attestation item, or "app_all" (the app installed,
# registered and warnings on: the "three 100 %"). The figure comes from reach through
# ``core.hooks.measure``.
MEASURES = (*ATTESTATION_ITEMS, "app_all")
# The activity kinds a template's ``record_kinds`` may name: the values of ``models.ActivityKind``
# (a test keeps the two equal; spec cannot import models, which read templates through it).
ACTIVITY_KINDS = (
    "class_meeting",
    "lecture",
    "training",
    "first_lesson",
    "poster",
    "blackboard",
    "radio",
    "article",
    "video",
    "tip",
    "contest",
    "outreach",
    "pledge",
    "parent_letter",
    "parent_meeting",
    "staff_briefing",
    "dorm_visit",
    "law_education",
    "notice",
    "meeting",
    "inspection",
    "scenario",
    "other",
)
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# Names that only a responsibility letter's title and body may use: the two signing units and the
# campaign, filled per letter by ``letters.actions.generate_letters``.
LETTER_PLACEHOLDERS = ("upper_unit", "lower_unit", "campaign_title")
# Names every template may use without declaring them, filled from the issuing unit and the start:
# its name, the year, the date, its place word (县, 区, 市: "全{locality}" reads 全县 in a county,
# 全区 in a city district; see ``org.names.place``) and what its level calls a class's teacher
# (辅导员, 班主任, 教师; ``org.names.Levels.role``).
BUILTIN_PLACEHOLDERS = ("organisation", "year", "issue_date", "locality", "class_teacher")


# The code of a department duty's rule starts so (``TemplateSpec.duty_rules``).
DUTY_PREFIX = "duty-"


# Arrays and tables nest at most this deep: no template needs more, and Python's TOML reader recurses
# (a text of thousands of "[" would end in RecursionError).
MAX_NESTING = 16


class TemplateError(ValueError):
    """A template file that does not follow the format; the message names file and field."""

    def __init__(self, source: str, where: str, message: str) -> None:
        self.source, self.where, self.message = source, where, message
        super().__init__(f"{source}: {where}: {message}")


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: str
    default: str = ""


@dataclass(frozen=True)
class LeadershipRole:
    role: str  # 组长 / 副组长 / 成员 / 办公室
    holder: str  # who holds it, usually a placeholder such as {leader}
    duty: str = ""


@dataclass(frozen=True)
class Department:
    """A department of the plan and its duties. With ``frequency`` its duties are tracked work: each
    becomes a rule (``TemplateSpec.duty_rules``) on the units of ``level`` named ``name`` or one of
    ``aliases`` (counties name their departments differently: 网警大队 or 网安大队), or with ``every``
    on every unit of ``level`` (派出所: each police station)."""

    name: str
    duties: tuple[str, ...]
    frequency: str = ""  # "": the duties only print in the plan document
    level: str = ""
    aliases: tuple[str, ...] = ()
    every: bool = False
    evidence: tuple[str, ...] = ("document",)
    activity_kinds: tuple[str, ...] = ()

    @property
    def tracked(self) -> bool:
        return bool(self.frequency)

    @property
    def unit_names(self) -> tuple[str, ...]:
        """The unit names its duties fall on; empty: every unit of its level."""
        return () if self.every else (self.name, *self.aliases)


@dataclass(frozen=True)
class Goal:
    code: str
    metric: str
    target: float
    unit: str  # "percent" or "count" or "yuan"
    deadline: str  # "MM-DD": the first such day on or after the campaign's start; "" for its end
    description: str
    measure: str = ""  # what a count target counts, written after the number: "类" in 5类, "场"


@dataclass(frozen=True)
class ObligationRule:
    code: str
    title: str
    level: str  # a UnitKind value: the obligation falls on every unit of this kind
    frequency: str
    min_count: int
    evidence: tuple[str, ...]
    activity_kinds: tuple[str, ...]
    responsible: str  # membership role of the responsible person (counsellor, liaison, leader …)
    due: str = ""  # "MM-DD" for frequency "once"; none: the campaign's last day
    description: str = ""
    measure: str = ""  # a MEASURES value: the coverage figure that must reach ``target`` percent
    target: int = 100
    # Count the kinds of place (the template's reach channels) reached in a period, not the records:
    # "five into" is done only when every kind had its outreach (篇五: 每月五类场所各至少一次).
    per_channel: bool = False
    # A department's duty (``Department``): the department it belongs to, and the names of the units it
    # falls on (none: every unit of ``level``).
    department: str = ""
    unit_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountabilityRule:
    action: str  # listing / interview / notice
    min_loss: float | None  # yuan, exclusive lower bound; None = any case
    max_loss: float | None  # yuan, inclusive upper bound
    description: str


@dataclass(frozen=True)
class LetterLevel:
    upper: str  # UnitKind of the issuing side
    lower: str  # UnitKind (or "dorm_room") of the signing side
    title: str
    body: str


@dataclass(frozen=True)
class ReachOption:
    """One target group or channel that an outreach record may name (code stored, name shown)."""

    code: str
    name: str
    kind: str = ""  # a channel's family: traditional, new_media, outdoor, counter


# The ``kind`` of a reach channel that is a kind of place an outreach goes into (社区、乡镇、学校 …).
PLACE = "place"


def is_places(channels: tuple[ReachOption, ...]) -> bool:
    return bool(channels) and all(c.kind == PLACE for c in channels)


@dataclass(frozen=True)
class Reach:
    """What an outreach record of the campaign counts by (篇六: 分人群、分渠道、分地区统计)."""

    groups: tuple[ReachOption, ...] = ()
    channels: tuple[ReachOption, ...] = ()

    @property
    def by_place(self) -> bool:
        """The channels are kinds of place (police "five into", 篇五), not media: shown as such."""
        return is_places(self.channels)

    def group_names(self) -> dict[str, str]:
        return {g.code: g.name for g in self.groups}

    def channel_names(self) -> dict[str, str]:
        return {c.code: c.name for c in self.channels}


@dataclass(frozen=True)
class Section:
    heading: str
    body: str = ""
    children: tuple[Section, ...] = ()
    auto: str = ""  # one of AUTO_SECTIONS: the document lists that part of the spec here


@dataclass(frozen=True)
class TemplateSpec:
    """One campaign template, validated."""

    code: str
    title: str
    seed: str
    summary: str
    issuer_kinds: tuple[str, ...]  # unit kinds that may start it
    audiences: tuple[str, ...]
    levels: tuple[str, ...]
    placeholders: tuple[Placeholder, ...]
    leadership: tuple[LeadershipRole, ...]
    departments: tuple[Department, ...]
    goals: tuple[Goal, ...]
    obligations: tuple[ObligationRule, ...]
    accountability: tuple[AccountabilityRule, ...]
    letters: tuple[LetterLevel, ...]
    attestations: tuple[str, ...]
    sections: tuple[Section, ...]
    period_months: int = 12
    extra: dict[str, Any] = field(default_factory=dict)
    # The activity kinds its record form offers (none: every kind), and what outreach counts by.
    record_kinds: tuple[str, ...] = ()
    reach: Reach | None = None

    def placeholder_defaults(self) -> dict[str, str]:
        return {p.name: p.default for p in self.placeholders}

    @property
    def duty_rules(self) -> tuple[ObligationRule, ...]:
        """Each duty of a tracked department as a rule on that department (``duty-<d>-<n>``, numbered
        as the plan lists them): start, preview and sync read this one list, so they cannot differ."""
        return tuple(
            ObligationRule(
                code=f"{DUTY_PREFIX}{d}-{n}",
                title=duty[:200],
                level=dept.level,
                frequency=dept.frequency,
                min_count=1,
                evidence=dept.evidence,
                activity_kinds=dept.activity_kinds,
                responsible="leader",
                description=duty,
                department=dept.name,
                unit_names=dept.unit_names,
            )
            for d, dept in enumerate(self.departments, 1)
            if dept.tracked
            for n, duty in enumerate(dept.duties, 1)
        )

    @property
    def all_rules(self) -> tuple[ObligationRule, ...]:
        """The template's obligations, then its departments' duties."""
        return self.obligations + self.duty_rules


# How a text says its place when no unit name above the issuer says 县, 区 or 市 (``org.names.place``
# gives ""): "全{locality}" reads 全辖区, "{locality}局" 本局, "本{locality}" 本地, and a bureau is simply
# 教育局, instead of the 全区县 or 全____ of a word that fits no real place. Longest phrases first.
PLACE_FALLBACKS = (
    ("全{locality}", "全辖区"),
    ("本{locality}", "本地"),
    ("{locality}教育局", "教育局"),
    ("{locality}局", "本局"),
    ("{locality}", "本地"),
)


def place_phrases(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its ``{locality}`` phrases reworded when ``values`` has an empty place word."""
    if "locality" not in values or str(values["locality"]).strip() or "{locality}" not in text:
        return text
    for phrase, fallback in PLACE_FALLBACKS:
        text = text.replace(phrase, fallback)
    return text


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace ``{name}`` placeholders; unknown names stay visible as ``{name}`` for the editor."""
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), place_phrases(text, values))


class _Reader:
    """Typed access to a TOML table that reports the file and dotted field on every error."""

    def __init__(self, source: str, data: Any, where: str = "") -> None:
        self.source, self.data, self.where = source, data, where

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, message: str) -> TemplateError:
        return TemplateError(self.source, self._path(key), message)

    def str(self, key: str, default: str | None = None, choices: tuple[str, ...] | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise self.fail(key, _("缺少必填字段"))
        if not isinstance(value, str):
            raise self.fail(key, _("应为文本"))
        if choices is not None and value not in choices:
            raise self.fail(
                key,
                _("取值 %(value)s 不在允许范围内：%(choices)s")
                % {"value": value, "choices": ", ".join(choices)},
            )
        return value

    def num(self, key: builtins.str, default: float | None = None) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, _("应为数字"))
        return float(value)

    def opt_num(self, key: builtins.str) -> float | None:
        return None if key not in self.data else self.num(key)

    def int(self, key: builtins.str, default: builtins.int | None = None) -> builtins.int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, _("应为非负整数"))
        return value

    def strs(
        self, key: builtins.str, choices: tuple[builtins.str, ...] | None = None, required: bool = False
    ) -> tuple[builtins.str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, _("应为文本列表"))
        if required and not value:
            raise self.fail(key, _("至少需要一项"))
        if choices is not None:
            for item in value:
                if item not in choices:
                    raise self.fail(
                        key,
                        _("取值 %(value)s 不在允许范围内：%(choices)s")
                        % {"value": item, "choices": ", ".join(choices)},
                    )
        return tuple(value)

    def tables(self, key: builtins.str) -> list[_Reader]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, _("应为表格数组（[[%(key)s]]）") % {"key": key})
        return [_Reader(self.source, v, f"{self._path(key)}[{i}]") for i, v in enumerate(value)]


def _nesting(data: Any) -> int:
    """How deep arrays and tables nest in parsed TOML (without recursing: the depth is unknown)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return deepest


def _mmdd(reader: _Reader, key: str) -> str:
    value = reader.str(key, "")
    if value:
        try:
            date.fromisoformat(f"2024-{value}")
        except ValueError as exc:
            raise reader.fail(key, _("日期应为 MM-DD 格式")) from exc
    return value


def _section(reader: _Reader) -> Section:
    """One section; ``rules = "six-always"`` puts a shared rule set's items under its body, one a line."""
    from .rule_sets import rule_sets

    auto = reader.str("auto", "")
    body = reader.str("body", "")
    shared = reader.str("rules", "")
    if shared:
        found = rule_sets().get(shared)
        if found is None:
            raise reader.fail(
                "rules",
                _("取值 %(value)s 不在允许范围内：%(choices)s")
                % {"value": shared, "choices": ", ".join(rule_sets())},
            )
        body = "\n".join([body, *found.items]).strip()
    if auto and auto not in AUTO_SECTIONS:
        raise reader.fail(
            "auto",
            _("取值 %(value)s 不在允许范围内：%(choices)s")
            % {"value": auto, "choices": ", ".join(AUTO_SECTIONS)},
        )
    return Section(
        heading=reader.str("heading"),
        body=body,
        children=tuple(_section(child) for child in reader.tables("children")),
        auto=auto,
    )


def _department(x: _Reader, kinds: tuple[str, ...]) -> Department:
    """One department; with ``frequency`` its duties become tracked work, so it must say where they fall."""
    frequency = x.str("frequency", "")
    if frequency and frequency not in FREQUENCIES:
        raise x.fail(
            "frequency",
            _("取值 %(value)s 不在允许范围内：%(choices)s")
            % {"value": frequency, "choices": ", ".join(FREQUENCIES)},
        )
    every = x.data.get("every", False)
    if not isinstance(every, bool):
        raise x.fail("every", _("应为 true 或 false"))
    dept = Department(
        name=x.str("name"),
        duties=x.strs("duties"),
        frequency=frequency,
        level=x.str("level", "", choices=("", *kinds)),
        aliases=x.strs("aliases"),
        every=every,
        evidence=x.strs("evidence", EVIDENCE_KINDS) if "evidence" in x.data else ("document",),
        activity_kinds=x.strs("activity_kinds", ACTIVITY_KINDS),
    )
    if not dept.name.strip():
        raise x.fail("name", _("名称不能为空"))
    if not frequency:
        for key in ("level", "aliases", "every", "evidence", "activity_kinds"):
            if key in x.data:
                raise x.fail(key, _("只有填写了 frequency（考核频次）的部门，职责才作为工作任务跟踪"))
        return dept
    if not dept.level:
        raise x.fail("level", _("部门职责作为工作任务跟踪时，须写明落实层级（level）"))
    if not dept.duties:
        raise x.fail("duties", _("至少需要一项"))
    if frequency == "once":
        raise x.fail("frequency", _("部门职责是持续的工作，考核频次不能是 once"))
    return dept


def _extra(reader: _Reader) -> dict[str, Any]:
    value = reader.data.get("extra", {})
    if not isinstance(value, dict):
        raise reader.fail("extra", _("应为表格（[extra]）"))
    return dict(value)


def _reach_options(reader: _Reader, key: str) -> tuple[ReachOption, ...]:
    options = tuple(
        ReachOption(code=x.str("code"), name=x.str("name"), kind=x.str("kind", ""))
        for x in reader.tables(key)
    )
    codes = [o.code for o in options]
    for option in options:
        if not re.fullmatch(r"[a-z0-9_]{1,24}", option.code):
            raise reader.fail(key, _("代码只能包含小写字母、数字和下划线（最多24个字符）"))
        if not option.name.strip():
            raise reader.fail(key, _("名称不能为空"))
    if len(set(codes)) != len(codes):
        raise reader.fail(key, _("代码重复"))
    return options


def _reach(reader: _Reader) -> Reach | None:
    value = reader.data.get("reach")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise reader.fail("reach", _("应为表格（[reach]）"))
    inner = _Reader(reader.source, value, "reach")
    reach = Reach(groups=_reach_options(inner, "groups"), channels=_reach_options(inner, "channels"))
    if not reach.channels:
        raise reader.fail("reach", _("需要列出宣传渠道或场所（channels）"))
    return reach


def parse_cached(text: str, source: Callable[[], str]) -> TemplateSpec:
    """``parse_template`` remembered by text: a running campaign's template never changes, and the
    member pages read it on every request. ``source`` names the template only when the text is wrong.
    Goals are not checked here: a campaign started before a goal check existed must keep working
    (its goal then shows no value); new templates are checked when validated."""
    try:
        return _parse_memo(text)
    except TemplateError:
        return parse_template(text, source=source(), check_goals=False)


@lru_cache(maxsize=256)
def _parse_memo(text: str) -> TemplateSpec:
    return parse_template(text, check_goals=False)


def parse_template(text: str, source: str = "<template>", check_goals: bool = True) -> TemplateSpec:
    """Parse and validate one template's TOML text (``check_goals``: refuse goals no dashboard can
    compute, see ``_check_goal``)."""
    from fanzha.org.models import MembershipRole, PersonKind, UnitKind

    too_deep = _("数组或表嵌套过深（最多 %(levels)d 层）") % {"levels": MAX_NESTING}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(source, "-", _("TOML 语法错误：%(error)s") % {"error": exc}) from exc
    except RecursionError as exc:
        raise TemplateError(source, "-", too_deep) from exc
    except ValueError as exc:  # a number too long to read (Python's int digit limit)
        raise TemplateError(source, "-", _("无法读取的数值：数字位数过多")) from exc
    if _nesting(data) > MAX_NESTING:
        raise TemplateError(source, "-", too_deep)
    r = _Reader(source, data)
    kinds = tuple(UnitKind.values)
    code = r.str("code")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,60}", code):
        raise r.fail("code", _("代码只能包含小写字母、数字、连字符和下划线"))
    placeholders = tuple(
        Placeholder(name=p.str("name"), label=p.str("label"), default=p.str("default", ""))
        for p in r.tables("placeholders")
    )
    obligations = []
    seen: set[str] = set()
    for o in r.tables("obligations"):
        rule = ObligationRule(
            code=o.str("code"),
            title=o.str("title"),
            level=o.str("level", choices=kinds),
            frequency=o.str("frequency", choices=FREQUENCIES),
            min_count=o.int("min_count", 1),
            evidence=o.strs("evidence", EVIDENCE_KINDS),
            activity_kinds=o.strs("activity_kinds"),
            responsible=o.str("responsible", "counsellor", choices=tuple(MembershipRole.values)),
            due=_mmdd(o, "due"),
            description=o.str("description", ""),
            measure=o.str("measure", "", choices=("", *MEASURES)),
            target=o.int("target", 100),
            per_channel=o.data.get("per_channel", False) is True,
        )
        if not 0 < rule.target <= 100:
            raise o.fail("target", _("目标覆盖率须在 1 到 100 之间"))
        if rule.code in seen:
            raise o.fail("code", _("义务代码重复：%(code)s") % {"code": rule.code})
        seen.add(rule.code)
        obligations.append(rule)
    spec = TemplateSpec(
        code=code,
        title=r.str("title"),
        seed=r.str("seed", ""),
        summary=r.str("summary", ""),
        issuer_kinds=r.strs("issuer_kinds", kinds, required=True),
        audiences=r.strs("audiences", tuple(PersonKind.values)),
        levels=r.strs("levels", kinds, required=True),
        placeholders=placeholders,
        leadership=tuple(
            LeadershipRole(role=x.str("role"), holder=x.str("holder", ""), duty=x.str("duty", ""))
            for x in r.tables("leadership")
        ),
        departments=tuple(_department(x, kinds) for x in r.tables("departments")),
        goals=tuple(
            Goal(
                code=x.str("code"),
                metric=x.str("metric", choices=GOAL_METRICS),
                target=x.num("target"),
                unit=x.str("unit", "percent", choices=("percent", "count", "yuan")),
                deadline=_mmdd(x, "deadline"),
                description=x.str("description"),
                measure=x.str("measure", ""),
            )
            for x in r.tables("goals")
        ),
        obligations=tuple(obligations),
        accountability=tuple(
            AccountabilityRule(
                action=x.str("action", choices=ACCOUNTABILITY_ACTIONS),
                min_loss=x.opt_num("min_loss"),
                max_loss=x.opt_num("max_loss"),
                description=x.str("description"),
            )
            for x in r.tables("accountability")
        ),
        letters=tuple(
            LetterLevel(
                upper=x.str("upper", choices=kinds),
                lower=x.str("lower", choices=kinds),
                title=x.str("title"),
                body=x.str("body"),
            )
            for x in r.tables("letters")
        ),
        attestations=r.strs("attestations", ATTESTATION_ITEMS),
        sections=tuple(_section(s) for s in r.tables("sections")),
        period_months=r.int("period_months", 12),
        extra=_extra(r),
        record_kinds=r.strs("record_kinds", ACTIVITY_KINDS),
        reach=_reach(r),
    )
    if spec.record_kinds:
        for reader, rule in zip(r.tables("obligations"), spec.obligations, strict=True):
            outside = [k for k in rule.activity_kinds if k not in spec.record_kinds]
            if outside:
                raise reader.fail(
                    "activity_kinds",
                    _("活动类型 %(kinds)s 不在模板的 record_kinds 中") % {"kinds": ", ".join(outside)},
                )
    dept_names: set[str] = set()
    for reader, dept in zip(r.tables("departments"), spec.departments, strict=True):
        if dept.name in dept_names:
            raise reader.fail("name", _("部门名称重复：%(name)s") % {"name": dept.name})
        dept_names.add(dept.name)
        outside = [k for k in dept.activity_kinds if spec.record_kinds and k not in spec.record_kinds]
        if outside:
            raise reader.fail(
                "activity_kinds",
                _("活动类型 %(kinds)s 不在模板的 record_kinds 中") % {"kinds": ", ".join(outside)},
            )
    if any(rule.code.startswith(DUTY_PREFIX) for rule in spec.obligations):
        raise r.fail(
            "obligations", _("义务代码不能以 %(prefix)s 开头（留给部门职责）") % {"prefix": DUTY_PREFIX}
        )
    if not spec.sections:
        raise r.fail("sections", _("方案至少需要一个章节"))
    for reader, goal in zip(r.tables("goals"), spec.goals, strict=True) if check_goals else ():
        _check_goal(reader, goal, spec)
    names = {p.name for p in spec.placeholders} | set(BUILTIN_PLACEHOLDERS)
    for text_value in _all_texts(spec):
        for name in PLACEHOLDER.findall(text_value):
            if name not in names:
                raise r.fail("placeholders", _("占位符 {%(name)s} 未声明") % {"name": name})
    for letter in spec.letters:
        for name in PLACEHOLDER.findall(letter.title + letter.body):
            if name not in names and name not in LETTER_PLACEHOLDERS:
                raise r.fail("letters", _("占位符 {%(name)s} 未声明") % {"name": name})
    return spec


def _check_goal(x: _Reader, goal: Goal, spec: TemplateSpec) -> None:
    """Refuse a goal the dashboards could not compute, rather than let it vanish from them."""
    metric = goal.metric
    if metric not in RECORDED_METRICS and goal.unit != "percent":
        raise x.fail("unit", _("目标指标“%(metric)s”以百分比计，unit 应为 percent") % {"metric": metric})
    item = ITEM_METRICS.get(metric)
    if item is not None and item not in spec.attestations:
        raise x.fail(
            "metric",
            _(
                "目标指标“%(metric)s”要统计登记事项“%(item)s”，但 attestations 中没有它；"
                "请加入该事项，或改用 custom 由人工记录"
            )
            % {"metric": metric, "item": item},
        )
    if metric == "staff_app_installed" and not set(STAFF_AUDIENCES) & set(spec.audiences):
        raise x.fail(
            "metric", _("目标指标“staff_app_installed”统计教职工，但 audiences 中没有 teacher 或 staff")
        )
    if metric == "coverage" and not spec.attestations:
        raise x.fail("metric", _("目标指标“coverage”是各登记事项的平均覆盖率，但 attestations 为空"))
    if metric == "activity_compliance" and not spec.obligations:
        raise x.fail("metric", _("目标指标“activity_compliance”统计工作任务的完成率，但模板没有 obligations"))


def _all_texts(spec: TemplateSpec) -> list[str]:
    texts = [spec.title, spec.summary]
    texts += [x.holder + x.duty for x in spec.leadership]

    def walk(sections: tuple[Section, ...]) -> None:
        for s in sections:
            texts.extend([s.heading, s.body])
            walk(s.children)

    walk(spec.sections)
    return texts


def load_file(path: Path) -> TemplateSpec:
    """Load one template file; a bad file raises ``TemplateError`` naming it."""
    return parse_template(path.read_text(encoding="utf-8"), source=path.name)


def builtin_templates() -> dict[str, TemplateSpec]:
    """The built-in templates shipped in ``templates_builtin/``, by code, in file-name order."""
    result: dict[str, TemplateSpec] = {}
    for path in sorted(BUILTIN_DIR.glob("*.toml")):
        spec = load_file(path)
        if spec.code in result:
            raise TemplateError(path.name, "code", _("模板代码重复：%(code)s") % {"code": spec.code})
        result[spec.code] = spec
    return result
