"""Tips posted by hand (issue 15, item 4): a class group on personal WeChat or QQ has no robot, so the
class's student liaison posts the day's tip and marks it "已发到班级群". The mark is one verb: only the
liaison, once per class and day, choosing the tip like ``pick_tip`` (no repeat within the window),
and it records the "tip" activity that counts for the class's daily-tip duty, as a robot's post does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied

from fanzha.campaigns.compliance import activity_counts
from fanzha.campaigns.models import Activity, Obligation
from fanzha.learn import actions
from fanzha.learn.models import ClassTipPost
from fanzha.org import actions as org
from fanzha.org.models import MembershipRole
from tests.campaigns.engine import obligation, start
from tests.learn.test_tips import make_tips

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 6)


@pytest.fixture
def liaison(cast):
    org.add_membership(cast.monitor, cast.cs2301, MembershipRole.LIAISON)
    return cast.monitor


def test_the_mark_records_the_tip_activity_for_the_daily_tip_duty(cast, liaison):
    make_tips(10)
    ob = obligation(start(cast.uni), "daily-tip", cast.cs2301)
    shown = actions.class_tip(cast.cs2301, DAY)
    post, recorded = actions.mark_class_tip_posted(cast.cs2301, liaison, cast.student_user, DAY)
    assert recorded and post.tip == shown and post.posted_by == liaison
    activity = Activity.objects.get(kind="tip")
    assert (activity.obligation, activity.occurred_on, activity.unit) == (ob, DAY, cast.cs2301)
    assert activity.recorded_by == cast.student_user and "李四" in activity.title
    assert post.activity == activity
    assert activity_counts(Obligation.objects.filter(pk=ob.pk), DAY, DAY) == {ob.pk: {DAY: 1}}
    # A second tap is the same record and no second activity.
    again, recorded = actions.mark_class_tip_posted(cast.cs2301, liaison, None, DAY)
    assert not recorded and again.pk == post.pk
    assert Activity.objects.filter(kind="tip").count() == 1 and ClassTipPost.objects.count() == 1
    assert actions.class_tip(cast.cs2301, DAY) == shown


def test_only_the_class_liaison_may_mark(cast, liaison):
    make_tips(5)
    with pytest.raises(PermissionDenied):
        actions.mark_class_tip_posted(cast.cs2301, cast.student, None, DAY)  # a classmate
    with pytest.raises(PermissionDenied):
        actions.mark_class_tip_posted(cast.cs2302, liaison, None, DAY)  # another class
    with pytest.raises(PermissionDenied):
        actions.mark_class_tip_posted(cast.cs2301, cast.parent, None, DAY)
    assert ClassTipPost.objects.count() == 0 and Activity.objects.count() == 0


def test_no_repeat_within_the_window(cast, liaison):
    make_tips(70)
    first = date(2026, 1, 1)
    days = [first + timedelta(days=n) for n in range(120)]
    for day in days:
        actions.mark_class_tip_posted(cast.cs2301, liaison, None, day)
    posts = list(ClassTipPost.objects.filter(unit=cast.cs2301).order_by("day").values_list("day", "tip_id"))
    assert len(posts) == 120
    last_seen: dict[int, date] = {}
    for day, tip in posts:
        if tip in last_seen:
            assert (day - last_seen[tip]).days > 60
        last_seen[tip] = day


def test_without_an_obligation_the_mark_is_kept_without_an_activity(cast, liaison):
    make_tips(3)
    post, recorded = actions.mark_class_tip_posted(cast.cs2301, liaison, None, DAY)
    assert recorded and post.activity is None and Activity.objects.count() == 0
