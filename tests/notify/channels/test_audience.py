"""A channel's audience (item 20): who reads it, set on the page and by ``add_channel``, defaulted from
the unit's kind, and set for the channels that existed before by the migration (same rule). Daily
tips keep going to the class groups they were scheduled for; police groups get no new tip schedule."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from fanzha.learn import actions as learn
from fanzha.learn import queries as learn_queries
from fanzha.learn.models import Tip
from fanzha.notify import actions
from fanzha.notify.models import Channel, ChannelAudience, Outbox
from fanzha.org import actions as org

pytestmark = pytest.mark.django_db

HOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"


def test_add_channel_defaults_the_audience_from_the_unit(cast):
    station = org.create_unit(parent=None, name="示范派出所", code="PS1", kind="police_station")
    expected = {
        cast.cs2301: ChannelAudience.CLASS,
        cast.d1: ChannelAudience.CLASS,
        cast.d1_101: ChannelAudience.CLASS,
        cast.cs: ChannelAudience.STAFF,
        cast.uni: ChannelAudience.STAFF,
        station: ChannelAudience.POLICE,
    }
    for unit, audience in expected.items():
        assert actions.add_channel(unit=unit, kind="wecom", name=unit.name, url=HOOK).audience == audience
    told = actions.add_channel(unit=cast.cs2301, kind="wecom", name="家长群", url=HOOK, audience="parents")
    assert told.audience == ChannelAudience.PARENTS
    with pytest.raises(ValidationError) as info:
        actions.add_channel(unit=cast.cs2301, kind="wecom", name="x", url=HOOK, audience="everyone")
    assert "audience" in info.value.message_dict


def test_the_page_asks_for_the_audience_and_shows_it(client, cast):
    client.force_login(cast.college_admin)
    page = client.get(reverse("channel_create")).content.decode()
    assert "群成员" in page and "不会发到班级群或家长群" in page
    base = {"unit": cast.cs.pk, "kind": "wecom", "name": "学院工作群", "url": HOOK}
    response = client.post(reverse("channel_create"), base)
    assert response.status_code == 400 and "audience" in response.context["form"].errors
    assert not Channel.objects.exists()
    response = client.post(reverse("channel_create"), {**base, "audience": "staff"})
    assert response.status_code == 302
    channel = Channel.objects.get()
    assert channel.audience == ChannelAudience.STAFF
    assert "教职工/工作群" in client.get(reverse("channel_list")).content.decode()

    edit = reverse("channel_edit", args=[channel.pk])
    client.post(edit, {"kind": "wecom", "name": "学院学生群", "url": "", "secret": "", "audience": "class"})
    channel.refresh_from_db()
    assert channel.audience == ChannelAudience.CLASS
    client.post(edit, {"kind": "wecom", "name": "学院学生群", "url": "", "secret": ""})  # left out: kept
    channel.refresh_from_db()
    assert channel.audience == ChannelAudience.CLASS


def test_the_migration_sets_the_audience_of_existing_channels(cast):
    station = org.create_unit(parent=None, name="示范派出所", code="PS1", kind="police_station")
    units = {
        "class": cast.cs2301,
        "dorm_building": cast.d1,
        "college": cast.cs,
        "school": cast.uni,
        "police": station,
    }
    channels = {k: actions.add_channel(unit=u, kind="wecom", name=k, url=HOOK) for k, u in units.items()}
    # As the previous release left them: no audience, i.e. the column's default for every row.
    Channel.objects.update(audience=ChannelAudience.CLASS)

    migration = importlib.import_module("fanzha.notify.migrations.0002_channel_audience")
    migration.set_audiences(apps, None)

    got = {k: Channel.objects.get(pk=c.pk).audience for k, c in channels.items()}
    assert got == {
        "class": ChannelAudience.CLASS,
        "dorm_building": ChannelAudience.CLASS,
        "college": ChannelAudience.STAFF,
        "school": ChannelAudience.STAFF,
        "police": ChannelAudience.POLICE,
    }


def test_tips_keep_going_to_class_groups_and_police_groups_get_none(cast):
    Tip.objects.create(code="t001", text="防骗提示", audiences=["student"])
    class_group = actions.add_channel(unit=cast.cs2301, kind="wecom", name="班级群", url=HOOK)
    parents = actions.add_channel(unit=cast.cs2301, kind="wecom", name="家长群", url=HOOK, audience="parents")
    staff = actions.add_channel(unit=cast.cs, kind="wecom", name="学院工作群", url=HOOK)
    police = actions.add_channel(unit=cast.uni, kind="wecom", name="警务群", url=HOOK, audience="police")
    offered = set(learn_queries.schedulable_channels(cast.school_admin))
    assert offered == {class_group, parents, staff}
    assert police not in offered
    schedule = learn.create_tip_schedule(unit=cast.cs2301, channel=class_group, starts_on=date(2026, 1, 1))
    post, queued = learn.post_tip(schedule, date(2026, 3, 6))
    assert queued and Outbox.objects.get(pk=post.outbox_id).channel == class_group
