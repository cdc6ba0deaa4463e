"""Member sign-in by class link: number + personal sign-in code, or a one-time code by SMS.

Bad input is handled and reported, and tells a stranger nothing: a forged, reused or expired code
fails; five wrong codes lock the person's codes; failures are limited per address and per number
(known or not), in the store every worker shares; an unknown number gets the message of a wrong one;
nothing shown on a staff page (the masked phone's last four digits) signs anyone in; the session ends
after 2 hours.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from fanzha.core.models import RateCounter
from fanzha.notify.models import ChannelKind, Outbox
from fanzha.reach import actions
from fanzha.reach.member import views as member_views
from fanzha.reach.models import CodeGuard, OneTimeCode
from tests.codes import give_code
from tests.reach.conftest import CaptureBackend, last_code

REFUSED = "学号/工号或登录码不正确"
BAD_CODE = "验证码不正确或已失效"
WRONG = "0000000000"


def signin(client, link, number, code="", **extra):
    data = {"number": number, "code": code, **extra}
    return client.post(reverse("member_signin", args=[link.token]), data)


def test_landing(client, cast, link, campaign):
    response = client.get(reverse("member_landing", args=[link.token]))
    assert response.status_code == 200
    body = response.content.decode()
    assert cast.cs2301.name in body and campaign.title in body
    assert "<script>" not in body
    assert client.get(reverse("member_landing", args=["not-a-real-token"])).status_code == 404
    link.is_active = False
    link.save()
    assert client.get(reverse("member_landing", args=[link.token])).status_code == 404


def test_sign_in_with_a_personal_code(client, cast, link, campaign, code):
    page = client.get(reverse("member_signin", args=[link.token]))
    body = page.content.decode()
    assert "个人登录码" in body and "手机号后四位" not in body and "phone_last4" not in body
    assert "请向你的辅导员或班主任索取" in body  # a student without a code learns whom to ask
    client.get(reverse("member_landing", args=[link.token]))
    old_key = client.session.session_key
    response = signin(client, link, "2023001", f"{code[:5]} {code[5:]}")  # as printed on the slip
    assert response.status_code == 302 and response["Location"] == reverse("member_tasks", args=[link.token])
    assert client.session[member_views.SESSION_KEY]["person"] == cast.student.pk
    assert client.session.session_key != old_key  # a new session id at sign-in
    assert "_auth_user_id" not in client.session  # not a Django login
    tasks = client.get(reverse("member_tasks", args=[link.token]))
    assert tasks.status_code == 200 and "签署承诺书" in tasks.content.decode()


def test_masked_phone_digits_sign_no_one_in(client, cast, link):
    """The outside test's finding: a read-only auditor read the masked phone on a staff page and signed
    in as the student with its last four digits. Those digits (in any field) sign no one in now."""
    staff = client.__class__()
    staff.force_login(cast.auditor)
    person_page = staff.get(reverse("person_detail", args=[cast.student.pk])).content.decode()
    assert "138****8000" in person_page
    for data in (
        {"number": "2023001", "phone_last4": "8000"},
        {"number": "2023001", "phone_last4": "8000", "code": "8000"},
        {"number": "2023001", "code": "13800138000"},
    ):
        response = client.post(reverse("member_signin", args=[link.token]), data)
        assert response.status_code == 400 and REFUSED in response.content.decode()
    assert member_views.SESSION_KEY not in client.session
    report = client.get(reverse("member_report", args=[link.token]))
    assert report.status_code == 302 and "signin" in report["Location"]


def test_unknown_number_and_wrong_code_read_the_same(client, cast, link, code):
    wrong = signin(client, link, "2023001", WRONG if code != WRONG else "1111111111")
    unknown = signin(client, link, "9999999", code)
    outside = signin(client, link, "2023101", code)  # 王五 exists, but not in this class
    no_code = signin(client, link, "2023002", code)  # 李四 has no code of his own
    empty = signin(client, link, "2023001", "")
    for response in (wrong, unknown, outside, no_code, empty):
        assert response.status_code == 400
        assert REFUSED in response.content.decode()
    pages = {re.sub(r'value="[^"]*"', "", r.content.decode()) for r in (wrong, unknown, outside, no_code)}
    assert len(pages) == 1  # apart from the echoed input and the CSRF token, the very same page
    assert member_views.SESSION_KEY not in client.session


def test_a_new_code_voids_the_old_one(client, cast, link, code):
    newer = give_code(cast.student, cast.counsellor)
    assert newer != code
    assert signin(client, link, "2023001", code).status_code == 400
    assert signin(client, link, "2023001", newer).status_code == 302


def test_five_failures_per_number_lock_it_known_or_not(client, cast, link, code):
    for _ in range(5):
        assert signin(client, link, "2023001", WRONG).status_code == 400
    other = client.__class__(REMOTE_ADDR="10.0.0.9")
    assert signin(other, link, "2023001", code).status_code == 429  # even the right code, from anywhere
    for _ in range(5):
        signin(other, link, "7777777", WRONG)
    assert signin(other, link, "7777777", WRONG).status_code == 429  # an unknown number behaves alike


def test_ten_failures_per_address(client, cast, link, code):
    for n in range(10):
        assert signin(client, link, f"88800{n:02d}", WRONG).status_code == 400
    assert signin(client, link, "2023001", code).status_code == 429
    other = client.__class__(REMOTE_ADDR="10.0.0.9")
    assert signin(other, link, "2023001", code).status_code == 302


def test_failures_count_across_workers(client, cast, link, code):
    """Three failures on one worker and two on another (whose own memory is empty) lock the number, as
    five on one would: the count lives where every worker sees it, not in a process's local cache."""
    for _ in range(3):
        assert signin(client, link, "2023001", WRONG).status_code == 400
    cache.clear()  # the next requests land on another worker, whose local memory knows nothing
    for _ in range(2):
        assert signin(client, link, "2023001", WRONG).status_code == 400
    assert signin(client, link, "2023001", code).status_code == 429
    assert RateCounter.objects.exists()
    assert not RateCounter.objects.filter(key__contains="2023001").exists()  # keyed hashes only


