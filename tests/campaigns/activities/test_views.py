"""Activity pages for every member of the cast: what each sees (200), misses (404) or may not do (403).

Every refused write is followed by a check that nothing changed.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fanzha.campaigns.activities import actions
from fanzha.campaigns.models import Activity, ActivityRevision, Attendance, Evidence
from tests.campaigns import files
from tests.campaigns.conftest import obligation_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

EVERYONE = [
    "school_admin",
    "college_admin",
    "counsellor",
    "police_liaison",
    "auditor",
    "student",
    "parent",
    "outsider",
]
# (may see 计科2301班's activities, may change them)
ACCESS = {
    "school_admin": (True, True),
    "college_admin": (True, True),
    "counsellor": (True, True),
    "police_liaison": (True, False),
    "auditor": (True, False),
    "student": (False, False),
    "parent": (False, False),
    "outsider": (False, False),
}


@pytest.fixture
def activity(cast):
    activity = actions.record_activity(
        unit=cast.cs2301,
        kind="class_meeting",
        occurred_on=timezone.localdate(),
        title="三月主题班会",
        attendance_count=30,
        actor=cast.counsellor,
        files=[files.upload("合影.jpg", files.jpeg())],
    )
    actions.add_attendee(activity, cast.monitor, cast.counsellor)
    return activity


def expected(name: str, write: bool = False) -> int:
    sees, changes = ACCESS[name]
    if not sees:
        return 404
    return 200 if changes or not write else 403


def state(activity: Activity) -> tuple:
    fresh = Activity.objects.get(pk=activity.pk)
    return (
        fresh.title,
        fresh.is_deleted,
        fresh.attendance_count,
        Evidence.objects.filter(activity=activity).count(),
        Attendance.objects.filter(activity=activity).count(),
        ActivityRevision.objects.filter(activity=activity).count(),
    )


@pytest.mark.parametrize("name", ["activity_list", "activity_record", "letter_index"])
def test_pages_need_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", EVERYONE)
def test_list(client, cast, activity, who):
    client.force_login(cast.users()[who])
    response = client.get(reverse("activity_list"))
    assert response.status_code == 200
    shown = [a.pk for a in response.context["paged"].page]
    assert shown == ([activity.pk] if ACCESS[who][0] else [])


@pytest.mark.parametrize("who", EVERYONE)
def test_record_form(client, cast, who):
    client.force_login(cast.users()[who])
    response = client.get(reverse("activity_record"))
    may_record = who in ("school_admin", "college_admin", "counsellor", "outsider")  # the outsider, at home
    assert response.status_code == (200 if may_record else 403)


@pytest.mark.parametrize("who", EVERYONE)
def test_detail_and_evidence(client, cast, activity, who):
    client.force_login(cast.users()[who])
    response = client.get(reverse("activity_detail", args=[activity.pk]))
    assert response.status_code == expected(who)
    evidence = activity.evidence.get()
    file_response = client.get(reverse("evidence_file", args=[evidence.pk]))
    assert file_response.status_code == expected(who)
    if file_response.status_code == 200:
        assert file_response["Content-Type"] == "image/jpeg"
        assert b"".join(file_response.streaming_content) == files.jpeg()
        body = response.content.decode()
        assert "三月主题班会" in body
        # the check-in code is for those who run the activity
        assert ('data-testid="checkin-qr"' in body) == ACCESS[who][1]
        assert "<svg" in body or not ACCESS[who][1]


@pytest.mark.parametrize("who", EVERYONE)
def test_edit_form(client, cast, activity, who):
    client.force_login(cast.users()[who])
    assert client.get(reverse("activity_edit", args=[activity.pk])).status_code == expected(who, write=True)


@pytest.mark.parametrize("who", EVERYONE)
def test_writes(client, cast, activity, who):
    """Edit, add evidence, add an attendee, delete: allowed ones work, refused ones change nothing."""
    client.force_login(cast.users()[who])
    before = state(activity)
    status = expected(who, write=True)
    edit = client.post(
        reverse("activity_edit", args=[activity.pk]),
        {
            "unit": cast.cs2301.pk,
            "kind": "class_meeting",
            "occurred_on": activity.occurred_on,
            "title": "改过的标题",
        },
    )
    evidence = client.post(
        reverse("activity_add_evidence", args=[activity.pk]),
        {"attachments": [files.upload("记录.pdf", files.PDF)]},
    )
    attendee = client.post(reverse("activity_add_attendee", args=[activity.pk]), {"number": "2023001"})
    delete = client.post(reverse("activity_delete", args=[activity.pk]))
    if status == 200:
        assert [edit.status_code, evidence.status_code, attendee.status_code, delete.status_code] == [302] * 4
        title, deleted, count, n_evidence, n_attendees, n_revisions = state(activity)
        assert (title, deleted, n_evidence, n_attendees, n_revisions) == ("改过的标题", True, 2, 2, 2)
    else:
        assert [edit.status_code, evidence.status_code, attendee.status_code, delete.status_code] == [
            status
        ] * 4
        assert state(activity) == before


def test_record_through_the_form(client, cast, campaign):
    client.force_login(cast.counsellor)
    page = client.get(reverse("activity_record"))
    form = page.context["form"]
    ob = obligation_of(campaign, cast.cs2301)
    assert form.initial["unit"] == cast.cs2301.pk  # the counsellor's only class
    assert form.initial["obligation"] == ob.pk  # the one obligation a class meeting there counts for
    assert form.initial["title"] == "主题班会"
    body = page.content.decode()
    assert 'capture="environment"' in body and 'accept="image/*' in body and "multiple" in body
    response = client.post(
        reverse("activity_record"),
        {
            "unit": cast.cs2301.pk,
            "kind": "class_meeting",
            "occurred_on": timezone.localdate().isoformat(),
            "title": "三月反诈主题班会",
            "attendance_count": "36",
            "obligation": ob.pk,
            "link": "mp.weixin.qq.com/s/abc",
            # the same photo, once from the camera and once from the album: kept once
            "camera": [files.upload("IMG_1.jpg", files.jpeg())],
            "attachments": [
                files.upload("签到表.xlsx", files.office("xl/")),
                files.upload("视频.mp4", files.MP4),
                files.upload("IMG_1 (1).jpg", files.jpeg()),
            ],
        },
    )
    activity = Activity.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "activity_detail", args=[activity.pk]
    )
    assert (activity.title, activity.attendance_count, activity.obligation, activity.campaign) == (
        "三月反诈主题班会",
        36,
        ob,
        campaign,
    )
    assert sorted(activity.evidence.values_list("kind", flat=True)) == ["document", "photo", "video"]
    assert activity.link == "https://mp.weixin.qq.com/s/abc"


def test_record_refusals_change_nothing(client, cast, campaign):
    client.force_login(cast.counsellor)
    base = {"kind": "class_meeting", "occurred_on": timezone.localdate().isoformat(), "title": "班会"}
    # a class outside the counsellor's scope is not a choice
    response = client.post(reverse("activity_record"), {**base, "unit": cast.cs2302.pk})
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    # an obligation of another class
    response = client.post(
        reverse("activity_record"),
        {**base, "unit": cast.cs2301.pk, "obligation": obligation_of(campaign, cast.ma2301).pk},
    )
    assert response.status_code == 400 and "obligation" in response.context["form"].errors
    # a ".jpg" that is really a PDF
    response = client.post(
        reverse("activity_record"),
        {**base, "unit": cast.cs2301.pk, "camera": [files.upload("照片.jpg", files.PDF)]},
    )
    assert response.status_code == 400
    assert "与扩展名 .jpg 不符" in response.content.decode()
    assert not Activity.objects.exists() and not Evidence.objects.exists()
    # read-only roles are refused before anything is read
    client.force_login(cast.police_liaison)
    assert client.post(reverse("activity_record"), {**base, "unit": cast.cs2301.pk}).status_code == 403
    assert not Activity.objects.exists()


def test_college_admin_chooses_among_buttons(client, cast):
    client.force_login(cast.college_admin)
    form = client.get(reverse("activity_record")).context["form"]
    assert form.unit_buttons
    # the college, its classes, and the room where its student lives
    assert [u.code for u in form.unit_list] == ["CS", "CS2301", "CS2302", "D1-101"]


def test_edit_page_shows_history(client, cast, activity):
    client.force_login(cast.counsellor)
    client.post(
        reverse("activity_edit", args=[activity.pk]),
        {"unit": cast.cs2301.pk, "kind": "lecture", "occurred_on": activity.occurred_on, "title": "讲座"},
    )
    body = client.get(reverse("activity_detail", args=[activity.pk])).content.decode()
    assert "<del>三月主题班会</del>" in body and "<ins>讲座</ins>" in body


def test_list_filters(client, cast, activity):
    other = actions.record_activity(
        unit=cast.ma2301, kind="lecture", occurred_on=timezone.localdate(), actor=cast.school_admin
    )
    client.force_login(cast.school_admin)

    def shown(**query):
        return {a.pk for a in client.get(reverse("activity_list"), query).context["paged"].page}

    assert shown() == {activity.pk, other.pk}
    assert shown(unit=cast.cs.pk) == {activity.pk}  # a college includes its classes
    assert shown(kind="lecture") == {other.pk}
    assert shown(month=timezone.localdate().strftime("%Y-%m")) == {activity.pk, other.pk}
    assert shown(month="2001-01") == set()
    # a unit outside the scope is not a filter choice
    client.force_login(cast.counsellor)
    response = client.get(reverse("activity_list"), {"unit": cast.ma2301.pk})
    assert not response.context["form"].is_valid()


def list_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("activity_list"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_does_not_grow(client, cast, campaign):
    ob = obligation_of(campaign, cast.cs2301)

    def add(n: int) -> None:
        for i in range(n):
            activity = actions.record_activity(
                unit=cast.cs2301,
                kind="class_meeting",
                occurred_on=timezone.localdate(),
                obligation=ob if i % 2 else None,
                attendance_count=i,
                actor=cast.counsellor,
            )
            actions.add_attendee(activity, cast.monitor, cast.counsellor)

    add(3)
    three = list_queries(client, cast.counsellor)
    add(17)
    twenty = list_queries(client, cast.counsellor)
    assert three == twenty == 8  # session, user, grants, filter units ×2, count, can-record, page


def test_evidence_never_public(client, cast, activity):
    """Evidence has no public media URL: the page links only to the scoped view."""
    client.force_login(cast.counsellor)
    body = client.get(reverse("activity_detail", args=[activity.pk])).content.decode()
    assert "/media/" not in body
    assert reverse("evidence_file", args=[activity.evidence.get().pk]) in body
    client.logout()
    assert client.get(reverse("evidence_file", args=[activity.evidence.get().pk])).status_code == 302


def test_large_scope_lists_upper_levels(client, cast, monkeypatch):
    """A school with thousands of units lists its upper levels; a link can still name any unit."""
    from fanzha.org import forms as org_forms

    monkeypatch.setattr(org_forms, "MAX_SHOWN_UNITS", 4)
    client.force_login(cast.school_admin)
    form = client.get(reverse("activity_record")).context["form"]
    assert [u.code for u in form.unit_list] == ["UNI", "CS", "MA", "D1"]
    form = client.get(reverse("activity_record"), {"unit": cast.cs2301.pk}).context["form"]
    assert [u.code for u in form.unit_list] == ["UNI", "CS", "CS2301", "MA", "D1"]
    assert form.initial["unit"] == cast.cs2301.pk


def test_a_pdf_with_javascript_is_served_as_an_attachment_images_inline(client, cast, activity):
    """Every non-image upload is a download that cannot run as a page; photos stay inline for <img>."""
    pdf = actions.record_activity(
        unit=cast.cs2301,
        kind="class_meeting",
        occurred_on=timezone.localdate(),
        actor=cast.counsellor,
        files=[files.upload("通知.pdf", files.PDF_WITH_JAVASCRIPT)],
    ).evidence.get()
    client.force_login(cast.counsellor)
    response = client.get(reverse("evidence_file", args=[pdf.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    photo = client.get(reverse("evidence_file", args=[activity.evidence.get().pk]))
    assert photo["Content-Disposition"].startswith("inline") and photo["Content-Type"] == "image/jpeg"
    assert "sandbox" in photo["Content-Security-Policy"] and photo["X-Content-Type-Options"] == "nosniff"


def test_adding_an_attendee_says_what_happened_for_a_blank_number_and_someone_already_listed(
    client, cast, activity
):
    """Walk-through at 390 px: a blank number was silently ignored, and adding someone already on the list
    said "已登记 … 参加" as if it had just been done."""
    client.force_login(cast.counsellor)
    url = reverse("activity_add_attendee", args=[activity.pk])
    blank = client.post(url, {"number": "   "}, follow=True)
    assert "请填写学号/工号。" in blank.content.decode()
    assert Attendance.objects.filter(activity=activity).count() == 1
    first = client.post(url, {"number": "2023001"}, follow=True).content.decode()
    assert "已登记" in first and "参加" in first
    again = client.post(url, {"number": "2023001"}, follow=True).content.decode()
    assert "已在签到名单上" in again and "已登记" not in again
    assert Attendance.objects.filter(activity=activity).count() == 2


def test_record_form_links_the_obvious_obligation_beside_a_catch_all(client, cast, campaign):
    """Issue 15 (finding 8): "计入工作任务" defaulted to 不关联 as soon as a second obligation of the
    class took any kind of activity; the one whose rule names the kind is the obvious one."""
    from fanzha.campaigns.models import Obligation
    from tests.campaigns.engine import obligation, start

    second = start(cast.uni)
    catch_all = obligation(second, "daily-tip", cast.cs2301)
    Obligation.objects.filter(campaign=second).exclude(pk=catch_all.pk).update(is_active=False)
    catch_all.rule.activity_kinds = []
    catch_all.rule.save()
    client.force_login(cast.counsellor)
    form = client.get(reverse("activity_record")).context["form"]
    assert form.initial["obligation"] == obligation_of(campaign, cast.cs2301).pk


def test_record_form_starts_on_the_kind_the_rooms_work_counts(client, cast, campaign):
    """A dormitory room is asked for room visits: its form must not open on "主题班会", which would
    record work that counts for nothing; a class still opens on its class meeting."""
    from fanzha.campaigns.models import Obligation, ObligationRule

    rule = ObligationRule.objects.create(
        campaign=campaign,
        code="room-visit",
        title="每月走访宿舍",
        level="dorm_room",
        frequency="monthly",
        activity_kinds=["dorm_visit"],
    )
    room = Obligation.objects.create(rule=rule, campaign=campaign, unit=cast.d1_101)
    client.force_login(cast.school_admin)
    form = client.get(reverse("activity_record"), {"unit": cast.d1_101.pk}).context["form"]
    assert (form.initial["unit"], form.initial["kind"]) == (cast.d1_101.pk, "dorm_visit")
    assert form.initial["obligation"] == room.pk
    form = client.get(reverse("activity_record"), {"unit": cast.cs2301.pk}).context["form"]
    assert form.initial["kind"] == "class_meeting"
