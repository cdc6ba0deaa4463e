"""The stop-payment alert's verbs: contacts by tier, every channel queued and delivered at once (the
in-app notification, the fake WeCom robot, e-mail, SMS — not sent: no gateway) without the
victim's details, escalation by time travel (never a message twice), acknowledgement by the police
side only, the outcome's checks, the self-report path, the figures and the cron command."""

from __future__ import annotations

import io
import logging
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.alerts import actions as alert_actions
from fanzha.cases.models import Alert, AlertRecipient, Case, CaseEvent, CaseState, ReportedVia
from fanzha.notify import actions as notify
from fanzha.notify.models import Notification, Outbox
from fanzha.org import actions as org
from fanzha.org.models import Role
from tests.cases.conftest import GOOD_CARD
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db

VICTIM_PHONE = "13812345678"
VICTIM_ID = "110101199003077897"
VICTIM_CARD = "4111111111111111"
# What no alert message may carry: the victim's name, phone, ID, own account, family and funds.
SECRETS = ["张三", VICTIM_PHONE, VICTIM_ID, VICTIM_CARD, "单亲家庭", "本月生活费"]
POLICE_PHONE = "13700137000"


@pytest.fixture
def sync(settings):
    """Deliver alert messages inline after commit, so a test can look at what arrived."""
    settings.FANZHA_ALERT_DELIVERY = "sync"
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 10


def report(
    cast: Any, make_intake: Any, now: datetime | None = None, unit: Any = None, **changes: Any
) -> Case:
    unit = unit or cast.cs2301
    victim = cast.student if unit == cast.cs2301 else None
    data = make_intake(
        unit, victim, now=now, victim_phone=VICTIM_PHONE, victim_id_number=VICTIM_ID, **changes
    )
    actor = cast.counsellor if unit.path.startswith(cast.cs2301.path) else cast.school_admin
    return actions.report_case(data, actor, now=now)


def outbox_keys(case: Case) -> list[str]:
    return sorted(
        Outbox.objects.filter(idempotency_key__startswith=f"case-alert:{case.pk}:").values_list(
            "idempotency_key", flat=True
        )
    )


def snapshot(alert: Alert) -> tuple[Any, ...]:
    fresh = Alert.objects.get(pk=alert.pk)
    case = Case.objects.get(pk=alert.case_id)
    return (
        fresh.status,
        fresh.tier,
        fresh.next_escalation_at,
        fresh.acknowledged_at,
        fresh.acknowledged_by_id,
        fresh.resolved_at,
        case.state,
        case.frozen_amount,
        case.recovered_amount,
        CaseEvent.objects.filter(case=case).count(),
        Outbox.objects.count(),
    )


# Contacts ------------------------------------------------------------------------------------------


def test_tiers_walk_from_the_class_up_to_the_school(cast, django_assert_num_queries):
    guard = make_staff(cast.uni, "S0001", "班级安全员", Role.SECURITY_OFFICER, cast.cs2301)
    college_police = make_staff(cast.uni, "P0002", "学院警务", Role.POLICE_LIAISON, cast.cs)
    gone = make_staff(cast.uni, "P0003", "已离职警务", Role.POLICE_LIAISON, cast.cs2301)
    gone.is_active = False
    gone.save()
    # Both police and school admin at the school: heard once, as police.
    org.grant_role(cast.police_liaison, cast.uni, Role.SCHOOL_ADMIN)
    with django_assert_num_queries(1):
        tiers = alert_actions.contact_tiers(cast.cs2301)
    assert tiers == [[guard], [college_police], [cast.police_liaison], [cast.school_admin]]
    assert alert_actions.contact_tiers(cast.cs2302) == [
        [college_police],
        [cast.police_liaison],
        [cast.school_admin],
    ]
    assert alert_actions.contact_tiers(cast.ma2301) == [[cast.police_liaison], [cast.school_admin]]
    # Another school: only its administrator (the last resort), nobody of UNI.
    assert alert_actions.contact_tiers(cast.oc01) == [[cast.outsider]]


def test_several_contacts_at_one_level_share_a_tier(cast):
    second = make_staff(cast.uni, "S0002", "保卫处干事", Role.SECURITY_OFFICER, cast.uni)
    assert alert_actions.contact_tiers(cast.cs2301) == [[cast.police_liaison, second], [cast.school_admin]]


# Raising -------------------------------------------------------------------------------------------


