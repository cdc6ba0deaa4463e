"""The case timeline: one append-only ``CaseEvent`` row per change, written by every verb of the
ledger and its features in the transaction of the change (so the timeline is exactly what committed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from .models import Case, CaseEvent


def record_event(
    case: Case,
    kind: str,
    actor: Any = None,
    *,
    before: str = "",
    after: str = "",
    at: datetime | None = None,
    **detail: Any,
) -> CaseEvent:
    """Append one row to the case's timeline (callers hold the transaction of the change)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        state_before=before,
        state_after=after,
        actor=user,
        at=at or timezone.now(),
        detail=detail,
    )
