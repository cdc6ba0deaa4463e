"""``fanzha deliver-outbox [--now ISO] [--limit N] [--every SECONDS]``: send queued messages.

Without ``--every`` it delivers what is due and exits (for cron); with it, it keeps polling.
Several workers may run at once on PostgreSQL (rows are claimed with SKIP LOCKED).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fanzha.notify.delivery import deliver_pending


class Command(BaseCommand):
    help = "Deliver pending outbox messages (in-app, e-mail, chat-group robots)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="deliver as of this moment (ISO date-time); default now")
        parser.add_argument("--limit", type=int, default=500, help="at most this many messages per round")
        parser.add_argument("--every", type=float, help="keep running, polling every SECONDS")

    def handle(self, *args: Any, **options: Any) -> None:
        now = None
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(f"--now: not an ISO date-time: {options['now']}") from exc
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        while True:
            result = deliver_pending(now, limit=options["limit"])
            if result.sent or result.failed or result.deferred or not options["every"]:
                waiting = f", {result.deferred} waiting for a robot's window" if result.deferred else ""
                self.stdout.write(f"{result.sent} sent, {result.failed} failed{waiting}")
            if not options["every"]:
                return
            time.sleep(options["every"])
