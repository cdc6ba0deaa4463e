"""Daily tips: one per class chat group a day, never repeated within the window, queued once in the
outbox and delivered to WeCom, DingTalk and Feishu robots in their exact formats with their
signatures (the local fakes of the services check them); failures and timeouts are retried without
posting twice after a success, missed days stay visible, and a worker back after days away posts
only today's tip, not a burst of the missed ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from fanzha.campaigns.compliance import activity_counts
from fanzha.campaigns.models import Activity, Obligation
from fanzha.learn import actions
from fanzha.learn.models import Tip, TipPost, TipSchedule
from fanzha.notify import actions as notify
from fanzha.notify import delivery
from fanzha.notify.models import Channel, Outbox
from tests.campaigns.engine import obligation, start

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 6)
AT_EIGHT = timezone.make_aware(datetime(2026, 3, 6, 8, 0))


def make_tips(n: int, audiences: list[str] | None = None, prefix: str = "t") -> list[Tip]:
    return [
        Tip.objects.create(
            code=f"{prefix}{i:03d}", text=f"防骗提示第{i}条", audiences=audiences or ["student"]
        )
        for i in range(n)
    ]


NEVER_SENT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=never-sent"  # tests that do not deliver


def channel_for(unit, kind: str = "wecom", url: str = NEVER_SENT, secret: str = "") -> Channel:
    return notify.add_channel(unit=unit, kind=kind, name=f"{unit.name}群", url=url, secret=secret)


def schedule_for(unit, channel: Channel | None = None, **kw) -> TipSchedule:
    kw.setdefault("starts_on", date(2026, 1, 1))
    return actions.create_tip_schedule(unit=unit, channel=channel or channel_for(unit), **kw)


def dingtalk_expected(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_expected(secret: str, timestamp: str) -> str:
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# Choosing the tip ----------------------------------------------------------------------------------


def test_no_repeat_within_the_window_over_200_days(cast):
    make_tips(70)
    schedule = schedule_for(cast.cs2301, no_repeat_days=60)
    other = schedule_for(cast.cs2302, no_repeat_days=60)
    first = date(2026, 1, 1)
    for n in range(200):
        run = actions.post_daily_tips(first + timedelta(days=n))
        assert run.queued == 2 and not run.skipped
    posts = list(TipPost.objects.filter(schedule=schedule).order_by("day").values_list("day", "tip_id"))
    assert len(posts) == 200
    last_seen: dict[int, date] = {}
    for day, tip in posts:
        if tip in last_seen:
            assert (day - last_seen[tip]).days > 60, (tip, last_seen[tip], day)
        last_seen[tip] = day
    theirs = list(TipPost.objects.filter(schedule=other).order_by("day").values_list("tip_id", flat=True))
    assert theirs != [tip for _day, tip in posts]  # each class its own sequence


def test_pick_is_deterministic_and_keeps_the_day_once_posted(cast):
    make_tips(30)
    schedule = schedule_for(cast.cs2301)
    picks = {actions.pick_tip(schedule, DAY).pk for _ in range(5)}
    assert len(picks) == 1
    post, queued = actions.post_tip(schedule, DAY)
    assert queued and post.tip.pk in picks
    assert actions.pick_tip(schedule, DAY) == post.tip


def test_exhausted_pool_falls_back_to_the_least_recently_used(cast):
    tips = make_tips(5)
    schedule = schedule_for(cast.cs2301, no_repeat_days=60)
    for n in range(15):
        actions.post_daily_tips(DAY + timedelta(days=n))
    sequence = list(
        TipPost.objects.filter(schedule=schedule).order_by("day").values_list("tip_id", flat=True)
    )
    assert sorted(sequence[:5]) == sorted(t.pk for t in tips)  # all five before any repeat
    assert sequence[5:10] == sequence[:5] and sequence[10:15] == sequence[:5]  # then oldest first


def test_pool_prefers_the_schedule_audience(cast):
    children = make_tips(3, ["child"], prefix="c")
    make_tips(3, ["elderly"], prefix="e")
    public = make_tips(1, ["public"], prefix="p")
    schedule = schedule_for(cast.cs2301, audience="child")
    assert set(actions.tip_pool("child")) == {t.pk for t in children + public}
    for n in range(8):
        actions.post_daily_tips(DAY + timedelta(days=n))
    used = set(TipPost.objects.filter(schedule=schedule).values_list("tip_id", flat=True))
    assert used == {t.pk for t in children + public}
    assert actions.tip_pool("staff") == [t.pk for t in public]


# Queueing ----------------------------------------------------------------------------------------


def test_post_daily_tips_is_idempotent(cast):
    make_tips(10)
    schedule = schedule_for(cast.cs2301, post_time=time(7, 30))
    first = actions.post_daily_tips(DAY)
    second = actions.post_daily_tips(DAY)
    assert (first.queued, first.existing, second.queued, second.existing) == (1, 0, 0, 1)
    row = Outbox.objects.get()
    post = TipPost.objects.get()
    assert row.idempotency_key == f"tip:{schedule.pk}:2026-03-06"
    assert post.outbox == row and row.channel == schedule.channel
    assert row.not_before == timezone.make_aware(datetime(2026, 3, 6, 7, 30))
    assert row.subject == "【每日防骗提示】3月6日" and row.body == post.tip.text
    # A post whose queueing was interrupted (no outbox yet) is completed, with the same tip.
    TipPost.objects.filter(pk=post.pk).update(outbox=None)
    Outbox.objects.all().delete()
    assert actions.post_daily_tips(DAY).queued == 1
    assert TipPost.objects.get().tip == post.tip and Outbox.objects.count() == 1


def test_schedules_not_yet_started_paused_or_with_a_dead_channel(cast):
    make_tips(10)
    later = schedule_for(cast.cs2301, starts_on=DAY + timedelta(days=1))
    paused = schedule_for(cast.cs2302)
    actions.set_tip_schedule_active(paused, False)
    dead = schedule_for(cast.ma2301)
    notify.disable_channel(dead.channel)
    run = actions.post_daily_tips(DAY)
    assert run.queued == 0 and [s.pk for s, _why in run.skipped] == [dead.pk]
    assert "已停用" in run.skipped[0][1]
    assert actions.missed_days(dead, DAY, DAY) == [DAY]
    assert actions.missed_days(later, DAY, DAY) == []  # before its start: not missed
    assert not Outbox.objects.exists()


def test_create_tip_schedule_checks_its_channel(cast):
    mine = channel_for(cast.cs2301)
    with pytest.raises(ValidationError) as info:
        actions.create_tip_schedule(unit=cast.cs2302, channel=mine)
    assert "channel" in info.value.error_dict
    mail = notify.add_channel(unit=cast.cs2301, kind="email", name="邮箱", url="a@example.com")
    with pytest.raises(ValidationError):
        actions.create_tip_schedule(unit=cast.cs2301, channel=mail)
    with pytest.raises(ValidationError):
        actions.create_tip_schedule(unit=cast.cs2301, channel=mine, no_repeat_days=0)
    actions.create_tip_schedule(unit=cast.cs2301, channel=mine)
    with pytest.raises(ValidationError) as info:
        actions.create_tip_schedule(unit=cast.cs2301, channel=mine)
    assert info.value.error_dict["channel"][0].code == "exists"
    assert TipSchedule.objects.count() == 1


# Delivery to the robots ----------------------------------------------------------------------------


def test_delivery_in_each_platform_format_with_signatures(cast, robots):
    make_tips(10)
    wecom_robot = robots.wecom.add_robot()
    ding_robot = robots.dingtalk.add_robot(secret="SECabc")
    feishu_robot = robots.feishu.add_robot(secret="fs-key")
    wecom = schedule_for(cast.cs2301, channel_for(cast.cs2301, "wecom", wecom_robot.url))
    ding = schedule_for(cast.cs2302, channel_for(cast.cs2302, "dingtalk", ding_robot.url, "SECabc"))
    feishu = schedule_for(cast.ma2301, channel_for(cast.ma2301, "feishu", feishu_robot.url, "fs-key"))
    actions.post_daily_tips(DAY)
    assert delivery.deliver_pending(AT_EIGHT - timedelta(minutes=1)).sent == 0  # not before 08:00
    result = delivery.deliver_pending(AT_EIGHT)
    assert (result.sent, result.failed) == (3, 0)

    def text(schedule: TipSchedule) -> str:
        return "【每日防骗提示】3月6日\n" + TipPost.objects.get(schedule=schedule).tip.text

    # Each fake checked its service's format, and DingTalk's and Feishu's signatures: they took them.
    assert (wecom_robot.texts, ding_robot.texts, feishu_robot.texts) == (
        [text(wecom)],
        [text(ding)],
        [text(feishu)],
    )
    (w,) = robots.wecom.exchanges
    assert w.body == {"msgtype": "text", "text": {"content": text(wecom)}}
    (d,) = robots.dingtalk.exchanges
    assert d.body == {"msgtype": "text", "text": {"content": text(ding)}}
    assert set(d.query) == {"access_token", "timestamp", "sign"} and d.query["access_token"] == ding_robot.key
    assert d.query["sign"] == dingtalk_expected("SECabc", d.query["timestamp"])
    assert abs(int(d.query["timestamp"]) / 1000 - timezone.now().timestamp()) < 60
    (f,) = robots.feishu.exchanges
    assert f.body == {
        "timestamp": f.body["timestamp"],
        "sign": feishu_expected("fs-key", f.body["timestamp"]),
        "msg_type": "text",
        "content": {"text": text(feishu)},
    }
    assert abs(int(f.body["timestamp"]) - timezone.now().timestamp()) < 60

    # Every post is logged and sent once; another run of either command sends nothing more.
    assert actions.post_daily_tips(DAY).queued == 0
    assert delivery.deliver_pending(AT_EIGHT + timedelta(hours=2)).sent == 0
    assert len(robots.wecom.exchanges + robots.dingtalk.exchanges + robots.feishu.exchanges) == 3
    for schedule in (wecom, ding, feishu):
        assert actions.missed_days(schedule, DAY, DAY) == []


def test_a_robot_answering_502_then_ok_gets_the_tip_exactly_once(cast, robots):
    make_tips(10)
    robot = robots.wecom.add_robot()
    schedule = schedule_for(cast.cs2301, channel_for(cast.cs2301, "wecom", robot.url))
    actions.post_daily_tips(DAY)
    robots.wecom.outage(1)
    assert delivery.deliver_pending(AT_EIGHT).failed == 1
    row = Outbox.objects.get()
    assert (row.status, row.last_error) == (Outbox.Status.FAILED, "service_error")
    assert actions.missed_days(schedule, DAY, DAY) == [DAY]  # visible while it is not sent
    history = actions.tip_history(schedule, DAY, DAY, today=DAY + timedelta(days=1))
    assert history[0].status == "failed" and history[0].missed
    assert actions.post_daily_tips(DAY).queued == 0  # a re-run does not add a second message

    assert delivery.deliver_pending(AT_EIGHT + timedelta(minutes=2)).sent == 1
    assert delivery.deliver_pending(AT_EIGHT + timedelta(days=1)).sent == 0
    assert len(robots.wecom.exchanges) == 2 and len(robot.texts) == 1
    assert robots.wecom.exchanges[0].body == robots.wecom.exchanges[1].body
    assert actions.missed_days(schedule, DAY, DAY) == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Outbox.Status.SENT, 2)


def test_a_robot_that_times_out_is_retried_not_lost(cast, receiver, monkeypatch):
    """A timeout is what no fake service does on purpose: a generic endpoint that answers late."""
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 0.3)
    make_tips(10)
    schedule = schedule_for(cast.cs2301, channel_for(cast.cs2301, "wecom", f"{receiver.url}/hook"))
    actions.post_daily_tips(DAY)
    receiver.delay = 1.0
    assert delivery.deliver_pending(AT_EIGHT).failed == 1
    row = Outbox.objects.get()
    assert row.status == Outbox.Status.FAILED and row.last_error == "unreachable"
    assert row.not_before == AT_EIGHT + timedelta(minutes=1)
    assert actions.missed_days(schedule, DAY, DAY) == [DAY]
    receiver.delay = 0.0
    assert delivery.deliver_pending(AT_EIGHT + timedelta(minutes=1)).sent == 1
    assert delivery.deliver_pending(AT_EIGHT + timedelta(days=1)).sent == 0
    # The robot saw the timed-out request and the retry; only the retry was answered. (A robot that
    # posted before timing out may show the tip twice: webhooks have no idempotency key, and
    # at-least-once is the only choice that loses nothing.)
    assert len(receiver.requests) == 2 and receiver.answered == 1
    assert actions.missed_days(schedule, DAY, DAY) == []


def test_a_worker_back_after_days_posts_only_todays_tip(cast, robots, monkeypatch):
    """The scheduler queued a tip each day while no worker delivered; when one comes back, the days
    past are not all posted at once (a burst that gets a robot blocked): they stay missed, and
    today's goes."""
    make_tips(10)
    robot = robots.dingtalk.add_robot()
    schedule = schedule_for(cast.cs2301, channel_for(cast.cs2301, "dingtalk", robot.url))
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in (3, 2, 1, 0)]
    real_now = timezone.now
    for day in days:  # each day's run, at 07:00 of that day (before the 08:00 post time)
        monkeypatch.setattr(
            timezone, "now", lambda day=day: timezone.make_aware(datetime.combine(day, time(7)))
        )
        assert actions.post_daily_tips(day).queued == 1
    monkeypatch.setattr(timezone, "now", real_now)
    result = delivery.deliver_pending(timezone.make_aware(datetime.combine(today, time(8, 30))))
    assert (result.sent, result.failed) == (1, 3)
    assert robot.texts == [
        f"【每日防骗提示】{today.month}月{today.day}日\n" + schedule.posts.get(day=today).tip.text
    ]
    for day in days[:3]:
        row = schedule.posts.get(day=day).outbox
        assert (row.status, row.last_error) == (Outbox.Status.UNSENT, "expired")
    assert actions.missed_days(schedule, days[0], today) == days[:3]
    # A missed day posted on purpose ("补发") still goes, within the hour.
    TipPost.objects.filter(schedule=schedule, day=days[2]).delete()
    Outbox.objects.filter(idempotency_key=actions.tip_key(schedule, days[2])).delete()
    actions.post_tip(schedule, days[2])
    assert delivery.deliver_pending().sent == 1