def test_failures_on_the_check_in_and_the_class_link_add_up(client, cast, link, code):
    """One number, one count: three wrong codes at an activity's check-in and two on the class link."""
    from fanzha.campaigns.activities import actions as activities

    activity = activities.record_activity(
        unit=cast.cs2301, kind="class_meeting", occurred_on=timezone.localdate(), actor=cast.counsellor
    )
    checkin = reverse("activity_checkin", args=[activity.checkin_token])
    for _ in range(3):
        assert client.post(checkin, {"number": "2023001", "code": WRONG}).status_code == 400
    for _ in range(2):
        assert signin(client, link, "2023001", WRONG).status_code == 400
    assert signin(client, link, "2023001", code).status_code == 429


def test_sign_in_with_a_code(client, cast, link):
    response = signin(client, link, "2023001", send_code="1")
    assert response.status_code == 302 and response["Location"] == reverse("member_code", args=[link.token])
    row = Outbox.objects.get(channel_kind=ChannelKind.SMS)
    assert row.status == Outbox.Status.SENT and row.address == "138****8000"
    assert row.idempotency_key == f"otp:{OneTimeCode.objects.get().pk}"
    code = last_code("13800138000")
    assert code not in row.body  # the outbox keeps no code once sent
    assert OneTimeCode.objects.get().code_hash != code
    page = client.get(reverse("member_code", args=[link.token]))
    assert page.status_code == 200
    done = client.post(reverse("member_code", args=[link.token]), {"code": code})
    assert done.status_code == 302 and client.session[member_views.SESSION_KEY]["person"] == cast.student.pk


def test_code_request_for_unknown_number_looks_the_same(client, cast, link):
    response = signin(client, link, "9999999", send_code="1")
    assert response.status_code == 302 and response["Location"] == reverse("member_code", args=[link.token])
    assert CaptureBackend.sent == [] and not OneTimeCode.objects.exists()
    wrong = client.post(reverse("member_code", args=[link.token]), {"code": "123456"})
    assert wrong.status_code == 400 and BAD_CODE in wrong.content.decode()


def test_forged_code_fails_and_counts(client, cast, link):
    signin(client, link, "2023001", send_code="1")
    code = last_code("13800138000")
    forged = "000000" if code != "000000" else "111111"
    for _ in range(4):
        response = client.post(reverse("member_code", args=[link.token]), {"code": forged})
        assert response.status_code == 400 and BAD_CODE in response.content.decode()
    malformed = client.post(reverse("member_code", args=[link.token]), {"code": "12ab"})
    assert malformed.status_code == 400 and BAD_CODE in malformed.content.decode()
    assert actions.code_locked(cast.student)  # five wrong tries lock the person's codes
    assert client.post(reverse("member_code", args=[link.token]), {"code": code}).status_code == 429


def test_code_rules(cast):
    now = timezone.now()
    issued = actions.issue_code(cast.student, now)
    assert len(issued.code) == 6 and issued.code.isdigit()
    assert issued.row.expires_at == now + timedelta(minutes=10)
    assert not actions.verify_code(
        cast.student, issued.code, now + timedelta(minutes=10, seconds=1)
    )  # expired
    assert actions.verify_code(cast.student, issued.code, now + timedelta(minutes=9))
    assert not actions.verify_code(cast.student, issued.code, now + timedelta(minutes=9))  # reused
    assert not actions.verify_code(cast.monitor, issued.code, now)  # someone else's


