"""Issue 14 item 5: the police "five into" (五进, 篇五). A station's outreach record names the kind of
place (the police template's reach channels), the place and the people reached; the monthly rule is
done only when every kind of place had a record; the outreach page shows reach by kind of place."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from fanzha.campaigns import actions as campaign_actions
from fanzha.campaigns import compliance
from fanzha.campaigns.activities import actions
from fanzha.campaigns.models import Campaign, CampaignTemplate, Obligation
from fanzha.campaigns.outreach.queries import campaign_records, totals
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
from tests.campaigns.engine import record
from tests.conftest import Cast

KINDS = {
    "community": "社区",
    "township": "乡镇（农村）",
    "school": "学校",
    "enterprise": "企业",
    "market": "市场",
}
START, END = date(2026, 3, 1), date(2027, 2, 28)


def start_police(cast: Cast) -> Campaign:
    sync_builtin_templates()
    template = CampaignTemplate.objects.get(code="county-police-special-action")
    assert cast.police is not None
    return campaign_actions.start_campaign(template, cast.police, START, END, {"leader": "王局长"})


def five_into(cast: Cast, campaign: Campaign) -> Obligation:
    return Obligation.objects.get(campaign=campaign, rule__code="five-into", unit=cast.station)


def test_the_police_form_offers_the_five_kinds_of_place(county_cast: Cast, client: Client) -> None:
    start_police(county_cast)
    client.force_login(county_cast.police_officer)
    page = client.get("/campaigns/activities/record/").content.decode()
    assert "场所类型" in page and "场所名称" in page
    for name in KINDS.values():
        assert f">{name}</option>" in page
    assert "重点人群" not in page


def test_a_school_form_offers_no_kinds_of_place(cast: Cast, client: Client) -> None:
    client.force_login(cast.counsellor)
    page = client.get("/campaigns/activities/record/").content.decode()
    assert "场所类型" not in page and "乡镇（农村）" not in page


def test_recording_keeps_kind_place_and_people(county_cast: Cast) -> None:
    campaign = start_police(county_cast)
    activity = actions.record_activity(
        unit=county_cast.station,
        kind="outreach",
        occurred_on=date(2026, 3, 10),
        actor=county_cast.police_officer,
        obligation=five_into(county_cast, campaign),
        attendance_count=80,
        channel="market",
        area="城关农贸市场",
    )
    assert (activity.channel, activity.area, activity.attendance_count) == ("market", "城关农贸市场", 80)


def judge_march(ob: Obligation) -> tuple[int, int]:
    snap = compliance.snapshot(ob.campaign, Obligation.objects.filter(pk=ob.pk), date(2026, 4, 2))
    (item,) = snap.items
    tally = snap.state(item).tally
    return tally.done, tally.overdue


def kinds_recorded(ob: Obligation, codes: list[str]) -> None:
    for n, code in enumerate(codes):
        (activity,) = record(ob, date(2026, 3, 2 + n), kind="outreach")
        activity.channel = code
        activity.save(update_fields=["channel"])


def test_a_month_with_four_kinds_of_five_is_not_done(county_cast: Cast) -> None:
    ob = five_into(county_cast, start_police(county_cast))
    # Six records, but only four kinds of place: the market was never visited.
    kinds_recorded(ob, ["community", "community", "township", "school", "enterprise", "enterprise"])
    assert judge_march(ob) == (0, 1)


def test_a_month_with_all_five_kinds_is_done(county_cast: Cast) -> None:
    ob = five_into(county_cast, start_police(county_cast))
    kinds_recorded(ob, list(KINDS))
    assert judge_march(ob) == (1, 0)


def test_the_outreach_page_shows_reach_by_kind_of_place(county_cast: Cast, client: Client) -> None:
    campaign = start_police(county_cast)
    for code, place, people in (("community", "东门社区", 60), ("market", "城关农贸市场", 140)):
        actions.record_activity(
            unit=county_cast.station,
            kind="outreach",
            occurred_on=date(2026, 3, 10),
            actor=county_cast.police_officer,
            obligation=five_into(county_cast, campaign),
            attendance_count=people,
            channel=code,
            area=place,
        )
    client.force_login(county_cast.police_admin)
    response = client.get(f"/campaigns/{campaign.pk}/outreach/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "分单位、分场所类型（五进）覆盖人数" in page
    assert (
        '<td class="rowhead">城关派出所</td><td>60</td><td>0</td><td>0</td><td>0</td>'
        "<td>140</td><td>200</td><td>2</td>" in page
    )
    assert "城关农贸市场" in page and "重点人群" not in page


@pytest.mark.django_db
def test_the_demo_stations_go_into_several_kinds_of_place() -> None:
    call_command("demo", "--no-serve", "--scale", "0.02", stdout=StringIO())
    police = Campaign.objects.filter(template__code="county-police-special-action").order_by("unit__depth")
    campaign = police.first()
    assert campaign is not None
    found = totals(campaign, campaign_records(campaign))
    assert found is not None
    assert len({d.channel for d in found.details}) >= 3
    assert all(d.area for d in found.details)


def station_status(campaign: Campaign, cast: Cast) -> tuple[int, int]:
    """The station's done and overdue obligations as `fanzha campaign-status` reports them (after the
    reports' roll-up, as the nightly job runs it)."""
    import json

    call_command("rollup", "--campaign", str(campaign.pk), stdout=StringIO())
    out = StringIO()
    call_command("campaign-status", str(campaign.pk), "--json", stdout=out)
    (row,) = [u for u in json.loads(out.getvalue())["units"] if u["id"] == cast.station.pk]
    return row["done"], row["overdue"]


def test_campaign_status_counts_the_month_by_kind_of_place(county_cast: Cast) -> None:
    ob = five_into(county_cast, start_police(county_cast))
    kinds_recorded(ob, ["community", "community", "township", "school", "enterprise", "enterprise"])
    done, overdue = station_status(ob.campaign, county_cast)
    (activity,) = record(ob, date(2026, 3, 20), kind="outreach")
    activity.channel = "market"
    activity.save(update_fields=["channel"])
    assert station_status(ob.campaign, county_cast) == (done + 1, overdue - 1)


def test_a_station_records_outreach_by_default_not_a_class_meeting(county_cast: Cast, client: Client) -> None:
    """Walked at 390 px: a police officer's record form opened on 主题班会 (a school's class meeting)."""
    start_police(county_cast)
    client.force_login(county_cast.police_officer)
    page = client.get("/campaigns/activities/record/").content.decode()
    assert '<option value="outreach" selected>' in page
    assert 'value="宣传进社区等外展活动"' in page  # the title follows the kind
    assert '<option value="class_meeting" selected>' not in page
