"""Clues (篇五): recorded at the command centre, dispatched with a deadline, answered, closed; overdue
ones escalated by the job with messages to the centre and the receiving unit; seen by the bureau and
the receiving station only, never by schools (404 like missing)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from fanzha.cases.clues import actions
from fanzha.cases.models import Clue, ClueOutcome, ClueSource, ClueState
from fanzha.cases.tasks import JOBS
from fanzha.notify.models import Outbox

pytestmark = pytest.mark.django_db


def dispatched(c, station=None, now=None) -> Clue:
    now = now or timezone.now()
    clue = actions.record_clue(
        c.police, ClueSource.NATIONAL, "某号码频繁呼叫辖区老人", c.police_admin, "17100001111"
    )
    return actions.dispatch_clue(clue, station or c.station, c.police_admin, now=now)


def test_record_dispatch_answer_close(county_cast):
    c = county_cast
    clue = dispatched(c)
    assert clue.state == ClueState.DISPATCHED and clue.number.startswith("XS")
    # The row's own key ends the number, so two clues recorded at once never draw the same one.
    assert clue.number == "XS" + timezone.localdate().strftime("%Y%m%d") + f"{clue.pk:06d}"
    assert clue.deadline is not None and clue.deadline > timezone.now() + timedelta(days=2)
    # The station's officer is told of the new clue.
    assert Outbox.objects.filter(
        idempotency_key__startswith=f"clue:{clue.pk}:dispatch", user=c.police_officer
    )
    with pytest.raises(PermissionDenied):  # a school teacher answers for no police unit
        actions.answer_clue(clue, "x", ClueOutcome.VERIFIED, c.class_teacher)
    actions.answer_clue(clue, "已上门核实，号码已停机", ClueOutcome.VERIFIED, c.police_officer)
    clue.refresh_from_db()
    assert clue.state == ClueState.ANSWERED and clue.answered_by == c.police_officer
    with pytest.raises(PermissionDenied):
        actions.close_clue(clue, c.police_officer)  # only the command centre closes
    actions.close_clue(clue, c.police_admin)
    assert Clue.objects.get(pk=clue.pk).state == ClueState.CLOSED


def test_dispatch_only_inside_the_bureau(county_cast):
    c = county_cast
    clue = actions.record_clue(c.police, ClueSource.CALL, "群众来电", c.police_admin)
    for unit in (c.m01, c.branch, c.police, c.community):
        with pytest.raises(ValidationError):
            actions.dispatch_clue(clue, unit, c.police_admin)
    with pytest.raises(PermissionDenied):
        actions.record_clue(c.m01, ClueSource.CALL, "x", c.police_officer)
    with pytest.raises(ValidationError):
        actions.record_clue(c.police, ClueSource.CALL, "   ", c.police_admin)


def test_escalation_job_marks_and_notifies_once(county_cast):
    c = county_cast
    now = timezone.now()
    late = dispatched(c, now=now - timedelta(days=5))
    fresh = dispatched(c, c.station2, now=now)
    assert "escalate_clues" in {job.name for job in JOBS}
    assert actions.escalate_overdue_clues(now) == 1
    late.refresh_from_db()
    fresh.refresh_from_db()
    assert late.escalated_at == now and fresh.escalated_at is None
    to = set(
        Outbox.objects.filter(idempotency_key__startswith=f"clue:{late.pk}:escalate").values_list(
            "user", flat=True
        )
    )
    assert to == {c.police_admin.pk, c.police_officer.pk}
    assert actions.escalate_overdue_clues(now) == 0  # once per dispatch
    # Answered in time after all: nothing more to escalate, and it leaves the overdue list.
    actions.answer_clue(late, "已核实", ClueOutcome.HANDLED, c.police_officer)
    assert not actions.overdue_clues(now).filter(pk=late.pk).exists()


@pytest.mark.parametrize(
    "role, sees",
    [
        ("police_admin", True),
        ("police_officer", True),
        ("police_liaison", True),
        ("school_admin", False),
        ("class_teacher", False),
        ("branch_manager", False),
        ("outsider", False),
    ],
)
def test_scope_matrix(county_cast, client, role, sees):
    c = county_cast
    mine = dispatched(c)
    client.force_login(getattr(c, role))
    response = client.get(reverse("clue_detail", args=[mine.pk]))
    assert response.status_code == (200 if sees else 404)
    listing = client.get(reverse("clue_list"))
    assert listing.status_code == (200 if sees else 404)


def test_station_sees_only_its_own(county_cast, client):
    c = county_cast
    other = dispatched(c, c.station2)
    own = dispatched(c)
    client.force_login(c.police_officer)
    assert client.get(reverse("clue_detail", args=[other.pk])).status_code == 404
    page = client.get(reverse("clue_list")).content.decode()
    assert own.number in page and other.number not in page
    # The station answers its own through the page; the other one's answer is 404.
    assert (
        client.post(
            reverse("clue_answer", args=[other.pk]), {"outcome": "verified", "feedback": "x"}
        ).status_code
        == 404
    )
    response = client.post(
        reverse("clue_answer", args=[own.pk]), {"outcome": "verified", "feedback": "已核实"}
    )
    assert response.status_code == 302
    assert Clue.objects.get(pk=own.pk).state == ClueState.ANSWERED
    # Dispatching is the centre's: the station may not.
    assert client.post(reverse("clue_dispatch", args=[own.pk]), {"assignee": c.station.pk}).status_code == 404


def test_pages_record_and_dispatch(county_cast, client):
    c = county_cast
    client.force_login(c.police_admin)
    response = client.post(
        reverse("clue_new"),
        {"source": "bank", "content": "银行反馈可疑账户", "indicators": "", "case_number": ""},
    )
    assert response.status_code == 302
    clue = Clue.objects.get()
    assert clue.centre == c.police
    page = client.get(reverse("clue_detail", args=[clue.pk])).content.decode()
    assert c.station.name in page
    response = client.post(
        reverse("clue_dispatch", args=[clue.pk]), {"assignee": c.station.pk, "deadline": ""}
    )
    assert response.status_code == 302
    assert Clue.objects.get(pk=clue.pk).assignee == c.station
    response = client.post(reverse("clue_dispatch", args=[clue.pk]), {"assignee": c.m01.pk})
    assert response.status_code == 400


def test_the_periodic_task_escalates(county_cast):
    from fanzha.cases.clues.tasks import escalate_clues

    late = dispatched(county_cast, now=timezone.now() - timedelta(days=4))
    assert escalate_clues.call() == 1
    assert Clue.objects.get(pk=late.pk).escalated_at is not None
    assert escalate_clues.call() == 0
