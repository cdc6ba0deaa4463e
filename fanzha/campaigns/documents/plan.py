"""Plan documents (方案): what a plan says, as one list of blocks built by ``build_plan``, which
``formats`` writes out as DOCX and PDF (so the Word file and the PDF never say different things).
Headings are numbered 一、（一）1.（1） by depth, and the issuing organisation and date close it.

The goals, leadership group, department duties, obligations, accountability rules and
responsibility letters come from the template's data, not from its prose, so the document
always says what the campaign will measure and chase.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ..periods import month_day as month_day_in
from ..spec import (
    PLACEHOLDER,
    AccountabilityRule,
    Goal,
    ObligationRule,
    Placeholder,
    Section,
    TemplateSpec,
    place_phrases,
)

if TYPE_CHECKING:
    from fanzha.org.models import Unit

    from ..models import Campaign
    from ..models import Goal as GoalRow

BLANK = "＿＿＿＿"  # an empty placeholder: a line to fill in by hand

_CN_DIGITS = "零一二三四五六七八九"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_CLOSING_PUNCTUATION = tuple("。！？；：:;!?")


@dataclass(frozen=True)
class Block:
    """One paragraph of the plan.

    ``kind`` is ``"heading"`` for a heading on its own line, or ``"para"`` for body text,
    which may begin with an inline heading (``number`` + ``heading``) in the level's font.
    """

    kind: str
    level: int  # heading depth (1 = 一、); 0 for plain body text
    number: str = ""
    heading: str = ""
    text: str = ""


@dataclass(frozen=True)
class PlanDocument:
    """A plan ready to write: title, blocks, and the signature lines."""

    title: str
    blocks: tuple[Block, ...]
    issuer: str
    date: str


# Placeholders ---------------------------------------------------------------------------------


def chinese_date(day: date) -> str:
    """The date as official documents write it: 2026年11月30日."""
    return f"{day.year}年{day.month}月{day.day}日"


def plan_values(
    spec: TemplateSpec,
    unit: Unit | None = None,
    placeholders: Mapping[str, str] | None = None,
    today: date | None = None,
    naming: Naming | None = None,
    window: Window | None = None,
) -> dict[str, str]:
    """Placeholder values: the template's defaults, then the unit, the campaign's year and today, then
    what the user set."""
    today = today or timezone.localdate()
    naming = naming or Naming(spec, unit)
    builtin = {
        "year": str((window.start if window else today).year),
        "issue_date": chinese_date(today),
        "locality": naming.place(),
        "class_teacher": naming.role("counsellor"),
    }
    if unit is not None:
        builtin["organisation"] = unit.name
    # A default may name a built-in ("本{locality}").
    values = {k: _fill_known(v, builtin) for k, v in spec.placeholder_defaults().items()}
    values.update(builtin)
    values.setdefault("organisation", "")  # no unit yet (a template's page): a line to write on
    values.update({k: str(v) for k, v in (placeholders or {}).items()})
    return values


def unfilled(spec: TemplateSpec, values: Mapping[str, str]) -> list[Placeholder]:
    """The template's placeholders left blank (the document shows a line to write on), in its order."""
    return [p for p in spec.placeholders if not str(values.get(p.name, "")).strip()]


def _fill_known(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), place_phrases(text, values))


