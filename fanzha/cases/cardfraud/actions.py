"""Every write of card-fraud records (涉"两卡"学生): recording a student, the handling and the education
given, and the audited reveal of the card details. Atomic verbs with narrow arguments; each checks the
actor's scope at the student's unit (``org.scope``) and leaves an event (append-only)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from fanzha.core.models import AuditRecord
from fanzha.org.models import Membership, Person, PersonKind, Unit
from fanzha.org.scope import Cap, in_scope

from ..models import CardFraudEvent, CardFraudRecord, CardHandling, CardInvolvement, CardKind
from .queries import can_reveal


def _require(actor: Any, unit: Unit, cap: Cap) -> None:
    if actor is None or not in_scope(actor, unit, cap):
        raise PermissionDenied(_("您没有权限进行此操作"))


def _check_handling(handling: str, education: str, educated_on: date | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if handling not in CardHandling.values:
        errors["handling"] = _("未知的处理方式")
    if educated_on is not None and educated_on > timezone.localdate():
        errors["educated_on"] = _("教育日期不能晚于今天")
    if educated_on is not None and not education.strip():
        errors["education"] = _("请写明进行了什么教育")
    return errors


@transaction.atomic
@sensitive_variables("details")
def record(
    *,
    unit: Unit,
    student: Person,
    card_kind: str,
    involvement: str,
    found_on: date,
    actor: Any,
    source: str = "",
    details: str = "",
    handling: str = CardHandling.PENDING,
    education: str = "",
    educated_on: date | None = None,
) -> CardFraudRecord:
    """Record a student involved in renting or selling cards, at the student's unit (``CASE_EDIT``)."""
    _require(actor, unit, Cap.CASE_EDIT)
    errors = _check_handling(handling, education, educated_on)
    if student.kind != PersonKind.STUDENT:
        errors["student"] = _("只能登记学生")
    elif not Membership.objects.filter(person=student, unit__path__startswith=unit.path).exists():
        errors["student"] = _("%(name)s 不是“%(unit)s”的学生") % {"name": student.name, "unit": unit.name}
    if card_kind not in CardKind.values:
        errors["card_kind"] = _("未知的卡片类型")
    if involvement not in CardInvolvement.values:
        errors["involvement"] = _("未知的涉及行为")
    if found_on > timezone.localdate():
        errors["found_on"] = _("发现日期不能晚于今天")
    if errors:
        raise ValidationError(errors)
    row = CardFraudRecord(
        unit=unit,
        student=student,
        card_kind=card_kind,
        involvement=involvement,
        found_on=found_on,
        source=source.strip()[:100],
        handling=handling,
        education=education.strip(),
        educated_on=educated_on,
        recorded_by=actor,
    )
    row.set_details(details.strip())
    row.save()
    CardFraudEvent.objects.create(record=row, kind=CardFraudEvent.Kind.RECORDED, actor=actor)
    return row


@transaction.atomic
def handle(
    row: CardFraudRecord, *, handling: str, education: str, educated_on: date | None, actor: Any
) -> CardFraudRecord:
    """Set how the student was handled and the education given; the state before is kept in the event."""
    _require(actor, row.unit, Cap.CASE_EDIT)
    errors = _check_handling(handling, education, educated_on)
    if errors:
        raise ValidationError(errors)
    current = CardFraudRecord.objects.select_for_update().get(pk=row.pk)
    before = {
        "handling": current.handling,
        "education": current.education,
        "educated_on": current.educated_on.isoformat() if current.educated_on else "",
    }
    current.handling, current.education, current.educated_on = handling, education.strip(), educated_on
    after = {
        "handling": current.handling,
        "education": current.education,
        "educated_on": educated_on.isoformat() if educated_on else "",
    }
    if before == after:
        return current
    current.save(update_fields=["handling", "education", "educated_on", "updated_at"])
    CardFraudEvent.objects.create(
        record=current, kind=CardFraudEvent.Kind.HANDLED, actor=actor, detail={"before": before}
    )
    return current


@transaction.atomic
@sensitive_variables()
def reveal(row: CardFraudRecord, actor: Any) -> dict[str, str]:
    """The student's name and number and the card details, for a role that handles the student
    (``queries.can_reveal``: ``CASE_REVEAL``, or the school's or college's administrator), audited;
    the values are returned for this one response and never written anywhere."""
    if actor is None or not can_reveal(actor, row):
        raise PermissionDenied(_("您没有权限查看学生姓名和卡片信息"))
    AuditRecord.objects.create(
        actor=actor,
        action=AuditRecord.Action.REVEAL,
        object_type="card_fraud",
        object_id=str(row.pk),
        detail="student,details",
    )
    CardFraudEvent.objects.create(record=row, kind=CardFraudEvent.Kind.REVEALED, actor=actor)
    return {"name": row.student.name, "number": row.student.external_number, "details": row.details}
