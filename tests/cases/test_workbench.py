"""Issue 15, Deliver 1: the case ledger's part of each role's workbench (the home page). The police
side sees its open alerts with the countdown to the acknowledgement target and the acknowledged ones
not yet resolved; counsellors and psychologists their overdue follow-ups and this week's; the
police their overdue callbacks. Every number equals the rows of the list its link opens, for the
same user, and nobody counts what lies outside their scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.alerts import actions as alert_actions
from fanzha.cases.models import Alert, Callback, FollowUp
from fanzha.org.models import Role
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


def work(client: Any, user: Any) -> dict[str, Any]:
    """The workbench items of ``user`` by label (urgent and this week's)."""
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return {w.label: w for w in [*response.context["urgent"], *response.context["week"]]}


def listed(client: Any, url: str, key: str = "rows") -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return len(response.context[key])


def report(cast: Any, make_intake: Any, unit: Any = None) -> Any:
    unit = unit or cast.cs2301
    victim = cast.student if unit == cast.cs2301 else None
    actor = cast.counsellor if unit == cast.cs2301 else cast.school_admin
    return actions.report_case(make_intake(unit, victim), actor)


def test_police_liaison_sees_open_and_unresolved_alerts_with_countdown(client, cast, make_intake):
    first = report(cast, make_intake)
    report(cast, make_intake, cast.ma2301)
    alert_actions.acknowledge_alert(first.alert, cast.police_liaison)
    items = work(client, cast.police_liaison)
    open_, acked = items["待确认的止付预警"], items["已确认未处置的预警"]
    assert (open_.count, acked.count) == (1, 1)
    assert listed(client, open_.url) == 1 and listed(client, acked.url) == 1
    # the countdown runs to the oldest open alert's acknowledgement target (10 minutes by default)
    second = Alert.objects.get(status=Alert.Status.OPEN)
    assert open_.deadline == second.raised_at + timedelta(minutes=10)
    body = client.get(reverse("home")).content.decode()
    assert f'data-deadline="{open_.deadline_iso}"' in body and "cases/countdown.js" in body
    # clues and callbacks are there too, quietly at zero
    assert items["逾期未反馈的线索"].count == 0 and items["逾期未回访"].count == 0


def test_alerts_are_not_urgent_work_for_those_who_do_not_act_on_them(client, cast, make_intake):
    report(cast, make_intake)
    for user in (cast.school_admin, cast.counsellor, cast.auditor, cast.outsider):
        assert "待确认的止付预警" not in work(client, user)


def test_a_police_officer_of_another_tree_counts_none_of_these_alerts(client, county_cast, make_intake):
    report(county_cast, make_intake)
    assert work(client, county_cast.police_liaison)["待确认的止付预警"].count == 1
    assert work(client, county_cast.police_officer)["待确认的止付预警"].count == 0


def test_overdue_and_this_weeks_follow_ups_for_counsellor_and_psychologist(client, cast, make_intake):
    psychologist = make_staff(cast.uni, "X0001", "心理老师", Role.PSYCHOLOGIST, cast.uni, kind="teacher")
    today = timezone.localdate()
    late = report(cast, make_intake)
    soon = report(cast, make_intake)
    later = report(cast, make_intake)  # next month: neither overdue nor this week
    FollowUp.objects.filter(case=later).update(next_date=today + timedelta(days=30))
    FollowUp.objects.filter(case=late).update(next_date=today - timedelta(days=3))
    FollowUp.objects.filter(case=soon).update(next_date=today + timedelta(days=2))
    for user in (psychologist, cast.counsellor):
        items = work(client, user)
        overdue, week = items["逾期的心理疏导"], items["本周的心理疏导"]
        assert (overdue.count, week.count) == (1, 1)
        assert listed(client, overdue.url, "items") == 1 and listed(client, week.url, "items") == 1
    assert "逾期的心理疏导" not in work(client, cast.police_liaison)
    assert work(client, cast.outsider).get("逾期的心理疏导") is None


def test_overdue_callbacks_equal_the_filtered_list(client, cast, make_intake):
    today = timezone.localdate()
    Callback.objects.create(case=report(cast, make_intake), due_on=today - timedelta(days=1))
    Callback.objects.create(case=report(cast, make_intake), due_on=today + timedelta(days=3))
    Callback.objects.create(case=report(cast, make_intake), due_on=today + timedelta(days=30))
    items = work(client, cast.police_liaison)
    late, week = items["逾期未回访"], items["本周要回访"]
    assert (late.count, week.count) == (1, 1)
    assert listed(client, late.url, "items") == 1 and listed(client, week.url, "items") == 1
    assert listed(client, reverse("callback_list"), "items") == 3  # unfiltered: every waiting one
