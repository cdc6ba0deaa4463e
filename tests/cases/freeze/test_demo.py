"""The demo's freeze requests: sent after the recent acknowledged alerts, routed to the demo bank's
units (and numbers to the police bureau's technical department, 网安 in the demo), mostly answered in
minutes, some late, the last ones overdue; every case timeline still runs forward."""

from __future__ import annotations

import pytest
from django.db.models import F as Col

from fanzha.cases import demo as cases_demo
from fanzha.cases.models import Case, CaseEvent, FreezeRequest
from fanzha.notify.models import Outbox
from fanzha.org import demo as org_demo
from fanzha.org.models import UnitKind

pytestmark = pytest.mark.django_db


def test_the_demo_freeze_requests() -> None:
    org_demo.build_world("small", 0.02, log=lambda _m: None)
    lines: list[str] = []
    cases_demo.build_cases(lines.append)
    assert "freeze requests" in lines[-1]
    reqs = FreezeRequest.objects.select_related("unit")
    assert reqs.count() >= 10
    kinds = {r.unit.kind for r in reqs}
    assert UnitKind.BANK_BRANCH in kinds and UnitKind.BANK_HEAD in kinds
    assert reqs.filter(kind=FreezeRequest.Kind.NUMBER_BLOCK, unit__name="网安大队").exists()
    answered = reqs.filter(status=FreezeRequest.Status.ANSWERED)
    assert answered.filter(answered_at__gt=Col("deadline")).exists()  # some late
    assert (
        answered.filter(answered_at__lte=Col("deadline")).count()
        > answered.filter(answered_at__gt=Col("deadline")).count()
    )
    assert answered.filter(result=FreezeRequest.Result.FROZEN, frozen_amount__gt=0).exists()
    assert not Outbox.objects.filter(
        idempotency_key__startswith="freeze:", status=Outbox.Status.PENDING
    ).exists()
    for case in Case.objects.filter(freeze_requests__isnull=False).distinct():
        # the follow-up's sessions and the accountability steps are recorded after the year, at their dates
        later = [CaseEvent.Kind.FOLLOWUP, CaseEvent.Kind.ACCOUNTABILITY]
        times = list(case.events.exclude(kind__in=later).order_by("id").values_list("at", flat=True))
        assert times == sorted(times), case.number
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.FREEZE_ANSWERED).exists()
