"""Activity records: recording, edit history, soft delete, evidence checked by content, QR check-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns import queries
from fanzha.campaigns.activities import actions
from fanzha.campaigns.activities import files as activities_files
from fanzha.campaigns.models import Activity, ActivityRevision, Attendance, Evidence
from fanzha.org import actions as org_actions
from tests.campaigns import files
from tests.campaigns.conftest import obligation_of
from tests.codes import give_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


def record(cast, **fields):
    values = {
        "unit": cast.cs2301,
        "kind": "class_meeting",
        "occurred_on": timezone.localdate(),
        "actor": cast.counsellor,
    }
    values.update(fields)
    return actions.record_activity(**values)


# Recording ----------------------------------------------------------------------------------


def test_record_against_an_obligation(cast, campaign):
    ob = obligation_of(campaign, cast.cs2301)
    activity = record(cast, obligation=ob, attendance_count=38, summary="观看防骗视频并讨论。")
    assert activity.campaign == campaign
    assert activity.title == "主题班会"  # blank title: the kind's name
    assert activity.attendance_count == 38
    assert activity.recorded_by == cast.counsellor
    assert len(activity.checkin_token) >= 20
    assert list(queries.activities_for(cast.counsellor)) == [activity]


def test_record_free_standing(cast):
    activity = record(cast, kind="poster", title="  宿舍楼反诈海报  ")
    assert activity.obligation is None and activity.campaign is None
    assert activity.title == "宿舍楼反诈海报"


def test_obligation_must_fit_unit_and_kind(cast, campaign):
    with pytest.raises(ValidationError) as exc:
        record(cast, obligation=obligation_of(campaign, cast.cs2302))
    assert "obligation" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        record(cast, kind="lecture", obligation=obligation_of(campaign, cast.cs2301))
    assert "不计入" in exc.value.message_dict["obligation"][0]
    assert not Activity.objects.exists()


def test_closed_campaign_takes_no_activities(cast, campaign):
    campaign.status = "closed"
    campaign.save()
    with pytest.raises(ValidationError, match="已结束"):
        record(cast, obligation=obligation_of(campaign, cast.cs2301))


def test_dates_too_far_ahead_refused(cast):
    with pytest.raises(ValidationError) as exc:
        record(cast, occurred_on=timezone.localdate() + timedelta(days=30))
    assert "occurred_on" in exc.value.message_dict
    assert record(cast, occurred_on=timezone.localdate() + timedelta(days=3)).pk


def test_record_with_files_is_all_or_nothing(cast):
    good = files.upload("合影.jpg", files.jpeg())
    bad = files.upload("记录.jpg", files.PDF)
    with pytest.raises(ValidationError):
        record(cast, files=[good, bad])
    assert not Activity.objects.exists() and not Evidence.objects.exists()


# Edits and deletion ---------------------------------------------------------------------------


def test_edit_keeps_the_previous_state(cast, campaign):
    activity = record(cast, title="第一次班会", attendance_count=30)
    ob = obligation_of(campaign, cast.cs2301)
    actions.edit_activity(
        activity, {"title": "三月反诈班会", "attendance_count": 35, "obligation": ob}, cast.counsellor
    )
    activity.refresh_from_db()
    assert activity.title == "三月反诈班会" and activity.attendance_count == 35
    assert activity.campaign == campaign  # follows the obligation
    revision = ActivityRevision.objects.get(activity=activity)
    assert revision.data["title"] == "第一次班会"
    assert revision.data["attendance_count"] == 30
    assert revision.data["obligation"] is None
    assert revision.actor == cast.counsellor


def test_edit_without_change_writes_no_revision(cast):
    activity = record(cast, title="班会")
    actions.edit_activity(activity, {"title": "班会"}, cast.counsellor)
    assert not ActivityRevision.objects.exists()


def test_refused_edit_changes_nothing(cast, campaign):
    activity = record(cast, title="班会")
    with pytest.raises(ValidationError):
        actions.edit_activity(
            activity, {"title": "新", "obligation": obligation_of(campaign, cast.ma2301)}, None
        )
    activity.refresh_from_db()
    assert activity.title == "班会"
    assert not ActivityRevision.objects.exists()
    with pytest.raises(TypeError):
        actions.edit_activity(activity, {"recorded_by": cast.outsider}, None)


def test_old_records_stay_editable(cast, campaign):
    """A typo in a record whose campaign has since ended (or whose class closed) can still be fixed."""
    ob = obligation_of(campaign, cast.cs2301)
    activity = record(cast, title="班汇", obligation=ob)
    campaign.status = "closed"
    campaign.save()
    org_actions.set_unit_active(cast.cs2301, False)
    actions.edit_activity(activity, {"title": "班会", "obligation": ob}, cast.counsellor)
    activity.refresh_from_db()
    assert (activity.title, activity.obligation) == ("班会", ob)
    with pytest.raises(ValidationError):  # but it cannot be moved to another closed obligation
        actions.edit_activity(activity, {"obligation": obligation_of(campaign, cast.cs2302)}, cast.counsellor)


def test_history_lists_changes(cast):
    from fanzha.campaigns.activities.queries import history

    activity = record(cast, title="一")
    actions.edit_activity(activity, {"title": "二"}, cast.counsellor)
    actions.edit_activity(activity, {"title": "三", "kind": "lecture"}, cast.college_admin)
    activity.refresh_from_db()
    entries = history(activity)
    assert [(c.label, c.old, c.new) for c in entries[0].changes] == [
        ("类型", "主题班会", "讲座"),
        ("标题", "二", "三"),
    ]
    assert [(c.old, c.new) for c in entries[1].changes] == [("一", "二")]
    assert entries[0].actor == "院管理员"


def test_soft_delete(cast):
    activity = record(cast)
    actions.delete_activity(activity, cast.counsellor)
    activity.refresh_from_db()
    assert activity.is_deleted
    assert not queries.activities_for(cast.counsellor).exists()
    assert ActivityRevision.objects.get(activity=activity).data["event"] == "deleted"
    with pytest.raises(ValidationError):
        actions.edit_activity(activity, {"title": "x"}, cast.counsellor)
    with pytest.raises(ValidationError):
        actions.add_evidence(activity, files.upload("a.pdf", files.PDF), cast.counsellor)


# Evidence ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type", "kind"),
    [
        ("合影.jpg", files.jpeg(), "image/jpeg", "photo"),
        ("截图.PNG", files.png(), "image/png", "photo"),
        ("IMG_0001.HEIC", files.HEIC, "image/heic", "photo"),
        ("记录.pdf", files.PDF, "application/pdf", "document"),
        (
            "总结.docx",
            files.office("word/"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "document",
        ),
        (
            "签到表.xlsx",
            files.office("xl/"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "document",
        ),
        (
            "课件.pptx",
            files.office("ppt/"),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "document",
        ),
        ("视频.mp4", files.MP4, "video/mp4", "video"),
        ("IMG_0002.MOV", files.MOV, "video/quicktime", "video"),
    ],
)
def test_accepted_evidence(cast, name, content, content_type, kind):
    activity = record(cast)
    evidence = actions.add_evidence(activity, files.upload(name, content), cast.counsellor)
    assert (evidence.content_type, evidence.kind, evidence.size) == (content_type, kind, len(content))
    assert evidence.original_name == name
    assert len(evidence.sha256) == 64
    assert name not in evidence.file.name  # stored under a random name
    assert evidence.file.read() == content


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("照片.jpg", files.PDF, "与扩展名 .jpg 不符"),
        ("照片.png", files.EXE, "不支持"),
        ("setup.exe", files.EXE, "不支持"),
        ("说明.txt", files.TEXT, "不支持"),
        ("说明.jpg", files.TEXT, "不支持"),
        ("文档.docx", files.plain_zip(), "不支持"),
        ("表格.docx", files.office("xl/"), "与扩展名 .docx 不符"),
        ("视频.mp4", files.HEIC, "与扩展名 .mp4 不符"),
        ("空.jpg", b"", "空的"),
    ],
)
def test_refused_evidence(cast, name, content, message):
    activity = record(cast)
    with pytest.raises(ValidationError, match=message):
        actions.add_evidence(activity, files.upload(name, content), cast.counsellor)
    assert not Evidence.objects.exists()


@override_settings(FANZHA_EVIDENCE_MAX_BYTES={"photo": 1000})
def test_oversize_refused(cast):
    activity = record(cast)
    big = files.jpeg(400, 400, (1, 2, 3)) + b"\x00" * 2000
    with pytest.raises(ValidationError, match="超过了照片的上限"):
        actions.add_evidence(activity, files.upload("大图.jpg", big), cast.counsellor)
    # the other kinds keep their defaults
    assert activities_files.evidence_limits()["video"] == 300 * 1024 * 1024
    assert actions.add_evidence(activity, files.upload("记录.pdf", files.PDF), cast.counsellor)


def test_identical_file_once_per_activity(cast):
    first, second = record(cast), record(cast)
    content = files.jpeg()
    actions.add_evidence(first, files.upload("a.jpg", content), cast.counsellor)
    with pytest.raises(ValidationError, match="完全相同"):
        actions.add_evidence(first, files.upload("b.jpg", content), cast.counsellor)
    assert actions.add_evidence(second, files.upload("a.jpg", content), cast.counsellor)
    assert Evidence.objects.count() == 2


def test_sniff_needs_no_extension(cast):
    activity = record(cast)
    evidence = actions.add_evidence(activity, files.upload("blob", files.png()), cast.counsellor)
    assert evidence.content_type == "image/png"
    assert evidence.file.name.endswith(".png")


# Check-in ---------------------------------------------------------------------------------------


@pytest.fixture
def code(cast):
    """张三's personal sign-in code, as his counsellor issued it."""
    return give_code(cast.student, cast.counsellor)