def test_a_new_code_replaces_the_old_one(cast):
    now = timezone.now()
    first = actions.issue_code(cast.student, now)
    second = actions.issue_code(cast.student, now + timedelta(minutes=2))
    later = now + timedelta(minutes=3)
    if first.code != second.code:
        assert not actions.verify_code(cast.student, first.code, later)
    assert actions.verify_code(cast.student, second.code, later)


def test_issuing_is_throttled(cast):
    now = timezone.now()
    actions.issue_code(cast.student, now)
    with pytest.raises(ValidationError) as info:
        actions.issue_code(cast.student, now + timedelta(seconds=30))
    assert info.value.code == "too_soon"
    for minute in range(1, 5):
        actions.issue_code(cast.student, now + timedelta(minutes=minute * 2))
    with pytest.raises(ValidationError) as info:
        actions.issue_code(cast.student, now + timedelta(minutes=11))
    assert info.value.code == "too_many"
    with pytest.raises(ValidationError) as info:
        actions.issue_code(cast.monitor, now)
    assert info.value.code == "no_phone"


def test_five_wrong_codes_lock_for_fifteen_minutes(cast):
    now = timezone.now()
    issued = actions.issue_code(cast.student, now)
    wrong = "000000" if issued.code != "000000" else "111111"
    for i in range(5):
        assert not actions.verify_code(cast.student, wrong, now + timedelta(seconds=i))
    assert not actions.verify_code(
        cast.student, issued.code, now + timedelta(seconds=10)
    )  # locked, code voided
    with pytest.raises(ValidationError) as info:
        actions.issue_code(cast.student, now + timedelta(minutes=5))
    assert info.value.code == "locked"
    after = now + timedelta(minutes=16)
    fresh = actions.issue_code(cast.student, after)
    assert actions.verify_code(cast.student, fresh.code, after)
    assert CodeGuard.objects.get(person=cast.student).failures == 0


def test_failures_far_apart_do_not_lock(cast):
    now = timezone.now()
    issued = actions.issue_code(cast.student, now)
    wrong = "000000" if issued.code != "000000" else "111111"
    for i in range(4):
        actions.verify_code(cast.student, wrong, now + timedelta(seconds=i))
    assert not actions.verify_code(cast.student, wrong, now + timedelta(minutes=16))
    assert not actions.code_locked(cast.student, now + timedelta(minutes=16))


def test_parent_signs_in_with_phone_and_code(client, cast, link, campaign):
    response = client.post(reverse("member_guardian_signin", args=[link.token]), {"phone": "139-0013-9000"})
    assert response.status_code == 302
    code = last_code("13900139000")
    done = client.post(reverse("member_code", args=[link.token]), {"code": code})
    assert done.status_code == 302
    assert client.session[member_views.SESSION_KEY] | {} == {
        **client.session[member_views.SESSION_KEY],
        "person": cast.parent.pk,
        "guardian": True,
    }
    page = client.get(reverse("member_tasks", args=[link.token]))
    assert page.status_code == 200 and cast.student.name in page.content.decode()


def test_unknown_phone_looks_the_same(client, cast, link):
    for phone in ("13700137000", "not a phone"):
        response = client.post(reverse("member_guardian_signin", args=[link.token]), {"phone": phone})
        assert response.status_code == 302 and response["Location"] == reverse(
            "member_code", args=[link.token]
        )
    # a guardian whose child is in another class is unknown to this class's link
    other = actions.ensure_class_link(cast.ma2301)
    client.post(reverse("member_guardian_signin", args=[other.token]), {"phone": "13900139000"})
    assert CaptureBackend.sent == []


def test_session_expires_after_two_hours(client, cast, link, code, monkeypatch):
    signin(client, link, "2023001", code)
    assert client.get(reverse("member_tasks", args=[link.token])).status_code == 200
    later = timezone.now().timestamp() + 2 * 3600 + 1
    monkeypatch.setattr(member_views, "_now_ts", lambda: later)
    response = client.get(reverse("member_tasks", args=[link.token]))
    assert response.status_code == 302 and response["Location"] == reverse("member_signin", args=[link.token])
    assert member_views.SESSION_KEY not in client.session


def test_session_is_bound_to_its_class_link(client, cast, link, code):
    signin(client, link, "2023001", code)
    other = actions.ensure_class_link(cast.cs2302)
    response = client.get(reverse("member_tasks", args=[other.token]))
    assert response.status_code == 302 and response["Location"] == reverse(
        "member_signin", args=[other.token]
    )


def test_sign_out(client, cast, link, code):
    signin(client, link, "2023001", code)
    response = client.post(reverse("member_signout", args=[link.token]))
    assert response.status_code == 302
    assert client.get(reverse("member_tasks", args=[link.token])).status_code == 302


def test_code_page_without_a_pending_sign_in(client, link):
    response = client.get(reverse("member_code", args=[link.token]))
    assert response.status_code == 302 and response["Location"] == reverse("member_signin", args=[link.token])
