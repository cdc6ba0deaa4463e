"""The demo looks lived in (issue 15, item 6): follow-ups with sessions and only a few overdue, alerts
acknowledged and resolved as the police would with one to three waiting from minutes ago, a few chat
robots that never reach the network, daily tips with their history, and a link for every class.

One tiny world, built once for the module (seconds)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone

from fanzha.campaigns.models import Activity, ActivityKind
from fanzha.cases.models import Alert, FollowUp, FollowUpSession
from fanzha.learn.models import TipPost, TipSchedule
from fanzha.notify import webhooks
from fanzha.notify.models import Channel, ChannelKind, Outbox
from fanzha.org import actions as org_actions
from fanzha.org.models import Unit, UnitKind
from fanzha.reach.models import ClassLink

TINY = "0.02"


pytestmark = pytest.mark.django_db


def test_the_demo_is_lived_in():
    call_command("demo", "--no-serve", "--scale", TINY, stdout=StringIO())
    follow_ups_have_sessions_and_few_are_overdue()
    no_alert_waits_for_long_and_one_to_three_wait_from_minutes_ago()
    robots_tips_and_class_links()
    accountability_in_a_realistic_mix()


def follow_ups_have_sessions_and_few_are_overdue():
    today = timezone.localdate()
    # those with someone to do them (a district pupil's class may have no teacher with an account)
    followups = FollowUp.objects.filter(Q(counsellor__isnull=False) | Q(psychologist__isnull=False))
    total = followups.count()
    assert total >= 5
    overdue = followups.filter(status=FollowUp.Status.OPEN, next_date__lt=today).count()
    assert overdue <= max(1, round(total * 0.10)), (overdue, total)  # a few (none in a world this tiny)
    assert followups.filter(status=FollowUp.Status.OPEN, next_date__gte=today).exists()  # due soon
    with_sessions = followups.filter(sessions__isnull=False).distinct().count()
    assert with_sessions >= total * 0.8
    assert followups.filter(status=FollowUp.Status.CLOSED).exists()
    # sessions are dated when they were held, not when the demo was built
    assert FollowUpSession.objects.filter(at__lt=timezone.now() - timedelta(days=7)).exists()


def no_alert_waits_for_long_and_one_to_three_wait_from_minutes_ago():
    now = timezone.now()
    open_ = Alert.objects.filter(status=Alert.Status.OPEN)
    assert 1 <= open_.count() <= 3
    assert not open_.filter(raised_at__lt=now - timedelta(days=1)).exists()
    acknowledged = Alert.objects.filter(status=Alert.Status.ACKNOWLEDGED)
    assert not acknowledged.filter(acknowledged_at__lt=now - timedelta(days=3)).exists()
    resolved = Alert.objects.filter(status__in=[Alert.Status.RESOLVED, Alert.Status.ENDED])
    assert resolved.count() >= Alert.objects.count() * 0.8


def robots_tips_and_class_links():
    robots = [
        c
        for c in Channel.objects.all()
        if c.kind in (ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU)
    ]
    assert len(robots) >= 5
    assert {c.kind for c in robots} == {ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU}
    assert all(webhooks.is_demo(c.url) for c in robots)  # never a real service's address
    assert TipSchedule.objects.count() >= 2
    posts = TipPost.objects.all()
    assert posts.count() >= 2 * 5
    assert (
        not Outbox.objects.filter(pk__in=posts.values("outbox_id"))
        .exclude(status=Outbox.Status.SENT)
        .exists()
    )
    assert posts.filter(activity__isnull=False).exists()  # counted for the class's daily-tip duty
    assert Activity.objects.filter(kind=ActivityKind.TIP, pk__in=posts.values("activity_id")).exists()
    classes = Unit.objects.filter(kind=UnitKind.CLASS, is_active=True)
    assert classes.exists()
    assert not classes.exclude(pk__in=ClassLink.objects.values("unit_id")).exists()


def test_a_message_to_a_demo_robot_is_delivered_without_a_connection(monkeypatch, settings):
    from fanzha.notify import actions as notify_actions
    from fanzha.notify.delivery import deliver_now

    def no_network(*args, **kwargs):
        raise AssertionError("the demo's robot must not be called")

    monkeypatch.setattr(webhooks, "post_json", no_network)
    unit = org_actions.create_unit(parent=None, name="示范大学", code="UNI", kind=UnitKind.SCHOOL)
    settings.FANZHA_WEBHOOK_ALLOWED_HOSTS = [webhooks.DEMO_HOST]  # as the demo saves its robots
    channel = notify_actions.add_channel(
        unit=unit, kind=ChannelKind.WECOM, name="班级群", url=f"https://{webhooks.DEMO_HOST}/wecom/1"
    )
    settings.FANZHA_WEBHOOK_ALLOWED_HOSTS = []  # as the demo serves
    row = notify_actions.queue(channel.kind, channel, subject="测试", body="测试消息", key="demo-robot-test")
    assert deliver_now(row, retry=False).status == Outbox.Status.SENT
    # Anyone else cannot save a channel on the demo's host.
    with pytest.raises(ValidationError):
        notify_actions.add_channel(
            unit=unit, kind=ChannelKind.WECOM, name="群", url=f"https://{webhooks.DEMO_HOST}/wecom/2"
        )


def accountability_in_a_realistic_mix():
    from fanzha.cases.models import AccountabilityAction

    S = AccountabilityAction.Status
    actions = AccountabilityAction.objects.all()
    assert actions.filter(status=S.ACKNOWLEDGED).exists()
    # only the last days' wait to be issued (a unit without an administrator's account cannot sign)
    assert actions.filter(status=S.PROPOSED).count() <= actions.count() / 4
