"""Writes of the pre-aggregated KPI counts: the home-unit rule, the full rebuild and the incremental update.

Home unit
    Each person counts in exactly one unit, so that a school's figure is not inflated by its
    students appearing once in their class and again in their dormitory room. Among the person's
    memberships of active units, the home is the first by: (1) a role of belonging before a role
    of duty (a teacher who is counsellor of a class belongs to the school, not the class);
    (2) the unit kind: a class, then any other unit, then a team ("other"), then dormitories;
    (3) the oldest membership. People without a membership have no home and count nowhere;
    parents are reached through their children and are not counted themselves (see ``reach``).
    Homes are kept in ``PersonHome`` by ``refresh_homes``; a person first seen by the incremental
    update gets their home computed on the spot, by the same rule.

Counts
    ``rebuild(campaign)`` recomputes every count of a campaign from the raw rows with set-based
    SQL (``INSERT … SELECT … GROUP BY``, no loop over people): the counted attestations per home
    unit, item, person kind and week, the people per home unit and kind (the denominators) and
    each unit's own activity-compliance tally (judged by ``campaigns.compliance``) go to a work
    table, which is then rolled up by path prefix level by level, from the deepest units to the
    campaign's unit, so that every unit holds its subtree's totals.

    ``apply_changes(changes)`` is the handler of ``core.hooks.attestations_changed``: it adds the
    change of each attestation (counted after minus counted before: +1, −1 or nothing) to the
    current week's row of its person's home unit and of every ancestor up to the campaign's unit,
    in one upsert.

    Days are campaign weeks (``week_start``): a rebuild books each counted attestation in the week
    of its ``at``, the incremental update books a change in the week it happens.

    ``apply_membership(unit_ids)`` is the handler of ``core.hooks.membership_changed`` (people
    joining, leaving or moving between units, deactivated, or of another kind): it recomputes the
    homes of the units' people and books each moved home the same way, −1 where the person counted
    and +1 where they count now, in the people count and in each item they hold.

What the incremental update does not follow (``rebuild`` does, run by ``fanzha rollup``, e.g.
nightly): units moving in the tree (the ``units_added`` hook rebuilds the campaigns whose counts the
moved units hold), and activities recorded since the last refresh (the compliance tally is as of its
``day``; the campaigns whose activities or people changed are marked and refreshed every minute).
"""

from __future__ import annotations

import calendar
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from fanzha.campaigns import compliance
from fanzha.campaigns.models import Campaign, Obligation
from fanzha.core.hooks import AttestationChange
from fanzha.org.models import Membership, MembershipRole, Person, Unit, UnitKind
from fanzha.reach.models import COUNTED, Attestation

from .models import KpiCount, PersonHome, StaleCampaign

log = logging.getLogger(__name__)
STEP = Unit.steplen

PEOPLE = "people"
ACTIVITY = "activity"
# "upcoming" is not shown; "late" (done after the period closed) and "excepted" (accepted by an
# administrator) are counted apart from "done" on time.
ACTIVITY_FIELDS = ("done", "late", "excepted", "due", "overdue")
OBLIGATIONS = f"{ACTIVITY}:obligations"

# The home-unit rule, as ranks (lower wins); documented in the module docstring.
DUTY_ROLES = (MembershipRole.COUNSELLOR, MembershipRole.VOLUNTEER)
KIND_RANKS: dict[str, int] = {
    UnitKind.CLASS: 0,
    UnitKind.OTHER: 2,
    UnitKind.DORM_ROOM: 3,
    UnitKind.DORM_BUILDING: 3,
}
OTHER_KIND_RANK = 1


def item_metric(item: str, kind: str) -> str:
    return f"{item}:{kind}"


def people_metric(kind: str) -> str:
    return f"{PEOPLE}:{kind}"


def activity_metric(field: str) -> str:
    return f"{ACTIVITY}:{field}"


def ancestors(path: str, top: str) -> list[str]:
    """``path`` and its ancestors up to ``top`` (a prefix of it), top first; [] when outside ``top``."""
    if not path.startswith(top):
        return []
    return [path[:end] for end in range(len(top), len(path) + 1, STEP)]


# Home units ------------------------------------------------------------------------------------


def home_rank(role: str, unit_kind: str, membership_pk: int) -> tuple[int, int, int]:
    """Sort key of a membership under the home-unit rule (the lowest is the home)."""
    return (1 if role in DUTY_ROLES else 0, KIND_RANKS.get(unit_kind, OTHER_KIND_RANK), membership_pk)


