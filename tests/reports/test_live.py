"""Live dashboards (issue 13, item 6): a campaign is counted the moment it starts, activity changes
reach the compliance figures through the minute job, people joining, leaving or moving between units
reach the counts at once (``core.hooks.membership_changed``), and the nightly roll-up only repairs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from fanzha.campaigns.activities import actions as activity_actions
from fanzha.campaigns.models import Obligation
from fanzha.core import jobs
from fanzha.org import actions as org_actions
from fanzha.org.models import Membership
from fanzha.reach import actions as reach_actions
from fanzha.reach.models import Attestation
from fanzha.reports import kpis, queries
from fanzha.reports.models import KpiCount, PersonHome, StaleCampaign
from fanzha.reports.tasks import rollup_changes
from tests.campaigns import files
from tests.conftest import Cast

from .conftest import start_campaign

pytestmark = pytest.mark.django_db


def root_figures(campaign) -> queries.Figures:
    return queries.Kpis(campaign).figures(queries.sums(campaign, [campaign.unit_id])[campaign.unit_id])


def test_a_started_campaign_is_counted_at_once(cast: Cast, django_capture_on_commit_callbacks):
    assert not PersonHome.objects.exists()  # nobody seen by a nightly run yet
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start_campaign(cast)
    figures = root_figures(campaign)
    assert figures.people > 0
    assert figures.items["pledge_signed"].due == figures.people
    assert figures.obligations == Obligation.objects.filter(campaign=campaign).count() > 0


def test_an_activity_reaches_the_dashboard_through_the_minute_job(
    cast: Cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start_campaign(cast)
    before = root_figures(campaign).tally.done
    # An obligation that a record completes (nothing measured), recorded with every kind of evidence.
    obligation = next(
        ob for ob in Obligation.objects.filter(campaign=campaign).order_by("pk") if not ob.rule.measure
    )
    with django_capture_on_commit_callbacks(execute=True):
        activity_actions.record_activity(
            unit=obligation.unit,
            kind="class_meeting",
            occurred_on=timezone.localdate(),
            actor=cast.school_admin,
            obligation=obligation,
            attendance_count=30,
            link="https://example.org/meeting",
            files=[files.upload("合影.jpg", files.jpeg()), files.upload("通知.pdf", files.PDF)],
        )
    assert StaleCampaign.objects.filter(campaign=campaign).exists()
    job = jobs.get("rollup_changes")
    assert job.every == 1
    assert rollup_changes.call() == 1
    assert not StaleCampaign.objects.exists()
    assert root_figures(campaign).tally.done == before + 1
    assert job.enqueue(timezone.now()) == ""  # nothing marked: no task


def test_the_nightly_rollup_reports_what_it_repaired(cast: Cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = start_campaign(cast)
    out = StringIO()
    call_command("rollup", "--campaign", str(campaign.pk), stdout=out)
    assert f"{campaign.pk} {campaign.title}: 0 count rows repaired" in out.getvalue()
    row = KpiCount.objects.filter(campaign=campaign, metric__startswith="people:").first()
    row.value += 5
    row.save()
    out = StringIO()
    call_command("rollup", "--campaign", str(campaign.pk), stdout=out)
    assert "0 count rows repaired" not in out.getvalue()
    assert "count rows repaired" in out.getvalue()


def test_the_demo_shows_coverage_for_every_campaign_without_a_rollup(db, django_capture_on_commit_callbacks):
    from fanzha.campaigns.models import Campaign
    from fanzha.reach.queries import tracked_kinds

    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", "--no-serve", "--scale", "0.02", stdout=StringIO())
    campaigns = list(Campaign.objects.select_related("unit"))
    assert len(campaigns) >= 6
    for campaign in campaigns:
        figures = root_figures(campaign)
        if tracked_kinds(campaign):
            assert figures.people > 0, campaign.title
        assert figures.obligations > 0 or not campaign.rules.exists(), campaign.title
        # every goal of every demo campaign is on its dashboard (item 5)
        rows = queries.goal_rows(queries.Kpis(campaign), figures)
        assert len(rows) == campaign.goals.count(), campaign.title


# Membership changes (people joining, leaving or moving between units) --------------------------------


def unit_people(campaign, unit) -> int:
    return queries.Kpis(campaign).figures(queries.sums(campaign, [unit.pk])[unit.pk]).people


def started(cast: Cast, capture) -> object:
    with capture(execute=True):
        campaign = start_campaign(cast)
    return campaign


def nothing_to_repair(campaign) -> bool:
    """The nightly roll-up, run now, finds every count right already."""
    kpis.refresh_homes()
    return kpis.rebuild(campaign, history=False).counts == 0


def test_a_student_added_to_a_class_reaches_the_dashboard_within_a_minute(
    cast: Cast, django_capture_on_commit_callbacks
):
    campaign = started(cast, django_capture_on_commit_callbacks)
    root, cls = unit_people(campaign, cast.uni), unit_people(campaign, cast.cs2301)
    with django_capture_on_commit_callbacks(execute=True):
        newcomer = org_actions.enrol_person(unit=cast.cs2301, name="新同学", kind="student")
    assert StaleCampaign.objects.filter(campaign=campaign).exists()  # its compliance follows too
    rollup_changes.call()
    assert unit_people(campaign, cast.uni) == root + 1
    assert unit_people(campaign, cast.cs2301) == cls + 1
    assert nothing_to_repair(campaign)

    membership = Membership.objects.get(person=newcomer, unit=cast.cs2301)
    with django_capture_on_commit_callbacks(execute=True):
        org_actions.remove_membership(membership)
    rollup_changes.call()
    assert unit_people(campaign, cast.uni) == root
    assert unit_people(campaign, cast.cs2301) == cls
    assert nothing_to_repair(campaign)


def test_a_student_moved_between_classes_takes_their_pledge_along(
    cast: Cast, django_capture_on_commit_callbacks
):
    campaign = started(cast, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        reach_actions.attest(campaign, cast.math_student, "pledge_signed", Attestation.Status.VERIFIED)
    pledges = {u: root_pledges(campaign, u) for u in (cast.uni, cast.ma2301, cast.cs2302)}
    membership = Membership.objects.get(person=cast.math_student, unit=cast.ma2301)
    with django_capture_on_commit_callbacks(execute=True):
        org_actions.remove_membership(membership)
        org_actions.add_membership(cast.math_student, cast.cs2302)
    rollup_changes.call()
    assert root_pledges(campaign, cast.uni) == pledges[cast.uni]
    assert root_pledges(campaign, cast.ma2301) == pledges[cast.ma2301] - 1
    assert root_pledges(campaign, cast.cs2302) == pledges[cast.cs2302] + 1
    assert nothing_to_repair(campaign)


def root_pledges(campaign, unit) -> int:
    figures = queries.Kpis(campaign).figures(queries.sums(campaign, [unit.pk])[unit.pk])
    return figures.items["pledge_signed"].done


def test_a_deactivated_student_leaves_the_dashboard(cast: Cast, django_capture_on_commit_callbacks):
    campaign = started(cast, django_capture_on_commit_callbacks)
    root = unit_people(campaign, cast.uni)
    with django_capture_on_commit_callbacks(execute=True):
        org_actions.save_person(root=cast.uni, person=cast.math_student, is_active=False)
    assert unit_people(campaign, cast.uni) == root - 1
    assert nothing_to_repair(campaign)


def test_a_roster_import_reaches_the_dashboard_within_a_minute(
    cast: Cast, django_capture_on_commit_callbacks
):
    from tests.org.roster import files

    campaign = started(cast, django_capture_on_commit_callbacks)
    root, cls = unit_people(campaign, cast.uni), unit_people(campaign, cast.cs2301)
    rows = [files.student("S9001", "甲同学"), files.student("S9002", "乙同学")]
    with django_capture_on_commit_callbacks(execute=True):
        result = files.run(files.xlsx(rows), cast.uni)
    assert result.committed, result.problems
    rollup_changes.call()
    assert unit_people(campaign, cast.uni) == root + 2
    assert unit_people(campaign, cast.cs2301) == cls + 2
    assert nothing_to_repair(campaign)


def test_a_change_outside_the_campaign_marks_nothing(cast: Cast, django_capture_on_commit_callbacks):
    campaign = started(cast, django_capture_on_commit_callbacks)
    rows = list(KpiCount.objects.filter(campaign=campaign).values_list("unit_id", "metric", "day", "value"))
    with django_capture_on_commit_callbacks(execute=True):
        org_actions.enrol_person(unit=cast.oc01, name="外校同学", kind="student")
    assert not StaleCampaign.objects.exists()
    assert (
        list(KpiCount.objects.filter(campaign=campaign).values_list("unit_id", "metric", "day", "value"))
        == rows
    )


def test_a_deactivated_class_moves_its_students_homes_at_once(cast: Cast, django_capture_on_commit_callbacks):
    campaign = started(cast, django_capture_on_commit_callbacks)
    assert unit_people(campaign, cast.cs2301) > 0
    with django_capture_on_commit_callbacks(execute=True):
        org_actions.set_unit_active(cast.cs2301, False)
    assert not PersonHome.objects.filter(unit=cast.cs2301).exists()
    assert nothing_to_repair(campaign)


def test_a_new_place_that_moves_no_home_still_refreshes_compliance(
    cast: Cast, django_capture_on_commit_callbacks
):
    campaign = started(cast, django_capture_on_commit_callbacks)
    home = PersonHome.objects.get(person=cast.student).unit_id
    with django_capture_on_commit_callbacks(execute=True):
        org_actions.add_membership(cast.student, cast.d1)  # a second place: the class stays the home
    assert PersonHome.objects.get(person=cast.student).unit_id == home
    assert StaleCampaign.objects.filter(campaign=campaign).exists()  # the dorm's roster changed


def test_starting_a_campaign_places_only_the_unplaced_people_of_its_subtree(cast: Cast):
    kept = PersonHome.objects.create(person=cast.monitor, unit=cast.cs, kind=cast.monitor.kind)
    added = kpis.add_missing_homes(cast.uni.path)
    homes = dict(PersonHome.objects.values_list("person_id", "unit_id"))
    assert cast.student.pk in homes and cast.math_student.pk in homes
    assert homes[cast.monitor.pk] == kept.unit_id  # a known home is left to the nightly run
    assert cast.other_student.pk not in homes  # another school's pupil is not this campaign's
    assert added == len(homes) - 1
    assert kpis.add_missing_homes(cast.uni.path) == 0  # nobody twice
    assert homes == dict(PersonHome.objects.values_list("person_id", "unit_id"))
