"""Every account page against the cast: out of sight answers 404 (exactly like missing), visible but
not allowed 403, and a refused request changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from fanzha.api.models import ApiToken
from fanzha.core.models import AuditRecord
from fanzha.org import actions as org_actions
from fanzha.org.accounts import actions
from fanzha.org.models import AccountBatch, AccountToken, Person, Role, RoleGrant, User
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@dataclass
class World:
    cast: Cast
    teacher: Person  # has an account, opened by the school admin
    fresh: Person  # no account yet
    grant: RoleGrant  # the teacher's counsellor grant at CS2301
    batch: AccountBatch


@pytest.fixture
def world(cast, teacher) -> World:
    actions.open_account(cast.school_admin, teacher, site="https://x")
    teacher.refresh_from_db()
    assert teacher.user is not None
    grant = actions.grant(cast.school_admin, teacher.user, cast.cs2301, Role.COUNSELLOR)
    fresh = org_actions.enrol_person(unit=cast.cs, name="新老师", kind="teacher", phone="13700137001")
    batch = actions.start_batch(cast.school_admin, cast.cs)
    return World(cast, teacher, fresh, grant, batch)


def snapshot() -> tuple[Any, ...]:
    return (
        list(User.objects.order_by("pk").values_list("pk", "is_active", "password", "must_change_password")),
        list(RoleGrant.objects.order_by("pk").values_list("pk", "role", "unit_id")),
        AccountToken.objects.count(),
        AuditRecord.objects.count(),
        list(ApiToken.objects.values_list("pk", "revoked_at")),
        AccountBatch.objects.filter(status="queued").count(),
    )


@dataclass
class Page:
    url: Callable[[World], str]
    method: str = "post"
    data: Callable[[World], dict[str, Any]] = lambda w: {}


def account(view: str) -> Callable[[World], str]:
    return lambda w: reverse(view, args=[w.teacher.user_id])


PAGES = {
    "open": Page(lambda w: reverse("account_open", args=[w.fresh.pk]), data=lambda w: {"email": "a@b.cn"}),
    "invite": Page(account("account_invite")),
    "deactivate": Page(account("account_deactivate")),
    "reactivate": Page(account("account_reactivate")),
    "reset": Page(account("account_reset")),
    "temporary": Page(account("account_temporary")),
    "bulk preview": Page(lambda w: reverse("account_bulk", args=[w.cast.cs.pk]), "get"),
    "bulk start": Page(lambda w: reverse("account_bulk", args=[w.cast.cs.pk])),
    "grant": Page(
        lambda w: reverse("account_grant", args=[w.cast.cs.pk]),
        data=lambda w: {"login": "T0100", "role": Role.AUDITOR},
    ),
    "revoke ask": Page(lambda w: reverse("account_revoke", args=[w.grant.pk]), "get"),
    "revoke": Page(lambda w: reverse("account_revoke", args=[w.grant.pk])),
    "batch": Page(lambda w: reverse("account_batch", args=[w.batch.pk]), "get"),
}


# Expected status per page for: outsider (another school's admin), auditor (reads the whole
# university), counsellor (of CS2301 only, where the teacher's grant sits), student, parent.
EXPECTED = {
    "open": "404 403 404 404 404",
    "invite": "404 403 403 404 404",
    "deactivate": "404 403 403 404 404",
    "reactivate": "404 403 403 404 404",
    "reset": "404 403 403 404 404",
    "temporary": "404 403 403 404 404",
    "bulk preview": "404 403 404 404 404",
    "bulk start": "404 403 404 404 404",
    "grant": "404 403 404 404 404",
    "revoke ask": "404 403 403 404 404",
    "revoke": "404 403 403 404 404",
    "batch": "404 404 404 404 404",  # a batch is its starter's only
}
WHO = ["outsider", "auditor", "counsellor", "student_user", "parent_user"]


@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize("who", WHO)
def test_out_of_scope_is_404_read_only_is_403_and_nothing_changes(client, world, name, who):
    page = PAGES[name]
    expected = int(EXPECTED[name].split()[WHO.index(who)])
    client.force_login(getattr(world.cast, who))
    before = snapshot()
    response = getattr(client, page.method)(page.url(world), page.data(world))
    assert response.status_code == expected, (name, who, response.status_code)
    assert snapshot() == before


def test_the_list_and_export_are_for_granting_admins_only(client, world):
    for who in ("auditor", "counsellor", "student_user"):
        client.force_login(getattr(world.cast, who))
        assert client.get(reverse("account_list")).status_code == 403
        assert client.get(reverse("account_export")).status_code == 403
    client.force_login(world.cast.outsider)
    body = client.get(reverse("account_list")).content.decode()
    assert "林老师" not in body and "外校管理员" in body


def test_a_college_admin_sees_but_may_not_manage_the_school_admin(client, cast, school_head):
    client.force_login(cast.college_admin)
    before = snapshot()
    for view in ("account_deactivate", "account_reset", "account_temporary"):
        assert client.post(reverse(view, args=[school_head.pk])).status_code == 403
    assert snapshot() == before
    page = client.get(reverse("person_detail", args=[school_head.person.pk])).content.decode()
    assert "停用账号" not in page


def test_a_college_admin_cannot_reach_another_college(client, cast, ma_teacher):
    client.force_login(cast.college_admin)
    assert client.post(reverse("account_open", args=[ma_teacher.pk]), {"temporary": "on"}).status_code == 404
    assert client.get(reverse("account_bulk", args=[cast.ma.pk])).status_code == 404
    assert not User.objects.filter(person=ma_teacher).exists()


def test_the_verbs_refuse_too(cast, world):
    """A command or task calling the verbs directly meets the same rule."""
    from django.core.exceptions import PermissionDenied

    user = world.teacher.user
    for verb in (actions.deactivate, actions.issue_temporary_password):
        with pytest.raises(PermissionDenied):
            verb(cast.outsider, user)
    with pytest.raises(PermissionDenied):
        actions.grant(cast.auditor, user, cast.cs, Role.AUDITOR)
    assert User.objects.get(pk=user.pk).is_active