def _rank_sql() -> str:
    """The same rule as ``home_rank``, as SQL over ``m`` (membership) and ``u`` (unit)."""
    duty = ", ".join(f"'{role}'" for role in DUTY_ROLES)
    kinds = " ".join(f"WHEN '{kind}' THEN {rank}" for kind, rank in KIND_RANKS.items())
    role_rank = f"CASE WHEN m.role IN ({duty}) THEN 1 ELSE 0 END"
    return f"{role_rank}, CASE u.kind {kinds} ELSE {OTHER_KIND_RANK} END, m.id"


def _tables() -> dict[str, str]:
    qn = connection.ops.quote_name
    return {
        "home": qn(PersonHome._meta.db_table),
        "kpi": qn(KpiCount._meta.db_table),
        "att": qn(Attestation._meta.db_table),
        "membership": qn(Membership._meta.db_table),
        "unit": qn(Unit._meta.db_table),
        "person": qn(Person._meta.db_table),
    }


@transaction.atomic
def refresh_homes() -> int:
    """Recompute every person's home unit (set-based); returns the number of people with a home."""
    t = _tables()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {t['home']}")
        cursor.execute(
            f"""
            INSERT INTO {t["home"]} (person_id, unit_id, kind)
            SELECT person_id, unit_id, kind FROM (
                SELECT m.person_id, m.unit_id, p.kind,
                       ROW_NUMBER() OVER (PARTITION BY m.person_id ORDER BY {_rank_sql()}) AS rn
                FROM {t["membership"]} m
                JOIN {t["unit"]} u ON u.id = m.unit_id
                JOIN {t["person"]} p ON p.id = m.person_id
                WHERE u.is_active AND p.is_active
            ) ranked
            WHERE rn = 1
            """
        )
        return cursor.rowcount


