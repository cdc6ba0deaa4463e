"""The demo world's member attestations: the university (篇二) and district (篇三) campaigns start with
a realistic coverage, so their dashboards do not open at zero.

Deterministic (a seeded ``random.Random``) and idempotent (nothing is added when the demo campaigns
already have attestations). Rows are written in bulk. reach does not know the dashboards (reports sits
above it), so the ``demo`` command, which knows both, gives each person's home unit and rebuilds the
dashboard counts after.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from datetime import time as dtime

from django.db import connection, transaction
from django.utils import timezone

from fanzha.campaigns import demo as campaign_demo
from fanzha.campaigns.models import Campaign

from .models import Attestation, AttestationEvent
from .queries import applies, campaign_items, roster

Log = Callable[[str], None]
# Person ids -> each one's home unit id (``reports.kpis.homes_of``): a class's members share a rate.
HomesOf = Callable[[Iterable[int]], dict[int, int]]

SEED = 20240902
TEMPLATES = ("university-fraud-free-campus", "district-education-system")
BATCH = 2000
# A class covers between these shares of each item; some classes lag.
LOW, HIGH = 0.60, 0.95
VERIFIED_SHARE = 0.5  # of the counted rows, the part a counsellor has already verified

S = Attestation.Status
Source = AttestationEvent.Source


def demo_attestation_campaigns() -> list[Campaign]:
    """The demo campaigns that get attestations (those that are there)."""
    return [b.campaign for b in campaign_demo.demo_campaigns() if b.plan.template in TEMPLATES]


def _rows(
    campaign: Campaign, rng: random.Random, now: datetime, homes_of: HomesOf | None
) -> list[Attestation]:
    items = campaign_items(campaign)
    people = list(roster(campaign, campaign.unit).values_list("pk", "kind"))
    if not items or not people:
        return []
    homes = homes_of(pk for pk, _kind in people) if homes_of else {}
    start = timezone.make_aware(datetime.combine(campaign.starts_on, dtime(8, 0)))
    span = max((now - start).total_seconds(), 3600.0)
    start = min(start, now - timedelta(seconds=span))
    item_factor = {item: rng.uniform(0.85, 1.0) for item in items}
    class_rate: dict[int, float] = {}
    rows: list[Attestation] = []
    for pk, kind in people:
        key = homes.get(pk, 0)
        if key not in class_rate:
            class_rate[key] = rng.uniform(LOW, HIGH)
        rate = class_rate[key]
        for item in items:
            if not applies(item, kind) or rng.random() >= rate * item_factor[item]:
                continue
            at = start + timedelta(seconds=rng.random() * span)
            verified = rng.random() < VERIFIED_SHARE
            rows.append(
                Attestation(
                    campaign=campaign,
                    person_id=pk,
                    item=item,
                    status=S.VERIFIED if verified else S.DECLARED,
                    at=at,
                    verified_at=at if verified else None,
                )
            )
    return rows


def _events(campaigns: list[Campaign]) -> None:
    """The creation event of every new attestation, in one statement (a member's declaration or
    the system's verification, as ``actions._source`` would book them without an actor)."""
    a, e = Attestation._meta.db_table, AttestationEvent._meta.db_table
    marks = ", ".join(["%s"] * len(campaigns))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {e} (attestation_id, status_before, status_after, source, note, at) "
            f"SELECT id, '', status, CASE WHEN status = %s THEN %s ELSE %s END, '', at FROM {a} "
            f"WHERE campaign_id IN ({marks})",
            [S.VERIFIED, Source.SYSTEM, Source.MEMBER, *(c.pk for c in campaigns)],
        )


def build_attestations(log: Log = print, now: datetime | None = None, homes_of: HomesOf | None = None) -> int:
    """Give the demo campaigns' members their attestations (a class's members at a shared rate, by
    ``homes_of``). Returns the number added (0 when the demo campaigns already have some).
    """
    campaigns = demo_attestation_campaigns()
    if not campaigns:
        return 0
    if Attestation.objects.filter(campaign__in=campaigns).exists():
        log("demo attestations already there, kept")
        return 0
    started = time.monotonic()
    now = now or timezone.now()
    rng = random.Random(SEED)
    added = 0
    with transaction.atomic():
        for campaign in campaigns:
            rows = _rows(campaign, rng, now, homes_of)
            Attestation.objects.bulk_create(rows, batch_size=BATCH)
            added += len(rows)
            log(f"{campaign.title}: {len(rows)} attestations")
        _events(campaigns)
    log(f"demo attestations ready in {time.monotonic() - started:.1f} s")
    return added
