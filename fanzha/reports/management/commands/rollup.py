"""``fanzha rollup``: check the dashboards' pre-aggregated counts against the raw rows and repair them.

A campaign is counted when it starts, attestation changes reach the counts at once and activity
changes within a minute (``core.hooks``); people joining or leaving units do not, so run this nightly
(cron or a systemd timer) and after a large roster import: it prints what it repaired. The current
figures come out exact; differences are booked in this week (``--history`` rewrites every week from
the attestations' dates instead).
``--compliance-only`` refreshes only the activity compliance of running campaigns, cheap enough to
run every hour.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fanzha.campaigns.models import Campaign
from fanzha.reports import kpis


class Command(BaseCommand):
    help = "Recompute the dashboards' pre-aggregated counts (home units, then every campaign)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", type=int, action="append", help="only this campaign (repeatable)")
        parser.add_argument("--compliance-only", action="store_true", help="only the activity compliance")
        parser.add_argument(
            "--history", action="store_true", help="rewrite every week's counts from the attestations' dates"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        campaigns = Campaign.objects.select_related("unit").order_by("pk")
        if options["campaign"]:
            campaigns = campaigns.filter(pk__in=options["campaign"])
            missing = set(options["campaign"]) - {c.pk for c in campaigns}
            if missing:
                raise CommandError(f"no campaign {', '.join(map(str, sorted(missing)))}")
        if options["compliance_only"]:
            for campaign in campaigns.filter(status=Campaign.Status.ACTIVE):
                started = time.perf_counter()
                rows = kpis.refresh_compliance(campaign)
                self.stdout.write(
                    f"{campaign.pk} {campaign.title}: {rows} rows, {time.perf_counter() - started:.1f} s"
                )
            return
        started = time.perf_counter()
        homes = kpis.refresh_homes()
        self.stdout.write(f"home units of {homes} people, {time.perf_counter() - started:.1f} s")
        for campaign in campaigns:
            started = time.perf_counter()
            result = kpis.rebuild(campaign, history=True if options["history"] else None)
            what = "rewritten" if result.history else "repaired"
            self.stdout.write(
                f"{campaign.pk} {campaign.title}: {result.counts} count rows {what}, "
                f"{result.compliance} compliance rows, {time.perf_counter() - started:.1f} s"
            )