# Missed days -------------------------------------------------------------------------------------


def test_missed_days_lists_days_without_a_sent_tip(cast):
    make_tips(10)
    schedule = schedule_for(cast.cs2301, starts_on=DAY)
    days = [DAY + timedelta(days=n) for n in range(6)]
    actions.post_daily_tips(days[0])
    actions.post_daily_tips(days[1])
    actions.set_tip_schedule_active(schedule, False)
    actions.post_daily_tips(days[2])  # paused: no post
    actions.set_tip_schedule_active(schedule, True)
    actions.post_daily_tips(days[3])
    actions.post_daily_tips(days[4])
    actions.post_daily_tips(days[5])
    posts = {p.day: p for p in TipPost.objects.filter(schedule=schedule)}
    Outbox.objects.filter(pk__in=[posts[days[0]].outbox_id, posts[days[4]].outbox_id]).update(
        status=Outbox.Status.SENT
    )
    Outbox.objects.filter(pk=posts[days[1]].outbox_id).update(status=Outbox.Status.FAILED)
    Outbox.objects.filter(pk=posts[days[5]].outbox_id).delete()  # the row is gone: still missed
    assert actions.missed_days(schedule, DAY - timedelta(days=10), days[5]) == [
        days[1],
        days[2],
        days[3],
        days[5],
    ]
    history = actions.tip_history(schedule, DAY - timedelta(days=10), days[3], today=days[3])
    assert [(h.day, h.status, h.missed) for h in history] == [
        (days[3], "pending", False),  # today, still waiting for its time
        (days[2], "missing", True),
        (days[1], "failed", True),
        (days[0], "sent", False),
    ]
    # The missing day can be posted late ("补发"), once.
    post, queued = actions.post_tip(schedule, days[2])
    assert queued and not actions.post_tip(schedule, days[2])[1]


