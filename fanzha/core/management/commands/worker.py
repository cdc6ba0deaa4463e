"""``fanzha worker [--queue NAME …] [--max-tasks N] [--burst] [--with-scheduler]``: run background tasks.

Runs the worker of the configured backend (``FANZHA_TASKS_BACKEND``): django-tasks-db's ``db_worker``
on the database queue, or an RQ worker (with the ``django_tasks_rq.Job`` class and RQ's scheduler, for
deferred tasks) on Redis. Start as many as you like, on as many machines: a task is run by one worker.
``--with-scheduler`` also runs ``fanzha scheduler`` in a thread, for a one-machine install.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fanzha.core import scheduler

log = logging.getLogger("fanzha.core.worker")


def queue_names() -> list[str]:
    """Every queue the default backend knows, in order."""
    return list(settings.TASKS["default"].get("QUEUES") or ["default"])


class Command(BaseCommand):
    help = "Run a background worker for the configured task backend (database queue or RQ)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue",
            action="append",
            choices=queue_names(),
            help="work on this queue (repeatable; default: all)",
        )
        parser.add_argument("--max-tasks", type=int, help="exit after this many tasks")
        parser.add_argument("--burst", action="store_true", help="run what is due, then exit")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="database queue: seconds between polls when idle"
        )
        parser.add_argument(
            "--with-scheduler", action="store_true", help="also enqueue the periodic jobs (fanzha scheduler)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        backend = settings.FANZHA_TASKS_BACKEND
        if backend == "immediate":
            raise CommandError("FANZHA_TASKS_BACKEND=immediate runs tasks where they are enqueued: no worker")
        if options["max_tasks"] is not None and options["max_tasks"] < 1:
            raise CommandError("--max-tasks must be 1 or more")
        queues = options["queue"] or queue_names()
        stop = threading.Event()
        if options["with_scheduler"]:
            threading.Thread(target=scheduler.run, args=(stop,), name="scheduler", daemon=True).start()
        log.info("worker: %s backend, queues %s", backend, ",".join(queues))
        try:
            if backend == "rq":
                call_command(
                    "rqworker",
                    *queues,
                    job_class="django_tasks_rq.Job",
                    with_scheduler=True,
                    burst=options["burst"],
                    max_jobs=options["max_tasks"],
                    verbosity=options["verbosity"],
                )
            else:
                call_command(
                    "db_worker",
                    queue_name=",".join(queues),
                    max_tasks=options["max_tasks"],
                    batch=options["burst"],
                    interval=options["interval"],
                    reload=False,
                    startup_delay=not options["burst"],
                    verbosity=options["verbosity"],
                )
        finally:
            stop.set()
