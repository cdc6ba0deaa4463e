"""``fanzha send-reminders [--now ISO] [--days N]``: queue reminders for periods about to end unmet.

Run it once or a few times a day (cron, or a scheduled task); the outbox keys make a second
run the same day a no-op. Before judging, every active campaign is synced with the unit tree,
so a unit whose hook call was lost still gets its obligations. ``deliver-outbox`` sends what
was queued.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fanzha.campaigns import actions
from fanzha.campaigns.models import Campaign


def parse_day(value: str | None) -> date:
    """``--now`` as a date: a date, or a date-time (taken in the local time zone)."""
    if not value:
        return timezone.localdate()
    try:
        if len(value) <= 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now: not an ISO date or date-time: {value}") from exc
    if timezone.is_naive(moment):
        return moment.date()
    return timezone.localdate(moment)


class Command(BaseCommand):
    help = "Queue reminders for obligations whose current period ends soon and is not yet met."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="judge as of this day (ISO date or date-time); default today")
        parser.add_argument(
            "--days",
            type=int,
            help="remind this many days before a period ends, for every frequency "
            "(default: weekly 2, monthly 5, semester 14, yearly 30, once 7, daily none)",
        )
        parser.add_argument(
            "--no-sync", action="store_true", help="do not sync obligations with the tree first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = parse_day(options["now"])
        if options["days"] is not None and options["days"] < 0:
            raise CommandError("--days must be 0 or more")
        if not options["no_sync"]:
            for campaign in Campaign.objects.filter(status=Campaign.Status.ACTIVE):
                actions.sync_obligations(campaign)
        queued = actions.queue_reminders(today, options["days"])
        self.stdout.write(f"{queued} reminder message(s) queued for {today.isoformat()}")