def test_report_queues_every_channel_and_delivers_at_once(
    cast, make_intake, sync, robots, django_capture_on_commit_callbacks, caplog
):
    police = cast.police_liaison
    police.email = "police@example.com"
    police.save()
    org.save_person(root=cast.uni, person=police.person, phone=POLICE_PHONE)
    fake = robots.wecom.add_robot()
    robot = notify.add_channel(
        unit=cast.cs2301, kind="wecom", name="计科2301班主任工作群", url=fake.url, audience="staff"
    )
    mailbox = notify.add_channel(unit=cast.uni, kind="email", name="保卫处邮箱", url="baowei@example.com")
    elsewhere = notify.add_channel(
        unit=cast.cs2302, kind="wecom", name="2302群", url=robots.wecom.add_robot().url
    )
    off = notify.add_channel(unit=cast.cs, kind="wecom", name="停用群", url=robots.wecom.add_robot().url)
    notify.disable_channel(off)
    caplog.set_level(logging.INFO, logger="fanzha.notify.sms")

    with django_capture_on_commit_callbacks(execute=True):
        case = report(cast, make_intake)

    alert = case.alert
    assert case.state == CaseState.ALERTED
    kinds = sorted(AlertRecipient.objects.filter(alert=alert, tier=0).values_list("channel_kind", flat=True))
    assert kinds == ["email", "email", "in_app", "sms", "wecom"]
    assert set(AlertRecipient.objects.filter(alert=alert).values_list("outbox__channel", flat=True)) == {
        None,
        robot.pk,
        mailbox.pk,
    }
    assert elsewhere.pk not in Outbox.objects.values_list("channel", flat=True)
    assert f"case-alert:{case.pk}:0:in_app:{police.pk}" in outbox_keys(case)
    # Everything went out at once, without the worker — but the SMS: no gateway is configured, and
    # it says so instead of "sent".
    assert set(Outbox.objects.exclude(channel_kind="sms").values_list("status", flat=True)) == {
        Outbox.Status.SENT
    }
    note = Notification.objects.get(user=police)
    assert case.number in note.subject and GOOD_CARD in note.body and note.link.endswith(f"/{alert.pk}/")
    assert [e.robot for e in robots.wecom.exchanges] == [fake.key]
    (text,) = fake.texts
    assert GOOD_CARD in text and "pay@example.com" in text and "某某" in text
    assert "张*" in text and "17123456789" in text and "止付黄金时间截止" in text
    assert sorted(m.to[0] for m in mail.outbox) == ["baowei@example.com", "police@example.com"]
    sms = Outbox.objects.get(channel_kind="sms")
    assert sms.address == "137****7000" and sms.status_text == "未发送：未配置短信网关"
    assert "sms (no gateway) to 137****7000" in caplog.text
    for message in [text, note.body, note.subject, sms.body, *(m.body for m in mail.outbox)]:
        for secret in SECRETS:
            assert secret not in message, secret
    event = case.events.get(kind=CaseEvent.Kind.ALERT_SENT)
    assert (event.state_before, event.state_after) == (CaseState.REPORTED, CaseState.ALERTED)
    assert event.detail == {"tier": 0, "recipients": 5, "seconds_to_alert": 600}
    assert alert.next_escalation_at == alert.raised_at + timedelta(minutes=10)


def test_a_failing_robot_does_not_break_the_report(
    cast, make_intake, sync, robots, django_capture_on_commit_callbacks
):
    robots.dingtalk.outage(1)
    notify.add_channel(unit=cast.uni, kind="dingtalk", name="全校工作群", url=robots.dingtalk.add_robot().url)
    with django_capture_on_commit_callbacks(execute=True):
        case = report(cast, make_intake)
    assert Case.objects.filter(pk=case.pk, state=CaseState.ALERTED).exists()
    robot = Outbox.objects.get(channel_kind="dingtalk")
    assert robot.status == Outbox.Status.FAILED and robot.not_before is not None  # the worker retries it
    assert len(robots.dingtalk.exchanges) == 1
    assert Notification.objects.filter(user=cast.police_liaison).count() == 1


def test_delivery_off_leaves_the_rows_to_the_worker(
    cast, make_intake, settings, django_capture_on_commit_callbacks
):
    settings.FANZHA_ALERT_DELIVERY = "off"
    with django_capture_on_commit_callbacks(execute=True):
        report(cast, make_intake)
    assert set(Outbox.objects.values_list("status", flat=True)) == {Outbox.Status.PENDING}
    assert not Notification.objects.exists()


