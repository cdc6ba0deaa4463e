"""``fanzha scheduler [--once] [--now ISO] [--interval SECONDS]``: enqueue the periodic jobs at their times.

Every minute: outbox delivery and alert escalation; daily (local time, settings ``FANZHA_SCHEDULE_*``):
tips 08:00, reminders and follow-up reminders 09:00, roll-up 02:00; Mondays 07:00 the weekly report.
Workers (``fanzha worker``) run what it enqueues. Running two schedulers is safe: each slot is one
database row, enqueued once. ``--once`` ticks once and exits (for cron, or a test with ``--now``).
"""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fanzha.core import scheduler


class Command(BaseCommand):
    help = "Enqueue the periodic background jobs (delivery, escalations, tips, reminders, roll-up, report)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="tick once and exit")
        parser.add_argument("--now", help="with --once: tick as of this moment (ISO date-time)")
        parser.add_argument("--interval", type=float, default=10.0, help="seconds between ticks")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"] and not options["once"]:
            raise CommandError("--now needs --once")
        if options["once"]:
            now = None
            if options["now"]:
                try:
                    now = datetime.fromisoformat(options["now"])
                except ValueError as exc:
                    raise CommandError(f"--now: not an ISO date-time: {options['now']}") from exc
                if timezone.is_naive(now):
                    now = timezone.make_aware(now)
            runs = scheduler.tick(now)
            for run in runs:
                self.stdout.write(f"{run.job} {timezone.localtime(run.slot).isoformat()}")
            self.stdout.write(f"{len(runs)} job(s) enqueued")
            return
        if options["interval"] <= 0:
            raise CommandError("--interval must be more than 0")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_args: stop.set())
        scheduler.run(stop, options["interval"])