def test_check_in(cast, code):
    activity = record(cast)
    attendance = actions.check_in(activity, activity.checkin_token, "2023001", code)
    assert attendance.person == cast.student
    assert attendance.method == Attendance.Method.QR
    typed = f" {code[:5]} {code[5:]} "  # as printed on the slip, spaces and all
    again = actions.check_in(activity, activity.checkin_token, " 2023001 ", typed)
    assert again.pk == attendance.pk  # idempotent
    assert Attendance.objects.count() == 1


@pytest.mark.parametrize(
    ("number", "typed"),
    [
        ("2023001", "wrong"),  # a wrong code
        ("2023001", "8000"),  # the last four digits of the phone, shown masked on every staff page
        ("2023001", "13800138000"),  # the whole phone number
        ("2023999", "right"),  # no such number
        ("2023101", "right"),  # 王五: a student of another college
        ("2023002", "right"),  # 李四: a member with no code of his own
        ("", "right"),
    ],
)
def test_check_in_refused(cast, code, number, typed):
    activity = record(cast)
    attempt = {"right": code, "wrong": "0123456789" if code != "0123456789" else "9876543210"}.get(
        typed, typed
    )
    with pytest.raises(ValidationError, match="学号或登录码不正确") as info:
        actions.check_in(activity, activity.checkin_token, number, attempt)
    assert info.value.code == "refused"
    assert not Attendance.objects.exists()