def test_nothing_is_delivered_before_commit(cast, make_intake, sync, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report(cast, make_intake)
    assert len(callbacks) == 2  # the alert's immediate delivery and the request for a delivery task
    assert not Notification.objects.exists()


def test_raising_twice_returns_the_first_alert(cast, make_intake):
    case = report(cast, make_intake)
    before = snapshot(case.alert)
    again = alert_actions.raise_alert(case)
    assert again.pk == case.alert.pk
    assert snapshot(case.alert) == before


def test_no_contact_at_all_still_raises_the_alert(cast, make_intake):
    root = org.create_unit(parent=None, name="新学校", code="NEW", kind="school")
    klass = org.create_unit(parent=root, name="新1班", code="N1", kind="class")
    teacher = make_staff(root, "T0009", "新辅导员", Role.COUNSELLOR, klass)
    case = actions.report_case(make_intake(klass), teacher)
    alert = case.alert
    assert case.state == CaseState.ALERTED
    assert not AlertRecipient.objects.filter(alert=alert).exists()
    assert alert.next_escalation_at is None
    assert case.events.get(kind=CaseEvent.Kind.ALERT_SENT).detail["no_contacts"] is True


def test_self_report_raises_the_alert_at_once(cast, make_intake):
    data = make_intake(cast.cs2301, cast.student, transfers=[], total_loss="300")
    case = actions.report_case(data, None, via=ReportedVia.SELF, reporter=cast.student)
    assert case.state == CaseState.ALERTED and case.alert.status == Alert.Status.OPEN
    note = Outbox.objects.get(idempotency_key=f"case-alert:{case.pk}:0:in_app:{cast.police_liaison.pk}")
    assert "转账记录：未填写" in note.body and "张三" not in note.body
    assert alert_actions.stop_payment_deadline(case) is None


def test_old_transfers_raise_no_alert(cast, make_intake):
    now = timezone.now()
    data = make_intake(cast.cs2301, cast.student)
    for t in data.transfers:
        t.at = now - timedelta(hours=30)
    data.occurred_at = now - timedelta(hours=31)
    case = actions.report_case(data, cast.counsellor)
    assert case.state == CaseState.REPORTED and not Alert.objects.filter(case=case).exists()


# Escalation ----------------------------------------------------------------------------------------


def test_escalation_after_the_limit_then_one_reminder_then_stop(cast, make_intake, settings):
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 10
    t0 = timezone.now()
    case = report(cast, make_intake, now=t0)
    alert = case.alert
    assert alert_actions.escalate_due(t0 + timedelta(minutes=9)) == 0
    assert outbox_keys(case) == [f"case-alert:{case.pk}:0:in_app:{cast.police_liaison.pk}"]

    assert alert_actions.escalate_due(t0 + timedelta(minutes=10)) == 1
    alert.refresh_from_db()
    assert alert.tier == 1 and alert.next_escalation_at == t0 + timedelta(minutes=20)
    tier1 = AlertRecipient.objects.get(alert=alert, tier=1)
    assert tier1.user == cast.school_admin and tier1.channel_kind == "in_app"
    assert "预警升级" in tier1.outbox.body
    event = case.events.get(kind=CaseEvent.Kind.ESCALATED)
    assert event.detail == {"tier": 1, "recipients": 1}

    # The cron runs again in the same minute, or twice at once: nothing more is sent.
    count = Outbox.objects.count()
    assert alert_actions.escalate_due(t0 + timedelta(minutes=10)) == 0
    assert alert_actions._escalate_one(alert.pk, t0 + timedelta(minutes=15), None) is False
    assert Outbox.objects.count() == count

    # No tier above the school's administrators: they are reminded once, then it stops.
    assert alert_actions.escalate_due(t0 + timedelta(minutes=20)) == 1
    alert.refresh_from_db()
    assert alert.tier == 1 and alert.next_escalation_at is None
    assert outbox_keys(case) == sorted(
        [
            f"case-alert:{case.pk}:0:in_app:{cast.police_liaison.pk}",
            f"case-alert:{case.pk}:1:in_app:{cast.school_admin.pk}",
            f"case-alert:{case.pk}:1-again:in_app:{cast.school_admin.pk}",
        ]
    )
    assert (
        "再次提醒"
        in Outbox.objects.get(idempotency_key__endswith=f"1-again:in_app:{cast.school_admin.pk}").body
    )
    assert alert_actions.escalate_due(t0 + timedelta(hours=5)) == 0
    assert list(case.events.filter(kind=CaseEvent.Kind.ESCALATED).values_list("detail", flat=True)) == [
        {"tier": 1, "recipients": 1},
        {"tier": 1, "recipients": 1, "final": True},
    ]


def test_escalation_reaches_the_channels_of_the_next_tier(cast, make_intake, settings):
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 5
    college_police = make_staff(cast.uni, "P0002", "学院警务", Role.POLICE_LIAISON, cast.cs)
    school_group = notify.add_channel(
        unit=cast.uni, kind="feishu", name="全校群", url="https://open.feishu.cn/open-apis/bot/v2/hook/f"
    )
    t0 = timezone.now()
    case = report(cast, make_intake, now=t0)
    first = AlertRecipient.objects.filter(alert=case.alert, tier=0)
    assert {r.user for r in first} == {college_police}
    assert not first.filter(outbox__channel=school_group).exists()  # the school is above the tier's unit
    assert alert_actions.escalate_due(t0 + timedelta(minutes=5)) == 1
    second = AlertRecipient.objects.filter(alert=case.alert, tier=1)
    assert {r.user for r in second} == {cast.police_liaison, None}
    assert second.get(user=None).outbox.channel == school_group


def test_acknowledged_alerts_do_not_escalate(cast, make_intake):
    t0 = timezone.now()
    case = report(cast, make_intake, now=t0)
    alert_actions.acknowledge_alert(case.alert, cast.police_liaison, now=t0 + timedelta(minutes=2))
    assert alert_actions.escalate_due(t0 + timedelta(hours=1)) == 0
    assert not AlertRecipient.objects.filter(tier__gt=0).exists()


def test_the_command_escalates_and_says_how_many(
    cast, make_intake, settings, django_capture_on_commit_callbacks
):
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 10
    settings.FANZHA_ALERT_DELIVERY = "off"  # the report's own messages wait for the worker …
    t0 = timezone.now()
    report(cast, make_intake, now=t0)
    settings.FANZHA_ALERT_DELIVERY = "thread"  # … and the command delivers inline whatever this says
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("escalate-alerts", "--now", (t0 + timedelta(minutes=11)).isoformat(), stdout=out)
    assert out.getvalue().startswith("1 ")
    out = io.StringIO()
    call_command("escalate-alerts", "--now", (t0 + timedelta(minutes=11)).isoformat(), stdout=out)
    assert out.getvalue().startswith("0 ")
    # Delivered inline: the command's process ends before a thread would finish.
    assert Notification.objects.filter(user=cast.school_admin).count() == 1
    assert not Notification.objects.filter(user=cast.police_liaison).exists()


# Acknowledgement -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["counsellor", "auditor", "outsider", "college_admin", "school_admin", "student"]
)
def test_only_the_police_side_acknowledges(cast, make_intake, who):
    case = report(cast, make_intake)
    before = snapshot(case.alert)
    with pytest.raises(PermissionDenied):
        alert_actions.acknowledge_alert(case.alert, cast.users()[who])
    assert snapshot(case.alert) == before


