"""The demo's bank month has reach by group, channel and area across its branches, and its report."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from fanzha.campaigns.models import Campaign, Goal
from fanzha.campaigns.outreach.queries import campaign_reach_value, campaign_records, totals


@pytest.fixture
def bank(db) -> Campaign:
    call_command("demo", "--no-serve", "--scale", "0.02", stdout=StringIO())
    return Campaign.objects.filter(template__code="bank-publicity-month").order_by("unit__depth").first()


def test_the_demo_bank_month_has_reach_across_its_branches(bank: Campaign, client, django_user_model) -> None:  # noqa: ANN001
    found = totals(bank, campaign_records(bank))
    assert found is not None
    branches = [r for r in found.rows if r.total.people]
    assert len(branches) >= 2
    assert found.groups_covered == 5
    assert {d.channel for d in found.details} >= {"outdoor"}
    assert any(d.area for d in found.details)
    goal = Goal.objects.get(campaign=bank, code="groups-covered")
    assert campaign_reach_value(bank, goal) == 5
    client.force_login(django_user_model.objects.create_superuser("reach-reader", password="x" * 16))
    page = client.get(f"/campaigns/{bank.pk}/outreach/").content.decode()
    assert "农村居民" in page and "户外集中宣传" in page
    assert client.get(f"/campaigns/{bank.pk}/outreach/report.docx").status_code == 200
