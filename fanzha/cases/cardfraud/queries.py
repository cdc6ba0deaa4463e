"""Scoped reads of card-fraud records (涉"两卡"学生): a role granted at a unit sees the records of its
subtree (``org.scope``), nothing else; out of scope answers 404 like missing."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from fanzha.org.models import Unit
from fanzha.org.scope import Cap, path_q, scope_paths

from ..models import CardFraudRecord, CardHandling


def records_for(user: Any, cap: Cap = Cap.CASE_VIEW) -> QuerySet[CardFraudRecord]:
    """Records of students in units the user holds ``cap`` on."""
    return CardFraudRecord.objects.filter(path_q(scope_paths(user, cap), "unit__path"))


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
