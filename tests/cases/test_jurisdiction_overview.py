"""The jurisdiction overview (辖区概况): a station counts the cases, open alerts and publicity of the
places assigned to it, figures checked by hand; another station, a teacher and the XLSX see nothing
more; the county's police bureau sums its stations."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from fanzha.campaigns.models import Activity
from fanzha.cases.models import Alert, Case
from fanzha.org import actions
from tests.conftest import Cast
from tests.org.test_jurisdiction import _case, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def _activity(unit, day: date, people: int | None, deleted: bool = False) -> None:  # type: ignore[no-untyped-def]
    Activity.objects.create(
        unit=unit,
        kind="lecture",
        occurred_on=day,
        title="防诈讲座",
        attendance_count=people,
        is_deleted=deleted,
    )


@pytest.fixture
def places(world: Cast) -> Cast:  # noqa: F811
    """M01 in 城关派出所's jurisdiction, K01 in 东岭派出所's; cases, alerts and activities counted by hand:

    M01: this year 2 cases (alerts open), last year's same days 1 (alert resolved), two years ago 1;
         activities this year 2 (40 people + one without a count), one deleted, one last year.
    K01: one activity this year, 30 people; no case.
    """
    c = world
    actions.assign_jurisdiction(c.m01, c.station, c.bureau_admin)
    actions.assign_jurisdiction(c.k01, c.station2, c.bureau_admin)
    today = timezone.localdate()
    jan = date(today.year, 1, 1)
    _case(c)
    _case(c)
    old = _case(c)
    Case.objects.filter(pk=old.pk).update(reported_at=_at(date(today.year - 1, 1, 1)))
    Alert.objects.filter(case=old).update(status=Alert.Status.RESOLVED)
    older = _case(c)
    Case.objects.filter(pk=older.pk).update(reported_at=_at(date(today.year - 2, 6, 1)))
    Alert.objects.filter(case=older).update(status=Alert.Status.RESOLVED)
    _activity(c.m01, jan, 40)
    _activity(c.m0701, today, None)
    _activity(c.m01, today, 100, deleted=True)
    _activity(c.m01, date(today.year - 1, 3, 1), 50)
    _activity(c.k01, today, 30)
    _activity(c.other, today, 500)  # a school in no jurisdiction
    for u in (c.police_officer, c.officer2, c.police_admin):
        u.__dict__.pop("_fanzha_scope", None)
    return c


def _cells(html: str, unit: object) -> dict[str, str]:
    """The figures of the row ``data-unit="unit"`` by column."""
    row = html.split(f'data-unit="{unit}"', 1)[1].split("</tr>", 1)[0]
    found = {}
    for part in row.split('data-col="')[1:]:
        col, rest = part.split('"', 1)
        found[col] = rest.split(">", 1)[1].split("<", 1)[0]
    return found


HAND_M01 = {"cases": "2", "before": "1", "yoy": "100.0%", "alerts": "2", "activities": "2", "reached": "40"}


def test_station_counts_its_places_cases_alerts_and_outreach(places: Cast) -> None:
    c = places
    client = Client()
    client.force_login(c.police_officer)
    page = client.get(reverse("jurisdiction_overview"))
    assert page.status_code == 200
    html = page.content.decode()
    assert _cells(html, c.m01.pk) == HAND_M01
    assert _cells(html, "total") == HAND_M01
    assert f'data-unit="{c.k01.pk}"' not in html  # the other station's place
    assert "孙小明" not in html and "班主任" not in html  # counts only, no person
    # The same table as XLSX, without a name either.
    book = load_workbook(io.BytesIO(client.get(reverse("jurisdiction_overview_export")).content))
    values = [[cell for cell in row] for row in book.active.iter_rows(values_only=True)]
    assert [c.m01.name, "学校", 2, 1, "+100.0%", 2, 2, 40] in [list(v) for v in values]
    assert ["合计", None, 2, 1, "+100.0%", 2, 2, 40] in [list(v) for v in values]
    assert "孙小明" not in repr(values)
    # Linked from the station's case statistics and from the home page.
    stats = client.get(reverse("case_stats"), {"unit": c.station.pk}).content.decode()
    assert reverse("jurisdiction_overview") in stats
    assert reverse("jurisdiction_overview") in client.get(reverse("home")).content.decode()


def test_another_station_and_a_teacher_see_none_of_it(places: Cast) -> None:
    c = places
    client = Client()
    client.force_login(c.officer2)
    html = client.get(reverse("jurisdiction_overview")).content.decode()
    assert f'data-unit="{c.m01.pk}"' not in html
    assert _cells(html, "total") == {
        "cases": "0",
        "before": "0",
        "yoy": "—",
        "alerts": "0",
        "activities": "1",
        "reached": "30",
    }
    # Asking for the first station's overview: 404, page and XLSX.
    assert client.get(reverse("jurisdiction_overview"), {"unit": c.station.pk}).status_code == 404
    assert client.get(reverse("jurisdiction_overview_export"), {"unit": c.station.pk}).status_code == 404
    # The school's own teacher: no police unit, no overview.
    client.force_login(c.class_teacher)
    assert client.get(reverse("jurisdiction_overview")).status_code == 404
    assert client.get(reverse("jurisdiction_overview"), {"unit": c.station.pk}).status_code == 404
    assert client.get(reverse("jurisdiction_overview_export")).status_code == 404
    assert reverse("jurisdiction_overview") not in client.get(reverse("home")).content.decode()


def test_county_police_bureau_sums_its_stations(places: Cast) -> None:
    c = places
    client = Client()
    client.force_login(c.police_admin)
    html = client.get(reverse("jurisdiction_overview"), {"unit": c.police.pk}).content.decode()
    assert _cells(html, c.station.pk) == HAND_M01
    assert _cells(html, c.station2.pk)["activities"] == "1"
    assert _cells(html, c.station2.pk)["reached"] == "30"
    assert _cells(html, "total") == {**HAND_M01, "activities": "3", "reached": "70"}
    assert "孙小明" not in html
    # Drilling down to a station shows its places.
    station = client.get(reverse("jurisdiction_overview"), {"unit": c.station.pk}).content.decode()
    assert _cells(station, c.m01.pk) == HAND_M01


def test_overview_period_is_year_to_date_against_the_same_days() -> None:
    from fanzha.cases.jurisdiction.queries import year_to_date

    today = date(2026, 12, 7)
    assert year_to_date(2026, today).last == today
    assert year_to_date(2025, today).last == date(2025, 12, 31)
    assert year_to_date(2026, today).first + timedelta(days=340) == today
