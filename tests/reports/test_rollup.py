"""The pre-aggregated counts: the home-unit rule, the full rebuild against a brute-force count of the raw
rows, the incremental update through reach's verbs against the rebuild, subtree sums, compliance."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from fanzha.campaigns import compliance
from fanzha.campaigns.models import Campaign, Obligation
from fanzha.core import hooks
from fanzha.org import actions as org_actions
from fanzha.org.models import MembershipRole, Person, Unit
from fanzha.reach import actions as reach_actions
from fanzha.reach.models import COUNTED, Attestation
from fanzha.reports import kpis, queries
from fanzha.reports.models import KpiCount, PersonHome
from tests.campaigns.engine import record
from tests.conftest import Cast

from .conftest import ITEMS

pytestmark = pytest.mark.django_db
S = Attestation.Status


def counts(campaign: Campaign, activity: bool = False) -> Counter[tuple[int, str]]:
    """Every unit's current counts (metric → value summed over weeks), zeros left out."""
    rows = KpiCount.objects.filter(campaign=campaign).values_list("unit_id", "metric", "value")
    result: Counter[tuple[int, str]] = Counter()
    for unit_id, metric, value in rows:
        if activity or not metric.startswith("activity:"):
            result[(unit_id, metric)] += value
    return +result


def rows(campaign: Campaign) -> Counter[tuple[int, str, date]]:
    """Every (unit, metric, week) row of attestation counts, zeros left out."""
    result: Counter[tuple[int, str, date]] = Counter()
    for unit_id, metric, day, value in KpiCount.objects.filter(campaign=campaign).values_list(
        "unit_id", "metric", "day", "value"
    ):
        if not metric.startswith(("activity:", "people:")):
            result[(unit_id, metric, day)] += value
    return +result


def brute_force(campaign: Campaign) -> Counter[tuple[int, str]]:
    """The counts straight from the raw rows, one person at a time: every ancestor of the home unit
    inside the campaign's subtree counts the person once."""
    units = dict(Unit.objects.values_list("path", "pk"))
    top = campaign.unit.path
    homes = {h.person_id: (h.unit.path, h.kind) for h in PersonHome.objects.select_related("unit")}
    result: Counter[tuple[int, str]] = Counter()
    for path, kind in homes.values():
        for prefix in kpis.ancestors(path, top):
            result[(units[prefix], f"people:{kind}")] += 1
    for person_id, item, status in Attestation.objects.filter(campaign=campaign).values_list(
        "person_id", "item", "status"
    ):
        if status in COUNTED and person_id in homes:
            path, kind = homes[person_id]
            for prefix in kpis.ancestors(path, top):
                result[(units[prefix], f"{item}:{kind}")] += 1
    return result


def populate(cast: Cast, rng: random.Random, students: int = 24) -> list[Person]:
    """More people on the cast's university: students in classes (most also in the dormitory room),
    a teacher who is counsellor of a class, a member of staff, a student only in a dormitory."""
    classes = [cast.cs2301, cast.cs2302, cast.ma2301]
    people = [cast.student, cast.monitor, cast.math_student]
    for i in range(students):
        person = org_actions.save_person(
            root=cast.uni, name=f"学生{i}", kind="student", external_number=f"S{i:03d}"
        )
        org_actions.add_membership(person, rng.choice(classes))
        if rng.random() < 0.6:
            org_actions.add_membership(person, cast.d1_101)
        people.append(person)
    teacher = org_actions.save_person(root=cast.uni, name="班主任", kind="teacher", external_number="T900")
    org_actions.add_membership(teacher, cast.cs, MembershipRole.MEMBER)
    org_actions.add_membership(teacher, cast.cs2302, MembershipRole.COUNSELLOR)
    staff = org_actions.save_person(root=cast.uni, name="职工", kind="staff", external_number="T901")
    org_actions.add_membership(staff, cast.uni)
    boarder = org_actions.save_person(root=cast.uni, name="住校生", kind="student", external_number="S900")
    org_actions.add_membership(boarder, cast.d1_101)
    return [*people, teacher, staff, boarder]


