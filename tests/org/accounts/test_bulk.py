"""Accounts for all the staff of a subtree at once: the preview, then the opening (in the request for
a few, a background task with progress for many)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fanzha.org import actions as org_actions
from fanzha.org.accounts import tasks, views
from fanzha.org.models import AccountBatch, AccountToken, Person, User

from .conftest import SmsCapture

pytestmark = pytest.mark.django_db

IMMEDIATE = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "slow"]}
}


@pytest.fixture
def staff(cast, teacher):
    """Under CS: the teacher (phone), a police officer (phone), a staff member without phone, and one
    who already has an account (the college admin's person is not placed; this one is)."""
    officer = org_actions.enrol_person(unit=cast.cs2301, name="王警官", kind="police", phone="13700137002")
    no_phone = org_actions.enrol_person(unit=cast.cs, name="赵职工", kind="staff", external_number="S0001")
    has_one = org_actions.enrol_person(unit=cast.cs, name="钱老师", kind="teacher", phone="13700137003")
    org_actions.create_account(has_one, "Some-pass-2026!")
    return {"teacher": teacher, "officer": officer, "no_phone": no_phone, "has_one": has_one}


def test_the_preview_says_who_gets_one_who_has_one_who_cannot_be_invited(client, cast, staff):
    client.force_login(cast.college_admin)
    response = client.get(reverse("account_bulk", args=[cast.cs.pk]))
    preview = response.context["preview"]
    assert {p.name for p in preview.invite} == {"林老师", "王警官"}
    assert {p.name for p in preview.existing} == {"钱老师"}
    assert {p.name for p in preview.unreachable} == {"赵职工"}
    body = response.content.decode()
    assert "张三" not in body and "李四" not in body  # students never
    assert not User.objects.filter(
        person__in=[staff["teacher"], staff["officer"]]
    ).exists()  # GET writes nothing


def test_opening_creates_and_invites_them(client, cast, staff):
    client.force_login(cast.college_admin)
    response = client.post(reverse("account_bulk", args=[cast.cs.pk]))
    batch = AccountBatch.objects.get()
    assert response["Location"] == reverse("account_batch", args=[batch.pk])
    assert batch.status == "done" and batch.summary == {
        "created": 2,
        "existing": 0,
        "unreachable": 0,
        "refused": 0,
    }
    for key in ("teacher", "officer"):
        person = Person.objects.get(pk=staff[key].pk)
        assert person.user is not None and not person.user.has_usable_password()
        assert AccountToken.objects.filter(user=person.user, purpose="invite").count() == 1
    assert Person.objects.get(pk=staff["no_phone"].pk).user_id is None
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="created">2<' in page


def test_many_go_to_a_background_task_with_progress(
    client, cast, staff, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    monkeypatch.setattr(views, "INLINE_BATCH", 1)
    client.force_login(cast.school_admin)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("account_bulk", args=[cast.uni.pk]))
    batch = AccountBatch.objects.get()
    assert batch.total == 2 and batch.status == "queued"  # nothing done in the request
    assert response.status_code == 302 and "refresh" in client.get(response["Location"]).content.decode()
    for callback in callbacks:  # the commit: the task is enqueued (and, here, run at once)
        callback()
    batch.refresh_from_db()
    assert batch.status == "done" and (batch.done, batch.total, batch.summary["created"]) == (2, 2, 2)
    assert tasks.run_batch.call(str(batch.pk)) == "done"  # a second run opens nothing twice
    assert User.objects.filter(person__in=[staff["teacher"], staff["officer"]]).count() == 2
    assert AccountToken.objects.filter(purpose="invite").count() == 2
    assert SmsCapture.sent == []  # the invitations wait in the outbox for the worker
