"""The campaign's period pages stay fast with many activities (issue 15, item 5): the day each activity
was entered is computed in SQL (``core.dbdates.LocalDate``), not by a Python call per row on SQLite,
and the number of queries does not grow with the activities."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns.activities import actions as activity_actions

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