def test_masked_phone_digits_check_no_one_in(client, cast, code):
    """The outside test's finding: the masked phone (138****8000) on every staff page gave the check-in
    factor away. A member with no code at all cannot be checked in by the phone's digits either."""
    activity = record(cast)
    assert cast.student.phone_masked == "138****8000"
    response = client.post(
        checkin_url(activity), {"number": "2023001", "phone_last4": "8000", "code": "8000"}
    )
    assert response.status_code == 400
    response = client.post(checkin_url(activity), {"number": "2023002", "code": "8000"})  # 李四, no code
    assert response.status_code == 400
    assert not Attendance.objects.exists()


def test_check_in_other_school_same_number(cast):
    """赵六 of the other school has the same student number as 张三: numbers count within one root."""
    other_code = give_code(cast.other_student, cast.outsider)
    activity = record(cast)
    with pytest.raises(ValidationError):
        actions.check_in(activity, activity.checkin_token, "2023001", other_code)


def test_check_in_token_and_expiry(cast, code):
    activity = record(cast, occurred_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ValidationError, match="无效"):
        actions.check_in(activity, "not-the-token", "2023001", code)
    # yesterday's activity: open until the end of today
    assert actions.checkin_open(activity)
    old = record(cast, occurred_on=timezone.localdate() - timedelta(days=2))
    assert not actions.checkin_open(old)
    with pytest.raises(ValidationError, match="签到已结束"):
        actions.check_in(old, old.checkin_token, "2023001", code)
    deadline = actions.checkin_deadline(activity)
    assert actions.checkin_open(activity, deadline - timedelta(seconds=1))
    assert not actions.checkin_open(activity, deadline)


def test_add_attendee_manually(cast):
    activity = record(cast)
    attendance = actions.add_attendee(activity, cast.monitor, cast.counsellor)
    assert attendance.method == Attendance.Method.MANUAL
    assert actions.add_attendee(activity, cast.monitor, cast.counsellor).pk == attendance.pk
    with pytest.raises(ValidationError, match="不是"):
        actions.add_attendee(activity, cast.math_student, cast.counsellor)
    # a QR check-in after a manual entry keeps the manual one
    code = give_code(cast.student, cast.counsellor)
    assert actions.check_in(activity, activity.checkin_token, "2023001", code).method == "qr"
    assert Attendance.objects.filter(activity=activity).count() == 2


# Check-in page: no login, rate limited -----------------------------------------------------------


def checkin_url(activity):
    return reverse("activity_checkin", args=[activity.checkin_token])


