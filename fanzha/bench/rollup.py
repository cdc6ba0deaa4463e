"""``fanzha bench rollup [--reuse] [--db PATH]``: every KPI for every unit of the large world, timed.

The world is the large demo (``fanzha demo --size large``: a province education department with
about 1,000,000 people over 40,000+ units, besides the small demo organisations); it is built in
the database when missing, which takes many minutes (progress on stderr). On the province root the
benchmark starts a campaign that tracks every attestation item, and gives every tracked person (the
members of the province's units whom the campaign concerns: students, teachers, staff) an
attestation of every item that concerns them, with one bulk ``INSERT … SELECT``: about 80 % count
(verified or declared), the rest are rejected; each class acts on an item over two or three days,
spread over the campaign's first seven weeks. With ``--reuse`` a bench campaign already there is
kept with its attestations. A share of the obligations gets an activity, so that compliance varies.

Printed figures:

``rollup_seconds``
    ``reports.kpis.rebuild(history=False)``, what ``fanzha rollup`` does nightly: every KPI of every
    unit recomputed from the raw rows — counted attestations per home unit, item and person kind
    rolled up to every ancestor, the denominators, and every unit's activity compliance
    (``campaigns.compliance``) — compared with what ``KpiCount`` holds, each difference written
    into this week's row (after the incremental updates there are none).
``rollup_history_seconds``
    ``rebuild(history=True)``: the same, and every week's rows rewritten from the attestations'
    dates (a campaign's first build); ``ratio_history`` = that / floor.
``floor_seconds``
    one plain ``SELECT unit, item, COUNT(*) FROM attestations JOIN home units WHERE campaign = …
    AND status IN (declared, verified) GROUP BY unit, item``, fetched: the current coverage of
    every home unit, the least any roll-up must do. ``ratio`` = rollup / floor. Both are the best
    of ``--runs`` runs, after one untimed floor run warms the cache.
``floor_all_statuses_seconds``
    the same without the status condition (``ratio_to_all_statuses``): SQLite then answers from
    the (campaign, person, item) index alone, without reading a row, so it is a lower bar than
    any query that must know whether an attestation counts.
``homes_seconds``
    ``reports.kpis.refresh_homes``: every person's home unit (run before both, not in either).
``dashboard_ms``
    the province root's dashboard page served to a superuser (Django test client, whole
    middleware stack): median of 5 after one warm-up.
``update_ms``
    one rejected attestation verified through ``reach.actions.attest``: from the call until the
    root dashboard's figure for that item shows it (the hook runs after commit).
``change_to_dashboard_ms``
    a member whose pledge was rejected signs it (``reach.actions.sign_pledge``, a drawn PNG): from
    the call until the root dashboard shows one more pledge. Its baseline, measured in the same run,
    is ``dashboard_ms`` (serving the page alone): the difference is what the change itself costs.
``membership_to_dashboard_ms``
    a student joins a class (``org.actions.add_membership``): from the call until the root dashboard
    counts one more person concerned by the pledge (the ``membership_changed`` hook recomputes the
    homes of the class's people and books the move after commit); they are taken out again afterwards.
    Its baseline is ``dashboard_ms`` as well.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.db import connection, connections, transaction

from .load import say

HELP = "Roll up every KPI for every unit of the large demo world (1,000,000 people) and time it."
TEMPLATE_CODE = "bench-rollup"
DAYS_BEFORE_TODAY = 70  # the campaign started ten weeks ago, so the weekly trend has ten points


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--reuse", action="store_true", help="keep the bench campaign and its attestations")
    parser.add_argument("--db", help="SQLite file to use instead of DATABASE_URL's database")
    parser.add_argument("--runs", type=int, default=2, help="timed runs of the roll-up and of the floor")
    parser.add_argument("--scale", type=float, default=1.0, help="size of a world built here (tests)")


def use_sqlite_file(path: str) -> None:
    """Point the default connection at another SQLite file (before any query)."""
    conn = connections["default"]
    if conn.vendor != "sqlite":
        raise CommandError("--db needs the SQLite backend; with PostgreSQL set DATABASE_URL instead")
    conn.close()
    name = str(Path(path).expanduser().resolve())
    conn.settings_dict["NAME"] = name
    settings.DATABASES["default"]["NAME"] = name


def ensure_world(scale: float, log: Any) -> Any:
    """The province root of the large demo world, built first when missing."""
    from fanzha.org import demo
    from fanzha.org.models import Unit

    call_command("migrate", verbosity=0, interactive=False)
    root = Unit.objects.filter(parent_path="", code=demo.PROVINCE_CODE).first()
    if root is None:
        say(log, "building the large demo world (1,000,000 people); this takes a while …")
        demo.build_world("large", scale, log=lambda line: say(log, line))
        root = Unit.objects.get(parent_path="", code=demo.PROVINCE_CODE)
    return root


def bench_template() -> Any:
    """A custom template: the district plan, issued by a province, tracking every attestation item."""
    from fanzha.campaigns.models import CampaignTemplate
    from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
    from fanzha.reach.models import Item

    found = CampaignTemplate.objects.filter(code=TEMPLATE_CODE).first()
    if found is not None:
        return found
    sync_builtin_templates()
    text = CampaignTemplate.objects.get(code="district-education-system").text
    items = ", ".join(f'"{item}"' for item in Item.values)
    text = re.sub(r"(?m)^code = .*$", f'code = "{TEMPLATE_CODE}"', text, count=1)
    text = re.sub(r"(?m)^issuer_kinds = .*$", 'issuer_kinds = ["bureau_province"]', text, count=1)
    text = re.sub(r"(?ms)^attestations = \[.*?\]", f"attestations = [{items}]", text, count=1)
    return CampaignTemplate.objects.create(
        code=TEMPLATE_CODE, title="基准测试：全省覆盖汇总", source=CampaignTemplate.Source.CUSTOM, text=text
    )


def ensure_campaign(root: Any, reuse: bool, log: Any) -> tuple[Any, bool]:
    """The bench campaign on the province root: (campaign, whether its attestations must be written)."""
    from django.utils import timezone

    from fanzha.campaigns import actions
    from fanzha.campaigns.models import Campaign
    from fanzha.reach.models import Attestation

    template = bench_template()
    campaign = Campaign.objects.filter(template=template, unit=root).select_related("unit").first()
    if campaign is not None and reuse and Attestation.objects.filter(campaign=campaign).exists():
        return campaign, False
    if campaign is not None:
        say(log, "removing the previous bench campaign")
        _delete_campaign(campaign)
    say(log, "starting the bench campaign on the province root (obligations for every unit)")
    starts_on = timezone.localdate() - timedelta(days=DAYS_BEFORE_TODAY)
    campaign = actions.start_campaign(template, root, starts_on, None, {})
    return Campaign.objects.select_related("unit").get(pk=campaign.pk), True


def _delete_campaign(campaign: Any) -> None:
    """Set-based removal of a bench campaign and what hangs on it (the ORM collector would be slow)."""
    from fanzha.campaigns.models import Activity
    from fanzha.reach.models import Attestation, AttestationEvent
    from fanzha.reports.models import KpiCount

    with transaction.atomic():
        KpiCount.objects.filter(campaign=campaign).delete()
        AttestationEvent.objects.filter(attestation__campaign=campaign).delete()
        Attestation.objects.filter(campaign=campaign)._raw_delete(Attestation.objects.db)
        Activity.objects.filter(campaign=campaign).delete()
        campaign.delete()


def _timestamp_sql(day_offset_sql: str, start: str) -> str:
    """SQL for ``start`` (UTC text) plus a whole number of days."""
    if connection.vendor == "postgresql":
        return f"(CAST('{start}' AS timestamptz) + ({day_offset_sql}) * INTERVAL '1 day')"
    return f"datetime('{start}', '+' || ({day_offset_sql}) || ' days')"


def write_attestations(campaign: Any) -> int:
    """Every tracked person × every item that concerns them, in one INSERT … SELECT; returns the rows."""
    from datetime import datetime
    from datetime import time as dtime
    from zoneinfo import ZoneInfo

    from fanzha.org.models import Membership, Person, PersonKind, Unit
    from fanzha.reach import queries
    from fanzha.reach.models import Attestation, Item

    qn = connection.ops.quote_name
    att, mem, unit, person = (qn(m._meta.db_table) for m in (Attestation, Membership, Unit, Person))
    items = queries.campaign_items(campaign)
    kinds = queries.tracked_kinds(campaign)
    item_rows = " UNION ALL ".join(f"SELECT '{item}' AS item, {i} AS idx" for i, item in enumerate(items))
    kind_list = ", ".join(f"'{k}'" for k in kinds)
    child_only = ", ".join(f"'{i}'" for i in queries.CHILD_ONLY)
    start = (
        datetime.combine(campaign.starts_on, dtime(10), ZoneInfo(settings.TIME_ZONE))
        .astimezone(ZoneInfo("UTC"))
        .strftime("%Y-%m-%d %H:%M:%S")
    )
    # Per class and item a "push day" in the first seven weeks; people answer on it or one or two days later.
    offset = "((h.unit_id * 13 + i.idx * 7) %% 47) + (h.person_id %% 3)"
    # Each class has its own diligence (55–99 %); below it a person's item counts, above it is rejected.
    diligence = "(55 + (h.unit_id * 37) %% 45)"
    roll = "((h.person_id * 31 + i.idx * 17) %% 100)"
    status = (
        f"CASE WHEN {roll} < {diligence} * 6 / 10 THEN 'verified' "
        f"WHEN {roll} < {diligence} THEN 'declared' ELSE 'rejected' END"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {att} (campaign_id, person_id, item, status, at, evidence, signature)
            SELECT %s, h.person_id, i.item, {status}, {_timestamp_sql(offset, start)}, '', ''
            FROM (
                SELECT m.person_id AS person_id, MIN(m.unit_id) AS unit_id, MIN(p.kind) AS kind
                FROM {mem} m JOIN {unit} u ON u.id = m.unit_id JOIN {person} p ON p.id = m.person_id
                WHERE SUBSTR(u.path, 1, %s) = %s AND p.is_active AND p.kind IN ({kind_list})
                GROUP BY m.person_id
            ) h
            CROSS JOIN ({item_rows}) i
            WHERE i.item NOT IN ({child_only}) OR h.kind = '{PersonKind.STUDENT}'
            """,
            [campaign.pk, len(campaign.unit.path), campaign.unit.path],
        )
        written = cursor.rowcount
    assert all(item in Item.values for item in items)
    return written


