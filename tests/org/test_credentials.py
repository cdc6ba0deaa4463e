"""Personal sign-in codes (``org.credentials``): issued once, stored hashed, rotated, revoked, locked
after five misses; issued only by those who may edit the person; slips for a class shown once."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from fanzha.core.models import AuditRecord
from fanzha.org.credentials import actions as credentials
from fanzha.org.models import SignInCode
from fanzha.reach import actions as reach_actions
from fanzha.reach.member import views as member_views

pytestmark = pytest.mark.django_db

Check = credentials.Check


def every_stored_text() -> str:
    """Every row of every table, as text: what a database dump would show."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - our table names
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def signin(client, link, number, code):
    return client.post(reverse("member_signin", args=[link.token]), {"number": number, "code": code})


# The verbs ------------------------------------------------------------------------------------------


def test_a_code_is_ten_digits_and_only_its_salted_hash_is_stored(cast, caplog):
    caplog.set_level(logging.DEBUG)
    issued = credentials.issue_code(cast.student, cast.counsellor)
    assert re.fullmatch(r"\d{10}", issued.code) and issued.display == f"{issued.code[:5]} {issued.code[5:]}"
    row = SignInCode.objects.get(person=cast.student)
    assert row.issued_by == cast.counsellor and row.expires_at is None
    assert len(row.code_hash) == 64 and len(row.salt) == 32
    assert issued.code not in every_stored_text()  # no code text anywhere in the database
    assert issued.code not in caplog.text  # nor in the logs
    record = AuditRecord.objects.get(action=AuditRecord.Action.ISSUE_CODE)
    assert record.actor == cast.counsellor and record.object_id == str(cast.student.pk)
    assert issued.code not in record.detail
    assert credentials.check_code(cast.student, issued.code) == Check.OK
    assert credentials.check_code(cast.student, f" {issued.code[:5]}-{issued.code[5:]} ") == Check.OK
    assert credentials.check_code(cast.monitor, issued.code) == Check.WRONG  # someone else's


def test_the_same_code_hashes_differently_for_two_people(cast):
    credentials.issue_code(cast.student, cast.counsellor)
    credentials.issue_code(cast.monitor, cast.counsellor)
    a, b = SignInCode.objects.order_by("pk")
    assert a.salt != b.salt and a.code_hash != b.code_hash


def test_issuing_again_voids_the_old_code(cast):
    first = credentials.issue_code(cast.student, cast.counsellor)
    second = credentials.issue_code(cast.student, cast.college_admin)
    assert first.code != second.code
    assert credentials.check_code(cast.student, first.code) == Check.WRONG
    assert credentials.check_code(cast.student, second.code) == Check.OK
    assert SignInCode.objects.get().issued_by == cast.college_admin
    assert AuditRecord.objects.filter(action=AuditRecord.Action.ISSUE_CODE).count() == 2


def test_revoke(cast):
    issued = credentials.issue_code(cast.student, cast.counsellor)
    assert credentials.revoke_code(cast.student, cast.counsellor)
    assert credentials.check_code(cast.student, issued.code) == Check.WRONG
    assert not credentials.revoke_code(cast.student, cast.counsellor)  # nothing left to revoke
    assert AuditRecord.objects.filter(action=AuditRecord.Action.REVOKE_CODE).count() == 1


def test_an_expired_code_fails(cast, settings):
    settings.FANZHA_MEMBER_CODE_DAYS = 30
    now = timezone.now()
    issued = credentials.issue_code(cast.student, cast.counsellor, now=now)
    assert SignInCode.objects.get().expires_at == now + timedelta(days=30)
    assert credentials.check_code(cast.student, issued.code, now + timedelta(days=29)) == Check.OK
    assert credentials.check_code(cast.student, issued.code, now + timedelta(days=31)) == Check.WRONG


def test_five_misses_lock_the_person_wherever_they_come_from(client, cast):
    issued = credentials.issue_code(cast.student, cast.counsellor)
    for _ in range(5):
        assert credentials.check_code(cast.student, "0000000000") == Check.WRONG
    assert credentials.check_code(cast.student, issued.code) == Check.LOCKED  # even the right code
    link = reach_actions.ensure_class_link(cast.cs2301)
    fresh = client.__class__(REMOTE_ADDR="10.9.9.9")  # an address and a number count with nothing counted
    assert signin(fresh, link, "2023001", issued.code).status_code == 429
    assert member_views.SESSION_KEY not in fresh.session


@pytest.mark.parametrize("who", ["parent", "no_number", "inactive"])
def test_who_cannot_have_a_code(cast, who):
    from django.core.exceptions import ValidationError

    from fanzha.org import actions

    person = {
        "parent": cast.parent,
        "no_number": actions.save_person(root=cast.uni, name="无学号", kind="student"),
        "inactive": cast.math_student,
    }[who]
    if who == "inactive":
        person.is_active = False
        person.save()
    with pytest.raises(ValidationError):
        credentials.issue_code(person, cast.school_admin)
    assert not SignInCode.objects.exists() and not AuditRecord.objects.exists()