# Commands and the daily-tip obligation -------------------------------------------------------------


def test_post_tips_command(cast):
    make_tips(10)
    schedule_for(cast.cs2301)
    out = StringIO()
    call_command("post-tips", "--day", "2026-03-06", stdout=out)
    assert out.getvalue().startswith("1 queued, 0 already queued, 0 skipped")
    call_command("post-tips", "--day", "2026-03-06", stdout=out)
    assert "0 queued, 1 already queued" in out.getvalue()
    assert Outbox.objects.count() == 1
    with pytest.raises(CommandError):
        call_command("post-tips", "--day", "06/03/2026", stdout=StringIO())


def test_sent_tips_count_towards_the_daily_tip_obligation(cast, robots):
    make_tips(10)
    campaign = start(cast.uni)
    ob = obligation(campaign, "daily-tip", cast.cs2301)
    schedule = schedule_for(
        cast.cs2301, channel_for(cast.cs2301, "wecom", robots.wecom.add_robot().url), actor=cast.counsellor
    )
    actions.post_daily_tips(DAY)
    assert actions.record_sent_tips(DAY) == 0  # not sent yet: nothing to count
    delivery.deliver_pending(AT_EIGHT)
    run = actions.post_daily_tips(DAY + timedelta(days=1))  # the next run records yesterday's
    assert run.recorded == 1
    activity = Activity.objects.get(kind="tip")
    assert (activity.obligation, activity.occurred_on, activity.unit) == (ob, DAY, cast.cs2301)
    assert activity.recorded_by == cast.counsellor
    assert TipPost.objects.get(schedule=schedule, day=DAY).activity == activity
    assert activity_counts(Obligation.objects.filter(pk=ob.pk), DAY, DAY) == {ob.pk: {DAY: 1}}
    assert actions.record_sent_tips(DAY + timedelta(days=1)) == 0  # recorded once
    assert Activity.objects.filter(kind="tip").count() == 1