@transaction.atomic
def add_missing_homes(top: str) -> int:
    """Compute the home of every person with a place under ``top`` who has none yet (people added
    since the last ``refresh_homes``), by the same rule; returns how many were added.

    Why: a campaign started on a unit is counted at once, and its denominators must include the
    people enrolled since the nightly run; homes already known are left alone (the nightly run
    moves them). The people to place are found first (the subtree by its path index, anti-joined to
    the homes) and only their memberships are ranked: a semi-join over ``SUBSTR(path)`` let
    PostgreSQL pick a plan that ran for over 20 minutes on freshly loaded tables.
    """
    t = _tables()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {t["home"]} (person_id, unit_id, kind)
            SELECT person_id, unit_id, kind FROM (
                SELECT m.person_id, m.unit_id, p.kind,
                       ROW_NUMBER() OVER (PARTITION BY m.person_id ORDER BY {_rank_sql()}) AS rn
                FROM (
                    SELECT DISTINCT m2.person_id
                    FROM {t["unit"]} u2
                    JOIN {t["membership"]} m2 ON m2.unit_id = u2.id
                    LEFT JOIN {t["home"]} h ON h.person_id = m2.person_id
                    WHERE u2.path LIKE %s AND h.person_id IS NULL
                ) todo
                JOIN {t["membership"]} m ON m.person_id = todo.person_id
                JOIN {t["unit"]} u ON u.id = m.unit_id
                JOIN {t["person"]} p ON p.id = m.person_id
                WHERE u.is_active AND p.is_active
            ) ranked
            WHERE rn = 1
            """,
            [top + "%"],
        )
        return cursor.rowcount


@dataclass(frozen=True)
class Home:
    unit_id: int
    path: str
    kind: str


def stored_homes(person_ids: Iterable[int]) -> dict[int, Home]:
    """The homes ``PersonHome`` holds for these people (none computed)."""
    rows = PersonHome.objects.filter(person_id__in=set(person_ids))
    return {
        person_id: Home(unit_id, path, kind)
        for person_id, unit_id, path, kind in rows.values_list("person_id", "unit_id", "unit__path", "kind")
    }


def homes_of(person_ids: Iterable[int]) -> dict[int, Home]:
    """The home of each person (computed and stored for people not seen by ``refresh_homes`` yet)."""
    ids = set(person_ids)
    found = stored_homes(ids)
    missing = ids - found.keys()
    if missing:
        best: dict[int, tuple[tuple[int, int, int], Home]] = {}
        rows = Membership.objects.filter(
            person_id__in=missing, unit__is_active=True, person__is_active=True
        ).values_list("person_id", "unit_id", "unit__path", "unit__kind", "role", "pk", "person__kind")
        for person_id, unit_id, path, unit_kind, role, pk, kind in rows:
            rank = home_rank(role, unit_kind, pk)
            if person_id not in best or rank < best[person_id][0]:
                best[person_id] = (rank, Home(unit_id, path, kind))
        new = {person_id: home for person_id, (_rank, home) in best.items()}
        PersonHome.objects.bulk_create(
            [PersonHome(person_id=p, unit_id=h.unit_id, kind=h.kind) for p, h in new.items()],
            ignore_conflicts=True,
        )
        found.update(new)
    return found


# Full rebuild ----------------------------------------------------------------------------------


def week_start(first: date, day: date) -> date:
    """The first day of the campaign week (7 days from the campaign's first day ``first``) of ``day``.

    Counts are kept per campaign week, not per calendar day: every chart is weekly, and at province
    scale a row per day and unit would triple the rows that a rebuild writes. Days before the
    campaign fall in its first week.
    """
    return first + timedelta(days=max(0, (day - first).days) // 7 * 7)


def week_start_sql(day: str, first: date) -> str:
    """``week_start`` as SQL over a date expression ``day`` (SQLite: ISO text; PostgreSQL: date)."""
    start = first.isoformat()  # digits and dashes only: safe to inline
    if connection.vendor == "sqlite":
        days = f"MAX(0, CAST(JULIANDAY({day}) - JULIANDAY('{start}') AS INTEGER))"
        return f"DATE('{start}', '+' || ({days} / 7 * 7) || ' days')"
    return f"(DATE '{start}' + (GREATEST(({day}) - DATE '{start}', 0) / 7) * 7)"


def _fixed_offset(zone: str) -> int | None:
    """The zone's offset from UTC in seconds if it never changes (no daylight saving time), else None."""
    tz = ZoneInfo(zone)
    year = timezone.now().year
    offsets = {datetime(year, month, 1, tzinfo=tz).utcoffset() for month in (1, 4, 7, 10)}
    offset = offsets.pop() if len(offsets) == 1 else None
    return None if offset is None else int(offset.total_seconds())


@dataclass(frozen=True)
class WeekSql:
    """How SQL puts timestamps into campaign weeks (``week_start``, local days of ``TIME_ZONE``).

    Rows are grouped on ``group`` (with ``params``); ``day`` turns a group's value (``{week}``)
    into the week's first day. SQLite keeps UTC text: for a zone without daylight saving time
    (China's) the week's number comes from the epoch seconds by integer arithmetic, and only the
    groups are turned into dates. Elsewhere Django converts each row to its local date
    (``datetime_cast_date_sql``), which then goes to its week.
    """

    group: str
    params: list[Any]
    day: str


def week_sql(column: str, first: date) -> WeekSql:
    zone = settings.TIME_ZONE
    offset = _fixed_offset(zone) if connection.vendor == "sqlite" else None
    if offset is not None:
        start = calendar.timegm(first.timetuple())  # the first day's midnight, in local seconds
        seconds = f"CAST(STRFTIME('%%s', {column}) AS INTEGER)"  # %% : the query has parameters
        group = f"MAX(0, ({seconds} + {offset} - {start}) / {7 * 86400})"
        return WeekSql(group, [], f"DATE('{first.isoformat()}', '+' || ({{week}} * 7) || ' days')")
    sql, params = connection.ops.datetime_cast_date_sql(column, (), zone)
    return WeekSql(week_start_sql(sql, first), list(params), "{week}")


def _roll_up(cursor: Any, campaign: Campaign, keys: str, write: str, params: Sequence[Any]) -> int:
    """Roll the own-unit rows of ``fz_kpi_base`` (path, ``keys``, n) up to every ancestor, and
    write each level with ``write``, an ``INSERT … SELECT`` from ``{rows}`` joined to its units ``u``.

    Level by level from the deepest: a level's rows are its own units' rows plus its children's
    totals, so the big bottom level is read once, not once per ancestor. Returns the rows written.
    """
    top = len(campaign.unit.path)
    cursor.execute("SELECT MAX(LENGTH(path)) FROM fz_kpi_base")
    deepest = cursor.fetchone()[0] or 0
    written = 0
    children = ""  # the table of the level below, once there is one
    for level in range(deepest, top - 1, -STEP):
        rows = f"fz_kpi_l{level}"
        own = f"SELECT path, {keys}, n FROM fz_kpi_base WHERE LENGTH(path) = {level}"
        cursor.execute(f"DROP TABLE IF EXISTS {rows}")
        if children:
            parts = f"{own} UNION ALL SELECT SUBSTR(path, 1, {level}), {keys}, n FROM {children}"
            cursor.execute(
                f"CREATE TEMPORARY TABLE {rows} AS "
                f"SELECT path, {keys}, SUM(n) AS n FROM ({parts}) x GROUP BY path, {keys}"
            )
            cursor.execute(f"DROP TABLE {children}")
        else:
            cursor.execute(f"CREATE TEMPORARY TABLE {rows} AS {own}")  # one row per key already
        cursor.execute(write.format(rows=rows), params)
        written += cursor.rowcount
        children = rows
    if children:
        cursor.execute(f"DROP TABLE {children}")
    return written


def _base(cursor: Any, keys: str) -> None:
    cursor.execute("DROP TABLE IF EXISTS fz_kpi_base")
    day = ", day date" if "day" in keys else ""
    cursor.execute(
        f"CREATE TEMPORARY TABLE fz_kpi_base (path varchar(255), metric varchar(40){day}, n integer)"
    )


def _counts_into_base(cursor: Any, t: dict[str, str], campaign: Campaign, by_week: bool) -> None:
    """Counted attestations per home unit, item and person kind (and week, with ``by_week``), and people
    per home unit and kind (on the campaign's first day), into ``fz_kpi_base``."""
    path = campaign.unit.path
    week = week_sql("a.at", campaign.starts_on)
    # Homes first, then each person's attestations through the (campaign, person, item) index: a
    # person's rows lie together, so the table is read in order. SQLite takes the join order from
    # CROSS JOIN; PostgreSQL plans it itself.
    join = "CROSS JOIN" if connection.vendor == "sqlite" else "JOIN"
    inside = f"SUBSTR(u.path, 1, {len(path)}) = %s"
    weeks = (
        (f", {week.group} AS week", ", 4", f", {week.day.format(week='w.week')}") if by_week else ("", "", "")
    )
    cursor.execute(
        f"""
        INSERT INTO fz_kpi_base
        SELECT u.path, w.item || ':' || w.kind{weeks[2]}, w.n
        FROM (
            SELECT h.unit_id AS unit_id, a.item AS item, h.kind AS kind{weeks[0]}, COUNT(*) AS n
            FROM {t["home"]} h {join} {t["att"]} a ON a.person_id = h.person_id AND a.campaign_id = %s
            WHERE a.status IN ({", ".join(["%s"] * len(COUNTED))})
            GROUP BY 1, 2, 3{weeks[1]}
        ) w
        JOIN {t["unit"]} u ON u.id = w.unit_id
        WHERE {inside}
        """,
        [*(week.params if by_week else []), campaign.pk, *sorted(COUNTED), path],
    )
    first = ", %s" if by_week else ""
    cursor.execute(
        f"""
        INSERT INTO fz_kpi_base
        SELECT u.path, '{PEOPLE}:' || p.kind{first}, p.n
        FROM (SELECT h.unit_id AS unit_id, h.kind AS kind, COUNT(*) AS n FROM {t["home"]} h GROUP BY 1, 2) p
        JOIN {t["unit"]} u ON u.id = p.unit_id
        WHERE {inside}
        """,
        [*([connection.ops.adapt_datefield_value(campaign.starts_on)] if by_week else []), path],
    )


def _rewrite_counts(cursor: Any, t: dict[str, str], campaign: Campaign) -> int:
    """Replace the campaign's attestation and people counts, every week from the attestations' ``at``."""
    cursor.execute(
        f"DELETE FROM {t['kpi']} WHERE campaign_id = %s AND metric NOT LIKE %s",
        [campaign.pk, f"{ACTIVITY}:%"],
    )
    _base(cursor, "metric, day")
    _counts_into_base(cursor, t, campaign, by_week=True)
    written = _roll_up(
        cursor,
        campaign,
        "metric, day",
        f"INSERT INTO {t['kpi']} (campaign_id, unit_id, metric, day, value) "
        f"SELECT %s, u.id, l.metric, l.day, l.n FROM {{rows}} l JOIN {t['unit']} u ON u.path = l.path",
        [campaign.pk],
    )
    cursor.execute("DROP TABLE fz_kpi_base")
    return written


def _reconcile_counts(cursor: Any, t: dict[str, str], campaign: Campaign, today: date) -> int:
    """Recompute the campaign's current attestation and people counts of every unit and book each
    difference from what the rows add up to in this week's row; returns the rows changed."""
    _base(cursor, "metric")
    _counts_into_base(cursor, t, campaign, by_week=False)
    cursor.execute("DROP TABLE IF EXISTS fz_kpi_now")
    cursor.execute("CREATE TEMPORARY TABLE fz_kpi_now (unit_id bigint, metric varchar(40), n integer)")
    join = f"JOIN {t['unit']} u ON u.path = l.path"
    write = f"INSERT INTO fz_kpi_now SELECT u.id, l.metric, l.n FROM {{rows}} l {join}"
    _roll_up(cursor, campaign, "metric", write, [])
    cursor.execute("DROP TABLE fz_kpi_base")
    # New totals minus what the rows hold (summed in the order of the unique index: no sort), booked
    # in this week's rows. The outer SELECT with its WHERE keeps SQLite's upsert parser unambiguous.
    cursor.execute(
        f"""
        INSERT INTO {t["kpi"]} (campaign_id, unit_id, metric, day, value)
        SELECT %s, unit_id, metric, %s, d FROM (
            SELECT unit_id, metric, SUM(n) AS d FROM (
                SELECT unit_id, metric, n FROM fz_kpi_now
                UNION ALL
                SELECT unit_id, metric, -SUM(value) FROM {t["kpi"]}
                WHERE campaign_id = %s AND metric NOT LIKE %s GROUP BY unit_id, metric
            ) x
            GROUP BY unit_id, metric
        ) diff
        WHERE d <> 0
        ON CONFLICT (campaign_id, unit_id, metric, day)
        DO UPDATE SET value = {t["kpi"]}.value + excluded.value
        """,
        [
            campaign.pk,
            connection.ops.adapt_datefield_value(week_start(campaign.starts_on, today)),
            campaign.pk,
            f"{ACTIVITY}:%",
        ],
    )
    changed = cursor.rowcount
    cursor.execute("DROP TABLE fz_kpi_now")
    return changed


def _replace_compliance(cursor: Any, t: dict[str, str], campaign: Campaign, today: date) -> int:
    """Replace the campaign's activity-compliance tallies with those as of ``today``: each unit's own
    obligations judged by ``campaigns.compliance``, then rolled up. Returns the rows written."""
    snap = compliance.snapshot(campaign, Obligation.objects.all(), today)
    tallies: dict[str, compliance.Tally] = defaultdict(compliance.Tally)
    sizes: Counter[str] = Counter()
    for state in snap.states():
        tallies[state.item.path].merge(state.tally)
        sizes[state.item.path] += 1
    rows = []
    for path, tally in tallies.items():
        values = {activity_metric(f): getattr(tally, f) for f in ACTIVITY_FIELDS}
        values[OBLIGATIONS] = sizes[path]
        rows += [(path, metric, value) for metric, value in values.items() if value]
    cursor.execute(
        f"DELETE FROM {t['kpi']} WHERE campaign_id = %s AND metric LIKE %s", [campaign.pk, f"{ACTIVITY}:%"]
    )
    _base(cursor, "metric")
    cursor.executemany("INSERT INTO fz_kpi_base (path, metric, n) VALUES (%s, %s, %s)", rows)
    written = _roll_up(
        cursor,
        campaign,
        "metric",
        f"INSERT INTO {t['kpi']} (campaign_id, unit_id, metric, day, value) "
        f"SELECT %s, u.id, l.metric, %s, l.n FROM {{rows}} l JOIN {t['unit']} u ON u.path = l.path",
        [campaign.pk, connection.ops.adapt_datefield_value(today)],
    )
    cursor.execute("DROP TABLE fz_kpi_base")
    return written


@dataclass
class RebuildResult:
    counts: int = 0  # count rows written (history) or changed (reconcile)
    compliance: int = 0  # compliance rows written
    history: bool = False


def _work_tables_in_memory() -> None:
    """On SQLite, keep the rebuild's work tables in memory (allowed outside a transaction only; the
    setting stays with the connection, which is what a worker process wants)."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA temp_store = MEMORY")


def rebuild(campaign: Campaign, today: date | None = None, history: bool | None = None) -> RebuildResult:
    """Recompute every KPI of every unit of ``campaign`` from the raw rows (homes as in ``PersonHome``).

    The current figures always come out exact. ``history`` decides what happens to the weekly rows
    behind them: True rewrites every week from the attestations' ``at`` (a campaign's first build,
    or after attestations were imported with past dates); False keeps the weeks as they were booked
    and puts each difference into this week (the nightly run: the trend keeps what was known when).
    None: history when the campaign has no counts yet.
    """
    today = today or timezone.localdate()
    _work_tables_in_memory()
    t = _tables()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(of=("self",)).select_related("unit").get(pk=campaign.pk)
        if history is None:
            history = (
                not KpiCount.objects.filter(campaign=campaign).exclude(metric__startswith=ACTIVITY).exists()
            )
        with connection.cursor() as cursor:
            if history:
                counts = _rewrite_counts(cursor, t, campaign)
            else:
                counts = _reconcile_counts(cursor, t, campaign, today)
            written = _replace_compliance(cursor, t, campaign, today)
    return RebuildResult(counts=counts, compliance=written, history=history)


def refresh_compliance(campaign: Campaign, today: date | None = None) -> int:
    """Recompute only the campaign's activity-compliance tallies, as of ``today``; returns rows written."""
    _work_tables_in_memory()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(of=("self",)).select_related("unit").get(pk=campaign.pk)
        with connection.cursor() as cursor:
            return _replace_compliance(cursor, _tables(), campaign, today or timezone.localdate())