def filler(values: Mapping[str, str]) -> Any:
    """``fill`` that writes a blank line for an empty value, so a printed plan (or a template's page)
    shows where to write."""

    def fill(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            value = values.get(match.group(1))
            if value is None:
                return match.group(0)
            return value if value.strip() else BLANK

        return PLACEHOLDER.sub(one, place_phrases(text, values))

    return fill


def labelled_filler(values: Mapping[str, str], labels: Mapping[str, str]) -> Any:
    """``filler`` for a page: a field left blank is a line to write on with its Chinese name
    ("＿＿＿＿（联系电话）"), and an unknown name a bare line, never the raw ``{contact_phone}``."""

    def blank(name: str) -> str:
        return f"{BLANK}（{labels[name]}）" if labels.get(name) else BLANK

    def fill(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            value = str(values.get(match.group(1)) or "")
            return value if value.strip() else blank(match.group(1))

        return PLACEHOLDER.sub(one, place_phrases(text, values))

    return fill


# Sections as JSON (a campaign keeps its edited copy in ``Campaign.sections``) ------------------


def section_to_dict(section: Section) -> dict[str, Any]:
    """One section as plain data for a JSON field."""
    data: dict[str, Any] = {"heading": section.heading, "body": section.body}
    if section.auto:
        data["auto"] = section.auto
    data["children"] = [section_to_dict(child) for child in section.children]
    return data


def sections_to_json(sections: Iterable[Section]) -> list[dict[str, Any]]:
    return [section_to_dict(s) for s in sections]


def sections_from_json(data: Iterable[Mapping[str, Any]]) -> tuple[Section, ...]:
    """Sections back from a JSON field; unknown keys are ignored."""
    return tuple(
        Section(
            heading=str(item.get("heading", "")),
            body=str(item.get("body", "")),
            children=sections_from_json(item.get("children") or ()),
            auto=str(item.get("auto", "")),
        )
        for item in data
    )


# Labels -----------------------------------------------------------------------------------------


def metric_labels() -> dict[str, str]:
    return {
        "awareness_rate": _("防诈知晓率"),
        "case_change_yoy": _("案件数同比"),
        "case_change_mom": _("案件数环比"),
        "app_installed": _("反诈APP安装率"),
        "app_registered": _("反诈APP实名注册率"),
        "app_warnings_on": _("反诈APP预警开启率"),
        "pledge_signed": _("倡议书签署率"),
        "parent_notice_signed": _("家长告知书签订率"),
        "staff_app_installed": _("教职工反诈APP安装率"),
        "activity_compliance": _("活动完成率"),
        "evaluation": _("无诈创建达标率"),
        "reach_count": _("覆盖的重点人群"),
        "custom": "",
    }


def evidence_labels() -> dict[str, str]:
    return {
        "photos": _("照片"),
        "attendees": _("参加人员名单"),
        "link": _("链接"),
        "document": _("文档"),
        "video": _("视频"),
    }


def action_labels() -> dict[str, str]:
    return {"listing": _("挂牌督办"), "interview": _("约谈"), "notice": _("通报")}


class Naming:
    """Names by level for one plan (``org.names``): the issuing unit's when there is one, else what the
    template's levels say (a template previewed on its own). One query, the first time it is asked."""

    def __init__(self, spec: TemplateSpec, unit: Unit | None) -> None:
        from fanzha.org.names import Levels

        self.spec, self.unit = spec, unit
        self.levels = Levels([unit])

    def role(self, role: str) -> str:
        from fanzha.org.names import template_role_label

        if self.unit is not None:
            return self.levels.role(role, self.unit)
        return template_role_label(role, self.spec.issuer_kinds, self.spec.levels)

    def kind(self, kind: str) -> str:
        return self.levels.kind(kind, self.unit)

    def place(self) -> str:
        return self.levels.place(self.unit)


def _units(kind: str, issuer_kinds: tuple[str, ...], naming: Naming) -> str:
    """The issuing level is one unit (“学校”); the levels below it are many (“各班级”)."""
    label = naming.kind(kind)
    return label if kind in issuer_kinds else _("各%(kind)s") % {"kind": label}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Window:
    """The campaign's first and last day: every date a plan names derives from them ("06-30" is the
    first 30 June on or after the start, kept within the end; no date means the end)."""

    start: date
    end: date

    def day(self, mmdd: str) -> date:
        return month_day_in(mmdd, self.start, self.end) if mmdd else self.end

    def text(self, mmdd: str) -> str:
        return chinese_date(self.day(mmdd))


def window_for(spec: TemplateSpec, start: date | None = None, end: date | None = None) -> Window:
    """The campaign's window; without dates, one that starts today and runs the template's usual length."""
    from ..actions import default_end

    start = start or timezone.localdate()
    return Window(start, end or default_end(spec, start))


def goal_target_text(goal: Goal | GoalRow, measure: str = "") -> str:
    """The target as a reader expects it: 100%, 下降50%以上, 5类, 100000元 (for a template's goal or a
    running campaign's stored one, so the plan, the campaign page and the dashboards say it alike);
    ``measure`` is what a count counts, as the template declares it ("类" in 5类)."""
    target = float(goal.target)
    number = _number(abs(target))
    if goal.metric in ("case_change_yoy", "case_change_mom"):
        if target < 0:
            return _("下降%(percent)s%%以上") % {"percent": number}
        if target == 0:
            return _("下降")
        return _("增幅不超过%(percent)s%%") % {"percent": number}
    if goal.unit == "percent":
        return f"{number}%"
    if goal.unit == "yuan":
        return _("%(amount)s元") % {"amount": number}
    return number + measure


def _states_target(goal: Goal) -> bool:
    """Whether the goal's own wording already gives its target (then the document does not repeat it)."""
    if goal.metric in ("case_change_yoy", "case_change_mom") and goal.target == 0:
        return "下降" in goal.description
    number = _number(abs(goal.target))
    return (number + "%" if goal.unit == "percent" else number) in goal.description


def frequency_text(rule: ObligationRule, window: Window) -> str:
    """How often, with the minimum count: 每月不少于1次, 每学期不少于2次, 2027年6月30日前完成."""
    if rule.frequency == "once":
        return _("%(date)s前完成") % {"date": window.text(rule.due)}
    period = {
        "daily": _("每天"),
        "weekly": _("每周"),
        "monthly": _("每月"),
        "semester": _("每学期"),
        "yearly": _("每年"),
    }.get(rule.frequency, rule.frequency)
    return _("%(period)s不少于%(count)d次") % {"period": period, "count": rule.min_count}


def goal_sentence(goal: Goal) -> str:
    """What the goal measures, as words: 反诈APP安装率达到100%, 案件数同比下降, 覆盖的重点人群达到5类;
    "" when the goal's own wording gives its target or it has no measure of the platform's."""
    metric = metric_labels().get(goal.metric, "")
    if not metric or _states_target(goal):
        return ""
    target = goal_target_text(goal)
    if goal.metric in ("case_change_yoy", "case_change_mom"):
        return metric + target
    return _("%(metric)s达到%(target)s") % {"metric": metric, "target": target + goal.measure}


def _goal_section(goal: Goal, window: Window) -> Section:
    deadline = window.text(goal.deadline) + _("前")
    sentence = goal_sentence(goal)
    if sentence:
        detail = _("目标：%(sentence)s；完成时限：%(deadline)s。") % {
            "sentence": sentence,
            "deadline": deadline,
        }
    else:
        detail = _("完成时限：%(deadline)s。") % {"deadline": deadline}
    return Section(heading=goal.description, body=detail)


def _obligation_section(rule: ObligationRule, window: Window, naming: Naming) -> Section:
    evidence = evidence_labels()
    detail = _("落实单位：%(level)s；频次：%(frequency)s；责任人：%(role)s") % {
        "level": _units(rule.level, naming.spec.issuer_kinds, naming),
        "frequency": frequency_text(rule, window),
        "role": naming.role(rule.responsible),
    }
    if rule.evidence:
        detail += _("；佐证材料：%(evidence)s") % {
            "evidence": "、".join(evidence.get(e, e) for e in rule.evidence)
        }
    detail += "。"
    if rule.description:
        detail += rule.description
    return Section(heading=rule.title, body=detail)


def _loss_range(rule: AccountabilityRule) -> str:
    low, high = rule.min_loss, rule.max_loss
    if low is None and high is None:
        return _("所有被骗案件")
    if high is None:
        return _("被骗金额超过%(low)s元") % {"low": _number(low or 0)}
    if low is None:
        return _("被骗金额不超过%(high)s元") % {"high": _number(high)}
    return _("被骗金额%(low)s元至%(high)s元") % {"low": _number(low), "high": _number(high)}


def _accountability_section(rule: AccountabilityRule) -> Section:
    label = action_labels().get(rule.action, rule.action)
    return Section(
        heading=_("%(action)s（%(range)s）") % {"action": label, "range": _loss_range(rule)},
        body=rule.description,
    )


def goals_in_order(goals: Iterable[Goal], window: Window) -> list[Goal]:
    """Goals by deadline (the template's order among equal ones): the phases of a plan follow the calendar."""
    return sorted(goals, key=lambda g: window.day(g.deadline))


def _auto(spec: TemplateSpec, kind: str, window: Window, naming: Naming) -> tuple[list[str], list[Section]]:
    """What an ``auto`` section lists: (paragraphs, numbered child sections)."""
    if kind == "goals":
        return [], [_goal_section(g, window) for g in goals_in_order(spec.goals, window)]
    if kind == "leadership":
        lines = []
        for role in spec.leadership:
            line = f"{role.role}：{role.holder or BLANK}"
            if role.duty:
                line += "。" + role.duty if not role.holder.endswith(_CLOSING_PUNCTUATION) else role.duty
            lines.append(line)
        return lines, []
    if kind == "departments":
        return [], [Section(heading=d.name, body="；".join(d.duties) + "。") for d in spec.departments]
    if kind == "obligations":
        return [], [_obligation_section(o, window, naming) for o in spec.obligations]
    if kind == "accountability":
        return [], [_accountability_section(a) for a in spec.accountability]
    if kind == "letters":
        children = []
        for letter in spec.letters:
            parties = _("由%(upper)s与%(lower)s签订。") % {
                "upper": _units(letter.upper, spec.issuer_kinds, naming),
                "lower": _units(letter.lower, spec.issuer_kinds, naming),
            }
            children.append(Section(heading=f"《{letter.title}》", body=parties + "\n" + letter.body))
        return [], children
    return [], []


def _default_headings() -> dict[str, str]:
    return {
        "goals": _("工作目标"),
        "leadership": _("组织领导"),
        "departments": _("部门职责"),
        "obligations": _("工作安排"),
        "accountability": _("责任追究"),
        "letters": _("责任书"),
    }


def _with_missing_autos(spec: TemplateSpec, sections: Sequence[Section]) -> list[Section]:
    """Append a section for each part of the spec that no section lists, so nothing is left out."""
    used: set[str] = set()

    def walk(items: Iterable[Section]) -> None:
        for s in items:
            if s.auto:
                used.add(s.auto)
            walk(s.children)

    walk(sections)
    present = {
        "goals": spec.goals,
        "leadership": spec.leadership,
        "departments": spec.departments,
        "obligations": spec.obligations,
        "accountability": spec.accountability,
        "letters": spec.letters,
    }
    extra = [
        Section(heading=heading, auto=kind)
        for kind, heading in _default_headings().items()
        if present[kind] and kind not in used
    ]
    return [*sections, *extra]


# Building the blocks ----------------------------------------------------------------------------


def _chinese_numeral(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def heading_number(level: int, n: int) -> str:
    """一、 （一） 1. （1） ①, by depth."""
    if level == 1:
        return f"{_chinese_numeral(n)}、"
    if level == 2:
        return f"（{_chinese_numeral(n)}）"
    if level == 3:
        return f"{n}."
    if level == 4:
        return f"（{n}）"
    return _CIRCLED[n - 1] if n <= len(_CIRCLED) else f"({n})"


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _blocks(
    spec: TemplateSpec, sections: Sequence[Section], level: int, fill: Any, window: Window, naming: Naming
) -> list[Block]:
    blocks: list[Block] = []
    counter = 0
    for section in sections:
        auto_lines, auto_children = _auto(spec, section.auto, window, naming) if section.auto else ([], [])
        paragraphs = [fill(p) for p in _paragraphs(section.body)] + [fill(p) for p in auto_lines]
        children = [*section.children, *auto_children]
        heading = fill(section.heading).strip()
        if not heading:
            blocks += [Block("para", 0, text=p) for p in paragraphs]
            blocks += _blocks(spec, children, level, fill, window, naming)
            continue
        counter += 1
        number = heading_number(level, counter)
        if level == 1 or len(paragraphs) != 1:
            blocks.append(Block("heading", level, number, heading))
            blocks += [Block("para", 0, text=p) for p in paragraphs]
        else:
            inline = heading if heading.endswith(_CLOSING_PUNCTUATION) else heading + "。"
            blocks.append(Block("para", level, number, inline, paragraphs[0]))
        blocks += _blocks(spec, children, level + 1, fill, window, naming)
    return blocks


def build_plan(
    spec: TemplateSpec,
    unit: Unit | None = None,
    placeholders: Mapping[str, str] | None = None,
    sections: Sequence[Section] | None = None,
    today: date | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> PlanDocument:
    """The plan's title, numbered blocks and signature, with every placeholder filled.

    ``sections`` are the campaign's edited sections; by default the template's own. ``starts_on`` and
    ``ends_on`` are the campaign's days (by default from today for the template's usual length): every
    deadline in the plan is counted from them, never from the year the document is printed in.
    """
    naming = Naming(spec, unit)
    window = window_for(spec, starts_on or today, ends_on)
    values = plan_values(spec, unit, placeholders, today, naming, window)
    fill = filler(values)
    chosen = list(spec.sections if sections is None else sections)
    blocks = _blocks(spec, _with_missing_autos(spec, chosen), 1, fill, window, naming)
    return PlanDocument(
        title=fill(spec.title),
        blocks=tuple(blocks),
        issuer=values.get("organisation") or BLANK,
        date=values["issue_date"],
    )


def campaign_plan(campaign: Campaign, today: date | None = None) -> PlanDocument:
    """The plan of a running campaign: its own copy of the template, placeholders and sections."""
    sections = sections_from_json(campaign.sections) if campaign.sections else None
    plan = build_plan(
        campaign.spec(),
        campaign.unit,
        campaign.placeholders,
        sections,
        today,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
    )
    return replace(plan, title=campaign.title or plan.title)
