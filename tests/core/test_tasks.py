"""The background tasks: each periodic task does the real work of its command, and queueing messages
wakes exactly one delivery task however many messages a transaction queues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from fanzha.cases import actions as case_actions
from fanzha.cases.models import AlertRecipient
from fanzha.core import tasks
from fanzha.learn.models import TipPost
from fanzha.notify import actions as notify
from fanzha.notify.models import Notification, Outbox
from fanzha.reports.models import KpiCount
from tests.campaigns.engine import start
from tests.cases.conftest import intake
from tests.learn.test_tips import make_tips, schedule_for


def delivery_tasks(**filters):
    return DBTaskResult.objects.filter(task_path=tasks.deliver_outbox.module_path, **filters)


def queue_in_app(user, key: str, **kw) -> Outbox:
    return notify.queue("in_app", user, subject="主题", body="正文", key=key, **kw)


def test_many_messages_in_one_transaction_make_one_delivery_task(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            for i in range(50):
                queue_in_app(cast.school_admin, f"t:{i}")
    assert len(callbacks) == 1
    assert delivery_tasks(status="READY").count() == 1

    # Another message while that task still waits: nothing more to enqueue.
    with django_capture_on_commit_callbacks(execute=True):
        queue_in_app(cast.school_admin, "t:50")
    assert delivery_tasks().count() == 1

    # Once a worker has started it, a new message needs a new task (the running one may have passed it).
    delivery_tasks().update(status="RUNNING")
    with django_capture_on_commit_callbacks(execute=True):
        queue_in_app(cast.school_admin, "t:51")
        queue_in_app(cast.school_admin, "t:51")  # the same key again: no new row, no new request
    assert delivery_tasks(status="READY").count() == 1


def test_a_message_for_later_asks_for_a_delivery_at_its_time(cast, django_capture_on_commit_callbacks):
    later = timezone.now() + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        queue_in_app(cast.school_admin, "later", not_before=later)
    task = delivery_tasks().get()
    assert task.run_after == later
    assert not tasks.request_delivery(later + timedelta(hours=1))  # the waiting one runs before
    assert tasks.request_delivery()  # but not now: a task for now is needed
    assert delivery_tasks(status="READY").count() == 2


def test_deliver_outbox_sends_and_asks_for_the_retry_of_what_failed(cast, receiver):
    channel = notify.add_channel(unit=cast.uni, kind="wecom", name="群", url=receiver.url + "/hook")
    queue_in_app(cast.school_admin, "in-app")
    failing = notify.queue("wecom", channel, subject="群消息", body="正文", key="hook")
    receiver.status = 500

    assert tasks.deliver_outbox.call() == {"sent": 1, "failed": 1}
    assert Notification.objects.filter(user=cast.school_admin, subject="主题").count() == 1
    failing.refresh_from_db()
    assert failing.status == Outbox.Status.FAILED and failing.not_before > timezone.now()
    # The retry after the back-off is already asked for (besides the watchdog past the lease).
    assert delivery_tasks(status="READY", run_after=failing.not_before).count() == 1

    receiver.status = 200
    Outbox.objects.filter(pk=failing.pk).update(not_before=timezone.now())
    assert tasks.deliver_outbox.call() == {"sent": 1, "failed": 0}
    assert len(receiver.requests) == 2


def test_the_immediate_backend_delivers_on_commit(cast, settings, django_capture_on_commit_callbacks):
    settings.FANZHA_TASKS_BACKEND = "immediate"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        row = queue_in_app(cast.counsellor, "now")
    row.refresh_from_db()
    assert row.status == Outbox.Status.SENT
    assert Notification.objects.filter(user=cast.counsellor).count() == 1
    assert not DBTaskResult.objects.exists()


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


def test_post_tips_queues_the_days_tip(cast):
    make_tips(5)
    schedule = schedule_for(cast.cs2301)
    assert tasks.post_tips.call("2026-03-06") == 1
    assert TipPost.objects.filter(schedule=schedule, day="2026-03-06").exists()
    assert tasks.post_tips.call("2026-03-06") == 0


def test_weekly_report_goes_to_the_campaign_admins_once(cast):
    campaign = start(cast.uni)
    tasks.rollup_refresh.call()
    assert KpiCount.objects.filter(campaign=campaign).exists()

    assert tasks.weekly_report.call("2026-03-04") == 1  # a Wednesday: the week of Monday 2 March
    row = Outbox.objects.get(idempotency_key__startswith="weekly-report:")
    assert row.user == cast.school_admin
    assert row.idempotency_key.endswith(":2026-03-02")
    assert campaign.title in row.subject and "覆盖率" in row.body and "完成率" in row.body
    assert tasks.weekly_report.call("2026-03-02") == 0


@pytest.mark.parametrize("name", ["send_reminders", "followup_reminders"])
def test_daily_reminder_tasks_run_on_an_empty_world(db, name):
    assert getattr(tasks, name).call("2026-03-06") == 0


def test_housekeeping_removes_expired_sessions_and_old_slots(db):
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    from fanzha.core.models import ScheduledRun

    old, fresh = SessionStore(), SessionStore()
    old.create()
    fresh.create()
    Session.objects.filter(session_key=old.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    ScheduledRun.objects.create(job="rollup_refresh", slot=timezone.now() - timedelta(days=40))
    ScheduledRun.objects.create(job="rollup_refresh", slot=timezone.now() - timedelta(days=1))
    assert tasks.housekeeping.call() == {"sessions": 1, "slots": 1}
    assert list(Session.objects.values_list("session_key", flat=True)) == [fresh.session_key]
    assert ScheduledRun.objects.count() == 1
    assert any(job.name == "housekeeping" for job in tasks.SCHEDULE)
