"""``fanzha followup-reminders [--today YYYY-MM-DD]``: remind counsellors and psychologists of the
follow-ups due today or earlier.

Run it once a day (cron, or a scheduled task); the outbox keys hold the follow-up, the person and
the day, so a second run the same day queues nothing. ``deliver-outbox`` sends what was queued.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fanzha.cases.followup.actions import queue_followup_reminders


class Command(BaseCommand):
    help = "Queue reminders for open follow-ups whose next date is today or past."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="judge as of this day (YYYY-MM-DD); default today")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = options["today"]
        try:
            today = date.fromisoformat(raw) if raw else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--today: not an ISO date (YYYY-MM-DD): {raw}") from exc
        queued = queue_followup_reminders(today)
        self.stdout.write(f"{queued} follow-up reminder message(s) queued for {today.isoformat()}")
