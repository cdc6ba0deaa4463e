"""Who may reveal a card-fraud record's student (issue 13 item 9): the name is masked by default for
everyone, the one who recorded it included; a role that handles the student (CASE_REVEAL, or the
school's or college's administrator within scope) reveals it with an audit row; a viewer gets 403 and
a role outside the subtree 404, with no audit row either way; the value is never logged."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.cases.cardfraud import actions, queries
from fanzha.cases.models import CardFraudEvent
from fanzha.core.models import AuditRecord
from fanzha.org.models import Role
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db
CARD = "6222020200112233445"


@pytest.fixture
def record(cast):
    """张三 of CS2301, recorded by the school's administrator (who typed his number)."""
    return actions.record(
        unit=cast.cs2301,
        student=cast.student,
        card_kind="bank",
        involvement="sell",
        found_on=timezone.localdate(),
        actor=cast.school_admin,
        details=f"卡号 {CARD}",
    )


def security_officer(cast):
    return make_staff(cast.uni, "S900", "保卫处王", Role.SECURITY_OFFICER, cast.uni)


def test_the_name_is_masked_by_default_even_for_who_recorded_it(client, cast, record):
    client.force_login(cast.school_admin)
    for page in (reverse("cardfraud_list"), reverse("cardfraud_detail", args=[record.pk])):
        html = client.get(page).content.decode()
        assert "张*" in html and "张三" not in html and CARD not in html
    assert not AuditRecord.objects.filter(object_type="card_fraud").exists()


@pytest.mark.parametrize("who", ["school_admin", "college_admin", "counsellor", "security_officer"])
def test_a_role_that_handles_the_student_reveals_the_name_audited(client, cast, record, who, caplog):
    user = security_officer(cast) if who == "security_officer" else getattr(cast, who)
    client.force_login(user)
    detail = client.get(reverse("cardfraud_detail", args=[record.pk])).content.decode()
    assert reverse("cardfraud_reveal", args=[record.pk]) in detail  # the button is offered
    with caplog.at_level(logging.DEBUG):
        response = client.post(reverse("cardfraud_reveal", args=[record.pk]))
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert 'data-testid="revealed-name">张三<' in html and cast.student.external_number in html
    assert CARD in html
    audit = AuditRecord.objects.get(object_type="card_fraud")
    assert audit.actor == user and audit.object_id == str(record.pk)
    assert audit.action == AuditRecord.Action.REVEAL and "student" in audit.detail
    assert "张三" not in audit.detail and CARD not in audit.detail
    assert record.events.filter(kind=CardFraudEvent.Kind.REVEALED, actor=user).count() == 1
    assert "张三" not in caplog.text and CARD not in caplog.text
    # the next page is masked again
    assert "张三" not in client.get(reverse("cardfraud_detail", args=[record.pk])).content.decode()


def test_a_viewer_without_the_role_gets_403_and_no_button(client, cast, record):
    client.force_login(cast.auditor)
    detail = client.get(reverse("cardfraud_detail", args=[record.pk])).content.decode()
    assert reverse("cardfraud_reveal", args=[record.pk]) not in detail
    response = client.post(reverse("cardfraud_reveal", args=[record.pk]))
    assert response.status_code == 403 and "张三" not in response.content.decode()
    assert not AuditRecord.objects.filter(object_type="card_fraud").exists()
    assert not queries.can_reveal(cast.auditor, record)


def test_a_college_admin_of_another_college_gets_404(client, cast):
    other = actions.record(
        unit=cast.ma2301,
        student=cast.math_student,
        card_kind="phone",
        involvement="rent",
        found_on=timezone.localdate(),
        actor=cast.school_admin,
    )
    client.force_login(cast.college_admin)  # 计算机学院: 数学学院 is outside
    assert client.post(reverse("cardfraud_reveal", args=[other.pk])).status_code == 404
    assert not queries.can_reveal(cast.college_admin, other)
    client.force_login(cast.outsider)
    assert client.post(reverse("cardfraud_reveal", args=[other.pk])).status_code == 404
    assert not AuditRecord.objects.filter(object_type="card_fraud").exists()