def rebuild_all(
    campaigns: Iterable[Campaign] | None = None, homes: bool = True, history: bool | None = None
) -> dict[int, RebuildResult]:
    """Refresh the homes, then rebuild each campaign (all of them by default)."""
    if homes:
        refresh_homes()
    chosen = list(campaigns) if campaigns is not None else list(Campaign.objects.select_related("unit"))
    return {campaign.pk: rebuild(campaign, history=history) for campaign in chosen}


# Incremental update ----------------------------------------------------------------------------


UPSERT = (
    "INSERT INTO {kpi} (campaign_id, unit_id, metric, day, value) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (campaign_id, unit_id, metric, day) DO UPDATE SET value = {kpi}.value + excluded.value"
)


def apply_changes(changes: Sequence[AttestationChange], today: date | None = None) -> int:
    """Add attestation changes to this week's counts of each person's home unit and its ancestors.

    A change counts +1 when the attestation starts to count, −1 when it stops, and nothing when
    its status changes but it counts (or not) as before; a change twice for one person and item
    within ``changes`` nets out first. Returns the number of rows touched.
    """
    deltas: Counter[tuple[int, int, str]] = Counter()
    for _pk, campaign_id, person_id, item, before, after in changes:
        step = int(bool(after)) - int(bool(before))
        if step:
            deltas[(campaign_id, person_id, item)] += step
    deltas = Counter({key: step for key, step in deltas.items() if step})
    if not deltas:
        return 0
    today = today or timezone.localdate()
    with transaction.atomic():
        tops = {
            pk: (path, week_start(first, today))
            for pk, path, first in Campaign.objects.filter(pk__in={c for c, _p, _i in deltas}).values_list(
                "pk", "unit__path", "starts_on"
            )
        }
        homes = homes_of(p for _c, p, _i in deltas)
        counts: Counter[tuple[int, str, str]] = Counter()
        for (campaign_id, person_id, item), step in deltas.items():
            home, top = homes.get(person_id), tops.get(campaign_id)
            if home is None or top is None:
                continue
            for prefix in ancestors(home.path, top[0]):
                counts[(campaign_id, prefix, item_metric(item, home.kind))] += step
        return _upsert(counts, {pk: week for pk, (_path, week) in tops.items()})


