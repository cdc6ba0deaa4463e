"""The case ledger's periodic tasks do the real work of their commands."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from fanzha.cases import actions as case_actions
from fanzha.cases import tasks
from fanzha.cases.models import AlertRecipient
from tests.cases.conftest import intake


def test_escalate_alerts_escalates_a_real_overdue_alert(cast, settings):
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 10
    reported = timezone.now() - timedelta(minutes=11)
    case = case_actions.report_case(
        intake(cast.cs2301, cast.student, now=reported), cast.counsellor, now=reported
    )
    assert not AlertRecipient.objects.filter(alert=case.alert, tier=1).exists()

    assert tasks.escalate_alerts.call() == 1
    case.alert.refresh_from_db()
    assert case.alert.tier == 1
    assert AlertRecipient.objects.get(alert=case.alert, tier=1).user == cast.school_admin
    assert tasks.escalate_alerts.call() == 0  # the next minute: nothing twice


def test_followup_reminders_run_on_an_empty_world(db):
    assert tasks.followup_reminders.call("2026-03-06") == 0
