"""Scoped reads of card-fraud records (涉"两卡"学生): a role granted at a unit sees the records of its
subtree (``org.scope``), nothing else; out of scope answers 404 like missing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr

from fanzha.org.models import Role, RoleGrant, Unit
from fanzha.org.scope import Cap, in_scope, path_q, scope_paths

from ..models import CardFraudRecord, CardHandling


def records_for(user: Any, cap: Cap = Cap.CASE_VIEW) -> QuerySet[CardFraudRecord]:
    """Records of students in units the user holds ``cap`` on."""
    return CardFraudRecord.objects.filter(path_q(scope_paths(user, cap), "unit__path"))


# Who may see a recorded student's name and the card details, besides ``Cap.CASE_REVEAL`` (counsellors,
# class teachers, the security office, police liaisons): the school's and the college's administrators,
# who handle the student (talk, discipline, call the parents) and so must know who it is. Bureau-level
# roles count students; they never need a name (the statistics carry none).
REVEAL_ROLES = (Role.SCHOOL_ADMIN, Role.COLLEGE_ADMIN)


def can_reveal(user: Any, row: CardFraudRecord) -> bool:
    """Whether ``user`` may reveal the student's name and the card details of ``row`` (audited by
    ``actions.reveal``): ``CASE_REVEAL`` at the student's unit, or a ``REVEAL_ROLES`` grant above it."""
    if in_scope(user, row.unit, Cap.CASE_REVEAL):
        return True
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    paths = RoleGrant.objects.filter(user=user, role__in=REVEAL_ROLES, unit__is_active=True).values_list(
        "unit__path", flat=True
    )
    return any(row.unit.path.startswith(p) for p in paths)


def tally(records: QuerySet[CardFraudRecord], unit: Unit | None = None) -> dict[str, int]:
    """The figures of the statistics: students involved, by card kind, handled, educated; one query."""
    if unit is not None:
        records = records.filter(unit__path__startswith=unit.path)
    row = records.aggregate(
        total=Count("pk"),
        students=Count("student", distinct=True),
        bank=Count("pk", filter=Q(card_kind__in=["bank", "both"])),
        phone=Count("pk", filter=Q(card_kind__in=["phone", "both"])),
        pending=Count("pk", filter=Q(handling=CardHandling.PENDING)),
        police=Count("pk", filter=Q(handling=CardHandling.POLICE)),
        educated=Count("pk", filter=~Q(education="")),
    )
    return {key: value or 0 for key, value in row.items()}


# The statistics: counts only, never a name ------------------------------------------------------------


@dataclass
class CardUnitRow:
    """One child unit's records (its whole subtree), or the unit's own (recorded at the unit itself)."""

    unit: Unit
    own: bool
    total: int
    educated: int
    handling: dict[str, int]  # CardHandling value -> records


@dataclass
class CardFigures:
    """The card-fraud part of the statistics of a unit and a period: the totals of ``tally``, the records
    by handling, and by child unit. Counts only: nothing here names a student."""

    totals: dict[str, int]
    handling: list[tuple[str, str, int]]  # (value, label, records)
    units: list[CardUnitRow]


def figures(records: QuerySet[CardFraudRecord], unit: Unit, first: date, last: date) -> CardFigures:
    """``records`` (already scoped to the user) found in ``first`` … ``last`` inside ``unit``'s subtree,
    counted as the statistics show them: three queries whatever the number of units."""
    inside = records.filter(unit__path__startswith=unit.path, found_on__gte=first, found_on__lte=last)
    totals = tally(inside)
    width = len(unit.path) + Unit.steplen
    rows = (
        inside.annotate(branch=Substr("unit__path", 1, width))
        .values("branch", "handling")
        .annotate(n=Count("pk"), educated=Count("pk", filter=~Q(education="")))
        .order_by()
    )
    found: dict[str, dict[str, Any]] = {}
    by_handling = dict.fromkeys(CardHandling.values, 0)
    for r in rows:
        entry = found.setdefault(r["branch"], {"total": 0, "educated": 0, "handling": {}})
        entry["total"] += r["n"]
        entry["educated"] += r["educated"]
        entry["handling"][r["handling"]] = entry["handling"].get(r["handling"], 0) + r["n"]
        by_handling[r["handling"]] = by_handling.get(r["handling"], 0) + r["n"]

    def row(u: Unit, own: bool = False) -> CardUnitRow:
        entry = found.get(u.path, {"total": 0, "educated": 0, "handling": {}})
        counts = {h: entry["handling"].get(h, 0) for h in CardHandling.values}
        return CardUnitRow(u, own, entry["total"], entry["educated"], counts)

    children = Unit.objects.filter(parent_path=unit.path).filter(Q(is_active=True) | Q(path__in=list(found)))
    units = [row(child) for child in children.order_by("path")]
    units.sort(key=lambda r: (-r.total, r.unit.path))
    if unit.path in found:
        units.insert(0, row(unit, own=True))
    labels = dict(CardHandling.choices)
    return CardFigures(
        totals=totals,
        handling=[(h, str(labels[h]), by_handling.get(h, 0)) for h in CardHandling.values],
        units=units,
    )
