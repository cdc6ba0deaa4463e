"""Bulk verbs: many activities in a few inserts, a whole register of attendees at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from fanzha.campaigns.activities import actions
from fanzha.campaigns.models import Activity, Attendance, Obligation
from tests.campaigns.conftest import obligation_of

pytestmark = pytest.mark.django_db


def test_bulk_record_with_the_checks_of_record_activity(cast, campaign, django_assert_max_num_queries):
    today = timezone.localdate()
    ob = Obligation.objects.select_related("rule", "campaign").get(pk=obligation_of(campaign, cast.cs2301).pk)
    items = [
        actions.NewActivity(
            unit=cast.cs2301, kind="class_meeting", occurred_on=today - timedelta(days=i), obligation=ob
        )
        for i in range(5)
    ]
    items.append(actions.NewActivity(unit=cast.cs2302, kind="poster", occurred_on=today, title=" 海报 "))
    with django_assert_max_num_queries(4):  # the version bump is the fourth
        created = actions.bulk_record_activities(items, cast.counsellor)
    assert len(created) == 6 and all(a.pk for a in created)
    first = Activity.objects.get(pk=created[0].pk)
    assert first.campaign == campaign and first.title == "主题班会" and first.recorded_by == cast.counsellor
    assert len({a.checkin_token for a in created}) == 6
    assert Activity.objects.get(pk=created[-1].pk).title == "海报"


def test_bulk_record_refuses_all_when_one_is_wrong(cast, campaign):
    ob = obligation_of(campaign, cast.cs2301)
    items = [
        actions.NewActivity(unit=cast.cs2301, kind="class_meeting", occurred_on=timezone.localdate()),
        actions.NewActivity(
            unit=cast.cs2301, kind="lecture", occurred_on=timezone.localdate(), obligation=ob
        ),
    ]
    with pytest.raises(ValidationError) as exc:
        actions.bulk_record_activities(items, cast.counsellor)
    assert "obligation" in exc.value.message_dict
    assert any("item 1" in note for note in exc.value.__notes__)
    assert not Activity.objects.exists()


def test_add_attendees_is_idempotent_and_checks_membership(cast, campaign):
    activity = actions.record_activity(
        unit=cast.cs2301, kind="class_meeting", occurred_on=timezone.localdate(), actor=cast.counsellor
    )
    assert actions.add_attendees(activity, [cast.student, cast.monitor], cast.counsellor) == 2
    assert actions.add_attendees(activity, [cast.student], cast.counsellor) == 0
    with pytest.raises(ValidationError):
        actions.add_attendees(activity, [cast.student, cast.other_student], cast.counsellor)
    assert Attendance.objects.filter(activity=activity).count() == 2