def _upsert(counts: Counter[tuple[int, str, str]], weeks: dict[int, date]) -> int:
    """Add each ``(campaign id, unit path, metric)`` step to the row of the campaign's week; returns rows."""
    ids = dict(Unit.objects.filter(path__in={p for _c, p, _m in counts}).values_list("path", "pk"))
    params = [
        (campaign_id, ids[prefix], metric, connection.ops.adapt_datefield_value(weeks[campaign_id]), step)
        for (campaign_id, prefix, metric), step in sorted(counts.items())
        if step and prefix in ids
    ]
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(UPSERT.format(kpi=_tables()["kpi"]), params)
    return len(params)


def on_attestations_changed(changes: Sequence[AttestationChange]) -> None:
    """The ``core.hooks.attestations_changed`` handler: the write has committed already, so a failure here
    must not turn it into an error page; it is logged, and the next ``rebuild`` puts the counts right."""
    try:
        apply_changes(changes)
    except DatabaseError:
        log.exception("KPI counts not updated for %d attestation changes; run `fanzha rollup`", len(changes))


CHUNK = 5000  # ids per ``IN (…)``: well under every database's limit of parameters


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def apply_membership(unit_ids: Sequence[int], today: date | None = None) -> set[int]:
    """Follow people joining, leaving or changing in these units: recompute the homes of their members
    (and of the people whose home they were), and book each moved home in this week's counts.

    A person whose home moved from A to B (or who lost or gained a home) counts −1 in A and its
    ancestors and +1 in B and its ancestors, in the people count of their kind and in each item they
    hold a counted attestation of, in every campaign that has counts above A or B; exactly what a
    ``rebuild`` would find, without recounting a campaign. Returns the campaigns whose counts changed.
    """
    ids = sorted(set(unit_ids))
    roots: set[str] = set()
    for chunk in _chunks(ids):
        roots.update(path[:STEP] for path in Unit.objects.filter(pk__in=chunk).values_list("path", flat=True))
    counted = Campaign.objects.filter(
        Exists(KpiCount.objects.filter(campaign=OuterRef("pk"))),
        reduce(or_, [Q(unit__path__startswith=root) for root in roots], Q(pk__in=[])),
    )
    if not counted.exists():
        return set()  # no campaign counts these people: the next campaign or the nightly run homes them
    today = today or timezone.localdate()
    with transaction.atomic():
        # The people concerned, locked (PostgreSQL) so that two changes of one person book one move.
        concerned: set[int] = set()
        for chunk in _chunks(ids):
            members = Q(pk__in=Membership.objects.filter(unit_id__in=chunk).values("person_id"))
            homed = Q(pk__in=PersonHome.objects.filter(unit_id__in=chunk).values("person_id"))
            lock = Person.objects.select_for_update().filter(members | homed).order_by("pk")
            concerned.update(lock.values_list("pk", flat=True))
        people = sorted(concerned)
        old: dict[int, Home] = {}
        new: dict[int, Home] = {}
        for chunk in _chunks(people):
            old.update(stored_homes(chunk))  # as the counts know them: people without one count nowhere
            PersonHome.objects.filter(person_id__in=chunk).delete()
            new.update(homes_of(chunk))
        moved = [p for p in people if old.get(p) != new.get(p)]
        if not moved:
            return set()
        prefixes = {
            prefix
            for home in (*(old.get(p) for p in moved), *(new.get(p) for p in moved))
            if home is not None
            for prefix in ancestors(home.path, home.path[:STEP])
        }
        tops = {
            pk: (path, week_start(first, today))
            for pk, path, first in counted.filter(unit__path__in=prefixes).values_list(
                "pk", "unit__path", "starts_on"
            )
        }
        if not tops:
            return set()
        items: defaultdict[tuple[int, int], list[str]] = defaultdict(list)
        for chunk in _chunks(moved):
            rows = Attestation.objects.filter(campaign_id__in=tops, person_id__in=chunk, status__in=COUNTED)
            for campaign_id, person_id, item in rows.values_list("campaign_id", "person_id", "item"):
                items[(campaign_id, person_id)].append(item)
        counts: Counter[tuple[int, str, str]] = Counter()
        for campaign_id, (top, _week) in tops.items():
            for person_id in moved:
                for home, step in ((old.get(person_id), -1), (new.get(person_id), 1)):
                    if home is None:
                        continue
                    metrics = [people_metric(home.kind)]
                    metrics += [item_metric(i, home.kind) for i in items.get((campaign_id, person_id), ())]
                    for prefix in ancestors(home.path, top):
                        for metric in metrics:
                            counts[(campaign_id, prefix, metric)] += step
        _upsert(counts, {pk: week for pk, (_path, week) in tops.items()})
    return set(tops)


