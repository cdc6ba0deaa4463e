"""The scheduler: the right jobs at the right local times (a fake clock), each slot enqueued once even
with two schedulers at once or a restart."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from fanzha.campaigns.tasks import send_reminders
from fanzha.cases.tasks import followup_reminders
from fanzha.core import jobs as registry
from fanzha.core import scheduler
from fanzha.core.models import ScheduledRun
from fanzha.learn.tasks import post_tips
from fanzha.notify.tasks import deliver_outbox
from fanzha.reports.tasks import rollup_refresh, weekly_report

TZ = ZoneInfo("Asia/Shanghai")
MINUTELY = {"deliver_outbox", "escalate_alerts", "escalate_freeze_requests", "rollup_changes"}
HOURLY = {"purge_roster_uploads"}  # each tick below falls in a new hour
QUARTERLY = {"escalate_clues"}  # every 15 minutes; each tick below falls in a new quarter hour
RECURRING = MINUTELY | HOURLY | QUARTERLY


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def jobs(runs) -> set[str]:
    return {run.job for run in runs}


def enqueued(name: str) -> list[list[str]]:
    tasks = (post_tips, rollup_refresh, send_reminders, followup_reminders, weekly_report)
    path = {t.name: t for t in tasks}[name].module_path
    return [
        r.args_kwargs["args"] for r in DBTaskResult.objects.filter(task_path=path).order_by("enqueued_at")
    ]


def test_jobs_run_at_their_local_times(db, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    # Monday 2 March 2026 just before 02:00: yesterday's daily slots are past their grace.
    assert jobs(scheduler.tick(at("2026-03-02T01:59:30"))) == RECURRING
    assert jobs(scheduler.tick(at("2026-03-02T01:59:50"))) == set()  # the same minute: nothing again
    assert jobs(scheduler.tick(at("2026-03-02T02:00:05"))) == RECURRING | {"rollup_refresh"}
    assert jobs(scheduler.tick(at("2026-03-02T03:30:00"))) == RECURRING | {"housekeeping"}
    assert jobs(scheduler.tick(at("2026-03-02T07:00:01"))) == RECURRING | {"weekly_report"}
    assert jobs(scheduler.tick(at("2026-03-02T08:00:00"))) == RECURRING | {"post_tips"}
    assert jobs(scheduler.tick(at("2026-03-02T09:00:59"))) == RECURRING | {
        "send_reminders",
        "followup_reminders",
    }
    assert jobs(scheduler.tick(at("2026-03-02T12:30:00"))) == RECURRING
    # Tuesday: the daily jobs again, the weekly report not.
    for moment in ("02:00", "07:00", "08:00", "09:00"):
        scheduler.tick(at(f"2026-03-03T{moment}:10"))
    assert enqueued("post_tips") == [["2026-03-02"], ["2026-03-03"]]
    assert enqueued("send_reminders") == [["2026-03-02"], ["2026-03-03"]]
    assert enqueued("followup_reminders") == [["2026-03-02"], ["2026-03-03"]]
    assert len(enqueued("rollup_refresh")) == 2
    assert enqueued("weekly_report") == [["2026-03-02"]]


def test_a_restart_catches_up_the_latest_missed_slot_once(db, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    settings.FANZHA_SCHEDULE_TIPS = "07:30"
    # The scheduler was down at 07:30; started at 10:00 it posts the tips late, once.
    assert "post_tips" in jobs(scheduler.tick(at("2026-03-04T10:00:00")))
    assert "post_tips" not in jobs(scheduler.tick(at("2026-03-04T10:01:00")))
    assert enqueued("post_tips") == [["2026-03-04"]]


def test_a_taken_slot_is_never_enqueued_again(db):
    job = registry.get("rollup_refresh")
    slot = at("2026-03-02T02:00:00")
    assert scheduler.enqueue_slot(job, slot, check_first=False) is not None
    # Another scheduler that checked before this one inserted: the unique row stops it.
    assert scheduler.enqueue_slot(job, slot, check_first=False) is None
    assert len(enqueued("rollup_refresh")) == 1
    assert ScheduledRun.objects.get().task_id == str(DBTaskResult.objects.get().id)


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_enqueue_each_slot_once():
    if connection.vendor != "postgresql":
        pytest.skip(
            "threads sharing SQLite's in-memory test database would lock each other; see the test above"
        )
    moment = at("2026-03-02T09:00:30")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(10)
            scheduler.tick(moment)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert ScheduledRun.objects.count() == 12
    # one task per job, though four schedulers ticked; rollup_changes had no campaign marked: no task
    assert DBTaskResult.objects.count() == 11
    assert DBTaskResult.objects.filter(task_path=deliver_outbox.module_path).count() == 1


def test_the_command_ticks_once(db, capsys):
    call_command("scheduler", "--once", "--now", "2026-03-02T09:00:30")
    out = capsys.readouterr().out
    assert "post_tips" in out and out.strip().endswith("12 job(s) enqueued")
    call_command("scheduler", "--once", "--now", "2026-03-02T09:00:45")
    assert capsys.readouterr().out.strip() == "0 job(s) enqueued"
