"""The liaison's daily tip on their phone (issue 15, item 4): today's tip for the class group, one tap
to copy it (a vendored script, no CDN) and one to mark it posted, which counts for the daily-tip duty."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns.models import Activity
from fanzha.learn.models import ClassTipPost
from fanzha.org import actions as org
from fanzha.org.models import MembershipRole
from fanzha.reach import actions
from tests.campaigns.engine import obligation, start
from tests.conftest import PASSWORD
from tests.learn.test_tips import make_tips

pytestmark = pytest.mark.django_db


@pytest.fixture
def liaison_user(cast):
    make_tips(5)
    org.add_membership(cast.student, cast.cs2301, MembershipRole.LIAISON)
    return cast.student_user


def test_the_liaison_sees_todays_tip_copies_it_and_marks_it_posted(client, cast, liaison_user):
    ob = obligation(start(cast.uni), "daily-tip", cast.cs2301)
    link = actions.ensure_class_link(cast.cs2301)
    client.force_login(liaison_user)
    page = client.get(reverse("member_home")).content.decode()
    assert 'data-testid="class-tip"' in page and "防骗提示第" in page
    assert "reach/copy.js" in page and "data-copy=" in page and "//cdn" not in page
    assert (
        finders.find("reach/copy.js") and "navigator.clipboard" in open(finders.find("reach/copy.js")).read()
    )
    url = reverse("member_class_tip", args=[link.token])
    assert url in page
    response = client.post(url)
    assert response.status_code == 302 and response.url == reverse("member_home")
    today = timezone.localdate()
    post = ClassTipPost.objects.get(unit=cast.cs2301, day=today)
    assert post.tip.text in page  # the tip shown is the tip recorded
    activity = Activity.objects.get(kind="tip")
    assert activity.obligation == ob and activity.occurred_on == today
    done = client.get(reverse("member_home")).content.decode()
    assert 'data-testid="class-tip-done"' in done and 'data-testid="class-tip-posted"' not in done
    assert client.post(url).status_code == 302
    assert Activity.objects.filter(kind="tip").count() == 1


def test_classmates_and_parents_see_no_tip_and_cannot_mark(client, cast):
    make_tips(5)
    link = actions.ensure_class_link(cast.cs2301)
    client.force_login(cast.student_user)  # not the liaison
    assert 'data-testid="class-tip"' not in client.get(reverse("member_home")).content.decode()
    assert client.post(reverse("member_class_tip", args=[link.token])).status_code == 404
    client.force_login(cast.parent_user)
    assert client.post(reverse("member_class_tip", args=[link.token])).status_code == 404
    assert ClassTipPost.objects.count() == 0


def test_the_link_page_shows_the_tip_to_the_liaison_signed_in_on_the_link(client, cast):
    make_tips(5)
    monitor_user = org.create_account(cast.monitor, PASSWORD)
    org.add_membership(cast.monitor, cast.cs2301, MembershipRole.LIAISON)
    link = actions.ensure_class_link(cast.cs2301)
    client.force_login(monitor_user)
    page = client.get(reverse("member_tasks", args=[link.token])).content.decode()
    assert 'data-testid="class-tip"' in page
    assert client.get(reverse("member_class_tip", args=[link.token])).status_code == 405
