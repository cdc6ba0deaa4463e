"""``fanzha post-tips [--day ISO]``: queue the day's tip for every class chat-group schedule.

Run it once a day (cron) before the earliest posting time; running it again the same day queues
nothing more. The outbox worker (``fanzha deliver-outbox``) sends the messages at each schedule's
time, retrying failures. It also records sent tips as "tip" activities for the daily-tip work.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fanzha.learn.actions import post_daily_tips


class Command(BaseCommand):
    help = "Queue today's (or --day's) anti-fraud tip for every active chat-group schedule."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", help="the day to post for (ISO date); default today")

    def handle(self, *args: Any, **options: Any) -> None:
        day = None
        if options["day"]:
            try:
                day = date.fromisoformat(options["day"])
            except ValueError as exc:
                raise CommandError(f"--day: not an ISO date: {options['day']}") from exc
        run = post_daily_tips(day)
        self.stdout.write(
            f"{run.queued} queued, {run.existing} already queued, {len(run.skipped)} skipped, "
            f"{run.recorded} recorded as activities"
        )
        for schedule, reason in run.skipped:
            self.stderr.write(f"schedule {schedule.pk} ({schedule.unit_id}): {reason}")