def write_activities(campaign: Any) -> int:
    """One activity for about two obligations in three, on a day of the campaign so far."""
    from django.utils import timezone

    from fanzha.campaigns.models import Activity, Obligation

    qn = connection.ops.quote_name
    act, obl = qn(Activity._meta.db_table), qn(Obligation._meta.db_table)
    today = timezone.localdate()
    days = max(1, (today - campaign.starts_on).days)
    start = campaign.starts_on.isoformat()
    if connection.vendor == "postgresql":
        day = f"(DATE '{start}' + CAST(o.id %% {days} AS integer))"
        now = "NOW()"
    else:
        day = f"date('{start}', '+' || (o.id %% {days}) || ' days')"
        now = "datetime('now')"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {act} (campaign_id, obligation_id, unit_id, kind, occurred_on, title, summary, link,
                               checkin_token, created_at, updated_at, is_deleted)
            SELECT %s, o.id, o.unit_id, 'other', {day}, '基准测试活动', '', '', '', {now}, {now}, %s
            FROM {obl} o WHERE o.campaign_id = %s AND o.id %% 3 <> 0
            """,
            [campaign.pk, False, campaign.pk],
        )
        return cursor.rowcount


def floor_query(campaign: Any, counted_only: bool = True) -> int:
    """The floor: one plain GROUP BY of the campaign's attestations by home unit and item, fetched.

    ``counted_only`` keeps the attestations that count (declared or verified), so that the result is
    the current coverage of every home unit; without it every status is counted, which SQLite
    answers from an index alone (it never reads the rows, so it is no longer the same work).
    """
    from fanzha.reach.models import COUNTED, Attestation
    from fanzha.reports.models import PersonHome

    qn = connection.ops.quote_name
    att, home = qn(Attestation._meta.db_table), qn(PersonHome._meta.db_table)
    status = f" AND a.status IN ({', '.join(['%s'] * len(COUNTED))})" if counted_only else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT h.unit_id, a.item, COUNT(*) FROM {att} a JOIN {home} h ON h.person_id = a.person_id "
            f"WHERE a.campaign_id = %s{status} GROUP BY h.unit_id, a.item",
            [campaign.pk, *(sorted(COUNTED) if counted_only else [])],
        )
        return len(cursor.fetchall())


def best_of(runs: int, fn: Any) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(max(1, runs)):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def root_figure(client: Any, url: str, item: str, field: str = "done") -> int:
    """The root's count of ``item`` (``field`` "done", or "due": the people it concerns) as the dashboard
    page shows it (its JSON data island)."""
    response = client.get(url)
    if response.status_code != 200:
        raise CommandError(f"{url} answered {response.status_code}")
    match = re.search(
        rb'<script id="dashboard-data" type="application/json">(.*?)</script>', response.content, re.S
    )
    if match is None:
        raise CommandError("the dashboard page has no data island")
    data = json.loads(match.group(1))
    return int(data["totals"][item][field])


def measure_update(client: Any, url: str, campaign: Any) -> tuple[float, dict[str, Any]]:
    """Verify one rejected attestation through reach and poll the root dashboard until it shows it."""
    from fanzha.reach import actions
    from fanzha.reach.models import Attestation, Item

    item = Item.VIDEO_WATCHED
    row = (
        Attestation.objects.filter(campaign=campaign, item=item, status=Attestation.Status.REJECTED)
        .select_related("person")
        .order_by("pk")
        .first()
    )
    if row is None:
        raise CommandError("no rejected attestation to change")
    before = root_figure(client, url, item)
    started = time.perf_counter()
    actions.attest(campaign, row.person, item, Attestation.Status.VERIFIED)
    seen = before
    while seen == before and time.perf_counter() - started < 10:
        seen = root_figure(client, url, item)
    elapsed = time.perf_counter() - started
    actions.reject(Attestation.objects.get(pk=row.pk), None, "基准测试复原")  # leave the data as it was
    return elapsed, {"item": item, "before": before, "after": seen}


def measure_pledge(client: Any, url: str, campaign: Any) -> tuple[float, dict[str, Any]]:
    """A member signs the pledge (theirs was rejected); poll the root dashboard until it counts it."""
    from fanzha.campaigns.demo import signature_png
    from fanzha.reach import actions
    from fanzha.reach.models import Attestation, Item

    item = Item.PLEDGE_SIGNED
    row = (
        Attestation.objects.filter(campaign=campaign, item=item, status=Attestation.Status.REJECTED)
        .select_related("person")
        .order_by("-pk")
        .first()
    )
    if row is None:
        raise CommandError("no rejected pledge to sign")
    before = root_figure(client, url, item)
    started = time.perf_counter()
    actions.sign_pledge(campaign, row.person, signature_png(1))
    seen = before
    while seen == before and time.perf_counter() - started < 60:
        seen = root_figure(client, url, item)
    elapsed = time.perf_counter() - started
    actions.reject(Attestation.objects.get(pk=row.pk), None, "基准测试复原")  # leave the data as it was
    return elapsed, {"item": item, "before": before, "after": seen}


MEMBER_NUMBER = "BENCH-MEMBER"  # the person the benchmark puts into a class and takes out again


def measure_membership(client: Any, url: str, campaign: Any) -> tuple[float, dict[str, Any]]:
    """A student joins a class (``org.actions.add_membership``); poll the root dashboard until the
    number of people the pledge concerns shows them, then take them out again."""
    from fanzha.org import actions
    from fanzha.org.models import Membership, Person, PersonKind, Unit, UnitKind
    from fanzha.reach.models import Item

    root = campaign.unit
    cls = (
        Unit.objects.filter(path__startswith=root.path, kind=UnitKind.CLASS, is_active=True)
        .order_by("path")
        .first()
    )
    if cls is None:
        raise CommandError("no class to join")
    person = Person.objects.filter(root=root, external_number=MEMBER_NUMBER).first()
    if person is None:
        person = actions.save_person(
            root=root, name="基准新生", kind=PersonKind.STUDENT, external_number=MEMBER_NUMBER
        )
    for left in Membership.objects.filter(person=person):
        actions.remove_membership(left)  # a run stopped half-way left them somewhere
    item = Item.PLEDGE_SIGNED
    before = root_figure(client, url, item, "due")
    started = time.perf_counter()
    membership = actions.add_membership(person, cls)
    seen = before
    while seen == before and time.perf_counter() - started < 120:
        seen = root_figure(client, url, item, "due")
    elapsed = time.perf_counter() - started
    actions.remove_membership(membership)  # leave the data as it was
    return elapsed, {"item": item, "before": before, "after": seen}


def run(
    *,
    reuse: bool = False,
    db: str | None = None,
    runs: int = 2,
    scale: float = 1.0,
    log: IO[str] | Any = None,
    **_options: Any,
) -> dict[str, Any]:
    """Build or reuse the world and the campaign, then time roll-up, floor, dashboard and one update."""
    if db:
        use_sqlite_file(db)
    settings.DEBUG = False  # timed as served in production: no query log, no debug pages
    from fanzha.core.management.commands.serve import collect_static_if_needed

    collect_static_if_needed(lambda line: say(log, line))  # production serves collected files
    from django.test import Client
    from django.urls import reverse

    from fanzha.org import demo
    from fanzha.org.models import Person, Unit
    from fanzha.reach.models import Attestation
    from fanzha.reports import kpis
    from fanzha.reports.models import KpiCount

    root = ensure_world(scale, log)
    campaign, fresh = ensure_campaign(root, reuse, log)
    if fresh:
        say(log, "writing attestations (every tracked person × every item) …")
        started = time.perf_counter()
        with transaction.atomic():
            written = write_attestations(campaign)
            activities = write_activities(campaign)
        say(
            log,
            f"{written:,} attestations, {activities:,} activities in {time.perf_counter() - started:.1f} s",
        )
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    say(log, "home units …")
    homes_seconds, homes = best_of(1, kpis.refresh_homes)
    say(log, "floor (warm-up) …")
    floor_query(campaign)
    say(log, "roll-up with every week's history …")
    history_seconds, history = best_of(runs, lambda: kpis.rebuild(campaign, history=True))
    say(log, "roll-up …")
    rollup_seconds, result = best_of(runs, lambda: kpis.rebuild(campaign, history=False))
    say(log, "floor …")
    floor_seconds, floor_groups = best_of(runs, lambda: floor_query(campaign))
    floor_all_seconds, _groups = best_of(runs, lambda: floor_query(campaign, counted_only=False))

    user = demo.ensure_superuser()
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    url = reverse("dashboard_unit", args=[campaign.pk, root.pk])
    say(log, f"dashboard {url} …")
    root_figure(client, url, "quiz_passed")  # warm-up
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
    update_seconds, update = measure_update(client, url, campaign)
    pledge_seconds, pledge = measure_pledge(client, url, campaign)
    member_seconds, member = measure_membership(client, url, campaign)
    return {
        "benchmark": "rollup",
        "people": Person.objects.count(),
        "units": Unit.objects.count(),
        "people_with_home": homes,
        "attestations": Attestation.objects.filter(campaign=campaign).count(),
        "rollup_seconds": round(rollup_seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "ratio": round(rollup_seconds / floor_seconds, 2),
        "rollup_history_seconds": round(history_seconds, 2),
        "ratio_history": round(history_seconds / floor_seconds, 2),
        "floor_all_statuses_seconds": round(floor_all_seconds, 2),
        "ratio_to_all_statuses": round(rollup_seconds / floor_all_seconds, 2),
        "dashboard_ms": round(statistics.median(timings) * 1000, 1),
        "update_ms": round(update_seconds * 1000, 1),
        "update_seen": update["after"] == update["before"] + 1,
        "change_to_dashboard_ms": round(pledge_seconds * 1000, 1),
        "change_seen": pledge["after"] == pledge["before"] + 1,
        "membership_to_dashboard_ms": round(member_seconds * 1000, 1),
        "membership_seen": member["after"] == member["before"] + 1,
        "homes_seconds": round(homes_seconds, 2),
        "kpi_rows": KpiCount.objects.filter(campaign=campaign).count(),
        "history_rows_written": history.counts + history.compliance,
        "rollup_rows_changed": result.counts,
        "floor_groups": floor_groups,
        "runs": runs,
        "database": connection.vendor,
    }
