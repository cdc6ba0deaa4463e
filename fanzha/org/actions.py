"""Every write to the organisation grid, as a verb. Views, API, commands and the importer call these.

Each function is atomic. Tree writes take a lock on the parent row (treebeard does it on
PostgreSQL; SQLite serialises writers) so paths are never computed twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext as _

from fanzha.core import hooks
from fanzha.core.models import AuditRecord

from .models import (
    AUTHORITY_KIND,
    JURISDICTION_KINDS,
    Guardianship,
    Jurisdiction,
    Membership,
    MembershipRole,
    Person,
    Role,
    RoleGrant,
    Unit,
    UnitEvent,
    UnitKind,
    User,
)
from .scope import Cap, in_tree_scope
from .text import full_pinyin, initials


def _check_code(code: str) -> str:
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": _("代码不能为空")})
    if "/" in code or len(code) > 40:
        raise ValidationError({"code": _("代码不能包含“/”，且不超过40个字符")})
    return code


def root_codes() -> set[str]:
    """The codes of every organisation (root unit): no other unit may take one."""
    return set(Unit.objects.filter(depth=1).values_list("code", flat=True))


def _root_code_error(code: str) -> ValidationError:
    return ValidationError(
        {
            "code": _(
                "代码 %(code)s 是一个组织（顶级单位）的代码，下级单位不能使用：否则按代码指定该组织时无法区分"
            )
            % {"code": code}
        }
    )


def _check_code_free(code: str, *, root: bool, exclude_pk: int | None = None) -> None:
    """Why: commands and imports name an organisation by its bare code (``--root OTH``); a unit
    elsewhere with the same code made that ambiguous, so every command naming the root failed. A
    root's code is unique among all units; any other unit may repeat codes, except a root's."""
    if root:
        taken = Unit.objects.filter(code=code).exclude(pk=exclude_pk).exists()
        if taken:
            raise ValidationError(
                {
                    "code": _("代码 %(code)s 已有单位使用：组织（顶级单位）的代码须与所有单位都不同")
                    % {"code": code}
                }
            )
    elif Unit.objects.filter(depth=1, code=code).exclude(pk=exclude_pk).exists():
        raise _root_code_error(code)


def _announce(units: Sequence[Unit]) -> None:
    """After commit, tell other apps (campaign obligations) that ``units`` appeared; see ``core.hooks``."""
    units = list(units)
    transaction.on_commit(lambda: hooks.units_added(units), robust=True)


def _members_changed(unit_ids: Iterable[int]) -> None:
    """After commit, tell other apps (the dashboards' home units and counts) that people joined, left or
    changed in these units; see ``core.hooks.membership_changed``."""
    ids = sorted(set(unit_ids))
    if ids:
        transaction.on_commit(lambda: hooks.membership_changed(ids), robust=True)


def _units_of(person_ids: Iterable[int]) -> list[int]:
    """The units these people belong to (whose members' activity or kind changes with theirs)."""
    ids = list(set(person_ids))
    units: set[int] = set()
    for start in range(0, len(ids), 5000):
        units.update(
            Membership.objects.filter(person_id__in=ids[start : start + 5000]).values_list(
                "unit_id", flat=True
            )
        )
    return sorted(units)


def _sibling_code_taken(parent_path: str, code: str, exclude_pk: int | None = None) -> bool:
    qs = Unit.objects.filter(parent_path=parent_path, code=code)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


@transaction.atomic
def create_unit(*, parent: Unit | None, name: str, code: str, kind: str, actor: User | None = None) -> Unit:
    """Add a unit under ``parent`` (or a new root organisation when ``parent`` is None)."""
    code = _check_code(code)
    if kind not in UnitKind.values:
        raise ValidationError({"kind": _("未知的单位类型")})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空")})
    parent_path = parent.path if parent else ""
    if _sibling_code_taken(parent_path, code):
        raise ValidationError({"code": _("同一上级下已有代码为 %(code)s 的单位") % {"code": code}})
    _check_code_free(code, root=parent is None)
    fields: dict[str, Any] = dict(
        name=name,
        code=code,
        kind=kind,
        parent_path=parent_path,
        initials=initials(name),
        pinyin=full_pinyin(name),
    )
    try:
        with transaction.atomic():
            if parent is None:
                unit = Unit.objects.add_root(create_kwargs=fields)
            else:
                parent.refresh_from_db()
                unit = Unit.objects.add_child(parent, create_kwargs=fields)
    except IntegrityError as exc:
        raise ValidationError({"code": _("同一上级下已有代码为 %(code)s 的单位") % {"code": code}}) from exc
    UnitEvent.objects.create(unit=unit, kind=UnitEvent.Kind.CREATED, new=f"{code} {name}", actor=actor)
    _announce([unit])
    return unit


@dataclass
class UnitSpec:
    """A unit to create in bulk: its name, code and kind."""

    name: str
    code: str
    kind: str


@transaction.atomic
def bulk_create_children(parent: Unit, specs: Sequence[UnitSpec], actor: User | None = None) -> list[Unit]:
    """Create many children of one parent in a few queries (for imports and the demo world).

    Paths come from treebeard's own path builder, continuing after the parent's last child.
    """
    parent = Unit.objects.select_for_update().get(pk=parent.pk)
    taken = set(Unit.objects.filter(parent_path=parent.path).values_list("code", flat=True))
    roots = root_codes()
    last = Unit.objects.get_last_child(parent)
    pos = last._get_lastpos_in_path() if last else 0
    units = []
    for spec in specs:
        code = _check_code(spec.code)
        if code in taken:
            raise ValidationError({"code": _("同一上级下已有代码为 %(code)s 的单位") % {"code": code}})
        if code in roots:
            raise _root_code_error(code)
        taken.add(code)
        pos += 1
        units.append(
            Unit(
                path=Unit._get_path(parent.path, parent.depth + 1, pos),
                depth=parent.depth + 1,
                numchild=0,
                name=spec.name,
                code=code,
                kind=spec.kind,
                parent_path=parent.path,
                initials=initials(spec.name),
                pinyin=full_pinyin(spec.name),
            )
        )
    created = Unit.objects.bulk_create(units, batch_size=2000)
    Unit.objects.filter(pk=parent.pk).update(numchild=F("numchild") + len(units))
    parent.numchild += len(units)
    # bulk_create returns pks on SQLite >= 3.35 and PostgreSQL; reload to be safe on both.
    by_path = {u.path: u for u in Unit.objects.filter(path__in=[u.path for u in created])}
    created = [by_path[u.path] for u in created]
    UnitEvent.objects.bulk_create(
        [
            UnitEvent(unit=u, kind=UnitEvent.Kind.CREATED, new=f"{u.code} {u.name}", actor=actor)
            for u in created
        ],
        batch_size=2000,
    )
    _announce(created)
    return created


@transaction.atomic
def rename_unit(
    unit: Unit, *, name: str | None = None, code: str | None = None, actor: User | None = None
) -> Unit:
    """Change a unit's name and/or code, keeping the old values in its history."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    if name is not None and name.strip() and name.strip() != unit.name:
        old = unit.name
        unit.name = name.strip()
        unit.initials, unit.pinyin = initials(unit.name), full_pinyin(unit.name)
        UnitEvent.objects.create(unit=unit, kind=UnitEvent.Kind.RENAMED, old=old, new=unit.name, actor=actor)
    if code is not None and code.strip() != unit.code:
        code = _check_code(code)
        if _sibling_code_taken(unit.parent_path, code, exclude_pk=unit.pk):
            raise ValidationError({"code": _("同一上级下已有代码为 %(code)s 的单位") % {"code": code}})
        _check_code_free(code, root=unit.is_root(), exclude_pk=unit.pk)
        UnitEvent.objects.create(unit=unit, kind=UnitEvent.Kind.RECODED, old=unit.code, new=code, actor=actor)
        unit.code = code
    unit.save()
    return unit


@transaction.atomic
def move_unit(unit: Unit, new_parent: Unit, actor: User | None = None) -> Unit:
    """Move a unit (and its subtree) under another parent; the old place stays in its history."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    new_parent = Unit.objects.get(pk=new_parent.pk)
    if new_parent.path.startswith(unit.path):
        raise ValidationError(_("不能把单位移动到它自己或它的下级之下"))
    if new_parent.path == unit.parent_path:
        return unit
    if _sibling_code_taken(new_parent.path, unit.code):
        raise ValidationError({"code": _("目标上级下已有代码为 %(code)s 的单位") % {"code": unit.code}})
    _check_code_free(unit.code, root=False, exclude_pk=unit.pk)  # older data may hold such a unit
    old_parent = Unit.objects.get_parent(unit)
    Unit.objects.move(unit, new_parent, "last-child")
    unit.refresh_from_db()
    Unit.objects.filter(path__startswith=unit.path).update(
        parent_path=Substr("path", 1, Length("path") - Unit.steplen)
    )
    unit.refresh_from_db()
    UnitEvent.objects.create(
        unit=unit,
        kind=UnitEvent.Kind.MOVED,
        old=f"{old_parent.code} {old_parent.name}" if old_parent else "",
        new=f"{new_parent.code} {new_parent.name}",
        actor=actor,
    )
    _announce([unit])
    return unit


@transaction.atomic
def set_unit_active(unit: Unit, active: bool, actor: User | None = None) -> Unit:
    """Deactivate (or reactivate) a unit; its people and history stay."""
    if unit.is_active != active:
        Unit.objects.filter(pk=unit.pk).update(is_active=active)
        unit.is_active = active
        kind = UnitEvent.Kind.REACTIVATED if active else UnitEvent.Kind.DEACTIVATED
        UnitEvent.objects.create(unit=unit, kind=kind, actor=actor)
        _members_changed([unit.pk])  # its members' home units move to (or back from) their other units
    return unit


# Jurisdiction (辖区) -----------------------------------------------------------------------------------


def may_assign(actor: Any, unit: Unit) -> bool:
    """Whether ``actor`` may put ``unit`` into a station's or outlet's jurisdiction.

    Only whoever administers the unit's own tree (its school or the education bureau above it, or an
    administrator over both trees): assigning hands the unit's cases to the station, so it is the
    unit's side that decides. A police administrator may not pull a school into their station (that
    would be reading someone else's cases by assigning them); they may hand one back (``may_unassign``).
    """
    return actor is not None and in_tree_scope(actor, unit, Cap.EDIT_UNITS)


def may_unassign(actor: Any, row: Jurisdiction) -> bool:
    """The unit's side, or the authority's (a station may give back a place that is not its own)."""
    return actor is not None and (
        in_tree_scope(actor, row.unit, Cap.EDIT_UNITS) or in_tree_scope(actor, row.authority, Cap.EDIT_UNITS)
    )


@transaction.atomic
def assign_jurisdiction(unit: Unit, authority: Unit, actor: Any) -> Jurisdiction:
    """Put ``unit`` (and its subtree) into the jurisdiction of ``authority``, a police station or a bank
    outlet, replacing the unit's earlier station (or outlet); audited as a unit event."""
    if not may_assign(actor, unit):
        raise PermissionDenied(_("您没有权限调整该单位的辖区"))
    if unit.kind not in JURISDICTION_KINDS:
        raise ValidationError({"unit": _("只有学校、幼儿园、社区、村、企业和市场可以划入辖区")})
    side = next((s for s, kind in AUTHORITY_KIND.items() if kind == authority.kind), None)
    if side is None:
        raise ValidationError({"authority": _("辖区单位必须是派出所或银行网点")})
    if not authority.is_active or not unit.is_active:
        raise ValidationError({"authority": _("已停用的单位不能调整辖区")})
    row = Jurisdiction.objects.select_for_update().filter(unit=unit, side=side).first()
    old = ""
    if row is not None:
        if row.authority_id == authority.pk:
            return row
        old = row.authority.name
        row.authority, row.assigned_by = authority, actor
        row.save(update_fields=["authority", "assigned_by"])
    else:
        row = Jurisdiction.objects.create(unit=unit, side=side, authority=authority, assigned_by=actor)
    UnitEvent.objects.create(
        unit=unit, kind=UnitEvent.Kind.ASSIGNED, old=old, new=authority.name, actor=actor
    )
    return row


@transaction.atomic
def unassign_jurisdiction(row: Jurisdiction, actor: Any) -> None:
    """Take the unit out of the station's (or outlet's) jurisdiction; audited as a unit event."""
    if not may_unassign(actor, row):
        raise PermissionDenied(_("您没有权限调整该单位的辖区"))
    UnitEvent.objects.create(
        unit=row.unit, kind=UnitEvent.Kind.UNASSIGNED, old=row.authority.name, actor=actor
    )
    row.delete()


PERSON_FIELDS = ("name", "kind", "gender", "birth_year", "enrolment_year", "is_active")


@transaction.atomic
def save_person(
    *,
    root: Unit,
    person: Person | None = None,
    phone: str | None = None,
    id_number: str | None = None,
    external_number: str | None = None,
    **fields: Any,
) -> Person:
    """Create or update a person. ``phone`` and ``id_number`` must already be normalised.

    ``None`` leaves a value as it is; an empty string clears it.
    """
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise TypeError(f"unknown person fields: {sorted(unknown)}")
    if person is None:
        person = Person(root=root)
    before = (person.is_active, person.kind) if person.pk else None
    for key, value in fields.items():
        setattr(person, key, value)
    if "name" in fields:
        person.initials = initials(person.name)[:60]
    if external_number is not None:
        person.external_number = external_number.strip()
    if phone is not None:
        person.set_phone(phone)
    if id_number is not None:
        person.set_id_number(id_number)
    if person.external_number:
        clash = Person.objects.filter(root=root, external_number=person.external_number)
        if person.pk:
            clash = clash.exclude(pk=person.pk)
        if clash.exists():
            raise ValidationError(
                {"external_number": _("编号 %(number)s 已被使用") % {"number": person.external_number}}
            )
    person.save()
    if before is not None and before != (person.is_active, person.kind):
        _members_changed(_units_of([person.pk]))  # counted in (or out of) their units' figures
    return person


@transaction.atomic
def enrol_person(*, unit: Unit, role: str = MembershipRole.MEMBER, **person: Any) -> Person:
    """Create a person in ``unit``'s organisation and make them a member of ``unit``, in one step.

    Why: a person with no membership lies outside every scope, so nobody could see them again.
    ``person`` takes the keyword arguments of ``save_person`` (except ``root`` and ``person``).
    """
    root = Unit.objects.get(path=unit.root_path)
    created = save_person(root=root, **person)
    add_membership(created, unit, role)
    return created


@transaction.atomic
def add_membership(person: Person, unit: Unit, role: str = MembershipRole.MEMBER) -> Membership:
    """Put a person in a unit with a role (idempotent)."""
    if role not in MembershipRole.values:
        raise ValidationError({"role": _("未知的成员角色")})
    membership, created = Membership.objects.get_or_create(person=person, unit=unit, role=role)
    if created:
        _members_changed([unit.pk])
    return membership


@transaction.atomic
def remove_membership(membership: Membership) -> None:
    """Take a person out of a unit role."""
    unit_id = membership.unit_id
    membership.delete()
    _members_changed([unit_id])


@transaction.atomic
def link_guardian(
    guardian: Person, student: Person, relation: str = Guardianship.Relation.OTHER
) -> Guardianship:
    """Record that ``guardian`` is a parent or guardian of ``student`` (idempotent; updates the relation)."""
    if guardian.pk == student.pk:
        raise ValidationError(_("不能成为自己的监护人"))
    link, created = Guardianship.objects.get_or_create(
        guardian=guardian, student=student, defaults={"relation": relation}
    )
    if not created and link.relation != relation:
        link.relation = relation
        link.save(update_fields=["relation"])
    return link


@transaction.atomic
def set_coverage(student: Person, committee_member: Person | None) -> Person:
    """Assign the class-committee member who looks after this student ("every student covered")."""
    if committee_member is not None and committee_member.pk == student.pk:
        raise ValidationError(_("不能由本人联系本人"))
    Person.objects.filter(pk=student.pk).update(covered_by=committee_member)
    student.covered_by = committee_member
    return student


@transaction.atomic
def create_account(person: Person, password: str | None, username: str | None = None) -> User:
    """Give a person a login. The username is their number (or phone hash) prefixed by their organisation."""
    if person.user_id:
        user = person.user
        assert user is not None
    else:
        base = username or f"{person.root.code}:{person.external_number or person.pk}"
        user = User(username=base[:150], first_name=person.name[:150])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if not person.user_id:
        Person.objects.filter(pk=person.pk).update(user=user)
        person.user = user
    return user


@transaction.atomic
def grant_role(user: User, unit: Unit, role: str, actor: User | None = None) -> RoleGrant:
    """Grant ``role`` at ``unit`` (covering its subtree); idempotent; audited."""
    if role not in Role.values:
        raise ValidationError({"role": _("未知的角色")})
    grant, created = RoleGrant.objects.get_or_create(
        user=user, unit=unit, role=role, defaults={"granted_by": actor}
    )
    if created and actor is not None:
        AuditRecord.objects.create(
            actor=actor,
            action=AuditRecord.Action.GRANT,
            object_type="user",
            object_id=str(user.pk),
            detail=f"{role}@{unit.pk}",
        )
    user.__dict__.pop("_fanzha_scope", None)
    return grant


@transaction.atomic
def revoke_role(grant: RoleGrant) -> None:
    """Withdraw a grant."""
    grant.user.__dict__.pop("_fanzha_scope", None)
    grant.delete()


def reveal_person_field(person: Person, field: str, actor: User) -> str:
    """Return the plain phone or ID number and leave an audit record of who saw it."""
    if field not in {"phone", "id_number"}:
        raise ValueError(field)
    value = person.phone if field == "phone" else person.id_number
    AuditRecord.objects.create(
        actor=actor,
        action=AuditRecord.Action.REVEAL,
        object_type="person",
        object_id=str(person.pk),
        detail=field,
    )
    return value


def resolve_unit(code: str, within: Iterable[Unit] | None = None) -> Unit:
    """Find a unit by code (unique code) or by a code path such as ``UNI/CS/CS2301``.

    Raises ``Unit.DoesNotExist`` or ``ValidationError`` (ambiguous) with a clear message.
    """
    parts = [p for p in code.strip().split("/") if p]
    if not parts:
        raise Unit.DoesNotExist(_("未找到单位代码 %(code)s") % {"code": code})
    qs = Unit.objects.filter(code=parts[0])
    roots = list(within) if within is not None else None
    if roots is not None:
        from .scope import path_q

        qs = qs.filter(path_q([r.path for r in roots]))
    candidates = list(qs[:2]) if len(parts) > 1 else list(qs[:3])
    if len(candidates) > 1:
        # An organisation's own code names it, even where older data gave a unit elsewhere the same
        # code (the unit verbs refuse that now); that unit is reached by its path.
        top = [unit for unit in qs.filter(depth=1)[:2]]
        if len(top) == 1:
            candidates = top
    if len(parts) == 1:
        if not candidates:
            raise Unit.DoesNotExist(_("未找到单位代码 %(code)s") % {"code": code})
        if len(candidates) > 1:
            raise ValidationError(_("单位代码 %(code)s 不唯一，请用 上级代码/代码 的形式") % {"code": code})
        return candidates[0]
    # A code path: start from the (unique) first code, then walk children.
    if len(candidates) != 1:
        if not candidates:
            raise Unit.DoesNotExist(_("未找到单位代码 %(code)s") % {"code": code})
        raise ValidationError(_("单位代码 %(code)s 不唯一，请用 上级代码/代码 的形式") % {"code": parts[0]})
    unit = candidates[0]
    for part in parts[1:]:
        try:
            unit = Unit.objects.get(parent_path=unit.path, code=part)
        except Unit.DoesNotExist as exc:
            raise Unit.DoesNotExist(_("未找到单位代码 %(code)s") % {"code": code}) from exc
    return unit


# Bulk paths: the demo world and large imports write tens of thousands of rows at a time.
# They keep the same invariants as the one-at-a-time verbs above (paths from treebeard's
# builder, parent_path, pinyin initials, encrypted + hashed + masked identifiers), in a
# few statements per batch. They need a database that returns ids from bulk inserts
# (SQLite >= 3.35, PostgreSQL).


@dataclass
class UnitTree:
    """A unit to create together with its whole subtree."""

    name: str
    code: str
    kind: str
    children: list[UnitTree] = field(default_factory=list)

    def walk(self) -> Iterator[UnitTree]:
        """This node and its descendants, depth first, parents before children."""
        yield self
        for child in self.children:
            yield from child.walk()


@transaction.atomic
def bulk_create_tree(parent: Unit, trees: Sequence[UnitTree], actor: User | None = None) -> list[Unit]:
    """Create whole subtrees under ``parent`` in one insert per 2,000 units.

    Returns the created units in the order of ``[n for t in trees for n in t.walk()]``.
    Why: ``bulk_create_children`` costs several queries per parent, which adds up to minutes
    for 40,000 units spread over 10,000 parents.
    """
    parent = Unit.objects.select_for_update().get(pk=parent.pk)
    taken = set(Unit.objects.filter(parent_path=parent.path).values_list("code", flat=True))
    roots = root_codes()
    last = Unit.objects.get_last_child(parent)
    first_pos = last._get_lastpos_in_path() if last else 0
    units: list[Unit] = []

    def add(siblings: Sequence[UnitTree], parent_path: str, depth: int, pos: int, codes: set[str]) -> None:
        for tree in siblings:
            code = _check_code(tree.code)
            if code in codes:
                raise ValidationError({"code": _("同一上级下已有代码为 %(code)s 的单位") % {"code": code}})
            if code in roots:
                raise _root_code_error(code)
            if tree.kind not in UnitKind.values:
                raise ValidationError({"kind": _("未知的单位类型")})
            codes.add(code)
            pos += 1
            path = Unit._get_path(parent_path, depth, pos)
            units.append(
                Unit(
                    path=path,
                    depth=depth,
                    numchild=len(tree.children),
                    name=tree.name,
                    code=code,
                    kind=tree.kind,
                    parent_path=parent_path,
                    initials=initials(tree.name),
                    pinyin=full_pinyin(tree.name),
                )
            )
            add(tree.children, path, depth + 1, 0, set())

    add(trees, parent.path, parent.depth + 1, first_pos, taken)
    created = Unit.objects.bulk_create(units, batch_size=2000)
    if any(u.pk is None for u in created):
        by_path = dict(Unit.objects.filter(path__in=[u.path for u in created]).values_list("path", "pk"))
        for unit in created:
            unit.pk = by_path[unit.path]
    Unit.objects.filter(pk=parent.pk).update(numchild=F("numchild") + len(trees))
    parent.numchild += len(trees)
    UnitEvent.objects.bulk_create(
        [
            UnitEvent(unit=u, kind=UnitEvent.Kind.CREATED, new=f"{u.code} {u.name}", actor=actor)
            for u in created
        ],
        batch_size=2000,
    )
    _announce(created)
    return created


@dataclass
class PersonSpec:
    """A person to create in bulk; ``phone`` and ``id_number`` already normalised (or empty)."""

    name: str
    kind: str
    external_number: str = ""
    phone: str = ""
    id_number: str = ""
    gender: str = ""
    birth_year: int | None = None
    enrolment_year: int | None = None
    covered_by_id: int | None = None  # the class-committee member who looks after this person


@transaction.atomic
def bulk_add_people(root: Unit, specs: Sequence[PersonSpec], batch_size: int = 2000) -> list[Person]:
    """Create many people of one organisation; returns them with primary keys, in order.

    Sensitive values go through ``Person.set_phone`` / ``set_id_number`` exactly as in
    ``save_person``. A clashing external number raises ``IntegrityError`` (the database
    constraint) instead of being checked row by row.
    """
    people = []
    for spec in specs:
        person = Person(
            root=root,
            name=spec.name,
            initials=initials(spec.name)[:60],
            kind=spec.kind,
            external_number=spec.external_number.strip(),
            gender=spec.gender,
            birth_year=spec.birth_year,
            enrolment_year=spec.enrolment_year,
            covered_by_id=spec.covered_by_id,
        )
        if spec.phone:
            person.set_phone(spec.phone)
        if spec.id_number:
            person.set_id_number(spec.id_number)
        people.append(person)
    created = Person.objects.bulk_create(people, batch_size=batch_size)
    if any(p.pk is None for p in created):
        raise NotImplementedError("bulk_add_people needs a database that returns ids from bulk inserts")
    return created


@transaction.atomic
def bulk_add_memberships(rows: Iterable[tuple[int, int, str]], batch_size: int = 5000) -> None:
    """Add ``(person_id, unit_id, role)`` memberships; existing ones are left alone."""
    objs = []
    for person_id, unit_id, role in rows:
        if role not in MembershipRole.values:
            raise ValidationError({"role": _("未知的成员角色")})
        objs.append(Membership(person_id=person_id, unit_id=unit_id, role=role))
    Membership.objects.bulk_create(objs, batch_size=batch_size, ignore_conflicts=True)
    _members_changed(m.unit_id for m in objs)


@transaction.atomic
def bulk_link_guardians(rows: Iterable[tuple[int, int, str]], batch_size: int = 5000) -> None:
    """Add ``(guardian_id, student_id, relation)`` links; existing ones are left alone."""
    objs = []
    for guardian_id, student_id, relation in rows:
        if guardian_id == student_id:
            raise ValidationError(_("不能成为自己的监护人"))
        objs.append(Guardianship(guardian_id=guardian_id, student_id=student_id, relation=relation))
    Guardianship.objects.bulk_create(objs, batch_size=batch_size, ignore_conflicts=True)


@transaction.atomic
def bulk_set_coverage(pairs: Iterable[tuple[int, int | None]], batch_size: int = 300) -> None:
    """Apply many ``(student_id, committee_member_id)`` assignments, like ``set_coverage``."""
    objs = []
    for student_id, member_id in pairs:
        if student_id == member_id:
            raise ValidationError(_("不能由本人联系本人"))
        objs.append(Person(pk=student_id, covered_by_id=member_id))
    Person.objects.bulk_update(objs, ["covered_by"], batch_size=batch_size)


@transaction.atomic
def bulk_create_accounts(people: Sequence[Person], password: str) -> list[User]:
    """Give logins to many people who share one initial password (the demo, a class's first sign-in).

    Why: a password hash costs about 0.3 s by design, so the hash is computed once and
    stored for every account; the accounts have the same password anyway. Usernames follow
    ``create_account``. People who already have an account keep it.
    """
    from django.contrib.auth.hashers import make_password

    todo = [p for p in people if not p.user_id]
    if not todo:
        return []
    hashed = make_password(password)
    root_codes = dict(Unit.objects.filter(pk__in={p.root_id for p in todo}).values_list("pk", "code"))
    users = [
        User(
            username=f"{root_codes[p.root_id]}:{p.external_number or p.pk}"[:150],
            first_name=p.name[:150],
            password=hashed,
        )
        for p in todo
    ]
    users = User.objects.bulk_create(users)
    for person, user in zip(todo, users, strict=True):
        person.user = user
    Person.objects.bulk_update(todo, ["user"], batch_size=300)
    return users


# Bulk verbs for the roster importer (adding people, memberships and coverage is above).

BULK_PERSON_FIELDS = frozenset(
    {
        *PERSON_FIELDS,
        "initials",
        "phone_enc",
        "phone_hash",
        "phone_masked",
        "id_number_enc",
        "id_number_hash",
        "id_number_masked",
    }
)


@transaction.atomic
def bulk_update_people(changes: Iterable[tuple[Person, Iterable[str]]], batch_size: int = 500) -> int:
    """Write the named fields of many people, one UPDATE per batch of people that changed the same fields.

    Why grouped: an edited roster usually changes a few fields of a few people; writing only
    those keeps the statements small and leaves every other value untouched.
    """
    from django.utils import timezone

    now = timezone.now()
    groups: dict[tuple[str, ...], list[Person]] = {}
    for person, fields in changes:
        names = set(fields)
        unknown = names - BULK_PERSON_FIELDS
        if unknown:
            raise TypeError(f"unknown person fields: {sorted(unknown)}")
        person.updated_at = now
        groups.setdefault(tuple(sorted(names | {"updated_at"})), []).append(person)
    count = 0
    homed: list[int] = []
    for fields, group in groups.items():
        count += Person.objects.bulk_update(group, list(fields), batch_size=batch_size)
        if {"is_active", "kind"} & set(fields):
            homed += [p.pk for p in group]
    if homed:
        _members_changed(_units_of(homed))
    return count


@transaction.atomic
def bulk_remove_memberships(ids: Iterable[int]) -> int:
    """Delete memberships by id (people moved to another class or room)."""
    ids = list(ids)
    count = 0
    units: set[int] = set()
    for start in range(0, len(ids), 5000):
        chunk = Membership.objects.filter(pk__in=ids[start : start + 5000])
        units.update(chunk.values_list("unit_id", flat=True))
        count += chunk.delete()[0]
    _members_changed(units)
    return count


def _max_query_params() -> int:
    """How many parameters one statement may carry on this database (SQLite's real limit, not 999)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        raw = connection.connection
        if raw is not None and hasattr(raw, "getlimit"):
            return int(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        return 999
    if connection.vendor == "postgresql":
        return 65535
    return connection.features.max_query_params or 999


def _insert_many(
    model: Any,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    returning: bool = False,
    ignore_conflicts: bool = False,
) -> list[int]:
    """INSERT rows whose values are already in database form, in large multi-row statements.

    Why: ``bulk_create`` compiles every value through the ORM (microseconds each) in batches of
    999 parameters on SQLite, and a 100,000-row roster writes millions of values. With
    ``returning`` the new primary keys come back in row order, as ``bulk_create`` assumes too.
    ``rows`` may be a generator: only one statement's rows are held in memory at a time.
    """
    import time
    from itertools import islice

    from django.db import connection
    from django.db.models.constants import OnConflict

    if returning and not connection.features.can_return_rows_from_bulk_insert:
        raise NotImplementedError("this database cannot return ids from a bulk insert")
    quote = connection.ops.quote_name
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    insert = connection.ops.insert_statement(on_conflict=on_conflict)
    names = ", ".join(quote(model._meta.get_field(c).column) for c in columns)
    head = f"{insert} {quote(model._meta.db_table)} ({names}) VALUES "
    tail = ""
    if ignore_conflicts:
        tail = " " + connection.ops.on_conflict_suffix_sql([], on_conflict, [], [])
    if returning:
        tail += " RETURNING " + quote(model._meta.pk.column)
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_statement = max(1, min(_max_query_params(), 30000) // len(columns))
    ids: list[int] = []
    iterator = iter(rows)
    with connection.cursor() as wrapper:
        # The driver's own cursor: with DEBUG on, Django's debug cursor would render each
        # statement with all its values (megabytes, and on SQLite extra QUOTE() queries) into
        # the query log. A short entry is logged instead, so query counts in tests still see it.
        cursor = wrapper.cursor
        while batch := list(islice(iterator, per_statement)):
            params = [value for row in batch for value in row]
            started = time.monotonic()
            with connection.wrap_database_errors:
                cursor.execute(head + ", ".join([placeholder] * len(batch)) + tail, params)
                if returning:
                    ids.extend(row[0] for row in cursor.fetchall())
            if connection.queries_logged:
                entry = f"{head}({len(batch)} rows){tail}"
                connection.queries_log.append({"sql": entry, "time": f"{time.monotonic() - started:.3f}"})
    return ids


_PERSON_INSERT_COLUMNS = (
    "root",
    "name",
    "initials",
    "kind",
    "external_number",
    "phone_enc",
    "phone_hash",
    "phone_masked",
    "id_number_enc",
    "id_number_hash",
    "id_number_masked",
    "gender",
    "birth_year",
    "enrolment_year",
    "covered_by",
    "is_active",
    "created_at",
    "updated_at",
)


@transaction.atomic
def insert_people(root: Unit, specs: Sequence[PersonSpec]) -> list[int]:
    """Create many people of one organisation fast; returns their primary keys in order.

    The same result as ``bulk_add_people`` without building a model instance per person (the
    roster importer writes 200,000 people at a time). Sensitive values go through
    ``Person.set_phone`` / ``set_id_number`` on one scratch instance, so encryption, hash and
    mask stay exactly as everywhere else. A clashing external number raises ``ValidationError``.
    """
    from django.db import connection
    from django.utils import timezone

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    scratch = Person()

    def rows() -> Iterator[tuple[Any, ...]]:
        for spec in specs:
            phone = ("", "", "")
            if spec.phone:
                scratch.set_phone(spec.phone)
                phone = (scratch.phone_enc, scratch.phone_hash, scratch.phone_masked)
            id_number = ("", "", "")
            if spec.id_number:
                scratch.set_id_number(spec.id_number)
                id_number = (scratch.id_number_enc, scratch.id_number_hash, scratch.id_number_masked)
            yield (
                root.pk,
                spec.name,
                initials(spec.name)[:60],
                spec.kind,
                spec.external_number.strip(),
                *phone,
                *id_number,
                spec.gender,
                spec.birth_year,
                spec.enrolment_year,
                spec.covered_by_id,
                True,
                now,
                now,
            )

    try:
        with transaction.atomic():
            return _insert_many(Person, _PERSON_INSERT_COLUMNS, rows(), returning=True)
    except IntegrityError as exc:
        raise ValidationError({"external_number": _("编号已被使用")}) from exc


@transaction.atomic
def insert_memberships(items: Iterable[tuple[int, int, str]]) -> int:
    """Add many (person id, unit id, role) memberships fast; ones that already exist are left alone."""
    from django.db import connection
    from django.utils import timezone

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    roles = set(MembershipRole.values)  # the property builds a new list on every access
    rows = []
    for person_id, unit_id, role in items:
        if role not in roles:
            raise ValidationError({"role": _("未知的成员角色")})
        rows.append((person_id, unit_id, role, now))
    _insert_many(Membership, ("person", "unit", "role", "created_at"), rows, ignore_conflicts=True)
    _members_changed(row[1] for row in rows)
    return len(rows)


@transaction.atomic
def bulk_assign_coverage(pairs: Iterable[tuple[int, int | None]]) -> int:
    """Set the covering class-committee member of many students, one UPDATE per member.

    Why not ``bulk_set_coverage``: its CASE-per-row UPDATE is slow for 100,000 students, while
    a class has one or a few members covering thirty students each.
    """
    by_member: dict[int | None, list[int]] = {}
    for student_id, member_id in pairs:
        if student_id == member_id:
            raise ValidationError(_("不能由本人联系本人"))
        by_member.setdefault(member_id, []).append(student_id)
    count = 0
    for member_id, students in by_member.items():
        for start in range(0, len(students), 5000):
            chunk = students[start : start + 5000]
            count += Person.objects.filter(pk__in=chunk).update(covered_by_id=member_id)
    return count


@transaction.atomic
def bulk_upsert_guardians(links: Iterable[tuple[int, int, str]]) -> int:
    """Record (guardian id, student id, relation) links: new ones created, changed relations updated.

    Unlike ``bulk_link_guardians`` an existing link takes the new relation, as ``link_guardian`` does.
    """
    wanted: dict[tuple[int, int], str] = {}
    relations = set(Guardianship.Relation.values)
    for guardian_id, student_id, relation in links:
        if guardian_id == student_id:
            raise ValidationError(_("不能成为自己的监护人"))
        if relation not in relations:
            raise ValidationError({"relation": _("未知的监护关系")})
        wanted[(guardian_id, student_id)] = relation
    if not wanted:
        return 0
    students = sorted({s for _g, s in wanted})
    existing: dict[tuple[int, int], Guardianship] = {}
    for start in range(0, len(students), 5000):
        for link in Guardianship.objects.filter(student_id__in=students[start : start + 5000]):
            existing[(link.guardian_id, link.student_id)] = link
    new: list[tuple[int, int, str]] = []
    changed: list[Guardianship] = []
    for (guardian_id, student_id), relation in wanted.items():
        found = existing.get((guardian_id, student_id))
        if found is None:
            new.append((guardian_id, student_id, relation))
        elif found.relation != relation:
            found.relation = relation
            changed.append(found)
    _insert_many(Guardianship, ("guardian", "student", "relation"), new, ignore_conflicts=True)
    Guardianship.objects.bulk_update(changed, ["relation"], batch_size=500)
    return len(new) + len(changed)
