"""Card fraud among students (涉"两卡", issue 13 item 9): a scoped, audited record of each student who
rents or sells bank or phone cards, the handling and the education given, counted in the statistics;
the student's name is masked in lists and the card details are encrypted, shown only by an audited reveal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.cases.cardfraud import actions, queries
from fanzha.cases.models import CardFraudEvent, CardFraudRecord, CardHandling
from fanzha.core.models import AuditRecord

pytestmark = pytest.mark.django_db
CARD = "6222020200112233445"


def post_new(client, number="2023001", **changes):
    data = {
        "number": number,
        "card_kind": "bank",
        "involvement": "sell",
        "found_on": (timezone.localdate() - timedelta(days=3)).isoformat(),
        "source": "公安通报",
        "details": f"工商银行 {CARD}，卖给网友",
        "handling": "pending",
        "education": "",
        "educated_on": "",
    }
    data.update(changes)
    return client.post(reverse("cardfraud_new"), data)


@pytest.fixture
def record(cast):
    return actions.record(
        unit=cast.cs2301,
        student=cast.student,
        card_kind="both",
        involvement="rent",
        found_on=timezone.localdate(),
        actor=cast.counsellor,
        details=f"卡号 {CARD}",
    )


def test_a_counsellor_records_a_student_and_the_list_masks_name_and_card(client, cast):
    client.force_login(cast.counsellor)
    response = post_new(client)
    assert response.status_code == 302
    row = CardFraudRecord.objects.get()
    assert row.student == cast.student and row.unit == cast.cs2301
    assert CARD not in row.details_enc and row.details.endswith("卖给网友")  # encrypted at rest
    assert list(row.events.values_list("kind", flat=True)) == [CardFraudEvent.Kind.RECORDED]
    page = client.get(reverse("cardfraud_list")).content.decode()
    assert "张*" in page and "张三" not in page and CARD not in page
    detail = client.get(reverse("cardfraud_detail", args=[row.pk])).content.decode()
    assert CARD not in detail and "张三" not in detail


def test_a_student_outside_the_scope_cannot_be_recorded(client, cast):
    client.force_login(cast.counsellor)
    response = post_new(client, number=cast.math_student.external_number)
    assert response.status_code == 400 and not CardFraudRecord.objects.exists()


def test_the_reveal_is_audited_and_needs_a_role_that_handles_the_student(client, cast, record):
    client.force_login(cast.auditor)  # sees the university's records, may not reveal
    assert client.get(reverse("cardfraud_detail", args=[record.pk])).status_code == 200
    assert client.post(reverse("cardfraud_reveal", args=[record.pk])).status_code == 403
    assert not AuditRecord.objects.filter(object_type="card_fraud").exists()
    client.force_login(cast.counsellor)
    page = client.post(reverse("cardfraud_reveal", args=[record.pk])).content.decode()
    assert CARD in page
    audit = AuditRecord.objects.get(object_type="card_fraud")
    assert audit.actor == cast.counsellor and audit.object_id == str(record.pk)
    assert record.events.filter(kind=CardFraudEvent.Kind.REVEALED).count() == 1


@pytest.mark.parametrize("who", ["outsider", "student_user"])
def test_a_role_outside_the_subtree_gets_404(client, cast, record, who):
    client.force_login(getattr(cast, who))
    for name in ("cardfraud_detail", "cardfraud_reveal", "cardfraud_handle"):
        method = client.get if name == "cardfraud_detail" else client.post
        assert method(reverse(name, args=[record.pk])).status_code == 404, name
    assert "张*" not in client.get(reverse("cardfraud_list")).content.decode()
    assert not queries.records_for(getattr(cast, who)).exists()


def test_a_record_of_another_class_is_404_for_the_counsellor(client, cast):
    other = actions.record(
        unit=cast.ma2301,
        student=cast.math_student,
        card_kind="phone",
        involvement="sell",
        found_on=timezone.localdate(),
        actor=cast.school_admin,
    )
    client.force_login(cast.counsellor)
    assert client.get(reverse("cardfraud_detail", args=[other.pk])).status_code == 404


def test_handling_and_education_are_kept_with_history_and_counted(client, cast, record):
    client.force_login(cast.counsellor)
    today = timezone.localdate().isoformat()
    response = client.post(
        reverse("cardfraud_handle", args=[record.pk]),
        {"handling": "warned", "education": "辅导员谈话，参加“两卡”法治教育课", "educated_on": today},
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.handling == CardHandling.WARNED and record.is_handled
    event = record.events.get(kind=CardFraudEvent.Kind.HANDLED)
    assert event.detail["before"]["handling"] == "pending" and event.actor == cast.counsellor
    bad = client.post(
        reverse("cardfraud_handle", args=[record.pk]), {"handling": "educated", "educated_on": today}
    )
    assert bad.status_code == 400  # a date of education without what it was
    figures = queries.tally(queries.records_for(cast.school_admin), cast.uni)
    assert figures["students"] == 1 and figures["bank"] == 1 and figures["phone"] == 1
    assert figures["pending"] == 0 and figures["educated"] == 1
    client.force_login(cast.school_admin)
    stats = client.get(reverse("case_stats")).content.decode()
    assert 'data-stat="cards"' in stats and "涉“两卡”学生（待处理 0 人）" in stats


def test_a_viewer_without_edit_cannot_handle(client, cast, record):
    client.force_login(cast.auditor)  # case view at the university, nothing more
    assert client.get(reverse("cardfraud_detail", args=[record.pk])).status_code == 200
    response = client.post(reverse("cardfraud_handle", args=[record.pk]), {"handling": "warned"})
    assert response.status_code == 403
    record.refresh_from_db()
    assert record.handling == CardHandling.PENDING
