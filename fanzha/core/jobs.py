"""The periodic jobs' registry: each app declares its own jobs, the scheduler runs them all.

Why a registry: core sits below every app and must not import them, yet ``fanzha scheduler`` has to
enqueue the outbox delivery (notify), the alert escalation (cases), the roll-up (reports) …
Each app registers its jobs in its ``AppConfig.ready()``; ``core.scheduler`` reads
``registered()``. As in ``core.hooks``, a job is named in one place (its app's ``ready``) and run
from one place (the scheduler), so a reader can find both.

A job only enqueues a task; the task lives in its app's ``tasks.py`` and calls the very function
the app's cron-style command calls, so cron and the worker stay interchangeable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

SLOW_QUEUE = "slow"  # long jobs (roll-up, reports, housekeeping) run apart from deliveries


@dataclass(frozen=True)
class Job:
    """A periodic job: every ``every`` minutes, or daily (on ``weekday`` only, if set) at the local
    time the setting ``at_setting`` holds. A slot missed by more than ``grace`` is not caught up."""

    name: str
    enqueue: Callable[[datetime], str]  # given the slot, enqueue; the task id ("" when none was needed)
    every: int | None = None
    at_setting: str = ""
    weekday: int | None = None
    grace: timedelta = timedelta(hours=12)

    def at(self) -> tuple[int, int]:
        hours, _sep, minutes = str(getattr(settings, self.at_setting)).partition(":")
        return int(hours), int(minutes or 0)


_jobs: dict[str, Job] = {}


def register(*jobs: Job) -> None:
    """Add ``jobs`` to the schedule. Registering the same job again is a no-op; another job under a
    name already taken is a programming error, since ``ScheduledRun`` rows are keyed by name."""
    for job in jobs:
        known = _jobs.get(job.name)
        if known is not None and known != job:
            raise ValueError(f"two periodic jobs are named {job.name!r}")
        _jobs[job.name] = job


def registered() -> tuple[Job, ...]:
    """Every registered job, in the order of registration (the order of ``INSTALLED_APPS``)."""
    return tuple(_jobs.values())


def get(name: str) -> Job:
    """The registered job called ``name`` (KeyError when there is none)."""
    return _jobs[name]


# Helpers for the tasks the jobs enqueue. Tasks take days and moments as ISO text, never personal
# data, because workers log their arguments.


def local_day(slot: datetime) -> str:
    """The slot's local day as ISO text: the argument of a daily task."""
    return timezone.localtime(slot).date().isoformat()


def day_arg(value: str | None) -> date:
    """A task's day argument (ISO text), today when absent."""
    return date.fromisoformat(value) if value else timezone.localdate()


def moment_arg(value: str | None) -> datetime:
    """A task's moment argument (ISO text), now when absent."""
    return datetime.fromisoformat(value) if value else timezone.now()
