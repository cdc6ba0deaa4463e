"""Item 9: a bank's outreach record carries target groups, channel, area, people reached and materials;
its record form offers the bank template's kinds, never a school's class meeting."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from fanzha.campaigns.activities import actions
from fanzha.campaigns.models import Activity, Obligation
from fanzha.campaigns.spec import TemplateError, parse_template
from tests.conftest import Cast

from .helpers import BANK_FILE, START, start_bank


def test_the_bank_form_offers_the_bank_kinds_groups_and_channels(county_cast: Cast, client: Client) -> None:
    start_bank(county_cast)
    client.force_login(county_cast.branch_manager)
    page = client.get("/campaigns/activities/record/").content.decode()
    assert "主题班会" not in page
    assert "宣传进社区等外展活动" in page
    for name in ("农村居民", "个体工商户", "在校学生", "进城务工人员", "老年人"):
        assert name in page
    for name in ("电视台", "广播电台", "报纸", "微信公众号", "网站", "户外集中宣传", "营业网点柜面"):
        assert name in page
    assert "覆盖人数" in page and "乡镇（村）" in page and "发放宣传资料" in page


def test_a_school_form_keeps_its_kinds_and_no_reach(cast: Cast, client: Client) -> None:
    client.force_login(cast.counsellor)
    page = client.get("/campaigns/activities/record/").content.decode()
    assert "主题班会" in page
    assert "重点人群" not in page


def test_recording_outreach_keeps_groups_channel_area_and_materials(
    county_cast: Cast, client: Client
) -> None:
    campaign = start_bank(county_cast)
    outdoor = Obligation.objects.get(campaign=campaign, rule__code="outdoor", unit=county_cast.branch)
    client.force_login(county_cast.branch_manager)
    response = client.post(
        "/campaigns/activities/record/",
        {
            "unit": county_cast.branch.pk,
            "kind": "outreach",
            "occurred_on": START.replace(day=12).isoformat(),
            "title": "赶集日摆摊宣传",
            "attendance_count": 120,
            "obligation": outdoor.pk,
            "target_groups": ["rural", "elderly"],
            "channel": "outdoor",
            "area": "城关镇东岭村",
            "materials_count": 300,
        },
    )
    assert response.status_code == 302, response.content.decode()
    activity = Activity.objects.get(title="赶集日摆摊宣传")
    assert activity.target_groups == ["rural", "elderly"]
    assert (activity.channel, activity.area, activity.materials_count, activity.attendance_count) == (
        "outdoor",
        "城关镇东岭村",
        300,
        120,
    )


def test_a_class_meeting_is_refused_on_the_bank_form(county_cast: Cast, client: Client) -> None:
    start_bank(county_cast)
    client.force_login(county_cast.branch_manager)
    response = client.post(
        "/campaigns/activities/record/",
        {"unit": county_cast.branch.pk, "kind": "class_meeting", "occurred_on": START.isoformat()},
    )
    assert response.status_code == 400
    assert not Activity.objects.exists()


def test_the_verb_refuses_a_channel_the_campaign_does_not_count(county_cast: Cast) -> None:
    start_bank(county_cast)
    with pytest.raises(ValidationError) as caught:
        actions.record_activity(
            unit=county_cast.branch,
            kind="outreach",
            occurred_on=START,
            actor=county_cast.branch_manager,
            target_groups=["rural", "pupils"],
            channel="class_radio",
        )
    assert set(caught.value.message_dict) == {"target_groups", "channel"}


def test_a_rule_kind_outside_record_kinds_is_refused() -> None:
    text = BANK_FILE.read_text(encoding="utf-8").replace(
        'activity_kinds = ["outreach"]', 'activity_kinds = ["class_meeting"]'
    )
    with pytest.raises(TemplateError, match="record_kinds"):
        parse_template(text)


def test_the_template_format_knows_every_activity_kind() -> None:
    from fanzha.campaigns.models import ActivityKind
    from fanzha.campaigns.spec import ACTIVITY_KINDS

    assert ACTIVITY_KINDS == tuple(ActivityKind.values)


def test_the_record_page_names_the_groups_and_channel(county_cast: Cast, client: Client) -> None:
    start_bank(county_cast)
    activity = actions.record_activity(
        unit=county_cast.branch,
        kind="outreach",
        occurred_on=START,
        actor=county_cast.branch_manager,
        attendance_count=40,
        target_groups=["elderly"],
        channel="counter",
        area="城关镇",
        materials_count=60,
    )
    client.force_login(county_cast.branch_manager)
    page = client.get(f"/campaigns/activities/{activity.pk}/").content.decode()
    assert "老年人" in page and "营业网点柜面" in page and "城关镇" in page and "elderly" not in page


def test_an_edit_of_the_reach_is_kept_in_the_history_by_name(county_cast: Cast) -> None:
    from fanzha.campaigns.activities.queries import history

    start_bank(county_cast)
    activity = actions.record_activity(
        unit=county_cast.branch,
        kind="outreach",
        occurred_on=START,
        actor=county_cast.branch_manager,
        target_groups=["elderly"],
        channel="counter",
    )
    actions.edit_activity(activity, {"target_groups": ["elderly", "rural"]}, county_cast.branch_manager)
    activity.refresh_from_db()
    (entry,) = history(activity)
    assert [(c.label, c.old, c.new) for c in entry.changes] == [("重点人群", "老年人", "老年人、农村居民")]