def test_checkin_page(client, cast, code):
    activity = record(cast, title="三月主题班会")
    page = client.get(checkin_url(activity))
    assert page.status_code == 200
    body = page.content.decode()
    assert "三月主题班会" in body and "个人登录码" in body and "手机号后四位" not in body
    assert "向你的辅导员或班主任索取" in body  # a member without a code is told whom to ask
    response = client.post(checkin_url(activity), {"number": "2023001", "code": code})
    assert response.status_code == 200
    assert "张三，签到成功" in response.content.decode()
    assert Attendance.objects.filter(activity=activity, person=cast.student).exists()


def test_checkin_page_wrong_code(client, cast, code):
    activity = record(cast)
    wrong = client.post(checkin_url(activity), {"number": "2023001", "code": "0000000000"})
    unknown = client.post(checkin_url(activity), {"number": "2099999", "code": code})
    for response in (wrong, unknown):
        assert response.status_code == 400
        assert "学号或登录码不正确" in response.content.decode()
    assert not Attendance.objects.exists()


def test_checkin_page_unknown_and_expired(client, cast, code):
    assert client.get(reverse("activity_checkin", args=["nope"])).status_code == 404
    old = record(cast, occurred_on=timezone.localdate() - timedelta(days=3))
    response = client.post(checkin_url(old), {"number": "2023001", "code": code})
    assert response.status_code == 410
    assert "签到已结束" in response.content.decode()
    assert not Attendance.objects.exists()
    deleted = record(cast)
    actions.delete_activity(deleted, cast.counsellor)
    assert client.get(checkin_url(deleted)).status_code == 404


def test_checkin_rate_limit_per_number(client, cast, code):
    """Five wrong codes for one number lock it (even the right code then), known or not."""
    activity = record(cast)
    for _ in range(5):
        assert (
            client.post(checkin_url(activity), {"number": "2023001", "code": "0000000000"}).status_code == 400
        )
    response = client.post(checkin_url(activity), {"number": "2023001", "code": code}, REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 429
    assert "尝试次数过多" in response.content.decode()
    for _ in range(5):
        client.post(
            checkin_url(activity), {"number": "7777777", "code": "0000000000"}, REMOTE_ADDR="10.0.0.3"
        )
    assert client.post(checkin_url(activity), {"number": "7777777", "code": "1"}).status_code == 429
    assert not Attendance.objects.exists()


def test_checkin_rate_limit_per_ip(client, cast, code):
    activity = record(cast)
    for n in range(10):
        response = client.post(checkin_url(activity), {"number": f"88800{n:02d}", "code": "0000000000"})
        assert response.status_code == 400
    response = client.post(checkin_url(activity), {"number": "2023001", "code": code})
    assert response.status_code == 429
    assert "尝试次数过多" in response.content.decode()
    assert not Attendance.objects.exists()
    # another address is not blocked
    other = client.post(checkin_url(activity), {"number": "2023001", "code": code}, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 200


def test_checkin_failures_count_across_workers(client, cast, code):
    """Failures are counted where every worker sees them: three on one worker and two on another (whose
    own memory is empty) lock the number, as five on one would."""
    activity = record(cast)
    for _ in range(3):
        assert (
            client.post(checkin_url(activity), {"number": "2023001", "code": "0000000000"}).status_code == 400
        )
    cache.clear()  # the next requests land on another worker, whose local memory knows nothing
    for _ in range(2):
        assert (
            client.post(checkin_url(activity), {"number": "2023001", "code": "0000000000"}).status_code == 400
        )
    assert client.post(checkin_url(activity), {"number": "2023001", "code": code}).status_code == 429


def test_checkin_rate_limit_per_token(client, cast, code, monkeypatch):
    from fanzha.campaigns.activities import views as activity_views

    monkeypatch.setattr(activity_views, "CHECKIN_FAILURES_PER_TOKEN", 3)
    activity = record(cast)
    for i in range(3):
        client.post(checkin_url(activity), {"number": f"x{i}", "code": "0"}, REMOTE_ADDR=f"10.0.1.{i}")
    response = client.post(checkin_url(activity), {"number": "2023001", "code": code}, REMOTE_ADDR="10.0.2.1")
    assert response.status_code == 429
    # a different activity's link still works
    fresh = record(cast)
    ok = client.post(checkin_url(fresh), {"number": "2023001", "code": code}, REMOTE_ADDR="10.0.2.1")
    assert ok.status_code == 200


def test_successful_checkins_do_not_count(client, cast, code):
    """A whole class behind one campus address checks in: only failures count towards the limit."""
    activity = record(cast)
    for _ in range(15):
        response = client.post(checkin_url(activity), {"number": "2023001", "code": code})
        assert response.status_code == 200
