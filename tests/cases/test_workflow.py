"""The workflow: every transition tried by every role of the cast. Allowed ones succeed and write
their event in the same transaction; refused ones raise PermissionDenied (403 on the page) or a
clear ValidationError, and change nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.models import Alert, Case, CaseEvent, CaseState
from tests.cases.conftest import intake

pytestmark = pytest.mark.django_db

ROLES = [
    "school_admin",
    "college_admin",
    "counsellor",
    "police_liaison",
    "auditor",
    "student",
    "parent",
    "outsider",
]
ALLOWED = {"police_liaison"}


def case_in(cast, state: str) -> Case:
    """A case of 张三 brought to ``state`` through the actions themselves."""
    if state == CaseState.REPORTED:
        # Money moved three days ago: outside the stop-payment window, so no alert.
        old = intake(cast.cs2301, cast.student, now=timezone.now() - timedelta(days=3))
        return actions.report_case(old, cast.counsellor)
    case = actions.report_case(intake(cast.cs2301, cast.student), cast.counsellor)
    assert case.state == CaseState.ALERTED
    if state in (CaseState.FILED, CaseState.INVESTIGATING):
        case = actions.change_state(case, CaseState.FILED, cast.police_liaison, police_case_number="J1")
    if state == CaseState.INVESTIGATING:
        case = actions.change_state(case, CaseState.INVESTIGATING, cast.police_liaison)
    return case


def extra(to: str) -> dict[str, str]:
    if to == CaseState.FILED:
        return {"police_case_number": "J2026-0001"}
    if to == CaseState.CLOSED:
        return {"outcome": "partly", "recovered_amount": "100.00", "frozen_amount": "200"}
    return {}


def snapshot(case: Case) -> tuple:
    case.refresh_from_db()
    return (
        case.state,
        case.outcome,
        case.police_case_number,
        case.recovered_amount,
        case.frozen_amount,
        case.events.count(),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("frm", "to"), list(actions.TRANSITIONS))
def test_every_transition_by_every_role(cast, role, frm, to):
    case = case_in(cast, frm)
    assert case.state == frm
    user = cast.users()[role]
    before = snapshot(case)
    if role in ALLOWED:
        changed = actions.change_state(case, to, user, **extra(to))
        assert changed.state == to
        event = case.events.order_by("-id").first()
        assert event.kind == CaseEvent.Kind.STATE and event.actor == user
        assert (event.state_before, event.state_after) == (frm, to)
        assert case.events.count() == before[-1] + 1
        assert to in (CaseState.FILED, CaseState.INVESTIGATING, CaseState.CLOSED)
    else:
        with pytest.raises(PermissionDenied):
            actions.change_state(case, to, user, **extra(to))
        assert snapshot(case) == before
        assert to not in actions.allowed_transitions(case, user)


def test_the_event_is_in_the_same_transaction(cast, monkeypatch):
    case = case_in(cast, CaseState.ALERTED)
    before = snapshot(case)

    def broken(*args, **kwargs):
        raise RuntimeError("event store down")

    monkeypatch.setattr(actions, "record_event", broken)
    with pytest.raises(RuntimeError):
        actions.change_state(case, CaseState.FILED, cast.police_liaison, police_case_number="J9")
    assert snapshot(case) == before


@pytest.mark.parametrize(
    ("outcome", "recovered", "frozen", "message"),
    [
        ("", "0", "", "结案请选择结果"),
        ("recovered", "100", "", "“全部追回”时追回金额应等于损失金额"),
        ("partly", "0", "", "“部分追回”时追回金额应大于0且小于损失金额"),
        ("partly", "1700.00", "", "“部分追回”时追回金额应大于0且小于损失金额"),
        ("unrecovered", "5", "", "“未追回”时追回金额应为0"),
        ("partly", "9999", "", "追回或冻结金额不能超过损失金额"),
        ("unrecovered", "0", "5000", "追回或冻结金额不能超过损失金额"),
        ("partly", "-1", "", "不能为负数"),
        ("partly", "1.005", "", "最多保留两位小数"),
    ],
)
def test_closing_with_inconsistent_amounts_is_refused(cast, outcome, recovered, frozen, message):
    case = case_in(cast, CaseState.INVESTIGATING)
    assert case.total_loss == Decimal("1700.00")
    before = snapshot(case)
    with pytest.raises(ValidationError) as info:
        actions.change_state(
            case,
            CaseState.CLOSED,
            cast.police_liaison,
            outcome=outcome,
            recovered_amount=recovered,
            frozen_amount=frozen,
        )
    assert message in " ".join(info.value.messages)
    assert snapshot(case) == before


def test_closing_consistently(cast):
    case = case_in(cast, CaseState.FILED)
    closed = actions.change_state(
        case, CaseState.CLOSED, cast.police_liaison, outcome="recovered", recovered_amount="1700"
    )
    assert closed.state == CaseState.CLOSED and closed.closed_at is not None
    assert closed.recovered_amount == Decimal("1700.00")
    event = closed.events.order_by("-id").first()
    assert event.detail == {
        "outcome": "recovered",
        "recovered": "1700.00",
        "frozen": "0.00",
        "alert_ended": True,
    }
    assert (
        closed.alert.status == Alert.Status.ENDED
    )  # closing ends the alert (tests/cases/alerts/test_closing.py)


def test_filing_needs_the_police_number_and_order_is_kept(cast):
    case = case_in(cast, CaseState.ALERTED)
    before = snapshot(case)
    with pytest.raises(ValidationError) as info:
        actions.change_state(case, CaseState.FILED, cast.police_liaison, police_case_number="  ")
    assert "立案请填写公安立案编号" in info.value.messages
    with pytest.raises(ValidationError) as info:
        actions.change_state(case, CaseState.INVESTIGATING, cast.police_liaison)
    assert "不能改为“侦办中”" in info.value.messages[0]
    assert snapshot(case) == before


def test_closed_is_final(cast):
    case = case_in(cast, CaseState.REPORTED)
    actions.change_state(case, CaseState.CLOSED, cast.police_liaison, outcome="unrecovered")
    before = snapshot(case)
    for to in (CaseState.FILED, CaseState.INVESTIGATING, CaseState.REPORTED):
        with pytest.raises(ValidationError):
            actions.change_state(case, to, cast.police_liaison, police_case_number="J")
    assert snapshot(case) == before


# Through the page --------------------------------------------------------------------------------


def test_state_buttons_only_for_those_who_may(client, cast):
    case = case_in(cast, CaseState.ALERTED)
    url = reverse("case_detail", args=[case.pk])
    client.force_login(cast.police_liaison)
    html = client.get(url).content.decode()
    assert 'data-to="filed"' in html and 'data-to="closed"' in html and 'data-to="investigating"' not in html
    for role in ("counsellor", "school_admin", "auditor"):
        client.force_login(cast.users()[role])
        assert "data-to=" not in client.get(url).content.decode()


def test_state_change_through_the_page(client, cast):
    case = case_in(cast, CaseState.ALERTED)
    url = reverse("case_state", args=[case.pk])
    post = {"to": "filed", "police_case_number": "J2026-7"}
    before = snapshot(case)
    client.force_login(cast.counsellor)
    assert client.post(url, post).status_code == 403
    client.force_login(cast.auditor)
    assert client.post(url, post).status_code == 403
    client.force_login(cast.outsider)
    assert client.post(url, post).status_code == 404
    assert snapshot(case) == before
    client.force_login(cast.police_liaison)
    refused = client.post(url, {"to": "filed"}, follow=True)
    assert "立案请填写公安立案编号" in refused.content.decode()
    assert snapshot(case) == before
    done = client.post(url, post, follow=True)
    assert "案件状态已改为“已立案”" in done.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.FILED and case.police_case_number == "J2026-7"
    closing = {"to": "closed", "outcome": "recovered", "recovered_amount": "5"}
    page = client.post(url, closing, follow=True).content.decode()
    assert "“全部追回”时追回金额应等于损失金额" in page
    case.refresh_from_db()
    assert case.state == CaseState.FILED
