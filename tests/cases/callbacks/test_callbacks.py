"""Callbacks to victims (回访): scheduled when a case is closed, FANZHA_CALLBACK_DAYS later, once;
recorded with the outcome by whoever may edit the case; overdue ones listed; out of scope 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.callbacks import actions as callbacks
from fanzha.cases.models import Callback, CallbackOutcome, CaseEvent, CaseState, Outcome
from tests.cases.conftest import intake

pytestmark = pytest.mark.django_db


def closed_case(cast, when=None):
    old = intake(cast.cs2301, cast.student, now=timezone.now() - timedelta(days=30))
    case = actions.report_case(old, cast.counsellor)
    return actions.change_state(
        case,
        CaseState.CLOSED,
        cast.police_liaison,
        outcome=Outcome.UNRECOVERED,
        recovered_amount="0",
        now=when,
    )


def test_closing_schedules_one_callback(cast, settings):
    settings.FANZHA_CALLBACK_DAYS = 5
    when = timezone.now() - timedelta(days=1)
    case = closed_case(cast, when)
    callback = Callback.objects.get(case=case)
    assert callback.due_on == timezone.localdate(when) + timedelta(days=5)
    assert callbacks.schedule_callback(case).pk == callback.pk  # once per case


def test_record_and_overdue(cast, client, settings):
    settings.FANZHA_CALLBACK_DAYS = 0
    case = closed_case(cast, timezone.now() - timedelta(days=3))
    callback = case.callback
    client.force_login(cast.counsellor)
    page = client.get(reverse("callback_list"))
    assert page.context["overdue"] == 1
    with pytest.raises(ValidationError):
        callbacks.record_callback(callback, "bogus", cast.counsellor)
    with pytest.raises(PermissionDenied):
        callbacks.record_callback(callback, CallbackOutcome.SATISFIED, cast.auditor)
    response = client.post(
        reverse("callback_record", args=[callback.pk]), {"outcome": "needs_help", "note": "需要法律援助"}
    )
    assert response.status_code == 302
    callback.refresh_from_db()
    assert callback.outcome == CallbackOutcome.NEEDS_HELP and callback.done_by == cast.counsellor
    assert case.events.filter(kind=CaseEvent.Kind.CALLBACK).exists()
    assert client.get(reverse("callback_list")).context["overdue"] == 0


def test_out_of_scope_is_404(cast, client):
    case = closed_case(cast)
    client.force_login(cast.outsider)
    response = client.post(reverse("callback_record", args=[case.callback.pk]), {"outcome": "satisfied"})
    assert response.status_code == 404
    assert case.number not in client.get(reverse("callback_list")).content.decode()


def test_case_page_shows_the_callback(cast, client, settings):
    settings.FANZHA_CALLBACK_DAYS = 7
    case = closed_case(cast)
    client.force_login(cast.counsellor)
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert 'id="callback"' in page and case.callback.due_on.isoformat() in page
