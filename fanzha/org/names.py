"""Names by level: what a role, a responsible member or a district is called at a given unit.

Why: one grid holds universities, schools and kindergartens, counties and city districts. The same
duty has a different name at each level: a class's teacher is its 辅导员 at a university, its 班主任
at a primary or secondary school and its 教师 at a kindergarten (the kindergarten plan, 篇一, says
教师); a county says 全县 and 县教育局 where a city district says 全区 and 区教育局. Pages, obligations,
plan documents and letters ask here instead of printing a fixed word.

A unit's level is read from the unit and the units above it (their kinds and names), so a batch of
units costs one query (``Levels``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import MembershipRole, PersonKind, Role, Unit, UnitKind

UNIVERSITY = "university"
SCHOOL = "school"
KINDERGARTEN = "kindergarten"

_BUREAUS = {UnitKind.BUREAU_PROVINCE, UnitKind.BUREAU_CITY, UnitKind.BUREAU_DISTRICT}
# A school is a university when it has colleges or its name says so (a grid may list a university's
# classes without colleges); any other school is a primary or secondary school.
_UNIVERSITY_NAME = re.compile(r"大学|学院$|高等专科学校|高专$")
# The administrative word of a place name: the last 省/市/区/县/旗 that is not part of a common word
# (a 社区 is a community, not a district).
_NOT_PLACES = ("社区", "校区", "园区", "小区", "景区", "片区", "辖区", "街区", "营区")
_PLACE = re.compile(r"(自治区|省|市|区|县|旗)")


def _teacher_labels() -> dict[str, str]:
    """The name of a class's own teacher, per level."""
    return {UNIVERSITY: _("辅导员"), SCHOOL: _("班主任"), KINDERGARTEN: _("教师")}


def _district_bureaus() -> dict[str, str]:
    """A district-level education bureau as its place calls it."""
    return {"县": _("县教育局"), "区": _("区教育局"), "旗": _("旗教育局")}


# Roles (account grants or memberships) that mean "the teacher who answers for a class".
TEACHER_ROLES = frozenset({Role.COUNSELLOR, Role.CLASS_TEACHER, MembershipRole.COUNSELLOR})


def stage_of(kinds_and_names: Iterable[tuple[str, str]]) -> str:
    """The level of a unit from itself and its ancestors ((kind, name), any order): ``UNIVERSITY``,
    ``SCHOOL``, ``KINDERGARTEN``, or "" when the unit is no part of education (police, a bank)."""
    items = list(kinds_and_names)
    kinds = {kind for kind, _name in items}
    if UnitKind.COLLEGE in kinds:
        return UNIVERSITY
    if UnitKind.KINDERGARTEN in kinds:
        return KINDERGARTEN
    schools = [name for kind, name in items if kind == UnitKind.SCHOOL]
    if any(_UNIVERSITY_NAME.search(name) for name in schools):
        return UNIVERSITY
    if schools or kinds & _BUREAUS or UnitKind.GRADE in kinds:
        return SCHOOL  # an education bureau's own plans speak of its schools' class teachers
    return ""


def place_word(name: str) -> str:
    """The administrative word of a unit's own name: 青山县教育局 → 县, 江城市城东区教育局 → 区,
    江城市教育局 → 市; "" when the name has none (城关派出所, 东门社区)."""
    cleaned = name
    for word in _NOT_PLACES:
        cleaned = cleaned.replace(word, "")
    found = _PLACE.findall(cleaned)
    return found[-1] if found else ""


@dataclass(frozen=True)
class _Info:
    stage: str
    place: str  # 县, 区, 市 … of the nearest unit whose name has one; "" if none


