"""``core.dbdates.LocalDate``: the same local dates as ``TruncDate``, without a Python call per row on
SQLite (the activity compliance of a campaign reads tens of thousands of activities)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.db.models.functions import TruncDate
from django.test.utils import CaptureQueriesContext

from fanzha.core.dbdates import LocalDate, fixed_offset
from fanzha.org.models import User

MOMENTS = [  # around midnight in Shanghai (UTC+8), a leap day, a year's end
    datetime(2026, 3, 1, 15, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 1, 16, 0, 0, tzinfo=UTC),
    datetime(2028, 2, 28, 16, 30, tzinfo=UTC),
    datetime(2026, 12, 31, 16, 0, 1, 5, tzinfo=UTC),
    datetime(2026, 6, 1, 0, 0, tzinfo=UTC),
]


def test_local_date_agrees_with_trunc_date(db, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    for i, moment in enumerate(MOMENTS):
        User.objects.create(username=f"d{i}", date_joined=moment)
    rows = User.objects.filter(username__startswith="d").annotate(
        local=LocalDate("date_joined"), django=TruncDate("date_joined")
    )
    with CaptureQueriesContext(connection) as ctx:
        found = sorted((u.username, u.local, u.django) for u in rows)
    assert [local for _n, local, _d in found] == [django for _n, _l, django in found]
    assert [str(local) for _n, local, _d in found] == [
        "2026-03-01",
        "2026-03-02",
        "2028-02-29",
        "2027-01-01",
        "2026-06-01",
    ]
    if connection.vendor == "sqlite":
        sql = ctx.captured_queries[0]["sql"]
        assert sql.count("django_datetime_cast_date") == 1  # TruncDate's; LocalDate is native SQL


def test_a_zone_with_daylight_saving_time_has_no_fixed_offset():
    assert fixed_offset("Asia/Shanghai", 2026) == 8 * 3600
    assert fixed_offset("Europe/Berlin", 2026) is None