def random_history(campaign: Campaign, people: list[Person], rng: random.Random, steps: int) -> None:
    """Declarations, verifications and rejections in random order, each through reach's verbs."""
    for _ in range(steps):
        person = rng.choice(people)
        items = [i for i in ITEMS if i != "parent_notice_signed" or person.kind == "student"]
        item = rng.choice(items)
        status = rng.choice([S.DECLARED, S.VERIFIED, S.REJECTED, S.DECLARED])
        reach_actions.attest(campaign, person, item, status)


# Home units -------------------------------------------------------------------------------------


def test_home_is_the_class_then_other_units_then_dormitories(cast, campaign):
    rng = random.Random(1)
    people = populate(cast, rng, students=4)
    teacher, staff, boarder = people[-3:]
    kpis.refresh_homes()
    homes = dict(PersonHome.objects.values_list("person_id", "unit_id"))
    assert homes[cast.student.pk] == cast.cs2301.pk  # class, not the dormitory room
    assert homes[cast.math_student.pk] == cast.ma2301.pk
    assert homes[cast.monitor.pk] == cast.cs2301.pk
    assert homes[teacher.pk] == cast.cs.pk  # belongs to the college; counsellor of a class is a duty
    assert homes[staff.pk] == cast.uni.pk
    assert homes[boarder.pk] == cast.d1_101.pk  # only a dormitory: that is home
    assert cast.parent.pk not in homes  # parents act for their children and count nowhere
    assert PersonHome.objects.get(person=teacher).kind == "teacher"


def test_the_sql_rule_and_the_python_rule_agree(cast, campaign):
    people = populate(cast, random.Random(2), students=12)
    kpis.refresh_homes()
    from_sql = {h.person_id: h.unit_id for h in PersonHome.objects.all()}
    PersonHome.objects.all().delete()
    from_python = {pk: home.unit_id for pk, home in kpis.homes_of(p.pk for p in people).items()}
    assert from_python == {p.pk: from_sql[p.pk] for p in people}
    assert PersonHome.objects.count() == len(people)  # computed homes are stored


def test_inactive_units_and_people_are_no_home(cast, campaign):
    org_actions.set_unit_active(cast.cs2301, False)
    kpis.refresh_homes()
    homes = dict(PersonHome.objects.values_list("person_id", "unit_id"))
    assert homes[cast.student.pk] == cast.d1_101.pk
    assert cast.monitor.pk not in homes


# Rebuild ----------------------------------------------------------------------------------------


def test_a_student_in_a_class_and_a_dormitory_counts_once(cast, campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.student, "pledge_signed", S.DECLARED)
        reach_actions.attest(campaign, cast.math_student, "pledge_signed", S.VERIFIED)
    kpis.rebuild(campaign)
    sums = queries.sums(campaign, [cast.uni.pk, cast.cs.pk, cast.ma.pk, cast.d1.pk, cast.d1_101.pk])
    assert sums[cast.uni.pk]["pledge_signed:student"] == 2  # not 4: the dormitory does not add them again
    assert sums[cast.uni.pk]["people:student"] == 3
    assert sums[cast.cs.pk]["pledge_signed:student"] == 1
    assert sums[cast.ma.pk]["pledge_signed:student"] == 1
    assert sums[cast.d1.pk]["pledge_signed:student"] == 0
    assert sums[cast.d1_101.pk]["people:student"] == 0


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_rebuild_matches_a_count_of_the_raw_rows(cast, campaign, seed, django_capture_on_commit_callbacks):
    rng = random.Random(seed)
    people = populate(cast, rng)
    kpis.refresh_homes()
    with django_capture_on_commit_callbacks(execute=True):
        random_history(campaign, people, rng, steps=120)
    kpis.rebuild(campaign, history=True)
    assert counts(campaign) == +brute_force(campaign)


