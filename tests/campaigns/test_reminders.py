"""Reminders: queued once before a period ends, delivered in-app, by e-mail and to chat-group robots
(the local fakes of the services, fanzha/bench/robots.py, check the exact payloads and the DingTalk /
Feishu signatures); a robot's gateway answering 502 leaves the row failed, retried later, never sent
twice. Also the notification pages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns import actions
from fanzha.campaigns.models import Campaign, CampaignEvent
from fanzha.notify import actions as notify
from fanzha.notify import delivery
from fanzha.notify.models import Channel, ChannelKind, Notification, Outbox
from fanzha.org import actions as org
from fanzha.org.models import MembershipRole
from tests.campaigns.engine import obligation, record, start

pytestmark = pytest.mark.django_db

FRIDAY = date(2026, 3, 6)  # the first week, 2026-03-01 (the Sunday start, merged) … 03-08, ends in two days
NOW = timezone.make_aware(datetime(2026, 3, 6, 8, 0))


@pytest.fixture
def campaign(cast) -> Campaign:
    return start(cast.uni)


@pytest.fixture
def monitor_user(cast):
    user = org.create_account(cast.monitor, "Pass-word-2026!")
    user.email = "lisi@example.edu.cn"
    user.save()
    return user


def reminders() -> list[Outbox]:
    return list(Outbox.objects.order_by("pk"))


# Queueing -----------------------------------------------------------------------------------------


def test_reminder_goes_to_the_responsible_person_once(cast, campaign, monitor_user):
    assert actions.queue_reminders(FRIDAY) == 2
    rows = reminders()
    assert [(r.channel_kind, r.user) for r in rows] == [
        (ChannelKind.IN_APP, monitor_user),
        (ChannelKind.EMAIL, monitor_user),
    ]
    ob = obligation(campaign, "weekly-article", cast.cs2301)
    assert rows[0].idempotency_key == f"reminder:{ob.pk}:2026-03-01:in_app"
    assert rows[1].address == "lisi@example.edu.cn"
    assert rows[0].subject == "提醒：计科2301班“每周推送一篇防骗文章”将于 2026-03-08 截止"
    assert "目前已记录 0 次" in rows[0].body and "责任人：李四" in rows[0].body
    assert rows[0].link == reverse("campaign_obligation", args=[campaign.pk, ob.pk])
    # Running again (the same day or the next) sends nothing more.
    assert actions.queue_reminders(FRIDAY) == 0
    assert actions.queue_reminders(FRIDAY + timedelta(days=1)) == 0
    assert Outbox.objects.count() == 2
    assert CampaignEvent.objects.filter(campaign=campaign, kind=actions.EVENT_REMINDED).count() == 1


def test_no_reminder_when_met_too_early_or_closed(cast, campaign, monitor_user):
    assert actions.queue_reminders(FRIDAY - timedelta(days=1)) == 0  # three days before the end
    record(obligation(campaign, "weekly-article", cast.cs2301), date(2026, 3, 4))
    assert actions.queue_reminders(FRIDAY) == 0
    actions.close_campaign(campaign)
    assert actions.queue_reminders(FRIDAY + timedelta(days=7)) == 0
    assert not Outbox.objects.exists()


@pytest.mark.parametrize(
    ("code", "today", "unit"),
    [
        ("weekly-article", date(2026, 3, 13), "cs2301"),  # weekly: 2 days before Sunday
        ("monthly-meeting", date(2026, 3, 26), "cs2301"),  # monthly: 5 days before the 31st
        ("semester-training", date(2026, 7, 1), "cs2301"),  # semester: 14 days before 15 July
        ("pledge", date(2026, 3, 24), "d1_101"),  # once: 7 days before the due date
        ("yearly-evaluation", date(2027, 1, 29), "cs2301"),  # yearly: 30 days before the end
    ],
)
def test_each_frequency_reminds_on_its_own_schedule(cast, campaign, code, today, unit):
    people = [
        cast.monitor,
        org.enrol_person(unit=cast.cs, role=MembershipRole.COUNSELLOR, name="院辅导员", kind="teacher"),
        org.enrol_person(unit=cast.uni, role=MembershipRole.LEADER, name="校组长", kind="teacher"),
        org.enrol_person(unit=cast.d1_101, role=MembershipRole.DORM_HEAD, name="室长", kind="student"),
    ]
    for person in people:
        org.create_account(person, "Pass-word-2026!")
    target = obligation(campaign, code, getattr(cast, unit))
    actions.queue_reminders(today - timedelta(days=1))
    assert not Outbox.objects.filter(idempotency_key__startswith=f"reminder:{target.pk}:").exists()
    actions.queue_reminders(today)
    assert Outbox.objects.filter(idempotency_key__startswith=f"reminder:{target.pk}:").count() == 1


def test_daily_work_is_not_reminded_unless_asked(cast, campaign, monitor_user):
    ob = obligation(campaign, "daily-tip", cast.cs2301)
    actions.queue_reminders(FRIDAY)
    assert not Outbox.objects.filter(idempotency_key__startswith=f"reminder:{ob.pk}:").exists()
    actions.queue_reminders(FRIDAY, days=0)
    assert Outbox.objects.filter(idempotency_key__startswith=f"reminder:{ob.pk}:2026-03-06:").count() == 2


def test_send_reminders_command(cast, campaign, monitor_user, django_capture_on_commit_callbacks):
    out = StringIO()
    call_command("send-reminders", "--now", "2026-03-06", stdout=out)
    assert "2 reminder" in out.getvalue()
    call_command("send-reminders", "--now", "2026-03-06T09:00:00+08:00", stdout=out)
    assert Outbox.objects.count() == 2
    # --days applies to every frequency, daily work included; the weekly period keeps its keys.
    call_command("send-reminders", "--now", "2026-03-05", "--days", "3", stdout=StringIO())
    daily = obligation(campaign, "daily-tip", cast.cs2301)
    assert Outbox.objects.count() == 4
    assert Outbox.objects.filter(idempotency_key__startswith=f"reminder:{daily.pk}:2026-03-05:").count() == 2


# Delivery ------------------------------------------------------------------------------------------


def dingtalk_expected(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_expected(secret: str, timestamp: str) -> str:
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_delivery_in_app_email_and_robots(cast, campaign, monitor_user, robots, settings):
    settings.FANZHA_SITE_URL = "https://fanzha.example.edu.cn"
    wecom_robot = robots.wecom.add_robot()
    ding_robot = robots.dingtalk.add_robot(secret="SECabc")
    feishu_robot = robots.feishu.add_robot(secret="fs-key")
    notify.add_channel(unit=cast.cs2301, kind="wecom", name="企业微信群", url=wecom_robot.url)
    notify.add_channel(unit=cast.cs2301, kind="dingtalk", name="钉钉群", url=ding_robot.url, secret="SECabc")
    notify.add_channel(unit=cast.cs2301, kind="feishu", name="飞书群", url=feishu_robot.url, secret="fs-key")
    assert actions.queue_reminders(FRIDAY) == 5
    result = delivery.deliver_pending(NOW)
    assert (result.sent, result.failed) == (5, 0)
    assert all(row.status == Outbox.Status.SENT and row.attempts == 1 for row in reminders())

    note = Notification.objects.get()
    row = Outbox.objects.get(channel_kind=ChannelKind.IN_APP)
    assert (note.user, note.subject, note.body, note.link) == (monitor_user, row.subject, row.body, row.link)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["lisi@example.edu.cn"]
    assert mail.outbox[0].subject == row.subject
    text = f"{row.subject}\n{row.body}\nhttps://fanzha.example.edu.cn{row.link}"
    assert mail.outbox[0].body == text

    # Each fake took its message (it checked the format and the signature), exactly once.
    assert (wecom_robot.texts, ding_robot.texts, feishu_robot.texts) == ([text], [text], [text])
    (wecom,) = robots.wecom.exchanges
    assert wecom.body == {"msgtype": "text", "text": {"content": text}}
    (ding,) = robots.dingtalk.exchanges
    assert ding.body == {"msgtype": "text", "text": {"content": text}}
    assert ding.query["sign"] == dingtalk_expected("SECabc", ding.query["timestamp"])
    assert abs(int(ding.query["timestamp"]) / 1000 - timezone.now().timestamp()) < 60
    (feishu,) = robots.feishu.exchanges
    assert feishu.body["msg_type"] == "text" and feishu.body["content"] == {"text": text}
    assert feishu.body["sign"] == feishu_expected("fs-key", feishu.body["timestamp"])
    assert set(feishu.body) == {"timestamp", "sign", "msg_type", "content"}

    # Nothing is sent twice.
    assert delivery.deliver_pending(NOW + timedelta(hours=1)).sent == 0
    assert len(robots.wecom.exchanges + robots.dingtalk.exchanges + robots.feishu.exchanges) == 3
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_a_failing_robot_is_retried_later_and_sent_once(cast, campaign, monitor_user, robots):
    robot = robots.wecom.add_robot()
    channel = notify.add_channel(unit=cast.cs2301, kind="wecom", name="群", url=robot.url)
    notify.queue("wecom", channel, subject="提醒", body="正文", key="k1")
    robots.wecom.outage(2)
    assert delivery.deliver_pending(NOW).failed == 1
    row = Outbox.objects.get()
    assert (row.status, row.attempts, row.last_error) == (Outbox.Status.FAILED, 1, "service_error")
    assert row.not_before == NOW + timedelta(minutes=1)
    assert delivery.deliver_pending(NOW + timedelta(seconds=30)).failed == 0  # backing off
    assert len(robots.wecom.exchanges) == 1
    assert delivery.deliver_pending(NOW + timedelta(minutes=2)).failed == 1
    row.refresh_from_db()
    assert row.attempts == 2 and row.not_before == NOW + timedelta(minutes=2) + timedelta(minutes=5)
    assert delivery.deliver_pending(NOW + timedelta(minutes=8)).sent == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Outbox.Status.SENT, 3, "")
    assert delivery.deliver_pending(NOW + timedelta(days=2)).sent == 0
    assert len(robots.wecom.exchanges) == 3 and robot.texts == ["提醒\n正文"]  # never a second success


def test_robot_errors_in_the_answer_and_dead_channels(cast, robots):
    robot = robots.dingtalk.add_robot(secret="SEC-the-robots")
    channel = notify.add_channel(
        unit=cast.cs2301, kind="dingtalk", name="群", url=robot.url, secret="SEC-other"
    )
    notify.queue("dingtalk", channel, subject="a", body="b", key="k1")
    delivery.deliver_pending(NOW)
    row = Outbox.objects.get()
    assert row.status == Outbox.Status.FAILED and row.last_error == "bad_signature"
    assert row.attempts == delivery.MAX_ATTEMPTS  # permanent: not tried again
    notify.queue("dingtalk", channel, subject="a", body="b", key="k2")
    Channel.objects.filter(pk=channel.pk).update(is_active=False)
    delivery.deliver_pending(NOW + timedelta(hours=1))
    dead = Outbox.objects.get(idempotency_key="k2")
    assert (dead.attempts, dead.last_error) == (delivery.MAX_ATTEMPTS, "channel_off")
    assert delivery.deliver_pending(NOW + timedelta(days=30)).failed == 0
    assert len(robots.dingtalk.exchanges) == 1


def test_a_crashed_worker_leaves_a_lease_that_runs_out(cast, monitor_user):
    notify.queue("in_app", monitor_user, subject="a", body="b", key="k1")
    claimed = delivery._claim(NOW)  # the worker dies here
    assert claimed is not None and claimed.attempts == 1
    assert delivery.deliver_pending(NOW + timedelta(minutes=1)).sent == 0
    assert delivery.deliver_pending(NOW + timedelta(minutes=6)).sent == 1
    assert Notification.objects.count() == 1


def test_queue_is_idempotent_and_checks_its_recipient(cast, monitor_user):
    from django.core.exceptions import ValidationError

    first = notify.queue("in_app", monitor_user, subject="a", body="b", key="same")
    again = notify.queue("in_app", monitor_user, subject="changed", body="b", key="same")
    assert first.pk == again.pk and again.subject == "a"
    with pytest.raises(ValidationError):
        notify.queue("wecom", monitor_user, subject="a", body="b", key="k2")
    with pytest.raises(ValidationError):
        notify.queue("in_app", "someone@example.com", subject="a", body="b", key="k3")
    with pytest.raises(ValidationError):
        notify.queue("email", cast.student_user, subject="a", body="b", key="k4")  # no address
    with pytest.raises(ValidationError):
        notify.add_channel(unit=cast.uni, kind="wecom", name="x", url="file:///etc/passwd")
    assert Outbox.objects.count() == 1


def test_deliver_outbox_command(cast, monitor_user):
    notify.queue("in_app", monitor_user, subject="a", body="b", key="k1")
    out = StringIO()
    call_command("deliver-outbox", "--now", "2026-03-06T08:00:00", stdout=out)
    assert "1 sent, 0 failed" in out.getvalue()
    assert Notification.objects.count() == 1


# Notification pages --------------------------------------------------------------------------------


def test_notification_pages(client, cast, monitor_user):
    notify.queue("in_app", monitor_user, subject="提醒一", body="正文", key="k1", link="/campaigns/")
    notify.queue("in_app", monitor_user, subject="提醒二", body="", key="k2")
    notify.queue("in_app", cast.school_admin, subject="别人的", body="", key="k3")
    delivery.deliver_pending(NOW)
    mine = Notification.objects.get(subject="提醒一")
    theirs = Notification.objects.get(subject="别人的")
    client.force_login(monitor_user)
    response = client.get(reverse("notification_list"))
    body = response.content.decode()
    assert response.context["unread"] == 2 and "提醒一" in body and "别人的" not in body
    assert client.post(reverse("notification_read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = client.post(reverse("notification_read", args=[mine.pk]), {"follow": "1"})
    assert response.status_code == 302 and response["Location"] == "/campaigns/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert client.get(reverse("notification_read", args=[mine.pk])).status_code == 405
    assert client.post(reverse("notification_read_all")).status_code == 302
    assert not Notification.objects.filter(user=monitor_user, read_at__isnull=True).exists()
    assert Notification.objects.filter(read_at__isnull=True).get() == theirs


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_claim_the_same_row():
    from django.db import connection, transaction

    from fanzha.org.models import User

    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED need PostgreSQL")
    user = User.objects.create_user("worker-test")
    first = notify.queue("in_app", user, subject="a", body="", key="a")
    second = notify.queue("in_app", user, subject="b", body="", key="b")
    held, release, seen = threading.Event(), threading.Event(), {}

    def other_worker() -> None:
        try:
            with transaction.atomic():
                row = Outbox.objects.select_for_update(skip_locked=True).order_by("pk").first()
                seen["pk"] = row.pk if row else None
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert held.wait(10)
    claimed = delivery._claim(NOW)
    release.set()
    thread.join(10)
    assert seen["pk"] == first.pk
    assert claimed is not None and claimed.pk == second.pk


def test_reminder_names_the_evidence_a_record_needs_and_skips_bare_records(cast, campaign):
    """Issue 13: a record without the evidence asked for does not stop the reminder, which says what
    to attach."""
    notify.add_channel(unit=cast.cs2301, kind="email", name="班级邮箱", url="cs2301@example.edu.cn")
    ob = obligation(campaign, "monthly-meeting", cast.cs2301)  # photos and attendees
    record(ob, date(2026, 3, 20), evidence=False)
    actions.queue_reminders(date(2026, 3, 28), days=7)
    keys = {r.idempotency_key.rsplit(":", 1)[0]: r for r in reminders()}
    row = keys[f"reminder:{ob.pk}:2026-03-01"]
    assert "目前已记录 0 次" in row.body
    assert "每次记录须附：照片、参加人员或人数；缺少佐证的记录不计入。" in row.body