def test_police_of_another_school_may_not_acknowledge(cast, make_intake):
    stranger = make_staff(cast.other, "P0009", "外校警务", Role.POLICE_LIAISON, cast.other)
    case = report(cast, make_intake)
    before = snapshot(case.alert)
    with pytest.raises(PermissionDenied):
        alert_actions.acknowledge_alert(case.alert, stranger)
    assert snapshot(case.alert) == before


def test_acknowledgement_records_the_time_and_stops_escalation(cast, make_intake, settings):
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 10
    t0 = timezone.now()
    case = report(cast, make_intake, now=t0)
    alert = alert_actions.acknowledge_alert(
        case.alert, cast.police_liaison, note="已联系银行", now=t0 + timedelta(minutes=3)
    )
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.acknowledged_by == cast.police_liaison
    assert alert.next_escalation_at is None and alert.seconds_to_ack == 180
    event = case.events.get(kind=CaseEvent.Kind.ACKNOWLEDGED)
    assert event.detail == {"seconds": 180, "tier": 0, "note": "已联系银行"}
    assert event.actor == cast.police_liaison
    before = snapshot(alert)
    with pytest.raises(ValidationError):
        alert_actions.acknowledge_alert(alert, cast.police_liaison)
    assert snapshot(alert) == before


def test_a_late_acknowledgement_is_marked(cast, make_intake, settings):
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 10
    t0 = timezone.now()
    case = report(cast, make_intake, now=t0)
    alert = alert_actions.acknowledge_alert(case.alert, cast.police_liaison, now=t0 + timedelta(minutes=11))
    assert alert_actions.is_late(alert)
    assert case.events.get(kind=CaseEvent.Kind.ACKNOWLEDGED).detail["late"] is True


# Outcome -------------------------------------------------------------------------------------------


def test_outcome_only_after_acknowledgement(cast, make_intake):
    case = report(cast, make_intake)
    before = snapshot(case.alert)
    with pytest.raises(ValidationError, match="请先确认接警"):
        alert_actions.record_alert_outcome(case.alert, cast.police_liaison, "100", "0", "")
    assert snapshot(case.alert) == before


