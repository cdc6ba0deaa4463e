"""Exports of the case ledger: a verb, so that the page, the command and any later API refuse and
audit the same way.

Every export writes an ``AuditRecord`` (who, which unit, how many cases, revealed or not), masked
ones included: a ledger of fraud victims leaving the system is itself worth a trace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from fanzha.core.models import AuditRecord
from fanzha.org.models import Unit
from fanzha.org.scope import Cap, in_scope

from . import export, queries


@transaction.atomic
def export_ledger(
    user: Any,
    unit: Unit,
    reveal: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
) -> bytes:
    """The ledger of ``unit``'s subtree as XLSX, cases reported in [``start``, ``end``) when given;
    masked unless ``reveal``, which needs ``Cap.CASE_REVEAL`` at the unit. Audited every time."""
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not in_scope(user, unit, Cap.CASE_VIEW)
    ):
        raise PermissionDenied(_("您没有权限导出该单位的案件"))
    if reveal and not in_scope(user, unit, Cap.CASE_REVEAL):
        raise PermissionDenied(_("您没有权限导出受害人敏感信息"))
    cap = Cap.CASE_REVEAL if reveal else Cap.CASE_VIEW
    scoped = queries.cases_for(user, cap).filter(unit__path__startswith=unit.path)
    if start is not None:
        scoped = scoped.filter(reported_at__gte=start)
    if end is not None:
        scoped = scoped.filter(reported_at__lt=end)
    cases = export.load(scoped)
    data = export.export_cases(cases, reveal=reveal)
    period = f";from={start:%Y-%m-%d}" if start else ""
    period += f";to={end:%Y-%m-%d}" if end else ""
    detail = f"unit={unit.code};count={len(cases)}{period}" + (";reveal" if reveal else "")
    AuditRecord.objects.create(
        actor=user,
        action=AuditRecord.Action.EXPORT,
        object_type="cases",
        object_id=str(unit.pk),
        detail=detail[:200],
    )
    return data
