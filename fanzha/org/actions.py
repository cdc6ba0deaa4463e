"""Every write to the organisation grid, as a verb. Views, API, commands and the importer call these.

Each function is atomic. Tree writes take a lock on the parent row (treebeard does it on
PostgreSQL; SQLite serialises writers) so paths are never computed twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext as _

from fanzha.core.models import AuditRecord

from .models import (
    Guardianship,
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
from .text import full_pinyin, initials


def _check_code(code: str) -> str:
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": _("代码不能为空")})
    if "/" in code or len(code) > 40:
        raise ValidationError({"code": _("代码不能包含“/”，且不超过40个字符")})
    return code


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
    last = Unit.objects.get_last_child(parent)
    pos = last._get_lastpos_in_path() if last else 0
    units = []
    for spec in specs:
        code = _check_code(spec.code)
        if code in taken:
            raise ValidationError({"code": _("同一上级下已有代码为 %(code)s 的单位") % {"code": code}})
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
    return unit


@transaction.atomic
def set_unit_active(unit: Unit, active: bool, actor: User | None = None) -> Unit:
    """Deactivate (or reactivate) a unit; its people and history stay."""
    if unit.is_active != active:
        Unit.objects.filter(pk=unit.pk).update(is_active=active)
        unit.is_active = active
        kind = UnitEvent.Kind.REACTIVATED if active else UnitEvent.Kind.DEACTIVATED
        UnitEvent.objects.create(unit=unit, kind=kind, actor=actor)
    return unit


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
    return person


@transaction.atomic
def add_membership(person: Person, unit: Unit, role: str = MembershipRole.MEMBER) -> Membership:
    """Put a person in a unit with a role (idempotent)."""
    if role not in MembershipRole.values:
        raise ValidationError({"role": _("未知的成员角色")})
    membership, _created = Membership.objects.get_or_create(person=person, unit=unit, role=role)
    return membership


@transaction.atomic
def remove_membership(membership: Membership) -> None:
    """Take a person out of a unit role."""
    membership.delete()


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
