"""Core's own task (housekeeping) and the registry through which every app schedules its jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fanzha.core import jobs, tasks


def test_housekeeping_removes_expired_sessions_and_old_slots(db):
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    from fanzha.core.models import RateCounter, ScheduledRun

    old, fresh = SessionStore(), SessionStore()
    old.create()
    fresh.create()
    Session.objects.filter(session_key=old.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    ScheduledRun.objects.create(job="rollup_refresh", slot=timezone.now() - timedelta(days=40))
    ScheduledRun.objects.create(job="rollup_refresh", slot=timezone.now() - timedelta(days=1))
    now = int(timezone.now().timestamp())
    RateCounter.objects.create(key="a" * 64, count=5, window_ends=now - 1)  # a window that has ended
    RateCounter.objects.create(key="b" * 64, count=2, window_ends=now + 600)
    assert tasks.housekeeping.call() == {"sessions": 1, "slots": 1, "rate_counters": 1}
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["b" * 64]
    assert list(Session.objects.values_list("session_key", flat=True)) == [fresh.session_key]
    assert ScheduledRun.objects.count() == 1


def test_every_app_registers_its_own_jobs():
    owners = {job.name: job.enqueue.__module__ for job in jobs.registered()}
    assert owners == {
        "housekeeping": "fanzha.core.tasks",
        "purge_roster_uploads": "fanzha.org.roster.tasks",  # org's work lives with its roster feature
        "deliver_outbox": "fanzha.notify.tasks",
        "send_reminders": "fanzha.campaigns.tasks",
        "post_tips": "fanzha.learn.tasks",
        "escalate_alerts": "fanzha.cases.tasks",
        "escalate_freeze_requests": "fanzha.cases.tasks",  # overdue freeze requests, every minute
        "escalate_clues": "fanzha.cases.tasks",  # clues past their feedback deadline, every 15 minutes
        "followup_reminders": "fanzha.cases.tasks",
        "rollup_refresh": "fanzha.reports.tasks",
        "rollup_changes": "fanzha.reports.tasks",  # activities reach the dashboards within a minute
        "weekly_report": "fanzha.reports.tasks",
    }


def test_a_job_name_is_taken_once():
    job = jobs.get("housekeeping")
    jobs.register(job)  # the same job again: nothing changes
    assert [j.name for j in jobs.registered()].count("housekeeping") == 1
    with pytest.raises(ValueError, match="housekeeping"):
        jobs.register(jobs.Job("housekeeping", lambda slot: "", every=5))
