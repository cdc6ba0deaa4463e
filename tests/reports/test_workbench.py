"""Issue 15, Deliver 1: a unit administrator's workbench shows the periods overdue and still due in
their part of each running campaign, the same figures the dashboard behind the link shows, and the
child units that lag most; nobody counts another subtree's periods."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fanzha.reports import kpis

from .conftest import start_campaign

pytestmark = pytest.mark.django_db

OVERDUE = "逾期未完成的工作"
DUE = "本期尚待完成的工作"


def workbench(client, user):
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response


def test_overdue_and_due_periods_equal_the_dashboard(client, cast):
    campaign = start_campaign(cast, days_ago=70)  # two monthly periods closed with no class meeting
    kpis.refresh_homes()
    kpis.rebuild(campaign)
    for admin in (cast.school_admin, cast.college_admin):
        response = workbench(client, admin)
        urgent = {w.label: w for w in response.context["urgent"]}
        week = {w.label: w for w in response.context["week"]}
        board = client.get(urgent[OVERDUE].url, follow=True).context["obligations"]
        assert urgent[OVERDUE].count == board.overdue > 0
        assert week[DUE].count == board.due > 0
    # the college's admin counts only the college's classes
    school = {w.label: w for w in workbench(client, cast.school_admin).context["urgent"]}
    college = {w.label: w for w in workbench(client, cast.college_admin).context["urgent"]}
    assert college[OVERDUE].count < school[OVERDUE].count


def test_lagging_units_link_to_their_dashboards(client, cast):
    campaign = start_campaign(cast)
    kpis.refresh_homes()
    kpis.rebuild(campaign)
    body = workbench(client, cast.school_admin).content.decode()
    assert 'id="wb-lagging"' in body
    assert reverse("dashboard_unit", args=[campaign.pk, cast.cs.pk]) in body


def test_another_schools_admin_counts_none_of_these_periods(client, cast):
    campaign = start_campaign(cast, days_ago=70)
    kpis.refresh_homes()
    kpis.rebuild(campaign)
    response = workbench(client, cast.outsider)
    labels = [w.label for w in response.context["urgent"]]
    assert OVERDUE not in labels and 'id="wb-lagging"' not in response.content.decode()
    assert workbench(client, cast.auditor).context["urgent"] == []  # a read-only role: no work