def test_every_unit_holds_the_sum_of_its_children_and_its_own_people(
    cast, campaign, django_capture_on_commit_callbacks
):
    rng = random.Random(6)
    people = populate(cast, rng)
    kpis.refresh_homes()
    with django_capture_on_commit_callbacks(execute=True):
        random_history(campaign, people, rng, steps=80)
    kpis.rebuild(campaign)
    units = {u.pk: u for u in Unit.objects.filter(path__startswith=cast.uni.path)}
    current = counts(campaign)
    own: Counter[tuple[int, str]] = Counter()
    for home in PersonHome.objects.all():
        own[(home.unit_id, f"people:{home.kind}")] += 1
    for unit in units.values():
        children = [u for u in units.values() if u.parent_path == unit.path]
        for metric in {m for _u, m in current}:
            if not metric.startswith("people:"):
                continue
            below = sum(current[(c.pk, metric)] for c in children)
            assert current[(unit.pk, metric)] == below + own[(unit.pk, metric)], (unit.name, metric)


def test_rebuild_twice_writes_the_same_rows(cast, campaign, django_capture_on_commit_callbacks):
    people = populate(cast, random.Random(7))
    kpis.refresh_homes()
    with django_capture_on_commit_callbacks(execute=True):
        random_history(campaign, people, random.Random(7), steps=40)
    kpis.rebuild(campaign)
    first = sorted(
        KpiCount.objects.filter(campaign=campaign).values_list("unit_id", "metric", "day", "value")
    )
    kpis.rebuild(campaign)
    assert (
        sorted(KpiCount.objects.filter(campaign=campaign).values_list("unit_id", "metric", "day", "value"))
        == first
    )


def test_reconciling_puts_the_current_figures_right_in_this_week(
    cast, campaign, django_capture_on_commit_callbacks
):
    rng = random.Random(8)
    people = populate(cast, rng)
    kpis.refresh_homes()
    with django_capture_on_commit_callbacks(execute=True):
        random_history(campaign, people, rng, steps=60)
    kpis.rebuild(campaign, history=True)
    # Counts gone wrong: one row lost, one inflated, one person moved to another class unannounced.
    past = campaign.starts_on
    KpiCount.objects.create(
        campaign=campaign, unit=cast.cs, metric="pledge_signed:student", day=past, value=5
    )
    KpiCount.objects.filter(campaign=campaign, unit=cast.uni, metric="people:student").delete()
    moved = people[5]
    moved.memberships.all().delete()
    org_actions.add_membership(moved, cast.cs2302)
    kpis.refresh_homes()
    before = {
        k: v
        for k, v in rows(campaign).items()
        if k[2] != kpis.week_start(campaign.starts_on, timezone.localdate())
    }
    result = kpis.rebuild(campaign, history=False)
    assert not result.history and result.counts > 0
    assert counts(campaign) == +brute_force(campaign)
    this_week = kpis.week_start(campaign.starts_on, timezone.localdate())
    after = {k: v for k, v in rows(campaign).items() if k[2] != this_week}
    assert after == before  # past weeks stay as they were booked


def test_counts_stop_at_the_campaign_unit(cast, campaign):
    other = Campaign.objects.create(
        template=campaign.template,
        template_text=campaign.template_text,
        unit=cast.cs,
        title="学院行动",
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
    )
    kpis.rebuild(other)
    units = set(KpiCount.objects.filter(campaign=other).values_list("unit_id", flat=True))
    assert cast.cs.pk in units and cast.cs2301.pk in units
    assert cast.uni.pk not in units and cast.ma2301.pk not in units


# Days and weeks -----------------------------------------------------------------------------------


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(settings.TIME_ZONE))


def test_week_start():
    first = date(2026, 3, 1)
    assert kpis.week_start(first, date(2026, 3, 1)) == first
    assert kpis.week_start(first, date(2026, 3, 7)) == first
    assert kpis.week_start(first, date(2026, 3, 8)) == date(2026, 3, 8)
    assert kpis.week_start(first, date(2026, 2, 20)) == first  # before the campaign: its first week