def campaigns_over(unit_ids: Sequence[int]) -> set[int]:
    """The counted campaigns on these units or above them: a measured obligation's roster is everyone
    with a place in the unit, so a new place changes it even when nobody's home moved."""
    prefixes: set[str] = set()
    ids = sorted(set(unit_ids))
    for chunk in _chunks(ids):
        for path in Unit.objects.filter(pk__in=chunk).values_list("path", flat=True):
            prefixes.update(ancestors(path, path[:STEP]))
    counted = Campaign.objects.filter(
        Exists(KpiCount.objects.filter(campaign=OuterRef("pk"))), unit__path__in=prefixes
    )
    return set(counted.values_list("pk", flat=True))


def on_membership_changed(unit_ids: Sequence[int]) -> None:
    """The ``core.hooks.membership_changed`` handler: homes and counts follow at once (``apply_membership``);
    the campaigns whose counts moved or that lie over the units are marked for the minute's
    ``refresh_stale``, since a measured obligation ("every parent notice signed") is judged on the
    unit's people. The change has committed, so a failure here is logged, and the nightly ``rebuild``
    puts the counts right."""
    try:
        changed = apply_membership(unit_ids) | campaigns_over(unit_ids)
        if changed:
            mark_stale(changed)
    except DatabaseError:
        log.exception(
            "KPI counts not updated for membership changes in %d unit(s); run `fanzha rollup`", len(unit_ids)
        )


