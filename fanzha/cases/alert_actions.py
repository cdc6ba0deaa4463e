"""The emergency stop-payment alert (紧急止付): raise, escalate, acknowledge, record the outcome.

PLACEHOLDER: the full version (recipients by tier, every channel, escalation) is being written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import Alert, Case, CaseEvent, CaseState


@transaction.atomic
def raise_alert(case: Case, actor: Any = None, now: datetime | None = None) -> Alert:
    """Raise the case's alert (once): state → alerted, messages queued to the first tier."""
    from .actions import record_event

    now = now or timezone.now()
    alert, created = Alert.objects.get_or_create(case=case, defaults={"raised_at": now})
    if created and case.state == CaseState.REPORTED:
        Case.objects.filter(pk=case.pk).update(state=CaseState.ALERTED)
        case.state = CaseState.ALERTED
        record_event(
            case, CaseEvent.Kind.ALERT_SENT, actor, before=CaseState.REPORTED, after=CaseState.ALERTED, at=now
        )
    return alert
