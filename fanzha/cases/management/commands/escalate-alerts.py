"""``fanzha escalate-alerts [--now ISO]``: send unacknowledged stop-payment alerts one tier up.

Run it every minute (cron or a scheduled task): an alert nobody on the police side acknowledged
within ``FANZHA_ALERT_ESCALATE_MINUTES`` goes to the next contacts; past the last tier they are
reminded once. A second run (or two at once) sends nothing twice. The messages are delivered
before the command ends (unless ``FANZHA_ALERT_DELIVERY=off``: then ``deliver-outbox`` sends them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fanzha.cases.alerts.actions import escalate_due


def parse_moment(value: str | None) -> datetime:
    """``--now`` as an aware date-time (a naive one is taken in the local time zone)."""
    if not value:
        return timezone.now()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now: not an ISO date-time: {value}") from exc
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Command(BaseCommand):
    help = "Escalate stop-payment alerts that nobody acknowledged in time to the next tier of contacts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="judge as of this moment (ISO date-time); default now")

    def handle(self, *args: Any, **options: Any) -> None:
        now = parse_moment(options["now"])
        # Inline, not in a thread: this process ends right after, and a daemon thread with it.
        delivery = "off" if getattr(settings, "FANZHA_ALERT_DELIVERY", "thread") == "off" else "sync"
        count = escalate_due(now, delivery=delivery)
        self.stdout.write(f"{count} alert(s) escalated as of {now.isoformat()}")
