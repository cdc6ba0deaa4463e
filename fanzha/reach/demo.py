"""The demo world's member attestations: the university (篇二) and district (篇三) campaigns start with
a realistic coverage, so their dashboards do not open at zero. Then the member pages' own demo
(``build_member_demo``): the class links of the demo student's and the demo pupil's classes, a
training and a first lesson whose attendance proves the attendees' items, and the demo pupil's parent
items left to do, so that the parent login finds the notice to sign and the app to install.

Deterministic (a seeded ``random.Random``) and idempotent (nothing is added when the demo campaigns
already have attestations). Rows are written in bulk. reach does not know the dashboards (reports sits
above it), so the ``demo`` command, which knows both, gives each person's home unit and rebuilds the
dashboard counts after.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from fanzha.campaigns import demo as campaign_demo
from fanzha.campaigns.activities import actions as activity_actions
from fanzha.campaigns.models import Activity, ActivityKind, Campaign
from fanzha.org import demo as org_demo
from fanzha.org.models import Membership, MembershipRole, Person, PersonKind, Role, RoleGrant, Unit, UnitKind

from . import actions
from .models import Attestation, AttestationEvent, ClassLink, Item
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


# Items the demo leaves to do for the demo pupil, whatever the draw: the parent login's work (篇三).
PARENT_ITEMS = (Item.PARENT_NOTICE_SIGNED, Item.PARENT_APP_INSTALLED)


def _rows(
    campaign: Campaign,
    rng: random.Random,
    now: datetime,
    homes_of: HomesOf | None,
    keep_open: frozenset[int] = frozenset(),
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
            if pk in keep_open and item in PARENT_ITEMS:
                continue  # drawn as the others are, so that everyone else's rows stay the same
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
    pupil = org_demo.demo_pupil()
    keep_open = frozenset({pupil.pk} if pupil is not None else ())
    with transaction.atomic():
        for campaign in campaigns:
            rows = _rows(campaign, rng, now, homes_of, keep_open)
            Attestation.objects.bulk_create(rows, batch_size=BATCH)
            added += len(rows)
            log(f"{campaign.title}: {len(rows)} attestations")
        _events(campaigns)
    log(f"demo attestations ready in {time.monotonic() - started:.1f} s")
    return added


# The member pages' demo -----------------------------------------------------------------------------

# The activities whose attendance proves the attendees' items (``actions.sync_activity_proofs``, through
# ``core.hooks.attendance_changed``): (the demo login who records, its kind, title, days ago).
PROOF_ACTIVITIES = (
    (Role.COUNSELLOR, ActivityKind.TRAINING, "“两卡”法治与防骗专题培训（签到）", 6),
    ("class_teacher", ActivityKind.FIRST_LESSON, "开学防诈骗第一课（签到）", 12),
)
ABSENT_EVERY = 7  # one student in this many missed it: their item stays open


def _class_of(key: str) -> tuple[Unit, Any] | None:
    """The first class the demo login ``key`` is granted at, with the login's account."""
    user = campaign_demo.login_user(key)
    if user is None:
        return None
    grant = (
        RoleGrant.objects.filter(user=user, unit__kind=UnitKind.CLASS, unit__is_active=True)
        .select_related("unit")
        .order_by("unit__path")
        .first()
    )
    return (grant.unit, user) if grant is not None else None


def _students(unit: Unit) -> list[Person]:
    return [
        m.person
        for m in Membership.objects.filter(
            unit=unit,
            person__kind=PersonKind.STUDENT,
            person__is_active=True,
            role__in=[MembershipRole.MEMBER, MembershipRole.MONITOR, MembershipRole.COMMITTEE],
        )
        .select_related("person")
        .order_by("person__external_number", "person_id")
    ]


def build_member_demo(log: Log = print, today: date | None = None) -> int:
    """Class links of the demo classes, and the activities with attendance that prove their attendees'
    items (once per activity); returns how many attendees were recorded."""
    today = today or timezone.localdate()
    units: list[Unit] = []
    for person in (org_demo.demo_pupil(), org_demo.demo_person("student", org_demo.UNIVERSITY_CODE)):
        if person is not None:
            classes = Membership.objects.filter(person=person, unit__kind=UnitKind.CLASS).select_related(
                "unit"
            )
            units += [m.unit for m in classes]
    for unit in units:
        actions.ensure_class_link(unit)
    attendees = 0
    for key, kind, title, ago in PROOF_ACTIVITIES:
        found = _class_of(key)
        if found is None:
            continue
        unit, user = found
        actions.ensure_class_link(unit)
        if Activity.objects.filter(unit=unit, title=title, is_deleted=False).exists():
            continue
        people = [p for i, p in enumerate(_students(unit)) if i % ABSENT_EVERY != ABSENT_EVERY - 1]
        with transaction.atomic():
            activity = activity_actions.record_activity(
                unit=unit,
                kind=kind,
                occurred_on=today - timedelta(days=ago),
                actor=user,
                title=title,
                attendance_count=len(people),
            )
            attendees += activity_actions.add_attendees(activity, people, user)
        log(f"{unit.name}: {title}, {len(people)} attendees")
    log(f"class links: {ClassLink.objects.filter(unit__in=units).count()} of the demo classes")
    return attendees
