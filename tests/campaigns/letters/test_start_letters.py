"""Starting a campaign creates its responsibility letters in the same transaction; units added
later get theirs when the campaign's obligations are brought in step with the tree."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fanzha.campaigns import actions
from fanzha.campaigns.letters import actions as letters_actions
from fanzha.campaigns.models import Campaign, CampaignEvent, CampaignTemplate, ResponsibilityLetter
from fanzha.org import actions as org
from tests.campaigns.conftest import TEMPLATE
from tests.campaigns.engine import make_template, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def template() -> CampaignTemplate:
    return CampaignTemplate.objects.create(code="activity-test", title="测试", text=TEMPLATE)


def start_with_letters(cast, template) -> Campaign:
    today = timezone.localdate()
    return actions.start_campaign(template, cast.uni, today - timedelta(days=10), None, {})


def pairs(campaign: Campaign) -> list[tuple[int, str, str]]:
    return sorted(
        ResponsibilityLetter.objects.filter(campaign=campaign).values_list(
            "level", "upper_unit__code", "lower_unit__code"
        )
    )


def kinds(campaign: Campaign) -> list[str]:
    return list(campaign.events.order_by("pk").values_list("kind", flat=True))


def test_start_creates_the_letters_level_by_level(cast, template):
    campaign = start_with_letters(cast, template)
    assert pairs(campaign) == [
        (0, "UNI", "CS"),
        (0, "UNI", "MA"),
        (1, "CS", "CS2301"),
        (1, "CS", "CS2302"),
        (1, "MA", "MA2301"),
        (2, "CS2301", "D1-101"),
    ]
    assert kinds(campaign) == [actions.EVENT_STARTED, letters_actions.EVENT_LETTERS_GENERATED]
    letter = ResponsibilityLetter.objects.get(campaign=campaign, lower_unit=cast.cs)
    assert letter.body.endswith("领导小组组长：校长。")  # the template's default placeholder
    # Generating again (the letter page's button) finds them all and records nothing.
    again = letters_actions.generate_letters(campaign)
    assert (again.created, again.existing) == (0, 6)
    assert kinds(campaign) == [actions.EVENT_STARTED, letters_actions.EVENT_LETTERS_GENERATED]


def test_a_template_without_letters_creates_none(cast):
    campaign = start(cast.uni, make_template())
    assert not ResponsibilityLetter.objects.filter(campaign=campaign).exists()
    assert kinds(campaign) == [actions.EVENT_STARTED]


def test_start_is_all_or_nothing(cast, template, monkeypatch):
    def broken(campaign, actor=None):
        ResponsibilityLetter.objects.create(
            campaign=campaign, level=0, upper_unit=cast.uni, lower_unit=cast.cs, title="x", body="x"
        )
        raise RuntimeError("disk full")

    monkeypatch.setattr(letters_actions, "generate_letters", broken)
    with pytest.raises(RuntimeError):
        start_with_letters(cast, template)
    assert not Campaign.objects.exists()
    assert not ResponsibilityLetter.objects.exists()


def test_units_added_later_get_their_letters(cast, template, django_capture_on_commit_callbacks):
    campaign = start_with_letters(cast, template)
    with django_capture_on_commit_callbacks(execute=True):
        new_class = org.create_unit(parent=cast.ma, name="数学2302班", code="MA2302", kind="class")
    letter = ResponsibilityLetter.objects.get(campaign=campaign, lower_unit=new_class)
    assert letter.upper_unit == cast.ma and letter.level == 1
    assert ResponsibilityLetter.objects.filter(campaign=campaign).count() == 7
    # A sync with nothing new adds no letter and no event.
    before = kinds(campaign)
    result = actions.sync_obligations(campaign)
    assert not result.changed and result.letters == 0
    assert kinds(campaign) == before


def test_sync_by_hand_reports_new_letters(cast, template):
    campaign = start_with_letters(cast, template)
    org.create_unit(parent=cast.cs, name="计科2303班", code="CS2303", kind="class")  # hook not run here
    result = actions.sync_obligations(campaign)
    assert result.created == 1 and result.letters == 1


def test_a_closed_campaign_gets_no_new_letters(cast, template):
    campaign = start_with_letters(cast, template)
    actions.close_campaign(campaign)
    org.create_unit(parent=cast.cs, name="计科2303班", code="CS2303", kind="class")
    assert actions.sync_obligations(campaign).letters == 0
    assert ResponsibilityLetter.objects.filter(campaign=campaign).count() == 6
    assert not CampaignEvent.objects.filter(campaign=campaign, kind="obligations_synced").exists()
