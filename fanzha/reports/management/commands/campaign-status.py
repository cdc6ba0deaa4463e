"""``fanzha campaign-status ID [--json]``: what the campaign's dashboard shows, for scripts and cron.

Each goal with its target, deadline and value; the obligations' periods done, due and overdue; the
child units' standing, worst first. Text in the active language (Chinese by default); ``--json``
prints an object with stable keys (``reports.status.as_dict``). Exit status 0; an unknown campaign
is an error.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fanzha.campaigns.models import Campaign
from fanzha.reports import queries, status


class Command(BaseCommand):
    help = "Print what a campaign's dashboard shows: goals, obligations, child units (--json for scripts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", type=int, help="the campaign's id")
        parser.add_argument("--json", action="store_true", help="a JSON object with stable keys")

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = Campaign.objects.select_related("unit").filter(pk=options["campaign"]).first()
        if campaign is None:
            raise CommandError(f"no campaign {options['campaign']}")
        result = queries.campaign_status(campaign)
        if options["json"]:
            self.stdout.write(json.dumps(status.as_dict(result), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(status.as_text(result))
