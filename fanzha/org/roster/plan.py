"""Planning a roster import: the checked rows compared with the database (units by code or path,
people by number, guardians, memberships), giving problems or a change set. Reads only; the
change set is written by ``actions.apply_plan``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from .. import actions
from ..models import Guardianship, Membership, MembershipRole, Person, PersonKind, Unit, UnitKind
from .check import RowData
from .columns import MAX_PROBLEMS, Problems, Progress, header_label

CHUNK = 5_000  # ids per IN (...) query


@dataclass(eq=False, slots=True)
class UnitNode:
    """A unit of the import subtree, existing (``pk``) or to be created (``pk`` None, synthetic path)."""

    pk: int | None
    path: str
    parent_path: str
    code: str
    kind: str
    parent: UnitNode | None = None
    created: Unit | None = None

    @property
    def id(self) -> int:
        if self.pk is not None:
            return self.pk
        assert self.created is not None, "unit not created yet"
        return self.created.pk


class _Missing(Exception):
    pass


class _Ambiguous(Exception):
    pass


class UnitIndex:
    """Every unit below the import root, in memory, resolved the way ``actions.resolve_unit`` does."""

    def __init__(self, root: Unit) -> None:
        self.by_code: dict[str, list[UnitNode]] = defaultdict(list)
        self.by_parent: dict[tuple[str, str], UnitNode] = {}
        self.pending: list[UnitNode] = []
        self.root_codes = actions.root_codes()  # a new unit may not take an organisation's code
        self.root = UnitNode(root.pk, root.path, root.parent_path, root.code, root.kind)
        self._add(self.root)
        rows = Unit.objects.filter(path__startswith=root.path).exclude(pk=root.pk)
        for pk, path, parent_path, code, kind in rows.values_list(
            "pk", "path", "parent_path", "code", "kind"
        ):
            self._add(UnitNode(pk, path, parent_path, code, kind))

    def _add(self, node: UnitNode) -> None:
        self.by_code[node.code].append(node)
        self.by_parent[(node.parent_path, node.code)] = node

    def find(self, ref: str, within: UnitNode | None = None) -> UnitNode:
        """A bare code unique below ``within`` (or the root), or a path ``A/B/C`` from a unique ``A``."""
        base = within or self.root
        parts = [p.strip() for p in ref.split("/") if p.strip()]
        if not parts:
            raise _Missing
        first = [n for n in self.by_code.get(parts[0], ()) if n.path.startswith(base.path)]
        if not first:
            raise _Missing
        if len(first) > 1:
            raise _Ambiguous
        node = first[0]
        for part in parts[1:]:
            found = self.by_parent.get((node.path, part))
            if found is None:
                raise _Missing
            node = found
        return node

    def create(self, parent: UnitNode, code: str, kind: str) -> UnitNode:
        """Plan a new unit; it resolves like an existing one for the rest of the file."""
        node = UnitNode(None, f"{parent.path}#{len(self.pending)}.", parent.path, code, kind, parent=parent)
        self.pending.append(node)
        self._add(node)
        return node


@dataclass(slots=True)
class Existing:
    """A person already in the database, as plain values (cheaper than model instances)."""

    pk: int
    name: str
    kind: str
    number: str
    gender: str
    birth_year: int | None
    enrolment_year: int | None
    phone_hash: str
    phone_masked: str
    id_hash: str
    id_masked: str
    covered_by_id: int | None
    is_active: bool
    user_id: int | None


_EXISTING_FIELDS = (
    "pk",
    "name",
    "kind",
    "external_number",
    "gender",
    "birth_year",
    "enrolment_year",
    "phone_hash",
    "phone_masked",
    "id_number_hash",
    "id_number_masked",
    "covered_by_id",
    "is_active",
    "user_id",
)


@dataclass(eq=False, slots=True)
class Target:
    """The person a row writes to: an existing one (``existing``) or a new one (``new``)."""

    existing: Existing | None = None
    spec: actions.PersonSpec | None = None
    created: int | None = None  # primary key once inserted
    changed: set[str] = field(default_factory=set)
    person: Person | None = None  # the instance written by bulk_update, built on demand
    phone: str | None = None  # plain values to encrypt at apply time
    id_number: str | None = None
    row: int = 0
    account: bool = False  # the row asks for a staff account ("开通账号")

    @property
    def id(self) -> int:
        if self.existing is not None:
            return self.existing.pk
        assert self.created is not None, "person not created yet"
        return self.created


@dataclass
class Plan:
    """What an import would change. Empty when the file matches the database."""

    root: Unit
    org: Unit
    problems: Problems = field(default_factory=Problems)
    units: list[UnitNode] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    add_memberships: list[tuple[Target, UnitNode, str]] = field(default_factory=list)
    remove_memberships: list[int] = field(default_factory=list)
    links: list[tuple[Target, Target, str]] = field(default_factory=list)
    coverage: list[tuple[Target, Target]] = field(default_factory=list)
    rows: int = 0
    covered_at_insert: int = 0
    counts: dict[str, int] | None = None  # kept when a plan with problems drops its change set

    def summary(self) -> dict[str, int]:
        """Counts for the report (keys are stable; labels live in the templates and the CLI)."""
        if self.counts is not None:
            return dict(self.counts)
        people = [t for t in self.targets if t.row]
        guardians = [t for t in self.targets if not t.row]
        return {
            "rows": self.rows,
            "people_created": sum(1 for t in people if t.spec is not None),
            "people_updated": sum(1 for t in people if t.existing is not None and t.changed),
            "people_unchanged": sum(1 for t in people if t.existing is not None and not t.changed),
            "guardians_created": sum(1 for t in guardians if t.spec is not None),
            "guardians_updated": sum(1 for t in guardians if t.existing is not None and t.changed),
            "units_created": len(self.units),
            "memberships_added": len(self.add_memberships),
            "memberships_removed": len(self.remove_memberships),
            "guardian_links": len(self.links),
            "coverage_changed": len(self.coverage) + self.covered_at_insert,
            "accounts_requested": len(self.account_targets()),
        }

    def account_targets(self) -> list[Target]:
        """The rows' people who asked for a staff account and have none yet."""
        return [t for t in self.targets if t.account and (t.existing is None or t.existing.user_id is None)]

    @property
    def is_empty(self) -> bool:
        """Nothing for ``apply_plan`` to write (accounts are opened after the import, not by the plan)."""
        counts = self.summary()
        quiet = {"rows", "people_unchanged", "accounts_requested"}
        return not any(v for k, v in counts.items() if k not in quiet)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load_existing(org: Unit, field_name: str, values: Iterable[Any], **extra: Any) -> list[Existing]:
    wanted = sorted({v for v in values if v})
    found: list[Existing] = []
    for chunk in _chunks(wanted):
        qs = Person.objects.filter(root=org, **{f"{field_name}__in": chunk}, **extra).order_by("pk")
        found.extend(Existing(*row) for row in qs.values_list(*_EXISTING_FIELDS))
    return found


