"""Item 22: closing a case ends its alert. The alert leaves the police queue (the list's default view),
never escalates again, loses its buttons on the alert page and the case page, and the page says why it
ended; the migration ends the alerts of cases closed before."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.alerts import actions as alert_actions
from fanzha.cases.alerts import views as alert_views
from fanzha.cases.models import Alert, AlertRecipient, Case, CaseState, Outcome

pytestmark = pytest.mark.django_db


def report(cast: Any, make_intake: Any, now: Any = None) -> Case:
    return actions.report_case(make_intake(cast.cs2301, cast.student, now=now), cast.counsellor, now=now)


def close(case: Case, cast: Any, now: Any = None) -> Case:
    return actions.change_state(
        case, CaseState.CLOSED, cast.police_liaison, outcome=Outcome.UNRECOVERED, note="资金已转移", now=now
    )


def test_closing_ends_an_open_alert_and_escalation_stops(cast, make_intake, settings):
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 10
    t0 = timezone.now()
    case = report(cast, make_intake, now=t0)
    assert case.alert.status == Alert.Status.OPEN
    close(case, cast, now=t0 + timedelta(minutes=3))
    alert = Alert.objects.get(case=case)
    assert alert.status == Alert.Status.ENDED
    assert alert.ended_at == t0 + timedelta(minutes=3) and alert.next_escalation_at is None
    assert alert.acknowledged_at is None  # history kept: nobody acknowledged it
    assert alert_actions.escalate_due(t0 + timedelta(hours=2)) == 0
    assert not AlertRecipient.objects.filter(alert=alert, tier__gt=0).exists()
    with pytest.raises(ValidationError, match="已结案"):
        alert_actions.acknowledge_alert(alert, cast.police_liaison)
    with pytest.raises(ValidationError, match="已结案"):
        alert_actions.record_alert_outcome(alert, cast.police_liaison, "0", "0")


def test_closing_ends_an_acknowledged_or_resolved_alert_and_keeps_its_history(cast, make_intake):
    t0 = timezone.now()
    acked, resolved = report(cast, make_intake, now=t0), report(cast, make_intake, now=t0)
    alert_actions.acknowledge_alert(acked.alert, cast.police_liaison, now=t0 + timedelta(minutes=2))
    alert_actions.acknowledge_alert(resolved.alert, cast.police_liaison, now=t0 + timedelta(minutes=2))
    alert_actions.record_alert_outcome(resolved.alert, cast.police_liaison, "300", "0", "冻结一笔")
    for case in (acked, resolved):
        close(case, cast, now=t0 + timedelta(days=3))
        alert = Alert.objects.get(case=case)
        assert alert.status == Alert.Status.ENDED and alert.ended_at == t0 + timedelta(days=3)
        assert alert.acknowledged_at == t0 + timedelta(minutes=2)
    assert Alert.objects.get(case=resolved).outcome_note == "冻结一笔"
    event = acked.events.filter(state_after=CaseState.CLOSED).get()
    assert event.detail["alert_ended"] is True


def test_the_police_queue_hides_ended_alerts_by_default(client, cast, make_intake):
    t0 = timezone.now()
    live, done = report(cast, make_intake, now=t0), report(cast, make_intake, now=t0 - timedelta(minutes=5))
    close(done, cast)
    client.force_login(cast.police_liaison)
    default = client.get(reverse("alert_list"))
    assert [r["case"].number for r in default.context["rows"]] == [live.number]
    everything = client.get(reverse("alert_list"), {"status": "all"})
    assert {r["case"].number for r in everything.context["rows"]} == {live.number, done.number}
    ended = client.get(reverse("alert_list"), {"status": "ended"})
    assert [r["case"].number for r in ended.context["rows"]] == [done.number]
    html = ended.content.decode()
    assert "已结束（案件已结案）" in html


def test_the_alert_page_has_no_buttons_and_says_why_it_ended(client, cast, make_intake):
    case = report(cast, make_intake)
    close(case, cast)
    client.force_login(cast.police_liaison)
    response = client.get(reverse("alert_detail", args=[case.alert.pk]))
    html = response.content.decode()
    assert not response.context["can_ack"] and not response.context["can_outcome"]
    assert 'data-testid="ack"' not in html and "登记止付结果" not in html
    assert "预警已结束" in html and "案件已于" in html and str(Outcome.UNRECOVERED.label) in html
    # A post on the old buttons changes nothing.
    before = Alert.objects.filter(pk=case.alert.pk).values().get()
    client.post(reverse("alert_ack", args=[case.alert.pk]))
    client.post(
        reverse("alert_outcome", args=[case.alert.pk]), {"frozen_amount": "1", "recovered_amount": "0"}
    )
    assert Alert.objects.filter(pk=case.alert.pk).values().get() == before


def test_the_case_pages_panel_has_no_button_once_closed(cast, make_intake):
    case = report(cast, make_intake)
    assert alert_views.panel(case, cast.police_liaison)["can_ack"]
    close(case, cast)
    case.refresh_from_db()
    p = alert_views.panel(case, cast.police_liaison)
    assert not p["can_ack"] and p["countdown"] is None and p["alert"].status == Alert.Status.ENDED


def test_the_migration_ends_the_alerts_of_cases_closed_before(cast, make_intake):
    """What a database of the previous release holds: closed cases whose alerts stayed open or
    acknowledged. The migration's function, run on those rows, ends them at the case's closing."""
    t0 = timezone.now()
    stuck_open, stuck_acked, live = (report(cast, make_intake, now=t0) for _ in range(3))
    alert_actions.acknowledge_alert(stuck_acked.alert, cast.police_liaison, now=t0 + timedelta(minutes=1))
    closed_at = t0 - timedelta(days=90)
    for case in (stuck_open, stuck_acked):
        Case.objects.filter(pk=case.pk).update(
            state=CaseState.CLOSED, outcome="unrecovered", closed_at=closed_at
        )
    Case.objects.filter(pk=stuck_open.pk).update(closed_at=None)  # an old row without the closing time
    # As the previous release left them: open (with an escalation due) and acknowledged.
    Alert.objects.filter(case=stuck_open).update(next_escalation_at=t0 + timedelta(minutes=10))

    migration = importlib.import_module("fanzha.cases.migrations.0002_alert_end_and_reason")
    migration.end_alerts_of_closed_cases(apps, None)

    ended_open = Alert.objects.get(case=stuck_open)
    assert ended_open.status == Alert.Status.ENDED and ended_open.next_escalation_at is None
    assert ended_open.ended_at == Case.objects.get(pk=stuck_open.pk).updated_at
    ended_acked = Alert.objects.get(case=stuck_acked)
    assert ended_acked.status == Alert.Status.ENDED and ended_acked.ended_at == closed_at
    assert ended_acked.acknowledged_at == t0 + timedelta(minutes=1)
    assert Alert.objects.get(case=live).status == Alert.Status.OPEN
    assert alert_actions.escalate_due(t0 + timedelta(hours=1)) == 1  # only the live one


def test_the_api_shows_the_ended_alert_and_refuses_to_acknowledge_it(cast, make_intake):
    from tests.api.conftest import API, client_for

    case = report(cast, make_intake)
    close(case, cast)
    police = client_for(cast.police_liaison)
    data = police.get(f"{API}/alerts/{case.alert.pk}/").json()
    assert data["status"] == "ended" and data["ended_at"]
    response = police.post(f"{API}/alerts/{case.alert.pk}/acknowledge/", {}, format="json")
    assert response.status_code == 400
    assert Alert.objects.get(pk=case.alert.pk).acknowledged_at is None
