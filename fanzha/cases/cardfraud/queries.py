"""Scoped reads of card-fraud records (涉"两卡"学生): a role granted at a unit sees the records of its
subtree (``org.scope``), nothing else; out of scope answers 404 like missing."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

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
