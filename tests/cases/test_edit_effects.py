"""What an edit of a case sets going: the alert when a recent transfer is learnt only now, and the
accountability proposals when the loss changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.intake import TransferIn
from fanzha.cases.models import AccountabilityAction, Alert, CaseState, TransferMethod
from tests.cases.conftest import District

pytestmark = pytest.mark.django_db


def test_an_edit_that_adds_a_transfer_inside_the_window_raises_the_alert(cast, make_intake):
    now = timezone.now()
    old = [TransferIn(now - timedelta(days=3), "800", TransferMethod.ALIPAY, "", "pay@example.com")]
    case = actions.report_case(
        make_intake(cast.cs2301, cast.student, now=now, occurred_at=now - timedelta(days=4), transfers=old),
        cast.counsellor,
    )
    assert case.state == CaseState.REPORTED and not Alert.objects.filter(case=case).exists()
    data = make_intake(cast.cs2301, cast.student, now=now, occurred_at=now - timedelta(days=4))
    data.transfers = [
        *old,
        TransferIn(now - timedelta(hours=1), "300", TransferMethod.WECHAT_PAY, "", "wx-1"),
    ]
    case = actions.edit_case(case, data, cast.counsellor)
    case.refresh_from_db()
    assert case.state == CaseState.ALERTED
    assert Alert.objects.filter(case=case).count() == 1


def test_an_edit_of_the_loss_refreshes_the_accountability_proposals(district: District, make_intake):
    now = timezone.now()
    small = make_intake(district.klass, now=now, total_loss="1000")
    case = actions.report_case(small, district.counsellor)
    assert set(AccountabilityAction.objects.filter(case=case).values_list("action", flat=True)) == {"notice"}
    big = make_intake(district.klass, now=now, total_loss="60000")
    actions.edit_case(case, big, district.counsellor)
    assert set(AccountabilityAction.objects.filter(case=case).values_list("action", flat=True)) == {
        "notice",
        "interview",
    }