@pytest.mark.parametrize(
    "day", ["2026-03-01", "2026-03-07", "2026-03-08", "2026-03-15", "2026-02-01", "2027-01-09"]
)
def test_week_start_in_sql_matches_python(day):
    first = date(2026, 3, 1)
    value = f"'{day}'" if connection.vendor == "sqlite" else f"DATE '{day}'"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {kpis.week_start_sql(value, first)}")
        got = cursor.fetchone()[0]
    got = got if isinstance(got, date) else date.fromisoformat(got)
    assert got == kpis.week_start(first, date.fromisoformat(day))


def test_rebuild_books_each_attestation_in_the_week_of_its_local_day(
    cast, campaign, django_capture_on_commit_callbacks
):
    first = campaign.starts_on
    late_in_week_one = local(first + timedelta(days=6), 23, 30)  # 15:30 UTC: still day 6 in Beijing
    early_in_week_two = local(first + timedelta(days=7), 0, 30)  # 16:30 UTC the day before
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.student, "quiz_passed", S.VERIFIED, at=late_in_week_one)
        reach_actions.attest(campaign, cast.math_student, "quiz_passed", S.VERIFIED, at=early_in_week_two)
    kpis.rebuild(campaign, history=True)
    weeks = dict(
        KpiCount.objects.filter(campaign=campaign, unit=cast.uni, metric="quiz_passed:student").values_list(
            "day", "value"
        )
    )
    assert weeks == {first: 1, first + timedelta(days=7): 1}


# Incremental --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_incremental_updates_equal_a_rebuild(cast, campaign, seed, django_capture_on_commit_callbacks):
    rng = random.Random(seed)
    people = populate(cast, rng)
    kpis.refresh_homes()
    kpis.rebuild(campaign)
    with django_capture_on_commit_callbacks(execute=True):
        random_history(campaign, people, rng, steps=150)
    incremental_counts, incremental_rows = counts(campaign), rows(campaign)
    assert len(incremental_rows) > 20  # the history left counts at many units and items
    kpis.rebuild(campaign, history=True)
    assert incremental_counts == counts(campaign)
    assert incremental_rows == rows(campaign)  # every change this week: the same weekly rows too


def test_a_person_first_seen_gets_a_home_on_the_spot(cast, campaign, django_capture_on_commit_callbacks):
    newcomer = org_actions.save_person(root=cast.uni, name="插班生", kind="student", external_number="S999")
    org_actions.add_membership(newcomer, cast.cs2302)
    org_actions.add_membership(newcomer, cast.d1_101)
    assert not PersonHome.objects.filter(person=newcomer).exists()
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, newcomer, "app_installed", S.DECLARED)
    assert PersonHome.objects.get(person=newcomer).unit_id == cast.cs2302.pk
    sums = queries.sums(campaign, [cast.cs2302.pk, cast.uni.pk])
    assert sums[cast.cs2302.pk]["app_installed:student"] == 1
    assert sums[cast.uni.pk]["app_installed:student"] == 1


def test_the_hook_adds_and_takes_away_and_ignores_no_change(cast, campaign):
    uni = cast.uni.pk
    student = cast.student.pk

    def quiz() -> int:
        return queries.sums(campaign, [uni])[uni]["quiz_passed:student"]

    hooks.attestations_changed([(None, campaign.pk, student, "quiz_passed", False, True)])
    assert quiz() == 1
    hooks.attestations_changed(
        [(None, campaign.pk, student, "quiz_passed", True, True)]
    )  # declared → verified
    assert quiz() == 1
    hooks.attestations_changed([(None, campaign.pk, student, "quiz_passed", True, False)])  # rejected
    assert quiz() == 0
    # Changes of one person and item within one call net out first.
    hooks.attestations_changed(
        [
            (None, campaign.pk, student, "quiz_passed", False, True),
            (None, campaign.pk, student, "quiz_passed", True, False),
            (None, campaign.pk, cast.parent.pk, "quiz_passed", False, True),  # a parent: no home
            (None, 999_999, student, "quiz_passed", False, True),  # no such campaign
        ]
    )
    assert quiz() == 0