def start_counting(campaign: Campaign) -> RebuildResult:
    """Count a campaign that has just started: homes of people not seen yet, then every week's rows."""
    add_missing_homes(campaign.unit.path)
    return rebuild(campaign, history=True)


def mark_stale(campaign_ids: Iterable[int]) -> int:
    """Note that these campaigns' activity compliance changed; ``refresh_stale`` (every minute)
    recomputes it. One row per campaign, however many activities changed: returns rows added."""
    ids = set(campaign_ids)
    existing = set(Campaign.objects.filter(pk__in=ids).values_list("pk", flat=True))
    rows = StaleCampaign.objects.bulk_create(
        [StaleCampaign(campaign_id=pk) for pk in sorted(existing)], ignore_conflicts=True
    )
    return len(rows)


def refresh_stale(today: date | None = None) -> list[int]:
    """Recompute the activity compliance of every campaign marked stale; returns their ids.

    A mark is taken away before its campaign is recomputed, so an activity recorded meanwhile
    marks it again and is picked up by the next run, not lost.
    """
    done = []
    for pk in list(StaleCampaign.objects.order_by("campaign_id").values_list("campaign_id", flat=True)):
        if not StaleCampaign.objects.filter(campaign_id=pk).delete()[0]:
            continue  # another worker took it
        try:
            refresh_compliance(Campaign(pk=pk), today)
        except DatabaseError:
            log.exception("activity compliance of campaign %s not refreshed; marked again", pk)
            mark_stale([pk])
            continue
        done.append(pk)
    return done