def test_codes_for_a_class(cast):
    mine = credentials.issue_code(cast.student, cast.counsellor)
    missing = credentials.issue_codes(cast.cs2301, cast.counsellor, only_missing=True)
    assert [i.person for i in missing] == [cast.monitor]  # 张三 has one already and keeps it
    assert credentials.check_code(cast.student, mine.code) == Check.OK
    everyone = credentials.issue_codes(cast.cs2301, cast.counsellor)
    assert [i.person for i in everyone] == [cast.student, cast.monitor]  # in number order
    assert credentials.check_code(cast.student, mine.code) == Check.WRONG  # re-issued: the old one is void
    for issued in everyone:
        assert credentials.check_code(issued.person, issued.code) == Check.OK
    assert AuditRecord.objects.filter(action=AuditRecord.Action.ISSUE_CODE).count() == 1 + 1 + 2


# The person page ------------------------------------------------------------------------------------


def test_the_counsellor_issues_a_code_shown_once(client, cast):
    client.force_login(cast.counsellor)
    page = client.get(reverse("person_detail", args=[cast.student.pk])).content.decode()
    assert (
        "个人登录码" in page
        and "尚未发放登录码" in page
        and reverse("person_code_issue", args=[cast.student.pk]) in page
    )
    response = client.post(reverse("person_code_issue", args=[cast.student.pk]))
    html = response.content.decode()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert "只显示这一次" in html
    shown = re.search(r'data-testid="code">(\d{5}) (\d{5})<', html)
    assert shown is not None
    code = shown.group(1) + shown.group(2)
    assert credentials.check_code(cast.student, code) == Check.OK
    after = client.get(reverse("person_detail", args=[cast.student.pk])).content.decode()
    assert code[:5] not in after and "已发放" in after  # never shown again
    revoked = client.post(reverse("person_code_revoke", args=[cast.student.pk]))
    assert revoked.status_code == 302 and not SignInCode.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("auditor", 403), ("police_liaison", 403), ("outsider", 404)])
def test_who_may_not_issue_changes_nothing(client, cast, who, status):
    issued = credentials.issue_code(cast.student, cast.counsellor)
    before = AuditRecord.objects.count()
    client.force_login(getattr(cast, who))
    assert client.post(reverse("person_code_issue", args=[cast.student.pk])).status_code == status
    assert client.post(reverse("person_code_revoke", args=[cast.student.pk])).status_code == status
    unit = cast.cs2301
    assert client.post(reverse("reach_slips", args=[unit.pk]), {"which": "all"}).status_code == status
    assert credentials.check_code(cast.student, issued.code) == Check.OK  # the code still stands
    assert SignInCode.objects.count() == 1 and AuditRecord.objects.count() == before
    if status == 403:
        page = client.get(reverse("person_detail", args=[cast.student.pk])).content.decode()
        assert reverse("person_code_issue", args=[cast.student.pk]) not in page


def test_a_member_cannot_issue_codes(client, cast):
    client.force_login(cast.student_user)
    assert client.post(reverse("person_code_issue", args=[cast.student.pk])).status_code == 403
    assert client.post(reverse("person_code_issue", args=[cast.monitor.pk])).status_code == 404
    client.logout()
    response = client.post(reverse("person_code_issue", args=[cast.student.pk]))
    assert response.status_code == 302 and "login" in response["Location"]
    assert not SignInCode.objects.exists()


# Slips for a class ----------------------------------------------------------------------------------


def test_slips_for_a_class_are_shown_once(client, cast):
    client.force_login(cast.counsellor)
    unit_page = client.get(reverse("unit_detail", args=[cast.cs2301.pk])).content.decode()
    assert reverse("reach_slips", args=[cast.cs2301.pk]) in unit_page
    form = client.get(reverse("reach_slips", args=[cast.cs2301.pk]))
    assert form.status_code == 200 and "本单位有 2 名学生" in form.content.decode()
    response = client.post(reverse("reach_slips", args=[cast.cs2301.pk]), {"which": "all"})
    html = response.content.decode()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert html.count('data-testid="slip"') == 2 and "<svg" in html and "只显示这一次" in html
    link = reach_actions.ensure_class_link(cast.cs2301)
    assert reverse("member_landing", args=[link.token]) in html
    codes = re.findall(r'class="slip-code">(\d{5}) (\d{5})<', html)
    assert len(codes) == 2
    student_code = "".join(codes[0])
    assert "张三" in html and "2023001" in html and "不要告诉任何人" in html
    again = client.get(reverse("reach_slips", args=[cast.cs2301.pk])).content.decode()
    assert codes[0][0] not in again and "其中 2 人已有登录码" in again
    member = client.__class__()
    assert signin(member, link, "2023001", student_code).status_code == 302


def test_slips_for_those_without_a_code_keep_the_others(client, cast):
    kept = credentials.issue_code(cast.student, cast.counsellor)
    client.force_login(cast.counsellor)
    html = client.post(reverse("reach_slips", args=[cast.cs2301.pk]), {"which": "missing"}).content.decode()
    assert html.count('data-testid="slip"') == 1 and "李四" in html and "张三" not in html
    assert credentials.check_code(cast.student, kept.code) == Check.OK


def test_an_auditor_sees_no_slip_button(client, cast):
    client.force_login(cast.auditor)
    page = client.get(reverse("unit_detail", args=[cast.cs2301.pk])).content.decode()
    assert reverse("reach_slips", args=[cast.cs2301.pk]) not in page
    assert client.get(reverse("reach_slips", args=[cast.cs2301.pk])).status_code == 403
