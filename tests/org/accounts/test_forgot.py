""" "忘记密码": a code by e-mail or SMS, the same answer whether or not the account exists, rate limits."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from fanzha.core.models import AuditRecord
from fanzha.org.accounts import actions
from fanzha.org.models import AccountToken, User
from tests.conftest import PASSWORD

from .conftest import CODE, SmsCapture, deliver

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Forgot-it-2026!"


def ask(client: Client, login: str, worker: bool = True):
    """Ask for a code; then, unless told not to, the worker sends what was queued."""
    response = client.post(reverse("account_forgot"), {"login": login})
    if worker:
        deliver()
    return response


def answer(client: Client, code: str, password: str = NEW_PASSWORD):
    data = {"code": code, "new_password1": password, "new_password2": password}
    return client.post(reverse("account_forgot_code"), data)


def page_text(response) -> str:
    """The page without the CSRF token (which differs per request)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_a_code_by_email_sets_a_new_password(client, cast):
    user = cast.college_admin
    user.email = "admin@example.edu.cn"
    user.save()
    response = ask(client, "T0002", worker=False)
    assert response.status_code == 302 and response["Location"] == reverse("account_forgot_code")
    assert mail.outbox == []  # not in the request: its time would tell that the account exists
    deliver()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["admin@example.edu.cn"]
    code = CODE.search(mail.outbox[0].body).group(1)
    done = answer(client, code)
    assert done.status_code == 302 and done["Location"] == reverse("login")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert Client().post(reverse("login"), {"username": "T0002", "password": NEW_PASSWORD}).status_code == 302
    assert AuditRecord.objects.filter(
        actor=user, action=AuditRecord.Action.PASSWORD_SET, detail="code"
    ).exists()
    # used once
    again = Client()
    ask(again, "T0002")
    assert answer(again, code, "Another-one-2026!").status_code == 400


def test_a_code_by_sms_to_the_persons_phone(client, cast):
    response = ask(client, "138 0013 8000")  # the student's phone, however typed
    assert response.status_code == 302
    ((phone, text),) = SmsCapture.sent
    assert phone == "13800138000"
    code = CODE.search(text).group(1)
    assert answer(client, code).status_code == 302
    assert User.objects.get(pk=cast.student_user.pk).check_password(NEW_PASSWORD)
    token = AccountToken.objects.get(user=cast.student_user)
    assert code not in token.secret_hash


def test_the_answer_is_the_same_for_an_unknown_login(cast):
    known, unknown = Client(), Client()
    first = ask(known, "T0002")
    second = ask(unknown, "NOBODY-42")
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert page_text(known.get(first["Location"])) == page_text(unknown.get(second["Location"]))
    wrong_known, wrong_unknown = answer(known, "000000"), answer(unknown, "000000")
    assert wrong_known.status_code == wrong_unknown.status_code == 400
    assert page_text(wrong_known) == page_text(wrong_unknown)


def test_a_deactivated_account_gets_no_code(client, cast):
    cast.counsellor.email = "c@example.edu.cn"
    cast.counsellor.save()
    actions.deactivate(cast.school_admin, cast.counsellor)
    assert ask(client, "T0003").status_code == 302
    assert mail.outbox == [] and not AccountToken.objects.filter(user=cast.counsellor).exists()


def test_five_wrong_codes_void_the_code(client, cast):
    ask(client, "138 0013 8000")
    code = CODE.search(SmsCapture.sent[-1][1]).group(1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(actions.CODE_MAX_FAILURES):
        assert answer(client, wrong).status_code == 400
    assert answer(client, code).status_code == 400  # the right one, too late
    assert User.objects.get(pk=cast.student_user.pk).check_password(PASSWORD)


def test_asking_is_rate_limited_per_login_and_address(cast):
    client = Client()
    for _ in range(actions.FORGOT_LOGIN_LIMIT.limit):
        assert ask(client, "T0002").status_code == 302
    sent = len(mail.outbox) + len(SmsCapture.sent)
    assert ask(client, "t 0002").status_code == 429  # the same login however spelled
    assert len(mail.outbox) + len(SmsCapture.sent) == sent
    others = Client()
    for n in range(actions.FORGOT_ADDRESS_LIMIT.limit - actions.FORGOT_LOGIN_LIMIT.limit):
        assert ask(others, f"NOBODY-{n}").status_code == 302
    assert ask(others, "138 0013 8000").status_code == 429  # this address has asked enough
    assert SmsCapture.sent == []


def test_typing_codes_is_rate_limited_per_address(cast):
    client = Client()
    ask(client, "138 0013 8000")
    for n in range(actions.CODE_ADDRESS_LIMIT.limit):
        if n % (actions.CODE_MAX_FAILURES - 1) == 0:  # a fresh code before the per-code limit voids it
            actions.request_reset_code("138 0013 8000")
            deliver()
        code = CODE.search(SmsCapture.sent[-1][1]).group(1)
        assert answer(client, f"{(int(code) + 1) % 1_000_000:06d}").status_code == 400
    code = CODE.search(SmsCapture.sent[-1][1]).group(1)
    assert answer(client, code).status_code == 429  # even the right code: this address has tried enough
    assert User.objects.get(pk=cast.student_user.pk).check_password(PASSWORD)


def test_the_login_page_links_to_it(client):
    assert reverse("account_forgot") in client.get(reverse("login")).content.decode()
