"""Callbacks to victims (回访): scheduled when a case is closed, recorded with the outcome.

Why a verb called from ``cases.actions.change_state``: closing is the one moment a callback becomes due,
and the ledger's own object sets it off (as a report opens the follow-up). Reopening and closing again
keeps the first callback; one already made is never rescheduled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.org.scope import Cap, in_scope

from ..events import record_event
from ..models import Callback, CallbackOutcome, Case, CaseEvent


def schedule_callback(case: Case, now: datetime | None = None, days: int | None = None) -> Callback:
    """The case's callback, due ``FANZHA_CALLBACK_DAYS`` after ``now`` (its closing); once per case."""
    now = now or timezone.now()
    days = settings.FANZHA_CALLBACK_DAYS if days is None else days
    callback, _created = Callback.objects.get_or_create(
        case=case, defaults={"due_on": timezone.localdate(now) + timedelta(days=days)}
    )
    return callback


@transaction.atomic
def record_callback(
    callback: Callback, outcome: str, actor: Any, note: str = "", now: datetime | None = None
) -> Callback:
    """Record the callback's outcome (by whoever may edit the case); may be corrected later."""
    case = callback.case
    if actor is None or not in_scope(actor, case.unit, Cap.CASE_EDIT):
        raise PermissionDenied(_("您没有权限进行此操作"))
    if outcome not in CallbackOutcome.values:
        raise ValidationError({"outcome": [_("请选择回访结果")]})
    text = (note or "").strip()
    if len(text) > 300:
        raise ValidationError({"note": [_("%(label)s最多%(n)d字") % {"label": _("备注"), "n": 300}]})
    callback.outcome = outcome
    callback.note = text
    callback.done_by = actor
    callback.done_at = now or timezone.now()
    callback.save(update_fields=["outcome", "note", "done_by", "done_at"])
    record_event(case, CaseEvent.Kind.CALLBACK, actor, outcome=outcome)
    return callback