def test_a_failing_update_does_not_break_the_write(cast, campaign, monkeypatch, caplog):
    from django.db import DatabaseError

    def boom(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(kpis, "apply_changes", boom)
    kpis.on_attestations_changed([(None, campaign.pk, cast.student.pk, "quiz_passed", False, True)])
    assert "fanzha rollup" in caplog.text


def test_the_dashboard_figure_follows_reach_at_once(cast, campaign, django_capture_on_commit_callbacks):
    kpi = queries.Kpis(campaign)

    def awareness() -> tuple[int, int]:
        figures = kpi.figures(queries.sums(campaign, [cast.uni.pk])[cast.uni.pk])
        ratio = figures.items["quiz_passed"]
        return ratio.done, ratio.due

    assert awareness() == (0, 3)
    with django_capture_on_commit_callbacks(execute=True):
        row = reach_actions.attest(campaign, cast.student, "quiz_passed", S.DECLARED)
    assert awareness() == (1, 3)
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.reject(row, cast.school_admin, "截图不清楚")
    assert awareness() == (0, 3)


# Units moving ----------------------------------------------------------------------------------


def test_moving_a_unit_moves_its_counts(cast, campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.math_student, "pledge_signed", S.DECLARED)
    with django_capture_on_commit_callbacks(execute=True):
        org_actions.move_unit(cast.ma2301, cast.cs)
    sums = queries.sums(campaign, [cast.cs.pk, cast.ma.pk, cast.uni.pk])
    assert sums[cast.cs.pk]["pledge_signed:student"] == 1
    assert sums[cast.ma.pk]["pledge_signed:student"] == 0
    assert sums[cast.cs.pk]["people:student"] == 3
    assert sums[cast.uni.pk]["pledge_signed:student"] == 1


def test_new_units_cost_no_rebuild(cast, campaign, django_capture_on_commit_callbacks, monkeypatch):
    calls = []
    monkeypatch.setattr(kpis, "rebuild", lambda c, today=None: calls.append(c))
    with django_capture_on_commit_callbacks(execute=True):
        org_actions.create_unit(parent=cast.cs, name="计科2303班", code="CS2303", kind="class")
    assert calls == []


# Activity compliance -------------------------------------------------------------------------------


def test_compliance_tallies_are_campaigns_own_summed_up_the_tree(cast, campaign):
    today = timezone.localdate()
    record(Obligation.objects.get(campaign=campaign, unit=cast.cs2301), today)
    kpis.refresh_compliance(campaign)
    snap = compliance.snapshot(campaign, Obligation.objects.all(), today)
    board = compliance.dashboard(snap, cast.uni)
    figures = queries.Kpis(campaign).figures(queries.sums(campaign, [cast.uni.pk])[cast.uni.pk])
    assert (figures.tally.done, figures.tally.due, figures.tally.overdue) == (
        board.totals.done,
        board.totals.due,
        board.totals.overdue,
    )
    assert figures.tally.done >= 1
    assert figures.obligations == Obligation.objects.filter(campaign=campaign).count()
    for row in board.rows:
        child = queries.Kpis(campaign).figures(queries.sums(campaign, [row.unit.pk])[row.unit.pk])
        assert child.tally.percent == row.tally.percent, row.unit.name


def test_the_rollup_command_rebuilds_everything(cast, campaign, django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.student, "pledge_signed", S.DECLARED)
    KpiCount.objects.all().delete()
    PersonHome.objects.all().delete()
    out = StringIO()
    call_command("rollup", stdout=out)
    assert "home units of" in out.getvalue()
    assert queries.sums(campaign, [cast.uni.pk])[cast.uni.pk]["pledge_signed:student"] == 1
    call_command("rollup", "--compliance-only", "--campaign", str(campaign.pk), stdout=out)
    assert queries.sums(campaign, [cast.uni.pk])[cast.uni.pk]["pledge_signed:student"] == 1
