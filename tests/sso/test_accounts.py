"""Which account an identity signs in as (``sso.actions.account_for``), and how single sign-on stays
apart from the password lockout."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from fanzha.org import actions as org_actions
from fanzha.org.models import Person, User
from fanzha.sso import actions
from fanzha.sso.backends import SsoBackend
from fanzha.sso.identity import Identity, Refusal
from fanzha.sso.models import ExternalIdentity
from tests.conftest import PASSWORD

from .conftest import fake_to_callback, signed_in_user_id


def who(number: str, organisation: str = "UNI", subject: str = "") -> Identity:
    return Identity("cas", subject or number, number, organisation)


def refusal(identity: Identity) -> str:
    before = (User.objects.count(), Person.objects.count(), ExternalIdentity.objects.count())
    with pytest.raises(Refusal) as caught:
        actions.account_for(identity)
    assert (User.objects.count(), Person.objects.count(), ExternalIdentity.objects.count()) == before
    return caught.value.code


def test_the_number_is_matched_as_the_password_sign_in_spells_it(cast):
    assert actions.account_for(who("Ｔ０００３")) == cast.counsellor  # full-width, as a phone may type it
    assert actions.account_for(who(" t0003 ")) == cast.counsellor


def test_the_configured_organisation_decides_not_the_number(cast):
    """2023001 is 张三 at the university and 赵六 at the other school."""
    assert actions.account_for(who("2023001", "UNI")) == cast.student_user
    other = actions.account_for(who("2023001", "OTH", subject="oth-2023001"))
    cast.other_student.refresh_from_db()
    assert other.pk == cast.other_student.user_id and other != cast.student_user


def test_refusals_leave_nothing_behind(cast):
    staff = org_actions.save_person(root=cast.uni, name="无账号职工", kind="staff", external_number="T0999")
    gone = org_actions.save_person(root=cast.uni, name="已毕业", kind="student", external_number="2019001")
    Person.objects.filter(pk=gone.pk).update(is_active=False)
    police = org_actions.save_person(root=cast.uni, name="民警", kind="police", external_number="P0999")

    assert refusal(who("9999999")) == "unknown"
    assert refusal(who("T0999")) == "no_account"
    assert refusal(who("P0999")) == "no_account"
    assert refusal(who("2019001")) == "not_on_roll"
    assert refusal(who("2023001", "NOPE")) == "misconfigured"
    assert refusal(who("")) == "no_number"
    assert staff.user_id is None and police.user_id is None


def test_deactivated_and_superuser_accounts_are_refused(cast):
    User.objects.filter(pk=cast.counsellor.pk).update(is_active=False)
    assert refusal(who("T0003")) == "disabled"
    User.objects.filter(pk=cast.school_admin.pk).update(is_superuser=True)
    assert refusal(who("T0001")) == "superuser"


def test_which_kinds_get_an_account_is_a_setting(cast, settings):
    settings.FANZHA_SSO_ACCOUNT_KINDS = ["student"]
    teacher = org_actions.save_person(root=cast.uni, name="新教师", kind="teacher", external_number="T0500")
    assert refusal(who("T0500")) == "no_account"
    settings.FANZHA_SSO_ACCOUNT_KINDS = ["student", "teacher"]
    user = actions.account_for(who("T0500"))
    teacher.refresh_from_db()
    assert teacher.user_id == user.pk and user.username == "UNI:T0500"


def test_an_old_account_holding_the_username_does_not_block_the_new_one(cast):
    User.objects.create(username="UNI:2023101")  # left from a person deleted long ago
    user = actions.account_for(who("2023101"))
    assert user.username == f"UNI:p{cast.math_student.pk}"


def test_the_backend_authenticates_no_password(cast):
    assert SsoBackend().authenticate(None, username="T0003", password=PASSWORD) is None
    assert SsoBackend().get_user(cast.counsellor.pk) == cast.counsellor


def test_refused_sign_ins_never_count_as_password_failures(client, cast, wecom):
    wecom.sign_in("someone-outside")
    for _ in range(8):  # more than the lockout's five
        assert client.get(fake_to_callback(client, "sso_wecom_login")).status_code == 403
    assert not AccessAttempt.objects.exists()
    response = client.post(reverse("login"), {"username": "T0003", "password": PASSWORD})
    assert response.status_code == 302  # nobody was locked out by them


def test_single_sign_on_leaves_the_password_lockout_as_it_is(client, cast, wecom, settings):
    """The lockout guards the password: five wrong ones lock it, with single sign-on configured too, and
    a sign-in through WeCom neither lifts the lock nor clears the count."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "T0003", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "T0003", "password": PASSWORD})
    assert locked.status_code == 429 or "暂时锁定" in locked.content.decode()
    assert signed_in_user_id(client) is None

    wecom.add_member("T0003", "辅导员甲")
    wecom.sign_in("T0003")
    assert client.get(fake_to_callback(client, "sso_wecom_login")).status_code == 302
    assert signed_in_user_id(client) == cast.counsellor.pk
    client.logout()

    assert AccessAttempt.objects.filter(username=f"user:{cast.counsellor.pk}").exists()
    again = client.post(reverse("login"), {"username": "T0003", "password": PASSWORD})
    assert signed_in_user_id(client) is None and "暂时锁定" in again.content.decode()