def on_campaigns_changed(changes: Sequence[tuple[int, str]]) -> None:
    """The ``core.hooks.campaigns_changed`` handler: a started campaign is counted at once; changed
    activities mark their campaign for the next minute's ``refresh_stale``. The campaign's write has
    committed, so a failure here is logged (and the campaign marked) rather than raised."""
    from fanzha.core.hooks import CAMPAIGN_STARTED

    stale = set()
    for pk, what in changes:
        if what != CAMPAIGN_STARTED:
            stale.add(pk)
            continue
        campaign = Campaign.objects.select_related("unit").filter(pk=pk).first()
        if campaign is None:
            continue
        try:
            start_counting(campaign)
        except DatabaseError:
            log.exception("KPI counts of new campaign %s not built; run `fanzha rollup`", pk)
    if stale:
        mark_stale(stale)


def on_units_added(units: Sequence[Unit]) -> None:
    """The ``core.hooks.units_added`` handler: rebuild the campaigns whose counts the moved units hold.

    New units hold no counts yet and cost one indexed look-up per campaign above them; a unit moved
    with its people carries counts that now belong under other ancestors.
    """
    ids = [unit.pk for unit in units]
    prefixes = {prefix for unit in units for prefix in ancestors(unit.path, unit.path[:STEP])}
    for campaign in Campaign.objects.filter(unit__path__in=prefixes).select_related("unit"):
        if not KpiCount.objects.filter(campaign=campaign, unit_id__in=ids).exists():
            continue
        try:
            rebuild(campaign)
        except DatabaseError:
            log.exception("KPI counts of campaign %s not rebuilt after a unit move", campaign.pk)
