"""The demo's clue work (篇五): a dozen clues dispatched and mostly answered, two overdue and escalated,
a warning list with dissuasion outcomes, callbacks recorded; built once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fanzha.campaigns.demo import login_user
from fanzha.cases import demo as cases_demo
from fanzha.cases.models import Callback, Clue, ClueState, DissuasionTask
from fanzha.org import demo as org_demo
from fanzha.org.models import Role
from fanzha.org.scope import Cap, in_scope

pytestmark = pytest.mark.django_db


def test_demo_police_work():
    org_demo.build_world("small", 0.02, log=lambda _m: None)
    cases_demo.build_cases(lambda _m: None)
    lines: list[str] = []
    assert cases_demo.build_police_work(lines.append) == 12
    clues = list(Clue.objects.all())
    assert len(clues) == 12 and all(c.assignee_id for c in clues)
    assert sum(c.state in (ClueState.ANSWERED, ClueState.CLOSED) for c in clues) == 8
    assert sum(c.escalated_at is not None for c in clues) == 2
    tasks = DissuasionTask.objects.all()
    assert tasks.count() == 10 and tasks.filter(closed_at__isnull=False).count() == 7
    assert tasks.filter(outcome="avoided", amount__gt=0).count() == 2
    assert Callback.objects.exists() and Callback.objects.filter(done_at__isnull=False).exists()
    # Callbacks of the past are made (the liaison's); those of the last week are left, some overdue.
    liaison = login_user(Role.POLICE_LIAISON)
    week_ago = timezone.localdate() - timedelta(days=cases_demo.CALLBACKS_LEFT_DAYS)
    old = Callback.objects.filter(due_on__lt=week_ago).select_related("case__unit")
    mine = [c for c in old if in_scope(liaison, c.case.unit, Cap.CASE_EDIT)]
    assert len(mine) > 6 and all(c.done_at is not None for c in mine)
    assert all(c.done_at.date() > c.due_on for c in mine)
    assert cases_demo.build_police_work(lines.append) == 0 and "already there" in lines[-1]
    cases_demo.reset_cases(lambda _m: None)
    assert not Clue.objects.exists() and not DissuasionTask.objects.exists()
