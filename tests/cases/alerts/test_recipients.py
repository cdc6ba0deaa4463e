"""Who hears a stop-payment alert, and what it says about its source.

- Item 20: a channel has an audience; an alert reaches staff and police groups on the units of its
  tiers, never a class or parents' group, at any tier, on escalation and on the last reminder.
- Item 21: a self-report tells the student's own counsellor at once (in-app, e-mail, SMS), even when
  the counsellor is no contact of the police tiers, and the alert page lists them.
- Item 1 (wording): every message of an alert raised by a self-report says it was self-reported and is
  not yet verified, until a staff member edits the case or the police file it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.alerts import actions as alert_actions
from fanzha.cases.intake import CaseInput
from fanzha.cases.models import AlertRecipient, Case, CaseState, ReportedVia
from fanzha.notify import actions as notify
from fanzha.notify.models import Notification, Outbox
from fanzha.org import actions as org
from fanzha.org.models import Role

pytestmark = pytest.mark.django_db

STUDENT_PHONE = "13800138000"  # the cast's 张三
STUDENT_ID = "11010519491231002X"
COUNSELLOR_PHONE = "13600136000"
UNVERIFIED = "【学生自报，待核实】"


@pytest.fixture
def sync(settings):
    settings.FANZHA_ALERT_DELIVERY = "sync"
    settings.FANZHA_ALERT_ESCALATE_MINUTES = 10


def self_report(cast: Any, make_intake: Any, now: Any = None, **changes: Any) -> Case:
    data: CaseInput = make_intake(cast.cs2301, cast.student, now=now, **changes)
    return actions.report_case(data, None, via=ReportedVia.SELF, reporter=cast.student, now=now)


def staff_report(cast: Any, make_intake: Any, now: Any = None) -> Case:
    return actions.report_case(make_intake(cast.cs2301, cast.student, now=now), cast.counsellor, now=now)


def texts(receiver: Any) -> dict[str, list[str]]:
    """What each robot path received (WeCom and DingTalk "text.content", Feishu "content.text")."""
    got: dict[str, list[str]] = {}
    for r in receiver.requests:
        body = r["body"]
        text = body.get("text", {}).get("content") or body.get("content", {}).get("text", "")
        got.setdefault(r["path"], []).append(text)
    return got


# Item 20: audiences ---------------------------------------------------------------------------------


def test_alerts_reach_staff_and_police_groups_never_class_or_parent_groups(
    cast, make_intake, sync, receiver, django_capture_on_commit_callbacks
):
    hook = receiver.url
    # On the victim's own class: its students' group and its parents' group, and a class teachers' group.
    notify.add_channel(
        unit=cast.cs2301, kind="wecom", name="计科2301班级群", url=hook + "/class", audience="class"
    )
    notify.add_channel(
        unit=cast.cs2301, kind="dingtalk", name="家长群", url=hook + "/parents", audience="parents"
    )
    notify.add_channel(
        unit=cast.cs2301, kind="wecom", name="班主任群", url=hook + "/class-staff", audience="staff"
    )
    # On the college and the school: staff, police, and a school-wide students' group.
    notify.add_channel(
        unit=cast.cs, kind="wecom", name="计算机学院工作群", url=hook + "/college", audience="staff"
    )
    notify.add_channel(
        unit=cast.uni, kind="feishu", name="校园警务群", url=hook + "/police", audience="police"
    )
    notify.add_channel(
        unit=cast.uni, kind="wecom", name="全校学生群", url=hook + "/students", audience="class"
    )
    # A class group made without saying its audience: a class's group is the students'.
    notify.add_channel(unit=cast.cs2301, kind="feishu", name="班级飞书群", url=hook + "/class-default")

    t0 = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        case = staff_report(cast, make_intake, now=t0)
    assert set(texts(receiver)) == {"/class-staff", "/college", "/police"}
    assert case.number in texts(receiver)["/college"][0]

    # Escalation (tier 2: the school's administrators) and the last reminder: still no students' group.
    for minutes in (10, 20):
        with django_capture_on_commit_callbacks(execute=True):
            assert alert_actions.escalate_due(t0 + timedelta(minutes=minutes)) == 1
    assert set(texts(receiver)) == {"/class-staff", "/college", "/police"}
    assert AlertRecipient.objects.filter(alert=case.alert, tier=1).exists()
    never = {"/class", "/parents", "/students", "/class-default"}
    assert not Outbox.objects.filter(channel__url__in=[hook + p for p in never]).exists()


def test_a_self_report_reaches_no_students_group_either(cast, make_intake, sync, receiver):
    notify.add_channel(unit=cast.cs2301, kind="wecom", name="计科2301班级群", url=receiver.url + "/class")
    notify.add_channel(unit=cast.d1, kind="wecom", name="一号楼群", url=receiver.url + "/dorm")
    college = notify.add_channel(unit=cast.cs, kind="wecom", name="学院工作群", url=receiver.url + "/college")
    case = self_report(cast, make_intake)
    channels = set(
        AlertRecipient.objects.filter(alert=case.alert, outbox__channel__isnull=False).values_list(
            "outbox__channel", flat=True
        )
    )
    assert channels == {college.pk}


# Item 21: the student's own counsellor --------------------------------------------------------------


def _reachable_counsellor(cast: Any) -> Any:
    counsellor = cast.counsellor
    counsellor.email = "fudaoyuan@example.edu.cn"
    counsellor.save()
    org.save_person(root=cast.uni, person=counsellor.person, phone=COUNSELLOR_PHONE)
    return counsellor


def test_a_self_report_tells_the_students_own_counsellor_at_once(
    client, cast, make_intake, sync, receiver, django_capture_on_commit_callbacks
):
    counsellor = _reachable_counsellor(cast)
    assert counsellor not in [u for tier in alert_actions.contact_tiers(cast.cs2301) for u in tier]
    with django_capture_on_commit_callbacks(execute=True):
        case = self_report(cast, make_intake)

    told = AlertRecipient.objects.filter(alert=case.alert, user=counsellor)
    assert sorted(told.values_list("channel_kind", flat=True)) == ["email", "in_app", "sms"]
    assert set(told.values_list("reason", flat=True)) == {AlertRecipient.Reason.COUNSELLOR}
    statuses = {r.channel_kind: r.outbox.status for r in told}
    # At once, not at the next worker run; the SMS waits for a gateway (none is configured here).
    assert statuses == {
        "in_app": Outbox.Status.SENT,
        "email": Outbox.Status.SENT,
        "sms": Outbox.Status.UNSENT,
    }
    note = Notification.objects.get(user=counsellor)
    assert case.number in note.subject and "辅导员" in note.body
    assert note.link == reverse("alert_detail", args=[case.alert.pk])
    emails = [m for m in mail.outbox if m.to == ["fudaoyuan@example.edu.cn"]]
    assert len(emails) == 1
    sms = told.get(channel_kind="sms").outbox
    for message in (note.subject, note.body, emails[0].body, sms.body):
        for secret in ("张三", STUDENT_PHONE, STUDENT_ID, "单亲家庭", "本月生活费", "4111111111111111"):
            assert secret not in message, secret
    # The police tier heard it as before.
    assert Notification.objects.filter(user=cast.police_liaison, subject__contains=case.number).exists()

    # The alert page lists the counsellor among who was told, and why.
    client.force_login(cast.police_liaison)
    html = client.get(reverse("alert_detail", args=[case.alert.pk])).content.decode()
    assert "辅导员甲" in html and "学生的辅导员（学生自报）" in html
    assert "已同时告知学生的辅导员（3条消息）" in html


def test_the_counsellor_is_told_once_and_never_again_on_escalation(cast, make_intake, sync):
    counsellor = _reachable_counsellor(cast)
    t0 = timezone.now()
    case = self_report(cast, make_intake, now=t0)
    assert AlertRecipient.objects.filter(alert=case.alert, user=counsellor).count() == 3
    alert_actions.escalate_due(t0 + timedelta(minutes=10))
    alert_actions.escalate_due(t0 + timedelta(minutes=20))
    assert AlertRecipient.objects.filter(alert=case.alert, user=counsellor).count() == 3


def test_a_counsellor_who_is_also_a_contact_is_told_once(cast, make_intake, sync):
    org.grant_role(cast.counsellor, cast.cs2301, Role.SECURITY_OFFICER)
    case = self_report(cast, make_intake)
    rows = AlertRecipient.objects.filter(alert=case.alert, user=cast.counsellor, channel_kind="in_app")
    assert (
        rows.count() == 1 and Outbox.objects.filter(user=cast.counsellor, channel_kind="in_app").count() == 1
    )


def test_a_staff_report_is_no_self_report(cast, make_intake, sync):
    case = staff_report(cast, make_intake)
    assert not AlertRecipient.objects.filter(alert=case.alert, user=cast.counsellor).exists()


def test_no_counsellor_no_extra_message(cast, make_intake, sync):
    cast.counsellor.is_active = False
    cast.counsellor.save()
    case = self_report(cast, make_intake)
    assert not AlertRecipient.objects.filter(
        alert=case.alert, reason=AlertRecipient.Reason.COUNSELLOR
    ).exists()
    assert AlertRecipient.objects.filter(alert=case.alert, user=cast.police_liaison).exists()


# Item 1: "self-reported, not yet verified" ----------------------------------------------------------


def test_every_message_of_a_self_report_says_it_is_unverified(
    client, cast, make_intake, sync, receiver, django_capture_on_commit_callbacks
):
    police = cast.police_liaison
    police.email = "police@example.com"
    police.save()
    org.save_person(root=cast.uni, person=police.person, phone="13700137000")
    _reachable_counsellor(cast)
    notify.add_channel(
        unit=cast.uni, kind="wecom", name="校园警务群", url=receiver.url + "/police", audience="police"
    )
    with django_capture_on_commit_callbacks(execute=True):
        case = self_report(cast, make_intake)
    rows = Outbox.objects.filter(idempotency_key__startswith=f"case-alert:{case.pk}:")
    assert {r.channel_kind for r in rows} == {"in_app", "email", "sms", "wecom"}
    for row in rows:
        assert row.subject.startswith(UNVERIFIED), row.channel_kind
        if row.channel_kind == "sms":  # short: the mark leads the text
            assert row.body.startswith(UNVERIFIED)
        else:
            assert "学生本人通过手机报告，尚未经工作人员核实" in row.body, row.channel_kind
    assert texts(receiver)["/police"][0].startswith(UNVERIFIED)
    assert all(UNVERIFIED in m.subject for m in mail.outbox)

    client.force_login(police)
    html = client.get(reverse("alert_detail", args=[case.alert.pk])).content.decode()
    assert "学生自报，待核实" in html
    assert "学生自报，待核实" in client.get(reverse("alert_list")).content.decode()


def test_a_staff_report_carries_no_such_mark(cast, make_intake, sync):
    case = staff_report(cast, make_intake)
    for row in Outbox.objects.filter(idempotency_key__startswith=f"case-alert:{case.pk}:"):
        assert UNVERIFIED not in row.subject and "尚未经工作人员核实" not in row.body


def test_the_mark_goes_once_staff_edit_the_case(cast, make_intake, sync):
    t0 = timezone.now()
    case = self_report(cast, make_intake, now=t0)
    assert alert_actions.is_unverified(case)
    fixed = make_intake(cast.cs2301, cast.student, now=t0, narrative="辅导员电话核实：冒充客服，已转账两笔。")
    actions.edit_case(case, fixed, cast.counsellor, now=t0 + timedelta(minutes=5))
    assert not alert_actions.is_unverified(case)
    alert_actions.escalate_due(t0 + timedelta(minutes=10))
    later = AlertRecipient.objects.get(alert=case.alert, tier=1, channel_kind="in_app").outbox
    assert UNVERIFIED not in later.subject and "尚未经工作人员核实" not in later.body
    first = Outbox.objects.get(idempotency_key=f"case-alert:{case.pk}:0:in_app:{cast.police_liaison.pk}")
    assert first.subject.startswith(UNVERIFIED)  # what went out before stays as it was


def test_the_mark_goes_once_the_police_file_the_case(cast, make_intake):
    case = self_report(cast, make_intake)
    assert alert_actions.is_unverified(case)
    actions.change_state(case, CaseState.FILED, cast.police_liaison, police_case_number="QSGA2026001")
    case.refresh_from_db()
    assert not alert_actions.is_unverified(case)