def build_plan(
    rows: Sequence[RowData],
    root: Unit,
    *,
    create_units: bool = False,
    problems: Problems | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Compare the checked rows with the database and produce problems or a change set. Reads only."""
    org = root if root.depth == 1 else Unit.objects.get(path=root.root_path)
    plan = Plan(root=root, org=org, problems=problems or Problems(), rows=len(rows))
    add = plan.problems.add
    index = UnitIndex(root)

    # Everyone the file may touch, loaded in a few queries.
    by_number = {e.number: e for e in _load_existing(org, "external_number", (r.number for r in rows))}
    # Who holds each ID number (to refuse a second person with it), and in full only for rows
    # that have no number and are matched by their ID.
    id_owners: dict[str, list[int]] = defaultdict(list)
    for chunk in _chunks(sorted({r.id_hash for r in rows if r.id_hash})):
        owners = Person.objects.filter(root=org, id_number_hash__in=chunk).order_by("pk")
        for id_hash, pk in owners.values_list("id_number_hash", "pk"):
            id_owners[id_hash].append(pk)
    by_id: dict[str, list[Existing]] = defaultdict(list)
    for e in _load_existing(org, "id_number_hash", (r.id_hash for r in rows if not r.number)):
        by_id[e.id_hash].append(e)
    keyless = [r for r in rows if not r.number and not r.id_hash and r.phone_hash]
    by_phone: dict[tuple[str, str], list[Existing]] = defaultdict(list)
    for e in _load_existing(org, "phone_hash", (r.phone_hash for r in keyless)):
        by_phone[(e.kind, e.phone_hash)].append(e)
    parents: dict[str, Existing] = {}
    for e in _load_existing(org, "phone_hash", (r.guardian_hash for r in rows), kind=PersonKind.PARENT):
        parents.setdefault(e.phone_hash, e)
    file_numbers = {r.number for r in rows if r.number}
    for e in _load_existing(
        org, "external_number", (r.coverer for r in rows if r.coverer not in file_numbers)
    ):
        by_number.setdefault(e.number, e)

    matched_ids = (
        {e.pk for e in by_number.values()}
        | {e.pk for es in by_id.values() for e in es}
        | {e.pk for es in by_phone.values() for e in es}
    )
    memberships: dict[int, list[tuple[int, int, str, str, str]]] = defaultdict(list)
    for chunk in _chunks(sorted(matched_ids)):
        qs = Membership.objects.filter(person_id__in=chunk).values_list(
            "pk", "person_id", "unit_id", "role", "unit__path", "unit__kind"
        )
        for mid, person_id, unit_id, role, path, kind in qs:
            memberships[person_id].append((mid, unit_id, role, path, kind))

    def inside(existing: Existing) -> bool:
        mine = memberships.get(existing.pk, ())
        return not mine or any(path.startswith(root.path) for _m, _u, _r, path, _k in mine)

    claimed: dict[int, int] = {}
    row_targets: dict[str, Target] = {}
    all_targets: list[tuple[RowData, Target]] = []
    last_tick = time.monotonic()
    for done, row in enumerate(rows, start=1):
        if progress and done % 1000 == 0 and time.monotonic() - last_tick > 0.5:
            last_tick = time.monotonic()
            progress("plan", done, len(rows))
        class_unit = _resolve_class(row, index, create_units, add)
        dorm_unit = _resolve_dorm(row, index, create_units, add)

        # Who is this row?
        existing: Existing | None = None
        if row.number:
            existing = by_number.get(row.number)
        elif row.id_hash:
            candidates = by_id.get(row.id_hash, [])
            existing = candidates[0] if candidates else None
        elif row.phone_hash:
            candidates = by_phone.get((row.kind, row.phone_hash), [])
            candidates = [c for c in candidates if not c.number]
            if len(candidates) > 1:
                add(row.row, "phone", _("手机号对应多名已有人员：请填写学号/工号或身份证号"))
            existing = candidates[0] if len(candidates) == 1 else None
        if existing is not None:
            if not inside(existing):
                add(
                    row.row,
                    "number",
                    _("此人已属于本单位范围以外，不能在此修改（学号/工号 %(number)s）")
                    % {"number": row.number or "-"},
                )
                continue
            if existing.pk in claimed:
                add(row.row, "number", _("与第 %(row)d 行是同一人") % {"row": claimed[existing.pk]})
                continue
            claimed[existing.pk] = row.row
        if row.id_hash:
            others = [pk for pk in id_owners.get(row.id_hash, []) if existing is None or pk != existing.pk]
            if others:
                add(row.row, "id_number", _("身份证号已属于另一名已有人员"))
        for key, masked, stored in (
            ("phone", row.phone_masked, existing.phone_masked if existing else ""),
            ("id_number", row.id_masked, existing.id_masked if existing else ""),
        ):
            if masked and masked != stored:
                add(
                    row.row,
                    key,
                    _("%(column)s是脱敏后的值（含 *），只能原样保留已有人员的值")
                    % {"column": header_label(key)},
                )
        if not row.valid or plan.problems.total > MAX_PROBLEMS:
            continue

        target = _person_target(row, existing, org)
        target.account = row.account
        plan.targets.append(target)
        all_targets.append((row, target))
        if row.number:
            row_targets[row.number] = target
        _plan_memberships(plan, row, target, class_unit, dorm_unit, memberships)

    # Guardians and coverage need every row's person first.
    links_by_student: dict[int, dict[int, str]] = defaultdict(dict)
    masked_guardians: dict[tuple[int, str], list[int]] = defaultdict(list)
    student_ids = [t.existing.pk for _r, t in all_targets if t.existing is not None]
    for chunk in _chunks(student_ids):
        links = Guardianship.objects.filter(student_id__in=chunk).values_list(
            "student_id", "guardian_id", "relation", "guardian__phone_masked"
        )
        for student_id, guardian_id, relation, masked in links:
            links_by_student[student_id][guardian_id] = relation
            masked_guardians[(student_id, masked)].append(guardian_id)
    # A masked guardian phone (from an export) stands for the student's guardian with that masked phone.
    masked_pick: dict[int, int] = {}
    for row, target in all_targets:
        if row.guardian_masked and row.guardian_name:
            found_ids = []
            if target.existing is not None:
                found_ids = masked_guardians.get((target.existing.pk, row.guardian_masked), [])
            if len(found_ids) != 1:
                message = _("监护人手机是脱敏后的值（含 *），只能原样保留此学生已有的监护人")
                add(row.row, "guardian_phone", message)
            else:
                masked_pick[row.row] = found_ids[0]
    picked = {e.pk: e for e in _load_existing(org, "pk", masked_pick.values())}
    guardian_targets: dict[str, Target] = {}
    for row, target in all_targets:
        key = row.guardian_hash or (f"pk:{masked_pick[row.row]}" if row.row in masked_pick else "")
        if key and row.guardian_name:
            guardian = guardian_targets.get(key)
            if guardian is None:
                if row.guardian_hash:
                    guardian = _guardian_target(row, parents.get(row.guardian_hash), org)
                else:
                    guardian = _guardian_target(row, picked[masked_pick[row.row]], org)
                guardian_targets[key] = guardian
                plan.targets.append(guardian)
            _plan_link(plan, row, guardian, target, links_by_student)
        if row.coverer and (row.coverer in row_targets or row.coverer not in file_numbers):
            coverer = row_targets.get(row.coverer)
            if coverer is None:
                found = by_number.get(row.coverer)
                if found is None or not inside(found):
                    message = _("联系班委学号 %(number)s 不在本文件中，也不是本单位的已有人员")
                    add(row.row, "coverer", message % {"number": row.coverer})
                    continue
                coverer = Target(existing=found)
            if target.spec is not None and coverer.existing is not None:
                target.spec.covered_by_id = coverer.existing.pk  # set as the person is created
                plan.covered_at_insert += 1
            elif target.existing is None or coverer.existing is None:
                plan.coverage.append((target, coverer))
            elif target.existing.covered_by_id != coverer.existing.pk:
                plan.coverage.append((target, coverer))

    plan.units = index.pending
    if plan.problems:  # a plan with problems is never applied: keep its counts, drop the change set
        plan.counts = plan.summary()
        plan.targets, plan.add_memberships, plan.remove_memberships = [], [], []
        plan.links, plan.coverage, plan.units = [], [], []
    return plan


def _plan_link(
    plan: Plan, row: RowData, guardian: Target, student: Target, stored_links: dict[int, dict[int, str]]
) -> None:
    """Link a guardian to the row's student, unless the link is already there with the same relation."""
    if guardian.existing is not None and student.existing is not None:
        if guardian.existing.pk == student.existing.pk:
            plan.problems.add(row.row, "guardian_phone", _("监护人不能是学生本人"))
            return
        stored = stored_links[student.existing.pk].get(guardian.existing.pk)
        if stored is not None and (not row.guardian_relation or row.guardian_relation == stored):
            return
    plan.links.append((guardian, student, row.guardian_relation or Guardianship.Relation.OTHER))


def _resolve_class(
    row: RowData, index: UnitIndex, create_units: bool, add: Callable[[int, str, str], None]
) -> UnitNode | None:
    college = None
    if row.college:
        try:
            college = index.find(row.college)
        except _Missing:
            add(row.row, "college", _("未知的学院代码 %(code)s") % {"code": row.college})
            return None
        except _Ambiguous:
            add(row.row, "college", _ambiguous("college", row.college))
            return None
    if not row.klass:
        return college
    return _resolve_child(
        row,
        index,
        create_units,
        add,
        parent=college,
        key="class",
        code=row.klass,
        kind=UnitKind.CLASS,
        unknown=_("未知的班级代码 %(code)s"),
        needs_parent=_("未知的班级代码 %(code)s：要自动创建班级，请填写学院代码"),
    )


def _resolve_dorm(
    row: RowData, index: UnitIndex, create_units: bool, add: Callable[[int, str, str], None]
) -> UnitNode | None:
    building = None
    if row.building:
        try:
            building = index.find(row.building)
        except _Ambiguous:
            add(row.row, "building", _ambiguous("building", row.building))
            return None
        except _Missing:
            if not create_units:
                add(row.row, "building", _("未知的宿舍楼代码 %(code)s") % {"code": row.building})
                return None
            if _bad_new_code(row.building):
                add(row.row, "building", _new_code_message("building", row.building))
                return None
            if row.building in index.root_codes:
                add(row.row, "building", _root_code_message("building", row.building))
                return None
            building = index.create(index.root, row.building, UnitKind.DORM_BUILDING)
    if not row.room:
        return building
    return _resolve_child(
        row,
        index,
        create_units,
        add,
        parent=building,
        key="room",
        code=row.room,
        kind=UnitKind.DORM_ROOM,
        unknown=_("未知的宿舍房间代码 %(code)s"),
        needs_parent=_("未知的宿舍房间代码 %(code)s：要自动创建宿舍，请填写宿舍楼代码"),
    )


def _resolve_child(
    row: RowData,
    index: UnitIndex,
    create_units: bool,
    add: Callable[[int, str, str], None],
    *,
    parent: UnitNode | None,
    key: str,
    code: str,
    kind: str,
    unknown: str,
    needs_parent: str,
) -> UnitNode | None:
    """The class or dorm room ``code`` (column ``key``) found under ``parent``, or created there when
    ``create_units`` allows; otherwise a problem on the row (``unknown`` / ``needs_parent`` take %(code)s)."""
    try:
        return index.find(code, within=parent)
    except _Ambiguous:
        add(row.row, key, _ambiguous(key, code))
    except _Missing:
        if not create_units:
            add(row.row, key, unknown % {"code": code})
        elif parent is None:
            add(row.row, key, needs_parent % {"code": code})
        elif _bad_new_code(code):
            add(row.row, key, _new_code_message(key, code))
        elif code in index.root_codes:
            add(row.row, key, _root_code_message(key, code))
        else:
            return index.create(parent, code, kind)
    return None


def _ambiguous(key: str, code: str) -> str:
    return _("%(column)s %(code)s 不唯一：请同时填写上级代码，或写成 上级代码/代码") % {
        "column": header_label(key),
        "code": code,
    }


def _bad_new_code(code: str) -> bool:
    return "/" in code or len(code) > 40


def _new_code_message(key: str, code: str) -> str:
    return _("未知的%(column)s %(code)s，且不能用作新单位代码（不含“/”，最长40个字符）") % {
        "column": header_label(key),
        "code": code[:40],
    }


def _root_code_message(key: str, code: str) -> str:
    return _("%(column)s %(code)s 是一个组织（顶级单位）的代码，不能用作新单位的代码") % {
        "column": header_label(key),
        "code": code,
    }


def _person_target(row: RowData, existing: Existing | None, org: Unit) -> Target:
    if existing is None:
        spec = actions.PersonSpec(
            name=row.name,
            kind=row.kind,
            external_number=row.number,
            phone=row.phone or "",
            id_number=row.id_number or "",
            gender=row.gender or "",
            birth_year=row.birth_year,
            enrolment_year=row.enrolment_year,
        )
        return Target(spec=spec, row=row.row)
    target = Target(existing=existing, row=row.row)
    for name, value, stored in (
        ("name", row.name, existing.name),
        ("kind", row.kind, existing.kind),
        ("gender", row.gender, existing.gender),
        ("birth_year", row.birth_year, existing.birth_year),
        ("enrolment_year", row.enrolment_year, existing.enrolment_year),
    ):
        if value is not None and value != "" and value != stored:
            target.changed.add(name)
    if not existing.is_active:
        target.changed.add("is_active")
    if row.phone and row.phone_hash != existing.phone_hash:
        target.phone = row.phone
        target.changed.add("phone")
    if row.id_number and row.id_hash != existing.id_hash:
        target.id_number = row.id_number
        target.changed.add("id_number")
    if target.changed:
        person = Person(pk=existing.pk, root_id=org.pk)
        for name in target.changed & {"name", "kind", "gender", "birth_year", "enrolment_year"}:
            setattr(person, name, getattr(row, name))
        person.is_active = True
        target.person = person
    return target


def _guardian_target(row: RowData, existing: Existing | None, org: Unit) -> Target:
    if existing is None:
        spec = actions.PersonSpec(name=row.guardian_name, kind=PersonKind.PARENT, phone=row.guardian_phone)
        return Target(spec=spec)
    target = Target(existing=existing)
    if row.guardian_name != existing.name:
        target.changed.add("name")
    if not existing.is_active:
        target.changed.add("is_active")
    if target.changed:
        target.person = Person(pk=existing.pk, root_id=org.pk, name=row.guardian_name, is_active=True)
    return target


_DORM_KINDS = {UnitKind.DORM_BUILDING, UnitKind.DORM_ROOM}


# Roles the roster owns: a class or room change replaces these, and leaves other roles
# (counsellor, liaison, leader …, granted by hand) alone.
ROSTER_ROLES = {
    MembershipRole.MEMBER,
    MembershipRole.MONITOR,
    MembershipRole.COMMITTEE,
    MembershipRole.DORM_HEAD,
}


def _plan_memberships(
    plan: Plan,
    row: RowData,
    target: Target,
    class_unit: UnitNode | None,
    dorm_unit: UnitNode | None,
    memberships: dict[int, list[tuple[int, int, str, str, str]]],
) -> None:
    """The row's class (or college) and dormitory replace the person's roster places of the same kind."""
    role = row.role or MembershipRole.MEMBER
    slots = []
    if class_unit is not None:
        slots.append((class_unit, MembershipRole.MEMBER if role == MembershipRole.DORM_HEAD else role))
    if dorm_unit is not None:
        slots.append((dorm_unit, MembershipRole.DORM_HEAD if role == MembershipRole.DORM_HEAD else "member"))
    mine = memberships.get(target.existing.pk, []) if target.existing is not None else []
    for unit, wanted_role in slots:
        have = False
        for mid, unit_id, current_role, path, kind in mine:
            if not path.startswith(plan.root.path) or kind != unit.kind:
                continue
            if unit.pk is not None and unit_id == unit.pk and current_role == wanted_role:
                have = True
            elif current_role in ROSTER_ROLES:
                plan.remove_memberships.append(mid)
        if not have:
            plan.add_memberships.append((target, unit, wanted_role))
