"""Item 10: the reach totals per branch × group × channel × township (village), scoped, against the
goals; the groups-covered goal counted from the records; the summary report in DOCX and XLSX."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from fanzha.campaigns import actions as campaign_actions
from fanzha.campaigns.activities import actions
from fanzha.campaigns.models import Campaign, Goal, Obligation
from fanzha.org.models import Role
from tests.conftest import Cast, make_staff

from .helpers import start_bank


def _record(cast: Cast, campaign: Campaign, unit, groups, channel, area, people, materials) -> None:  # noqa: ANN001
    outdoor = Obligation.objects.get(campaign=campaign, rule__code="outdoor", unit=unit)
    actions.record_activity(
        unit=unit,
        kind="outreach",
        occurred_on=date(2026, 5, 15),
        actor=cast.branch_manager,
        obligation=outdoor,
        attendance_count=people,
        target_groups=groups,
        channel=channel,
        area=area,
        materials_count=materials,
    )


@pytest.fixture
def month(county_cast: Cast) -> Campaign:
    campaign = start_bank(county_cast)
    _record(county_cast, campaign, county_cast.branch, ["rural", "elderly"], "outdoor", "东岭村", 120, 300)
    _record(county_cast, campaign, county_cast.branch, ["small_business"], "counter", "城关镇", 30, 40)
    _record(county_cast, campaign, county_cast.branch2, ["students"], "wechat", "东岭镇", 500, 0)
    return campaign


def _head_office_user(cast: Cast):  # noqa: ANN202
    assert cast.bank is not None
    return make_staff(cast.bank, "B0001", "总行管理员", Role.BANK_ADMIN, cast.bank, "bank_staff")


def test_the_head_office_sees_every_branch_by_group_channel_and_area(
    county_cast: Cast, month: Campaign, client: Client
) -> None:
    client.force_login(_head_office_user(county_cast))
    page = client.get(f"/campaigns/{month.pk}/outreach/").content.decode()
    for text in ("城关支行", "东岭支行", "东岭村", "城关镇", "东岭镇", "营业网点柜面", "650", "340"):
        assert text in page, text
    assert "4类" in page and "5类" in page  # groups covered against the goal's 5


def test_a_branch_sees_only_its_own(county_cast: Cast, month: Campaign, client: Client) -> None:
    client.force_login(county_cast.branch_manager)
    page = client.get(f"/campaigns/{month.pk}/outreach/").content.decode()
    assert "城关支行" in page and "东岭村" in page
    assert "东岭支行" not in page and "东岭镇" not in page
    assert client.get(f"/campaigns/{month.pk}/outreach/?unit={county_cast.branch2.pk}").status_code == 404


def test_out_of_scope_is_404(county_cast: Cast, month: Campaign, client: Client) -> None:
    client.force_login(county_cast.counsellor)
    assert client.get(f"/campaigns/{month.pk}/outreach/").status_code == 404
    assert client.get(f"/campaigns/{month.pk}/outreach/report.docx").status_code == 404


def test_the_groups_goal_is_counted_from_the_records(county_cast: Cast, month: Campaign) -> None:
    """The dashboard and ``campaign-status`` compute the goal from the records at once; nobody types it."""

    def shown() -> dict:
        out = io.StringIO()
        call_command("campaign-status", str(month.pk), "--json", stdout=out)
        return next(g for g in json.loads(out.getvalue())["goals"] if g["code"] == "groups-covered")

    goal = Goal.objects.get(campaign=month, code="groups-covered")
    assert shown()["value"] == 4
    _record(county_cast, month, county_cast.branch2, ["migrant_workers"], "outdoor", "工业园区", 80, 100)
    assert shown()["value"] == 5
    assert not goal.records.exists()  # computed where shown, not stored as somebody's judgement
    with pytest.raises(ValidationError):
        campaign_actions.record_goal_value(goal, 3, county_cast.branch_manager)


def test_the_summary_report_downloads_as_docx_and_xlsx(
    county_cast: Cast, month: Campaign, client: Client
) -> None:
    client.force_login(_head_office_user(county_cast))
    xlsx = client.get(f"/campaigns/{month.pk}/outreach/report.xlsx?unit={county_cast.branch.pk}")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = {str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None}
    assert {"城关支行", "东岭村", "农村居民", "户外集中宣传"} <= cells
    assert "东岭支行" not in cells
    docx = client.get(f"/campaigns/{month.pk}/outreach/report.docx")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    from docx import Document

    text = "\n".join(
        cell.text
        for table in Document(io.BytesIO(docx.content)).tables
        for row in table.rows
        for cell in row.cells
    )
    assert "东岭支行" in text and "城关支行" in text and "进城务工人员" in text
    assert client.get(f"/campaigns/{month.pk}/outreach/report.pdf").status_code == 404


def test_the_command_writes_a_branch_report(county_cast: Cast, month: Campaign, tmp_path) -> None:  # noqa: ANN001
    from django.core.management import call_command

    target = tmp_path / "branch.xlsx"
    call_command("outreach-report", str(month.pk), "--unit", "QSNSH/ZH02", "-o", str(target))
    book = load_workbook(target)
    cells = {str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None}
    assert "东岭支行" in cells and "城关支行" not in cells and "在校学生" in cells


def test_after_the_month_each_branch_and_the_head_office_hear_of_their_report(
    county_cast: Cast, month: Campaign
) -> None:
    from fanzha.campaigns.outreach.actions import queue_reports
    from fanzha.notify.models import Outbox

    head = _head_office_user(county_cast)
    assert queue_reports(date(2026, 6, 30)) == 0  # not before the month has ended
    assert queue_reports(date(2026, 7, 1)) >= 2
    links = dict(
        Outbox.objects.filter(idempotency_key__startswith="outreach-report:").values_list("user", "link")
    )
    assert links[head.pk] == f"/campaigns/{month.pk}/outreach/"
    assert (
        links[county_cast.branch_manager.pk]
        == f"/campaigns/{month.pk}/outreach/?unit={county_cast.branch.pk}"
    )
    assert queue_reports(date(2026, 7, 2)) == 0  # once


def test_the_unit_column_keeps_its_names_on_one_line_on_a_phone(
    county_cast: Cast, month: Campaign, client: Client
) -> None:
    """Walked at 390 px: the scrolled tables squeezed the unit column to one character a line."""
    from django.contrib.staticfiles import finders

    client.force_login(_head_office_user(county_cast))
    page = client.get(f"/campaigns/{month.pk}/outreach/").content.decode()
    assert '<td class="rowhead">城关支行</td>' in page
    css = open(finders.find("campaigns/campaigns.css"), encoding="utf-8").read()
    assert ".table td.rowhead" in css


def test_a_record_for_no_one_township_reads_so_in_the_report(
    county_cast: Cast, month: Campaign, client: Client
) -> None:
    """A TV or WeChat piece belongs to no township: the report says so instead of "not filled in"."""
    _record(county_cast, month, county_cast.branch, ["elderly"], "tv", "", 2000, 0)
    client.force_login(_head_office_user(county_cast))
    xlsx = client.get(f"/campaigns/{month.pk}/outreach/report.xlsx?unit={county_cast.branch.pk}")
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = {str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None}
    assert "不分乡镇" in cells and "（未填写）" not in cells
