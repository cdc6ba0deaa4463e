"""Deactivating ends every sign-in; an administrator's reset and a temporary password force a new one."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from fanzha.api.tokens import actions as tokens
from fanzha.core.models import AuditRecord
from fanzha.org.accounts import actions
from fanzha.org.models import Role, RoleGrant, User
from tests.conftest import PASSWORD

from .conftest import last_link, mail_texts, sms_texts

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Counsellor-new-2026!"


def signed_in(login: str, password: str = PASSWORD) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": login, "password": password})
    assert response.status_code == 302, response.status_code
    return client


def is_signed_in(client: Client) -> bool:
    """Signed in: the home page, or (a teacher with no role yet) their own tasks; not the sign-in page."""
    response = client.get(reverse("home"))
    return response.status_code == 200 or response.get("Location") == reverse("member_home")


def api_status(key: str) -> int:
    return Client().get("/api/v1/units/", HTTP_AUTHORIZATION=f"Token {key}").status_code


def test_deactivating_ends_sessions_and_api_tokens_and_keeps_grants(client, cast):
    counsellor = cast.counsellor
    session = signed_in("T0003")
    key = tokens.issue_token(counsellor, "sync").key
    assert is_signed_in(session) and api_status(key) == 200
    client.force_login(cast.school_admin)
    response = client.post(reverse("account_deactivate", args=[counsellor.pk]))
    assert response.status_code == 302
    assert not is_signed_in(session)
    assert api_status(key) == 401
    refused = Client().post(reverse("login"), {"username": "T0003", "password": PASSWORD})
    assert refused.status_code == 200  # the form again: no sign-in
    assert RoleGrant.objects.filter(user=counsellor, role=Role.COUNSELLOR).exists()
    audit = AuditRecord.objects.get(action=AuditRecord.Action.DEACTIVATE)
    assert audit.actor == cast.school_admin and audit.object_id == str(counsellor.pk)

    client.force_login(cast.school_admin)
    client.post(reverse("account_reactivate", args=[counsellor.pk]))
    assert not is_signed_in(session)  # the old session does not come back
    assert api_status(key) == 401  # nor the token
    again = signed_in("T0003")
    assert is_signed_in(again)
    assert AuditRecord.objects.filter(action=AuditRecord.Action.REACTIVATE).count() == 1


def test_nobody_deactivates_themselves(cast):
    with pytest.raises(ValidationError):
        actions.deactivate(cast.school_admin, cast.school_admin)
    assert User.objects.get(pk=cast.school_admin.pk).is_active


def test_an_admin_reset_ends_the_old_password_and_sends_a_link(client, cast, teacher):
    user = actions.open_account(cast.school_admin, teacher, email="lin@example.edu.cn").user
    user.set_password(PASSWORD)
    user.save()
    session = signed_in("T0100")
    key = tokens.issue_token(user).key
    client.force_login(cast.school_admin)
    response = client.post(reverse("account_reset", args=[user.pk]), follow=True)
    assert "重置链接" in response.content.decode() and "已发送" in response.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password() and user.must_change_password
    assert not is_signed_in(session) and api_status(key) == 401
    assert Client().post(reverse("login"), {"username": "T0100", "password": PASSWORD}).status_code == 200
    assert "忘记密码" in sms_texts()[-1] and "?t=" not in sms_texts()[-1]  # an SMS template holds no link
    link = last_link(mail_texts(user.email)[-1])
    assert link.startswith("/account/reset/?t=")
    person_client = Client()
    first = person_client.get(link)
    person_client.post(first["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD) and not user.must_change_password
    assert is_signed_in(person_client)
    assert AuditRecord.objects.filter(
        action=AuditRecord.Action.PASSWORD_RESET, object_id=str(user.pk)
    ).exists()


def test_a_temporary_password_must_be_changed_before_anything_else(client, cast):
    client.force_login(cast.school_admin)
    response = client.post(reverse("account_temporary", args=[cast.counsellor.pk]))
    password = response.context["password"]
    assert Client().post(reverse("login"), {"username": "T0003", "password": PASSWORD}).status_code == 200
    person = signed_in("T0003", password)
    for url in (reverse("home"), reverse("unit_list"), reverse("person_detail", args=[cast.student.pk])):
        answer = person.get(url)
        assert answer.status_code == 302 and answer["Location"] == reverse("account_password_change"), url
    assert person.get("/api/v1/units/").status_code == 403
    page = person.get(reverse("account_password_change"))
    assert page.status_code == 200 and 'data-testid="forced"' in page.content.decode()
    refused = person.post(
        reverse("account_password_change"),
        {"old_password": password, "new_password1": "short", "new_password2": "short"},
    )
    assert refused.status_code == 200 and refused.context["form"].errors
    done = person.post(
        reverse("account_password_change"),
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert is_signed_in(person)  # the session that changed it stays
    user = User.objects.get(pk=cast.counsellor.pk)
    assert not user.must_change_password and user.check_password(NEW_PASSWORD)
    assert person.session[SESSION_KEY] == str(user.pk)
    actions_done = AuditRecord.objects.filter(object_id=str(user.pk)).values_list("action", flat=True)
    assert set(actions_done) == {AuditRecord.Action.TEMP_PASSWORD, AuditRecord.Action.PASSWORD_SET}


def test_sessions_from_before_the_generation_field_stay_valid(cast):
    """Generation 0 hashes as Django always did: upgrading signs nobody out."""
    from django.contrib.auth.base_user import AbstractBaseUser

    user = User.objects.get(pk=cast.auditor.pk)
    assert user.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(user)
    User.objects.filter(pk=user.pk).update(session_generation=1)
    user.refresh_from_db()
    assert user.get_session_auth_hash() != AbstractBaseUser.get_session_auth_hash(user)


def test_ones_own_person_page_offers_no_deactivate_or_reset(client, cast):
    from fanzha.org import actions as org_actions

    org_actions.add_membership(cast.school_admin.person, cast.uni)
    client.force_login(cast.school_admin)
    page = client.get(reverse("person_detail", args=[cast.school_admin.person.pk])).content.decode()
    assert 'id="account"' in page and "停用账号" not in page and "发放临时密码" not in page