class Levels:
    """The level and place word of many units; their ancestors are read in one query, when first needed."""

    def __init__(self, units: Iterable[Unit | None]) -> None:
        self.units = {u.path: u for u in units if u is not None}
        self._known: dict[str, tuple[str, str]] | None = None
        self._info: dict[str, _Info] = {}

    def _load(self) -> dict[str, tuple[str, str]]:
        if self._known is None:
            known = {p: (u.kind, u.name) for p, u in self.units.items()}
            prefixes = {p[:i] for p in self.units for i in range(Unit.steplen, len(p), Unit.steplen)}
            missing = prefixes - set(known)
            if missing:
                rows = Unit.objects.filter(path__in=missing).values_list("path", "kind", "name")
                known.update({path: (kind, name) for path, kind, name in rows})
            self._known = known
        return self._known

    def _chain(self, path: str) -> list[tuple[str, str]]:
        """(kind, name) of the unit at ``path`` and its ancestors, nearest first."""
        known = self._load()
        chain = []
        for end in range(len(path), 0, -Unit.steplen):
            item = known.get(path[:end])
            if item is not None:
                chain.append(item)
        return chain

    def info(self, unit: Unit) -> _Info:
        if unit.path not in self._info:
            if unit.path not in self.units:  # a unit not named at the start: its ancestors too
                self.units[unit.path] = unit
                self._known = None
            chain = self._chain(unit.path)
            place = next((word for word in (place_word(name) for _k, name in chain) if word), "")
            self._info[unit.path] = _Info(stage_of(chain), place)
        return self._info[unit.path]

    def stage(self, unit: Unit) -> str:
        return self.info(unit).stage

    def role(self, role: str, unit: Unit | None, default: str = "") -> str:
        """The name of a role (a grant's or a membership's) at ``unit``, as its level says it."""
        if unit is not None and role in TEACHER_ROLES:
            label = _teacher_labels().get(self.stage(unit))
            if label:
                return label
        return default or neutral_role_label(role)

    def place(self, unit: Unit | None) -> str:
        """县, 区, 市 … for ``unit`` (its own name first, then the units above it); "" if none says.

        A word of the plan's own (Chinese) text ("全{locality}"), so it is not translated. Why "" and not
        a stand-in such as 区县: no stand-in reads well in every phrase (全区县, 区县局); the texts that
        use it reword their phrase instead (``campaigns.spec.place_phrases``: 全辖区, 本地, 本局)."""
        return self.info(unit).place if unit is not None else ""

    def kind(self, kind: str, unit: Unit | None) -> str:
        """A unit kind's name, with the district bureau named after ``unit``'s place (县教育局)."""
        if kind == UnitKind.BUREAU_DISTRICT and unit is not None:
            named = _district_bureaus().get(self.info(unit).place)
            if named:
                return named
        return str(UnitKind(kind).label) if kind in UnitKind.values else kind


def neutral_role_label(role: str) -> str:
    """A role's own label, without a level (a grant's role first, then a membership's)."""
    if role in Role.values:
        return str(Role(role).label)
    if role in MembershipRole.values:
        return str(MembershipRole(role).label)
    return role


def template_role_label(role: str, issuer_kinds: Iterable[str], levels: Iterable[str]) -> str:
    """A role named for a template on its own (no unit yet): a plan with colleges speaks of 辅导员;
    otherwise its first issuing level decides (a kindergarten's plan: 教师; a school's or a bureau's:
    班主任)."""
    issuers = list(issuer_kinds)
    kinds = set(issuers) | set(levels)
    if role in TEACHER_ROLES:
        stage = UNIVERSITY if UnitKind.COLLEGE in kinds else stage_of([(issuers[0], "")] if issuers else [])
        label = _teacher_labels().get(stage)
        if label:
            return label
    return neutral_role_label(role)


def template_audience_label(kind: str, issuer_kinds: Iterable[str]) -> str:
    """A person kind named for a template on its own: a kindergarten's plan is for 幼儿, not 学生."""
    issuers = list(issuer_kinds)
    if kind == PersonKind.STUDENT and issuers and stage_of([(issuers[0], "")]) == KINDERGARTEN:
        return str(_("幼儿"))
    try:
        return str(PersonKind(kind).label)
    except ValueError:
        return kind


def role_label(role: str, unit: Unit | None) -> str:
    """``Levels.role`` for one unit (one query)."""
    return Levels([unit] if unit is not None else []).role(role, unit)


def place(unit: Unit | None) -> str:
    """``Levels.place`` for one unit (one query)."""
    return Levels([unit] if unit is not None else []).place(unit)


def with_building(units: Iterable[Unit]) -> list[Unit]:
    """The units, each with ``shown_name``: a dormitory room as "一号宿舍楼 101室", since "101室" alone
    is in every building; any other unit as its name. One query for all the rooms' buildings."""
    units = list(units)
    parents = {u.path[: -Unit.steplen] for u in units if u.kind == UnitKind.DORM_ROOM and u.depth > 1}
    buildings = dict(Unit.objects.filter(path__in=parents).values_list("path", "name")) if parents else {}
    for u in units:
        building = buildings.get(u.path[: -Unit.steplen], "") if u.kind == UnitKind.DORM_ROOM else ""
        u.shown_name = f"{building} {u.name}" if building and building not in u.name else u.name  # type: ignore[attr-defined]
    return units
