"""The campaign's period pages stay fast with many activities (issue 15, item 5): the day each activity
was entered is computed in SQL (``core.dbdates.LocalDate``), not by a Python call per row on SQLite,
the number of queries does not grow with the activities, and a big campaign's grouped records are
reused between requests until a write to its activities, evidence or attendance raises its version."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns import compliance
from fanzha.campaigns.activities import actions as activity_actions
from fanzha.campaigns.models import Obligation
from fanzha.reports.models import StaleCampaign
from tests.campaigns import files

from .conftest import obligation_of

PAGES = ["campaign_periods", "campaign_calendar", "campaign_dashboard"]


def record_many(cast, campaign, n: int) -> None:
    today = timezone.localdate()
    for i in range(n):
        unit = (cast.cs2301, cast.cs2302, cast.ma2301)[i % 3]
        activity_actions.record_activity(
            unit=unit,
            kind="class_meeting",
            occurred_on=today - timedelta(days=i % 20),
            attendance_count=30,
            actor=cast.school_admin,
            obligation=obligation_of(campaign, unit),
        )


@pytest.mark.parametrize("name", PAGES)
def test_period_pages_use_no_python_date_per_row(client, cast, campaign, name, django_assert_max_num_queries):
    record_many(cast, campaign, 12)
    client.force_login(cast.school_admin)
    url = reverse(name, args=[campaign.pk])
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    assert not [q for q in ctx.captured_queries if "django_datetime_cast_date" in q["sql"]]
    bound = len(ctx.captured_queries)
    record_many(cast, campaign, 24)
    with django_assert_max_num_queries(bound):
        assert client.get(url).status_code == 200


def meeting(cast, campaign, **fields):
    """Today's class meeting of 计科2301班, recorded for the campaign's rule."""
    return activity_actions.record_activity(
        unit=cast.cs2301,
        kind="class_meeting",
        occurred_on=timezone.localdate(),
        actor=cast.counsellor,
        obligation=obligation_of(campaign, cast.cs2301),
        **fields,
    )


def current(campaign, unit) -> compliance.PeriodState:
    snap = compliance.snapshot(campaign, Obligation.objects.all())
    state = snap.state(next(item for item in snap.items if item.unit_id == unit.pk))
    assert state.current is not None
    return state.current


def grouped_reads(ctx: CaptureQueriesContext) -> int:
    """How many of the captured queries grouped the activities (the query ``campaign_records`` keeps)."""
    return sum(1 for q in ctx.captured_queries if "campaigns_evidence" in q["sql"])


def test_a_big_campaign_reuses_its_records_until_they_change(cast, campaign, monkeypatch):
    monkeypatch.setattr(compliance, "FEW_OBLIGATIONS", 0)  # the cast's three classes count as many
    unit = cast.cs2301
    kept = meeting(cast, campaign, attendance_count=30)
    first = current(campaign, unit)
    assert (first.count, first.short) == (0, 1)  # no photo yet: recorded, not counted
    with CaptureQueriesContext(connection) as ctx:
        assert current(campaign, unit) == first
    assert grouped_reads(ctx) == 0  # nothing changed: the grouping is reused

    activity_actions.add_evidence(kept, files.upload("合影.jpg", files.jpeg()), cast.counsellor)
    with CaptureQueriesContext(connection) as ctx:
        after = current(campaign, unit)
    assert grouped_reads(ctx) == 1
    assert (after.count, after.short, after.status) == (1, 0, compliance.Status.DONE)

    other = meeting(cast, campaign)
    activity_actions.add_evidence(
        other, files.upload("合影2.jpg", files.jpeg(40, 40, (9, 9, 9))), cast.counsellor
    )
    assert current(campaign, unit).short == 1  # a photo but nobody present
    activity_actions.add_attendee(other, cast.student, cast.counsellor)
    assert (current(campaign, unit).count, current(campaign, unit).short) == (2, 0)
    activity_actions.remove_attendee(other, cast.student, cast.counsellor)
    assert current(campaign, unit).short == 1
    activity_actions.delete_activity(other, cast.counsellor)
    activity_actions.delete_activity(kept, cast.counsellor)
    gone = current(campaign, unit)
    assert (gone.count, gone.short) == (0, 0)


def test_evidence_marks_the_dashboard_for_the_minute_job(cast, campaign, django_capture_on_commit_callbacks):
    activity = meeting(cast, campaign)
    assert not StaleCampaign.objects.exists()  # the record's own mark waits for a commit that never comes
    with django_capture_on_commit_callbacks(execute=True):
        activity_actions.add_evidence(activity, files.upload("合影.jpg", files.jpeg()), cast.counsellor)
    assert StaleCampaign.objects.filter(campaign=campaign).exists()
