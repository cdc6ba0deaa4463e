"""A parent's task list (issue 13 item 10): each row names its item (家长防骗告知书, 安装国家反诈中心APP)
and its true state: 未完成 until the parent acts, then 已提交 with the date; the "installed" box sits
inside its label so that tapping the text ticks it on a phone."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.reach import actions
from tests.reach.conftest import TEMPLATE, make_campaign
from tests.reach.member.test_pages import sign_in_parent

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(cast):
    text = TEMPLATE.replace('"parent_notice_signed",', '"parent_notice_signed",\n    "parent_app_installed",')
    return make_campaign(cast, text=text, code="reach-parent-tasks")


def rows(html: str) -> list[str]:
    """The text of each task row, tags removed and spaces folded."""
    found = re.findall(r'<li class="task[^"]*"[^>]*>(.*?)</li>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in found]


def test_a_fresh_parent_sees_each_item_by_name_and_not_done(client, cast, link, campaign):
    sign_in_parent(client, link)
    html = client.get(reverse("member_tasks", args=[link.token])).content.decode()
    tasks = rows(html)
    assert len(tasks) == 2, tasks
    notice = next(t for t in tasks if "家长防骗告知书" in t)
    app = next(t for t in tasks if "安装国家反诈中心APP" in t)
    assert "张三" in notice  # the child the notice is signed for
    for row in (notice, app):
        assert "未完成" in row and "已提交" not in row, row


def test_after_acting_the_rows_say_submitted_with_the_date(client, cast, link, campaign):
    actions.declare_parent_app(cast.parent, [cast.student], campaign)
    client.force_login(cast.parent_user)
    html = client.get(reverse("member_home")).content.decode()
    app = next(t for t in rows(html) if "安装国家反诈中心APP" in t)
    notice = next(t for t in rows(html) if "家长防骗告知书" in t)
    assert "已提交" in app and f"{timezone.localdate():%Y-%m-%d}" in app and "未完成" not in app
    assert "未完成" in notice and "已提交" not in notice


def test_the_installed_box_sits_inside_its_label(client, cast, link, campaign):
    sign_in_parent(client, link)
    html = client.get(reverse("member_parent_app", args=[link.token, campaign.pk])).content.decode()
    label = re.search(r"<label[^>]*>(.*?)</label>", html[html.index('name="installed"') - 400 :], re.S)
    assert label is not None
    assert 'name="installed"' in label.group(1) and "我已在自己的手机上安装国家反诈中心APP" in label.group(1)
    assert 'class="check"' in label.group(0)
