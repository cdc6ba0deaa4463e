"""Counsellor tools: the matrix, the missing list, bulk confirmation, export, reminders, class link.

The named cast: the counsellor of CS2301 and the admins change; the police liaison and the auditor
only look (403 on writes, nothing changes); the outsider sees nothing (404, nothing changes).
"""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from fanzha.notify.models import ChannelKind, Outbox
from fanzha.org import actions as org_actions
from fanzha.org.models import Guardianship
from fanzha.reach import actions
from fanzha.reach.models import Attestation, ClassLink, Item
from tests.campaigns.files import PDF_WITH_JAVASCRIPT, jpeg, png

VIEWERS = ("school_admin", "college_admin", "counsellor", "police_liaison", "auditor")
EDITORS = ("school_admin", "college_admin", "counsellor")


def matrix_url(cast, campaign, unit=None):
    return reverse("reach_matrix", args=[(unit or cast.cs2301).pk, campaign.pk])


def item_url(cast, campaign, item, unit=None):
    return reverse("reach_item", args=[(unit or cast.cs2301).pk, campaign.pk, item])


@pytest.mark.parametrize("who", [*VIEWERS, "outsider", "student", "parent"])
def test_matrix_by_cast(client, cast, campaign, who):
    client.force_login(cast.users()[who])
    response = client.get(matrix_url(cast, campaign))
    if who in VIEWERS:
        assert response.status_code == 200
        body = response.content.decode()
        assert cast.student.name in body and cast.monitor.name in body and cast.math_student.name not in body
        assert cast.parent.name not in body  # parents are reached through their children
    else:
        assert response.status_code == 404


def test_matrix_of_a_unit_outside_the_counsellors_class(client, cast, campaign):
    client.force_login(cast.counsellor)
    assert client.get(matrix_url(cast, campaign, cast.ma2301)).status_code == 404
    assert client.get(reverse("reach_unit", args=[cast.ma2301.pk])).status_code == 404
    assert client.get(reverse("reach_unit", args=[cast.cs2301.pk])).status_code == 200


def test_matrix_needs_login(client, cast, campaign):
    response = client.get(matrix_url(cast, campaign))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_index_lists_my_classes(client, cast, campaign):
    client.force_login(cast.counsellor)
    body = client.get(reverse("reach_index")).content.decode()
    assert cast.cs2301.name in body and cast.cs2302.name not in body
    client.force_login(cast.outsider)
    assert cast.cs2301.name not in client.get(reverse("reach_index")).content.decode()


def test_missing_list(client, cast, campaign):
    actions.attest(campaign, cast.student, Item.APP_INSTALLED, "declared")
    client.force_login(cast.counsellor)
    body = client.get(item_url(cast, campaign, Item.APP_INSTALLED)).content.decode()
    missing, declared = body.split("本人已申报、待核实")
    assert cast.monitor.name in missing and cast.student.name not in missing
    assert cast.student.name in declared
    assert client.get(item_url(cast, campaign, "video_watched")).status_code == 404  # not tracked
    parents = client.get(item_url(cast, campaign, Item.PARENT_NOTICE_SIGNED)).content.decode()
    assert cast.student.name in parents


@pytest.mark.parametrize("who", [*VIEWERS, "outsider"])
def test_bulk_confirm_by_cast(client, cast, campaign, who):
    client.force_login(cast.users()[who])
    response = client.post(
        reverse("reach_confirm", args=[cast.cs2301.pk, campaign.pk]),
        {"item": Item.TRAINING_ATTENDED, "people": [cast.student.pk, cast.monitor.pk]},
    )
    if who in EDITORS:
        assert response.status_code == 302
        assert Attestation.objects.filter(status="verified", item=Item.TRAINING_ATTENDED).count() == 2
    else:
        assert response.status_code == (403 if who in VIEWERS else 404)
        assert not Attestation.objects.exists()


