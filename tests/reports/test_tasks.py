"""The roll-up and the weekly report tasks."""

from __future__ import annotations

from fanzha.notify.models import Outbox
from fanzha.reports import tasks
from fanzha.reports.models import KpiCount
from tests.campaigns.engine import start


def test_weekly_report_goes_to_the_campaign_admins_once(cast):
    campaign = start(cast.uni)
    tasks.rollup_refresh.call()
    assert KpiCount.objects.filter(campaign=campaign).exists()

    assert tasks.weekly_report.call("2026-03-04") == 1  # a Wednesday: the week of Monday 2 March
    row = Outbox.objects.get(idempotency_key__startswith="weekly-report:")
    assert row.user == cast.school_admin
    assert row.idempotency_key.endswith(":2026-03-02")
    assert campaign.title in row.subject and "覆盖率" in row.body and "完成率" in row.body
    assert tasks.weekly_report.call("2026-03-02") == 0
