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
from django.test.utils import override_settings
from django.utils import timezone

from fanzha.campaigns import demo as campaign_demo
from fanzha.campaigns.activities import actions as activity_actions
from fanzha.campaigns.models import Activity, ActivityKind, Campaign
from fanzha.learn import actions as learn_actions
from fanzha.learn.models import Audience
from fanzha.notify import actions as notify_actions
from fanzha.notify import webhooks
from fanzha.notify.models import Channel, ChannelAudience, ChannelKind, Outbox
from fanzha.org import demo as org_demo
from fanzha.org.models import Membership, MembershipRole, Person, PersonKind, Role, RoleGrant, Unit, UnitKind
from fanzha.org.scope import path_q

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


# Class links, chat robots and daily tips -------------------------------------------------------------

# The demo's chat-group robots post to ``webhooks.DEMO_HOST``: nothing ever leaves the machine.
TIP_DAYS = 6  # days of daily-tip history before today


def _robot_url(kind: str, unit: Unit) -> str:
    return f"https://{webhooks.DEMO_HOST}/{kind}/{unit.pk}"


def _granted_unit(key: str, kind: str | None = None) -> Unit | None:
    """The first unit the demo login ``key`` is granted at (of ``kind`` when given)."""
    user = campaign_demo.login_user(key)
    if user is None:
        return None
    grants = RoleGrant.objects.filter(user=user, unit__is_active=True).select_related("unit")
    if kind is not None:
        grants = grants.filter(unit__kind=kind)
    grant = grants.order_by("unit__path").first()
    return grant.unit if grant is not None else None


def _robots() -> list[tuple[Unit, str, str, str, Any]]:
    """(unit, kind, name, audience, who sets up its daily tip or None) of the demo's robots."""
    wanted: list[tuple[Unit, str, str, str, Any]] = []
    K, A = ChannelKind, ChannelAudience
    uni = Unit.objects.filter(parent_path="", code=org_demo.UNIVERSITY_CODE).first()
    police = Unit.objects.filter(parent_path="", code=org_demo.POLICE_CODE).first()
    bureau = Unit.objects.filter(parent_path="", code=org_demo.EDUCATION_CODE).first()
    college = _granted_unit(Role.COLLEGE_ADMIN)
    if uni is not None:
        wanted.append((uni, K.WECOM, "校反诈工作群", A.STAFF, None))
    if college is not None:
        wanted.append((college, K.DINGTALK, f"{college.name}辅导员工作群", A.STAFF, None))
    if bureau is not None:
        wanted.append((bureau, K.FEISHU, "教育系统反诈工作群", A.STAFF, None))
    if police is not None:
        wanted.append((police, K.WECOM, "反诈中心值班群", A.POLICE, None))
    counsellor = campaign_demo.login_user(Role.COUNSELLOR)
    if counsellor is not None:
        classes = Unit.objects.filter(
            is_active=True,
            kind=UnitKind.CLASS,
            pk__in=RoleGrant.objects.filter(user=counsellor).values("unit_id"),
        ).order_by("path")[:3]
        for n, klass in enumerate(classes):
            kind = (K.WECOM, K.DINGTALK, K.FEISHU)[n % 3]
            wanted.append((klass, kind, f"{klass.name}班级群", A.CLASS, counsellor))
    teacher = campaign_demo.login_user("class_teacher")
    klass = _granted_unit("class_teacher", UnitKind.CLASS)
    if teacher is not None and klass is not None:
        wanted.append((klass, K.WECOM, f"{klass.name}家长群", A.PARENTS, teacher))
    return wanted


def build_robots(log: Log = print, today: date | None = None) -> int:
    """The class links of every class of the demo, a few chat robots (the university's, a college's, the
    bureau's and the police's work groups, some classes' groups) and, on the class groups, a daily tip
    whose last ``TIP_DAYS`` days were posted and count for the class's daily-tip duty. Once: returns how
    many robots were added (0 when they are there)."""
    today = today or timezone.localdate()
    roots = [r.path for r in Unit.objects.filter(parent_path="", code__in=org_demo.DEMO_ROOTS)]
    classes = Unit.objects.filter(path_q(roots, "path"), kind=UnitKind.CLASS, is_active=True) if roots else []
    links = actions.ensure_class_links(classes)
    if links:
        log(f"class links: {links} created")
    robots = Channel.objects.filter(kind__in=[ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU])
    if any(webhooks.is_demo(c.url) for c in robots):
        log("demo robots already there, kept")
        return 0
    added = schedules = posts = 0
    start = today - timedelta(days=TIP_DAYS)
    # The demo's host is allowed only while the robots are saved through the verb.
    with override_settings(FANZHA_WEBHOOK_ALLOWED_HOSTS=[webhooks.DEMO_HOST]), transaction.atomic():
        for unit, kind, name, audience, owner in _robots():
            channel = notify_actions.add_channel(
                unit=unit,
                kind=kind,
                name=name,
                url=_robot_url(kind, unit),
                audience=audience,
                keyword="反诈" if kind == ChannelKind.DINGTALK else "",
            )
            added += 1
            channel.last_ok_at = timezone.now()
            channel.save(update_fields=["last_ok_at"])
            if owner is None:
                continue
            schedule = learn_actions.create_tip_schedule(
                unit=unit,
                channel=channel,
                actor=owner,
                audience=Audience.PARENT if audience == ChannelAudience.PARENTS else Audience.STUDENT,
                starts_on=start,
            )
            schedules += 1
            for n in range(TIP_DAYS):
                day = start + timedelta(days=n)
                post, _queued = learn_actions.post_tip(schedule, day)
                sent = timezone.make_aware(datetime.combine(day, schedule.post_time)) + timedelta(seconds=20)
                if post.outbox_id is not None:  # history: booked as sent at the post time
                    Outbox.objects.filter(pk=post.outbox_id).update(status=Outbox.Status.SENT, sent_at=sent)
                posts += 1
    recorded = learn_actions.record_sent_tips(today)
    log(f"chat robots: {added}, daily tips on {schedules} groups ({posts} posted, {recorded} counted)")
    return added
