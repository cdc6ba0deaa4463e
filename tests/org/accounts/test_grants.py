"""Granting and revoking roles on the unit page: audited, within the rule, and never one's own last
administrator grant."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from fanzha.core.models import AuditRecord
from fanzha.org.accounts import actions, queries
from fanzha.org.models import Role, RoleGrant

pytestmark = pytest.mark.django_db


@pytest.fixture
def teacher_user(cast, teacher):
    return actions.open_account(cast.school_admin, teacher, temporary=True).user


def test_a_grant_on_the_unit_page_is_audited_and_takes_effect(client, cast, teacher_user):
    client.force_login(cast.college_admin)
    page = client.get(reverse("unit_detail", args=[cast.cs2301.pk])).content.decode()
    assert 'id="grants"' in page and "辅导员甲" in page  # the counsellor's grant there
    response = client.post(
        reverse("account_grant", args=[cast.cs2301.pk]),
        {"login": "T0100", "role": Role.COUNSELLOR},
        follow=True,
    )
    assert "已授予 林老师" in response.content.decode()
    grant = RoleGrant.objects.get(user=teacher_user, unit=cast.cs2301, role=Role.COUNSELLOR)
    assert grant.granted_by == cast.college_admin
    audit = AuditRecord.objects.get(action=AuditRecord.Action.GRANT)
    assert (audit.actor, audit.object_id, audit.detail) == (
        cast.college_admin,
        str(teacher_user.pk),
        f"counsellor@{cast.cs2301.pk}",
    )


def test_revoking_asks_first_then_is_audited(client, cast, teacher_user):
    grant = actions.grant(cast.college_admin, teacher_user, cast.cs2301, Role.COUNSELLOR)
    client.force_login(cast.college_admin)
    ask = client.get(reverse("account_revoke", args=[grant.pk]))
    assert ask.status_code == 200 and "确认撤销" in ask.content.decode()
    assert RoleGrant.objects.filter(pk=grant.pk).exists()  # a GET changes nothing
    client.post(reverse("account_revoke", args=[grant.pk]))
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    audit = AuditRecord.objects.get(action=AuditRecord.Action.REVOKE)
    assert audit.actor == cast.college_admin and audit.detail == f"counsellor@{cast.cs2301.pk}"


def test_nobody_grants_more_than_they_hold(client, cast, teacher_user):
    roles = dict(queries.grantable_roles(cast.college_admin, cast.cs))
    assert Role.SCHOOL_ADMIN not in roles and Role.BUREAU_ADMIN not in roles  # accountability: not theirs
    assert Role.COLLEGE_ADMIN in roles and Role.AUDITOR in roles
    assert Role.COUNSELLOR in roles and Role.PSYCHOLOGIST in roles  # duties they appoint others to
    client.force_login(cast.college_admin)
    response = client.post(
        reverse("account_grant", args=[cast.cs.pk]),
        {"login": "T0100", "role": Role.SCHOOL_ADMIN},
        follow=True,
    )
    assert response.status_code == 200
    assert not RoleGrant.objects.filter(user=teacher_user).exists()
    assert not AuditRecord.objects.filter(action=AuditRecord.Action.GRANT).exists()
    with pytest.raises(PermissionDenied):
        actions.grant(cast.college_admin, teacher_user, cast.cs, Role.SCHOOL_ADMIN)


def test_nobody_grants_to_themselves(cast):
    with pytest.raises(ValidationError):
        actions.grant(cast.college_admin, cast.college_admin, cast.cs2301, Role.COUNSELLOR)
    assert not RoleGrant.objects.filter(user=cast.college_admin, unit=cast.cs2301).exists()


def test_an_account_out_of_scope_cannot_be_granted_to(client, cast):
    client.force_login(cast.college_admin)
    client.post(reverse("account_grant", args=[cast.cs.pk]), {"login": "A0001", "role": Role.AUDITOR})
    assert not RoleGrant.objects.filter(user=cast.auditor, unit=cast.cs).exists()


def test_ones_own_last_admin_grant_is_not_revoked(client, cast):
    own = RoleGrant.objects.get(user=cast.college_admin)
    client.force_login(cast.school_admin)
    # The school admin could revoke it …
    assert client.get(reverse("account_revoke", args=[own.pk])).status_code == 200
    # … but the college admin themselves is warned and refused.
    client.force_login(cast.college_admin)
    ask = client.get(reverse("account_revoke", args=[own.pk]))
    assert 'data-testid="last-admin"' in ask.content.decode() and "确认撤销" not in ask.content.decode()
    client.post(reverse("account_revoke", args=[own.pk]))
    assert RoleGrant.objects.filter(pk=own.pk).exists()
    assert not AuditRecord.objects.filter(action=AuditRecord.Action.REVOKE).exists()


def test_an_admin_may_revoke_a_second_admin_grant_of_their_own(cast):
    second = actions.grant(cast.school_admin, cast.college_admin, cast.ma, Role.COLLEGE_ADMIN)
    actions.revoke(cast.college_admin, RoleGrant.objects.get(user=cast.college_admin, unit=cast.cs))
    assert list(RoleGrant.objects.filter(user=cast.college_admin)) == [second]
