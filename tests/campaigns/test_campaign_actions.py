"""Starting a campaign, keeping its obligations in step with the tree, editing and closing it."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from fanzha.campaigns import actions
from fanzha.campaigns.models import Campaign, CampaignEvent, Goal, Obligation, ObligationRule
from fanzha.core import hooks
from fanzha.org import actions as org
from fanzha.org.models import Unit
from tests.campaigns.engine import END, START, make_template, start

pytestmark = pytest.mark.django_db

CLASS_RULES = ["daily-tip", "monthly-meeting", "semester-training", "weekly-article", "yearly-evaluation"]


def units_of(campaign: Campaign, code: str, active: bool = True) -> set[int]:
    return set(
        Obligation.objects.filter(campaign=campaign, rule__code=code, is_active=active).values_list(
            "unit_id", flat=True
        )
    )


def events(campaign: Campaign) -> list[str]:
    return list(campaign.events.order_by("pk").values_list("kind", flat=True))


# Start ------------------------------------------------------------------------------------------


def test_start_on_the_university_creates_obligations_on_every_class_and_room(cast):
    campaign = start(cast.uni)
    classes = {cast.cs2301.pk, cast.cs2302.pk, cast.ma2301.pk}
    for code in CLASS_RULES:
        assert units_of(campaign, code) == classes
    assert units_of(campaign, "pledge") == {cast.d1_101.pk}
    assert Obligation.objects.filter(campaign=campaign).count() == 5 * 3 + 1
    assert not Obligation.objects.filter(unit=cast.oc01).exists()  # another school is not touched
    assert events(campaign) == [actions.EVENT_STARTED]
    assert campaign.events.get().detail["obligations"] == 16


def test_start_copies_and_fills_the_template(cast):
    template = make_template()
    campaign = start(cast.uni, template, contact="王老师")
    assert campaign.title == "示范大学2026年防诈骗测试行动"
    assert campaign.template_text == template.text
    assert campaign.placeholders["leader"] == "校长"  # the template's default
    assert campaign.placeholders["organisation"] == "示范大学"
    assert (
        campaign.sections[0]["body"] == "示范大学全面开展防范电信网络诈骗工作，由校长任组长，联系人王老师。"
    )
    assert [c["heading"] for c in campaign.sections[1]["children"]] == ["（一）宣传教育", "（二）考核"]
    rules = {r.code: r for r in ObligationRule.objects.filter(campaign=campaign)}
    assert rules["pledge"].title == "校长带领签署防骗倡议"
    assert rules["pledge"].due == date(2026, 3, 31)
    assert rules["semester-training"].min_count == 2
    assert rules["daily-tip"].responsible == "monitor"
    goals = {g.code: g for g in Goal.objects.filter(campaign=campaign)}
    assert goals["awareness"].deadline == date(2026, 6, 30)
    assert goals["awareness"].description == "示范大学学生防骗知晓率达到100%"
    assert goals["cases-down"].deadline == END  # "" means the campaign's end
    assert goals["cases-down"].target == Decimal("-50")
    # Editing the template afterwards changes nothing in the running campaign.
    template.text = template.text.replace("防诈骗测试行动", "改过的标题")
    template.save()
    campaign.refresh_from_db()
    assert campaign.spec().title == "{organisation}{year}年防诈骗测试行动"


def test_start_with_edited_sections_and_default_end(cast):
    sections = [{"heading": "总则", "body": "{organisation}由{leader}负责。", "children": []}]
    campaign = actions.start_campaign(make_template(), cast.cs, START, None, {"leader": "院长"}, sections)
    assert campaign.ends_on == date(2027, 2, 28)  # twelve months
    assert campaign.sections == [
        {"heading": "总则", "body": "计算机学院由院长负责。", "auto": "", "children": []}
    ]
    assert units_of(campaign, "daily-tip") == {cast.cs2301.pk, cast.cs2302.pk}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ends_on": date(2026, 2, 1)}, "ends_on"),
        ({"placeholders": {"leadr": "x"}}, "placeholders"),
        ({"sections": [{"heading": 3}]}, "sections"),
        ({"sections": "text"}, "sections"),
    ],
)
def test_start_refuses_bad_input_and_writes_nothing(cast, kwargs, field):
    arguments = {"starts_on": START, "ends_on": END, "placeholders": {}, "sections": None, **kwargs}
    with pytest.raises(ValidationError) as info:
        actions.start_campaign(make_template(), cast.uni, **arguments)
    assert field in info.value.message_dict
    assert not Campaign.objects.exists() and not Obligation.objects.exists()


def test_start_refuses_a_unit_kind_the_template_does_not_allow(cast):
    with pytest.raises(ValidationError) as info:
        start(cast.cs2301)
    assert "unit" in info.value.message_dict
    template = make_template("inactive")
    template.is_active = False
    template.save()
    with pytest.raises(ValidationError):
        start(cast.uni, template)
    assert not Campaign.objects.exists()


def test_start_refuses_a_broken_template(cast):
    template = make_template()
    template.text = "code = 1"
    template.save()
    with pytest.raises(ValidationError) as info:
        start(cast.uni, template)
    assert "template" in info.value.message_dict


def test_start_is_fast_for_thousands_of_dorm_rooms(cast, django_assert_max_num_queries):
    building = [org.UnitTree(f"{n}室", f"R{n:04d}", "dorm_room") for n in range(4000)]
    org.bulk_create_tree(cast.d1, building)
    template = make_template()
    began = time.monotonic()
    with django_assert_max_num_queries(60):
        campaign = start(cast.uni, template)
    elapsed = time.monotonic() - began
    assert Obligation.objects.filter(campaign=campaign, rule__code="pledge").count() == 4001
    assert elapsed < 10, elapsed


# Keeping in step with the tree ---------------------------------------------------------------------


def test_a_class_added_later_gets_its_obligations(cast, django_capture_on_commit_callbacks):
    campaign = start(cast.uni)
    with django_capture_on_commit_callbacks(execute=True):
        new = org.create_unit(parent=cast.cs, name="计科2303班", code="CS2303", kind="class")
    for code in CLASS_RULES:
        assert new.pk in units_of(campaign, code)
    assert events(campaign) == [actions.EVENT_STARTED, actions.EVENT_OBLIGATIONS_SYNCED]
    assert campaign.events.first().detail == {"created": 5, "deactivated": 0, "reactivated": 0}


def test_units_added_in_bulk_get_their_obligations(cast, django_capture_on_commit_callbacks):
    campaign = start(cast.uni)
    with django_capture_on_commit_callbacks(execute=True):
        rooms = org.bulk_create_children(
            cast.d1, [org.UnitSpec(f"{n}室", f"D1-{n}", "dorm_room") for n in (102, 103)]
        )
        trees = org.bulk_create_tree(
            cast.uni,
            [org.UnitTree("二号楼", "D2", "dorm_building", [org.UnitTree("201室", "D2-201", "dorm_room")])],
        )
    assert units_of(campaign, "pledge") == {cast.d1_101.pk, *(u.pk for u in rooms), trees[1].pk}


def test_moving_units_in_and_out(cast, django_capture_on_commit_callbacks):
    campaign = start(cast.uni)
    with django_capture_on_commit_callbacks(execute=True):
        org.move_unit(cast.oc01, cast.ma)  # from the other school into the university
    assert cast.oc01.pk in units_of(campaign, "daily-tip")
    other = start(cast.other, make_template("other-school"))
    assert units_of(other, "daily-tip") == set()  # its only class has left
    with django_capture_on_commit_callbacks(execute=True):
        org.move_unit(cast.cs2302, Unit.objects.get(code="OC"))  # out of the university
    assert cast.cs2302.pk in units_of(campaign, "daily-tip", active=False)
    assert units_of(other, "daily-tip") == {cast.cs2302.pk}
    with django_capture_on_commit_callbacks(execute=True):
        org.move_unit(cast.cs2302, cast.cs)  # and back again
    assert cast.cs2302.pk in units_of(campaign, "daily-tip")
    assert campaign.events.first().detail == {"created": 0, "deactivated": 0, "reactivated": 5}
    assert units_of(other, "daily-tip", active=False) == {cast.cs2302.pk}


def test_sync_is_idempotent_and_follows_switched_off_units(cast):
    campaign = start(cast.uni)
    assert not actions.sync_obligations(campaign).changed
    assert events(campaign) == [actions.EVENT_STARTED]
    org.set_unit_active(cast.ma2301, False)
    assert actions.sync_obligations(campaign).deactivated == 5
    assert not actions.sync_obligations(campaign).changed
    org.set_unit_active(cast.ma2301, True)
    assert actions.sync_obligations(campaign).reactivated == 5
    assert events(campaign).count(actions.EVENT_OBLIGATIONS_SYNCED) == 2


def test_the_hook_is_registered_and_ignores_unrelated_units(cast, django_capture_on_commit_callbacks):
    assert actions.sync_for_units in hooks._units_added
    campaign = start(cast.cs)
    with django_capture_on_commit_callbacks(execute=True):
        org.create_unit(parent=cast.ma, name="数学2302班", code="MA2302", kind="class")
    assert events(campaign) == [actions.EVENT_STARTED]
    assert actions.sync_for_units([]) == []


def test_closed_campaign_is_not_synced(cast, django_capture_on_commit_callbacks):
    campaign = start(cast.uni)
    actions.close_campaign(campaign)
    actions.close_campaign(campaign)  # closing twice records it once
    with django_capture_on_commit_callbacks(execute=True):
        new = org.create_unit(parent=cast.cs, name="计科2303班", code="CS2303", kind="class")
    assert new.pk not in units_of(campaign, "daily-tip")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED
    assert events(campaign) == [actions.EVENT_STARTED, actions.EVENT_CLOSED]


# Sections -----------------------------------------------------------------------------------------


def test_edit_sections_keeps_the_old_text_in_history(cast):
    campaign = start(cast.uni)
    before = campaign.sections
    edited = [{"heading": "一、总则", "body": "{organisation}新的安排。", "children": []}]
    actions.edit_sections(campaign, edited, actor=cast.school_admin)
    campaign.refresh_from_db()
    assert campaign.sections == [
        {"heading": "一、总则", "body": "示范大学新的安排。", "auto": "", "children": []}
    ]
    event = CampaignEvent.objects.get(campaign=campaign, kind=actions.EVENT_SECTIONS_EDITED)
    assert event.detail["before"] == before and event.actor == cast.school_admin
    actions.edit_sections(campaign, edited)  # no change, no event
    assert events(campaign).count(actions.EVENT_SECTIONS_EDITED) == 1
    actions.close_campaign(campaign)
    with pytest.raises(ValidationError):
        actions.edit_sections(campaign, [])