@pytest.mark.parametrize(
    ("frozen", "recovered", "field", "message"),
    [
        ("-1", "0", "frozen_amount", "不能为负数"),
        ("0", "1700.01", "recovered_amount", "不能超过损失金额"),
        ("1800", "0", "frozen_amount", "不能超过损失金额"),
        ("abc", "0", "frozen_amount", "不是金额"),
        ("1.234", "0", "frozen_amount", "两位小数"),
    ],
)
def test_outcome_amounts_are_checked(cast, make_intake, frozen, recovered, field, message):
    case = report(cast, make_intake)
    alert_actions.acknowledge_alert(case.alert, cast.police_liaison)
    before = snapshot(case.alert)
    with pytest.raises(ValidationError) as info:
        alert_actions.record_alert_outcome(case.alert, cast.police_liaison, frozen, recovered, "")
    assert message in " ".join(info.value.message_dict[field])
    assert snapshot(case.alert) == before


def test_outcome_by_someone_else_is_refused(cast, make_intake):
    case = report(cast, make_intake)
    alert_actions.acknowledge_alert(case.alert, cast.police_liaison)
    before = snapshot(case.alert)
    for who in ("counsellor", "auditor", "school_admin", "outsider"):
        with pytest.raises(PermissionDenied):
            alert_actions.record_alert_outcome(case.alert, cast.users()[who], "100", "0", "")
    assert snapshot(case.alert) == before


def test_outcome_sets_the_case_amounts(cast, make_intake):
    case = report(cast, make_intake)
    alert_actions.acknowledge_alert(case.alert, cast.police_liaison)
    alert = alert_actions.record_alert_outcome(case.alert, cast.police_liaison, "1,200元", "", "已冻结第二笔")
    case.refresh_from_db()
    assert (case.frozen_amount, case.recovered_amount) == (Decimal("1200.00"), Decimal("0.00"))
    assert (
        alert.status == Alert.Status.RESOLVED and alert.resolved_at and alert.outcome_note == "已冻结第二笔"
    )
    event = case.events.get(kind=CaseEvent.Kind.OUTCOME)
    assert event.detail == {"frozen": "1200.00", "recovered": "0.00", "note": "已冻结第二笔"}
    # A correction is another event, not a rewrite.
    alert_actions.record_alert_outcome(alert, cast.police_liaison, "1200", "500", "")
    case.refresh_from_db()
    assert case.recovered_amount == Decimal("500.00")
    assert case.events.filter(kind=CaseEvent.Kind.OUTCOME).count() == 2


# Figures -------------------------------------------------------------------------------------------


def test_alert_stats(cast, make_intake, settings):
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 10
    t0 = timezone.now()
    empty = alert_actions.alert_stats(Alert.objects.all())
    assert empty["count"] == 0 and empty["alert_median"] is None and empty["ack_p90"] is None
    cases = [report(cast, make_intake, now=t0) for _ in range(3)]
    for case, minutes in zip(cases[:2], (2, 15), strict=True):
        alert_actions.acknowledge_alert(case.alert, cast.police_liaison, now=t0 + timedelta(minutes=minutes))
    stats = alert_actions.alert_stats(Alert.objects.all())
    assert stats["count"] == 3 and stats["acknowledged"] == 2 and stats["open"] == 1
    assert stats["alert_median"] == 600 and stats["alert_p90"] == 600  # reported 10 minutes before
    assert stats["ack_median"] == (120 + 900) / 2 and stats["ack_p90"] == 900
    assert stats["late"] == 1


@pytest.mark.django_db(transaction=True)
def test_thread_delivery_after_a_real_commit(cast, make_intake, settings):
    """The default: the report commits, then a daemon thread delivers (here joined to look)."""
    settings.FANZHA_ALERT_DELIVERY = "thread"
    case = report(cast, make_intake)
    for thread in threading.enumerate():
        if thread.name == "case-alert":
            thread.join(10)
    assert Notification.objects.filter(user=cast.police_liaison, subject__contains=case.number).exists()
    assert set(Outbox.objects.values_list("status", flat=True)) == {Outbox.Status.SENT}


def test_alert_messages_go_out_ahead_of_everything_else(cast, make_intake):
    """Every message of an alert is queued with the alert priority, which delivery claims first and
    which pacing keeps room for on every robot."""
    case = actions.report_case(make_intake(cast.cs2301), cast.counsellor)
    rows = Outbox.objects.filter(pk__in=case.alert.recipients.values("outbox"))
    assert rows.exists()
    assert set(rows.values_list("priority", flat=True)) == {Outbox.Priority.ALERT}