def test_bulk_confirm_with_evidence(client, cast, campaign):
    client.force_login(cast.counsellor)
    evidence = SimpleUploadedFile("签到表.jpg", jpeg(), content_type="image/jpeg")
    response = client.post(
        reverse("reach_confirm", args=[cast.cs2301.pk, campaign.pk]),
        {"item": Item.TRAINING_ATTENDED, "people": [cast.student.pk], "evidence": evidence},
        follow=True,
    )
    assert "已确认 1 人" in response.content.decode()
    row = Attestation.objects.get()
    assert row.evidence and row.verified_by == cast.counsellor
    image = client.get(reverse("reach_file", args=[row.pk, "evidence"]))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image["Content-Disposition"].startswith("inline") and "sandbox" in image["Content-Security-Policy"]
    row.evidence.save("签到表.pdf", ContentFile(PDF_WITH_JAVASCRIPT))  # a document: a download, never a page
    document = client.get(reverse("reach_file", args=[row.pk, "evidence"]))
    assert document["Content-Disposition"].startswith("attachment")
    assert (
        document["X-Content-Type-Options"] == "nosniff" and "sandbox" in document["Content-Security-Policy"]
    )
    client.force_login(cast.outsider)
    assert client.get(reverse("reach_file", args=[row.pk, "evidence"])).status_code == 404


def test_bulk_confirm_ignores_people_outside_the_unit(client, cast, campaign):
    client.force_login(cast.counsellor)
    client.post(
        reverse("reach_confirm", args=[cast.cs2301.pk, campaign.pk]),
        {"item": Item.TRAINING_ATTENDED, "people": [cast.math_student.pk, cast.other_student.pk]},
    )
    assert not Attestation.objects.exists()


def test_bulk_confirm_refuses_bad_evidence(client, cast, campaign):
    client.force_login(cast.counsellor)
    response = client.post(
        reverse("reach_confirm", args=[cast.cs2301.pk, campaign.pk]),
        {
            "item": Item.TRAINING_ATTENDED,
            "people": [cast.student.pk],
            "evidence": SimpleUploadedFile("a.jpg", b"MZ"),
        },
        follow=True,
    )
    assert "不支持" in response.content.decode() or "类型" in response.content.decode()
    assert not Attestation.objects.exists()


def test_reject(client, cast, campaign):
    row = actions.attest(campaign, cast.student, Item.APP_INSTALLED, "declared")
    client.force_login(cast.police_liaison)
    url = reverse("reach_reject", args=[row.pk])
    assert client.post(url, {"unit": cast.cs2301.pk}).status_code == 403
    client.force_login(cast.outsider)
    assert client.post(url, {"unit": cast.cs2301.pk}).status_code == 404
    client.force_login(cast.counsellor)
    assert client.post(url, {"unit": cast.cs2301.pk}).status_code == 302
    row.refresh_from_db()
    assert row.status == "rejected"


