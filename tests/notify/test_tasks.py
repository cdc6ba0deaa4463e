"""The outbox's delivery task: queueing messages wakes exactly one delivery task however many messages a
transaction queues, and a run asks for the next one."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from fanzha.notify import actions as notify
from fanzha.notify import tasks
from fanzha.notify.models import Notification, Outbox


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


def test_deliver_outbox_sends_and_asks_for_the_retry_of_what_failed(cast, robots):
    robot = robots.wecom.add_robot()
    channel = notify.add_channel(unit=cast.uni, kind="wecom", name="群", url=robot.url)
    queue_in_app(cast.school_admin, "in-app")
    failing = notify.queue("wecom", channel, subject="群消息", body="正文", key="hook")
    robots.wecom.outage(1)

    assert tasks.deliver_outbox.call() == {"sent": 1, "failed": 1}
    assert Notification.objects.filter(user=cast.school_admin, subject="主题").count() == 1
    failing.refresh_from_db()
    assert failing.status == Outbox.Status.FAILED and failing.not_before > timezone.now()
    # The retry after the back-off is already asked for (besides the watchdog past the lease).
    assert delivery_tasks(status="READY", run_after=failing.not_before).count() == 1

    Outbox.objects.filter(pk=failing.pk).update(not_before=timezone.now())
    assert tasks.deliver_outbox.call() == {"sent": 1, "failed": 0}
    assert len(robots.wecom.exchanges) == 2 and robot.texts == ["群消息\n正文"]


def test_a_paced_robot_asks_for_a_delivery_when_its_window_ends(cast, robots):
    robot = robots.wecom.add_robot()
    channel = notify.add_channel(unit=cast.uni, kind="wecom", name="群", url=robot.url)
    for i in range(20):
        notify.queue("wecom", channel, subject="提示", body=str(i), key=f"tip:{i}")
    assert tasks.deliver_outbox.call() == {"sent": 18, "failed": 0}
    waiting = Outbox.objects.filter(status=Outbox.Status.PENDING)
    assert waiting.count() == 2
    at = waiting.first().not_before
    assert delivery_tasks(status="READY", run_after=at).count() == 1


def test_the_immediate_backend_delivers_on_commit(cast, settings, django_capture_on_commit_callbacks):
    settings.FANZHA_TASKS_BACKEND = "immediate"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        row = queue_in_app(cast.counsellor, "now")
    row.refresh_from_db()
    assert row.status == Outbox.Status.SENT
    assert Notification.objects.filter(user=cast.counsellor).count() == 1
    assert not DBTaskResult.objects.exists()
