"""Issue 13, item 3 on the dashboards: a period done late (a record entered after the period closed) is
counted apart from those done on time, on the dashboard and in its XLSX export."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from fanzha.campaigns.models import Obligation
from fanzha.reports import kpis
from tests.campaigns.engine import record

from .conftest import start_campaign

pytestmark = pytest.mark.django_db


def test_a_late_period_is_counted_apart_on_the_dashboard_and_its_export(client, cast):
    campaign = start_campaign(cast, days_ago=70)
    today = timezone.localdate()
    ob = Obligation.objects.get(campaign=campaign, unit=cast.cs2301)
    record(
        ob, today - timedelta(days=40), entered=today, kind="class_meeting"
    )  # with its photo, entered late
    kpis.refresh_homes()
    kpis.rebuild(campaign)
    client.force_login(cast.school_admin)
    page = client.get(reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk])).content.decode()
    assert "逾期完成 1" in page
    response = client.get(reverse("dashboard_unit_export", args=[campaign.pk, cast.uni.pk]))
    values = [
        list(row) for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
    ]
    header = values[1]
    children = {row[0]: row for row in values[3:]}
    assert children["计算机学院"][header.index("逾期完成周期")] == 1
    assert values[2][header.index("逾期完成周期")] == 1  # the total
    # The on-time rate does not count it as done.
    assert children["计算机学院"][header.index("按时完成率（%）")] == 0