def test_export(client, cast, campaign):
    actions.sign_pledge(campaign, cast.student, png())
    client.force_login(cast.counsellor)
    response = client.get(reverse("reach_export", args=[cast.cs2301.pk, campaign.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("学号/工号", "姓名", "类别", "手机号") and "签署承诺书" in rows[0]
    by_name = {r[1]: r for r in rows[1:]}
    assert set(by_name) == {cast.student.name, cast.monitor.name}
    student = by_name[cast.student.name]
    assert student[3] == "138****8000"
    assert "13800138000" not in str(rows)
    assert student[rows[0].index("签署承诺书")].startswith("本人已申报")
    assert by_name[cast.monitor.name][rows[0].index("签署承诺书")] == "未完成"
    client.force_login(cast.outsider)
    assert client.get(reverse("reach_export", args=[cast.cs2301.pk, campaign.pk])).status_code == 404


def test_remind_once_a_day_even_on_double_click(client, cast, campaign):
    client.force_login(cast.counsellor)
    url = reverse("reach_remind", args=[cast.cs2301.pk, campaign.pk])
    first = client.post(url, {"item": Item.PLEDGE_SIGNED}, follow=True)
    body = first.content.decode()
    assert "已向 1 人发出提醒" in body  # 张三 has an account; 李四 has neither account nor phone
    assert cast.monitor.name in body and "无法提醒" in body
    client.post(url, {"item": Item.PLEDGE_SIGNED})
    rows = Outbox.objects.all()
    assert rows.count() == 1
    row = rows.get()
    assert row.channel_kind == ChannelKind.IN_APP and row.user == cast.student_user
    assert row.link == reverse("member_landing", args=[ClassLink.objects.get(unit=cast.cs2301).token])
    again = client.post(url, {"item": Item.PLEDGE_SIGNED}, follow=True).content.decode()
    assert "今天已提醒过 1 人" in again


def test_remind_sends_sms_to_people_without_an_account(client, cast, campaign):
    phoned = org_actions.save_person(
        root=cast.uni, name="孙七", kind="student", external_number="2023010", phone="13700137000"
    )
    org_actions.add_membership(phoned, cast.cs2301)
    result = actions.remind_missing(campaign, cast.cs2301, Item.QUIZ_PASSED, cast.counsellor)
    assert result.queued == 2
    sms = Outbox.objects.get(channel_kind=ChannelKind.SMS)
    assert "13700137000" not in sms.address and "答题合格" in sms.body
    actions.attest(campaign, phoned, Item.QUIZ_PASSED, "verified")
    assert actions.remind_missing(campaign, cast.cs2301, Item.QUIZ_PASSED, cast.counsellor).queued == 0


def test_remind_parents_for_the_notice(client, cast, campaign):
    result = actions.remind_missing(campaign, cast.cs2301, Item.PARENT_NOTICE_SIGNED, cast.counsellor)
    assert result.queued == 1
    row = Outbox.objects.get()
    assert row.user == cast.parent_user and cast.student.name in row.body
    assert [p.name for p in result.unreachable] == [cast.monitor.name]  # 李四 has no guardian registered


@pytest.mark.parametrize("who", ["police_liaison", "outsider"])
def test_remind_refused(client, cast, campaign, who):
    client.force_login(cast.users()[who])
    response = client.post(
        reverse("reach_remind", args=[cast.cs2301.pk, campaign.pk]), {"item": Item.PLEDGE_SIGNED}
    )
    assert response.status_code == (403 if who == "police_liaison" else 404)
    assert not Outbox.objects.exists()


def test_class_link_page(client, cast, campaign):
    url = reverse("reach_link", args=[cast.cs2301.pk])
    client.force_login(cast.police_liaison)
    assert "生成链接" not in client.get(url).content.decode()
    assert client.post(url).status_code == 403 and not ClassLink.objects.exists()
    client.force_login(cast.counsellor)
    assert client.post(url).status_code == 302
    link = ClassLink.objects.get(unit=cast.cs2301)
    body = client.get(url).content.decode()
    assert "<svg" in body and link.token in body
    client.post(url, {"action": "rotate"})
    assert ClassLink.objects.get(unit=cast.cs2301).token != link.token
    client.force_login(cast.outsider)
    assert client.get(url).status_code == 404


def _people(cast, n):
    for i in range(n):
        person = org_actions.save_person(
            root=cast.uni,
            name=f"学生{i:02d}",
            kind="student",
            external_number=f"2024{i:03d}",
            phone=f"137{i:08d}",
        )
        org_actions.add_membership(person, cast.cs2302)
        if i % 2:
            org_actions.add_membership(person, cast.d1_101)


def _matrix_queries(client, cast, campaign, people):
    _people(cast, people)
    for person in cast.cs2302.memberships.select_related("person")[:3]:
        actions.attest(campaign, person.person, Item.PLEDGE_SIGNED, "declared")
    client.force_login(cast.college_admin)
    client.get(matrix_url(cast, campaign, cast.cs2302))  # warm caches (sessions, content types)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(matrix_url(cast, campaign, cast.cs2302))
    assert response.status_code == 200
    assert response.content.decode().count("data-person=") == people
    return len(ctx.captured_queries)


@pytest.mark.parametrize("people", [5, 30])
def test_matrix_query_count_is_pinned(client, cast, campaign, people):
    assert (
        _matrix_queries(client, cast, campaign, people) == 9
    )  # the page count is the totals' count (issue 15, item 5)


def test_reminder_sms_names_its_template_and_carries_no_name(client, cast, campaign):
    """Issue 12, item 5: a reminder SMS is the approved reminder template with the task's name; a parent's
    is the parent-notice template with how many children, never their names."""
    phoned = org_actions.save_person(
        root=cast.uni, name="孙七", kind="student", external_number="2023010", phone="13700137000"
    )
    org_actions.add_membership(phoned, cast.cs2301)
    actions.remind_missing(campaign, cast.cs2301, Item.QUIZ_PASSED, cast.counsellor)
    sms = Outbox.objects.get(channel_kind=ChannelKind.SMS)
    assert (sms.sms_template, sms.sms_params) == ("reminder", {"item": "答题合格"})
    parent = org_actions.save_person(root=cast.uni, name="孙父", kind="parent", phone="13600136000")
    org_actions.link_guardian(parent, phoned, Guardianship.Relation.FATHER)
    actions.remind_missing(campaign, cast.cs2301, Item.PARENT_NOTICE_SIGNED, cast.counsellor)
    notice = Outbox.objects.filter(channel_kind=ChannelKind.SMS, sms_template="parent_notice").get()
    assert notice.sms_params == {"count": "1"} and "孙七" in notice.body
