"""Opening an account from a person's page: the invitation link is single use, expires, and signs in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from fanzha.core.models import AuditRecord
from fanzha.org.models import AccountToken, Person, User

from .conftest import TEACHER_PHONE, SmsCapture, deliver, last_link, mail_texts, sms_texts

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Lin-teacher-2026!"


EMAIL = "lin@example.edu.cn"


def open_for(client, admin, person, follow=False, **data):
    client.force_login(admin)
    return client.post(reverse("account_open", args=[person.pk]), data, follow=follow)


def invited(client, admin, person) -> str:
    """Open an account with an e-mail address; the path of the link the invitation e-mail carries."""
    open_for(client, admin, person, email=EMAIL)
    client.logout()
    return last_link(mail_texts(EMAIL)[-1])


def set_password(client, path, password=NEW_PASSWORD):
    """Follow an invitation or reset link and choose a password; the last response."""
    first = client.get(path)
    assert first.status_code == 302 and "?t=" not in first["Location"], first
    page = client.get(first["Location"])
    assert page.status_code == 200, page.status_code
    return client.post(first["Location"], {"new_password1": password, "new_password2": password})


def test_an_admin_opens_an_account_and_the_invitation_goes_by_sms_and_email(client, cast, teacher):
    response = open_for(client, cast.college_admin, teacher, email="lin@example.edu.cn")
    assert response.status_code == 302
    teacher.refresh_from_db()
    user = teacher.user
    assert user is not None and user.first_name == "林老师" and user.email == "lin@example.edu.cn"
    assert not user.has_usable_password()  # nobody but the teacher sets it
    [letter] = mail_texts(EMAIL)
    assert "T0100" in letter and "72 小时" in letter
    assert last_link(letter).startswith("/account/welcome/?t=")
    # The SMS is an approved template, which holds no link: it sends the teacher to "忘记密码".
    assert len(sms_texts()) == 1 and "忘记密码" in sms_texts()[0] and "?t=" not in sms_texts()[0]
    assert SmsCapture.templates == [("account", {})]
    token = AccountToken.objects.get(user=user)
    assert token.purpose == "invite" and token.expires_at - token.created_at == timedelta(hours=72)
    assert last_link(letter).split("=", 1)[1] not in token.secret_hash  # only a hash is kept
    actions = set(AuditRecord.objects.filter(object_id=str(user.pk)).values_list("action", flat=True))
    assert actions == {AuditRecord.Action.ACCOUNT_CREATE, AuditRecord.Action.INVITE}
    page = client.get(reverse("person_detail", args=[teacher.pk])).content.decode()
    assert "邀请未接受" in page and "137****7000" in page and "已发送" in page


def test_the_link_sets_the_password_signs_in_and_works_once(client, cast, teacher):
    path = invited(client, cast.college_admin, teacher)
    response = set_password(client, path)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    user = User.objects.get(person=teacher)
    assert client.session[SESSION_KEY] == str(user.pk)
    assert user.check_password(NEW_PASSWORD) and not user.must_change_password
    assert AuditRecord.objects.filter(actor=user, action=AuditRecord.Action.PASSWORD_SET).exists()
    client.logout()
    again = client.get(path, follow=True)
    assert again.status_code == 410 and "链接已失效" in again.content.decode()
    assert "重新发送账号邀请" in again.content.decode()
    assert client.post(reverse("login"), {"username": "T0100", "password": NEW_PASSWORD}).status_code == 302


def test_an_expired_link_says_so_and_sets_nothing(client, cast, teacher, settings):
    settings.FANZHA_INVITATION_HOURS = 1
    path = invited(client, cast.college_admin, teacher)
    AccountToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(path, follow=True)
    assert response.status_code == 410
    posted = client.post(
        reverse("account_welcome"), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert posted.status_code == 410
    assert not User.objects.get(person=teacher).has_usable_password()
    assert SESSION_KEY not in client.session


def test_a_forged_link_is_refused(client, cast, teacher):
    open_for(client, cast.college_admin, teacher)
    client.logout()
    response = client.get(reverse("account_welcome") + "?t=not-the-secret", follow=True)
    assert response.status_code == 410


def test_a_weak_password_is_refused_and_the_link_still_works(client, cast, teacher):
    path = invited(client, cast.college_admin, teacher)
    response = set_password(client, path, "12345678")
    assert response.status_code == 200 and response.context["form"].errors
    assert not User.objects.get(person=teacher).has_usable_password()
    assert set_password(client, path).status_code == 302


def test_sending_again_voids_the_previous_link(client, cast, teacher):
    first = invited(client, cast.college_admin, teacher)
    user = User.objects.get(person=teacher)
    client.force_login(cast.college_admin)
    response = client.post(reverse("account_invite", args=[user.pk]), {"email": "lin2@example.edu.cn"})
    assert response.status_code == 302
    second = last_link(mail_texts("lin2@example.edu.cn")[-1])
    assert first != second and len(mail_texts(EMAIL)) == 1 and len(sms_texts()) == 2
    client.logout()
    assert client.get(first, follow=True).status_code == 410
    assert set_password(client, second).status_code == 302


def test_without_a_gateway_the_page_says_unsent_and_offers_email(client, cast, teacher, settings):
    settings.FANZHA_SMS_BACKEND = "fanzha.notify.sms.LogBackend"
    client.force_login(cast.college_admin)
    before = client.get(reverse("person_detail", args=[teacher.pk])).content.decode()
    assert "未配置短信网关" in before  # said before anyone presses the button
    response = client.post(reverse("account_open", args=[teacher.pk]), {}, follow=True)
    body = response.content.decode()
    assert "未发送：未配置短信网关" in body and "已发送" not in body.split("未发送")[0][-40:]
    assert 'data-testid="unsent"' in body and 'name="email"' in body
    assert SmsCapture.sent == [] and mail.outbox == []
    user = User.objects.get(person=teacher)
    client.post(reverse("account_invite", args=[user.pk]), {"email": "lin@example.edu.cn"})
    mails = mail_texts("lin@example.edu.cn")
    assert len(mails) == 1 and "/account/welcome/?t=" in mails[0]
    page = client.get(reverse("person_detail", args=[teacher.pk])).content.decode()
    assert "未发送：未配置短信网关" in page and 'data-testid="unsent"' not in page  # the e-mail got out
    client.logout()
    assert set_password(client, last_link(mails[0])).status_code == 302


def test_a_person_without_phone_needs_an_email_or_a_temporary_password(client, cast, ma_teacher):
    response = open_for(client, cast.school_admin, ma_teacher, follow=True)
    assert "没有登记手机号" in response.content.decode()
    assert not User.objects.filter(person=ma_teacher).exists()
    response = open_for(client, cast.school_admin, ma_teacher, temporary="on")
    assert response.status_code == 200 and 'data-testid="temporary-password"' in response.content.decode()
    password = response.context["password"]
    user = User.objects.get(person=ma_teacher)
    assert user.check_password(password) and user.must_change_password
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]


def test_students_and_parents_get_no_staff_account(client, cast):
    before = User.objects.count()
    response = open_for(client, cast.school_admin, cast.monitor, email="li@example.edu.cn", follow=True)
    assert "不开通员工账号" in response.content.decode()
    assert User.objects.count() == before and Person.objects.get(pk=cast.monitor.pk).user_id is None


def test_the_page_works_in_english(client, cast, teacher):
    path = invited(client, cast.college_admin, teacher)
    client.cookies["django_language"] = "en"
    first = client.get(path)
    body = client.get(first["Location"]).content.decode()
    assert "Set the password and sign in" in body and "设置密码" not in body


def test_an_invitation_by_sms_alone_leads_through_forgot_password(client, cast, teacher):
    """A teacher with a phone and no e-mail: the SMS (template "account", no link) sends them to
    "忘记密码", where the same phone gets a code (template "code") that sets the first password."""
    open_for(client, cast.college_admin, teacher)
    client.logout()
    assert SmsCapture.templates == [("account", {})] and mail.outbox == []
    assert client.post(reverse("account_forgot"), {"login": TEACHER_PHONE}).status_code == 302
    deliver()
    template, params = SmsCapture.templates[-1]
    assert template == "code" and set(params) == {"code", "minutes"} and params["minutes"] == "15"
    data = {"code": params["code"], "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post(reverse("account_forgot_code"), data).status_code == 302
    user = User.objects.get(person=teacher)
    assert user.check_password(NEW_PASSWORD)
    assert AccountToken.objects.get(purpose="invite").voided_at is not None  # the link is no longer open
