"""The results verbs: what they write, the timeline, scope refusals and validation (nothing saved)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fanzha.cases.models import Case, CaseEvent, CaseResult, Gang
from fanzha.cases.results import actions

from .conftest import Police


def _counts() -> tuple[int, int, int]:
    return CaseResult.objects.count(), Gang.objects.count(), CaseEvent.objects.filter(kind="result").count()


def test_results_are_written_with_the_timeline_and_recovered_amount(police: Police) -> None:
    p = police
    cleared = actions.record_cleared(p.a1, p.officer_a, on=date(2025, 3, 20), note="刑拘")
    actions.record_suspects(p.a1, p.officer_a, count="3", on=date(2025, 3, 21))
    actions.record_recovery(p.a1, p.officer_a, amount="500.50", on=date(2025, 3, 22))
    actions.record_recovery(p.a1, p.officer_a, amount="99.50", on=date(2025, 3, 23))
    gang = actions.record_gang(
        p.officer_a,
        unit=p.a,
        name="刷单团伙",
        broken_on=date(2025, 3, 25),
        members_caught=4,
        case_ids=[p.a1.pk, p.a2.pk],
    )
    assert cleared.kind == CaseResult.Kind.CLEARED and cleared.recorded_by == p.officer_a
    assert Case.objects.get(pk=p.a1.pk).recovered_amount == Decimal("600.00")
    assert set(gang.cases.values_list("pk", flat=True)) == {p.a1.pk, p.a2.pk}
    events = CaseEvent.objects.filter(kind=CaseEvent.Kind.RESULT)
    assert events.filter(case=p.a1).count() == 5 and events.filter(case=p.a2).count() == 1
    assert events.filter(case=p.a2).get().detail["gang"] == gang.pk
    assert all(e.actor == p.officer_a for e in events)


def test_out_of_scope_is_refused_and_changes_nothing(police: Police) -> None:
    p = police
    before = _counts()
    with pytest.raises(PermissionDenied):
        actions.record_cleared(p.b1, p.officer_a, on=date(2025, 3, 20))
    with pytest.raises(PermissionDenied):
        actions.record_recovery(p.a1, p.outsider, amount="100", on=date(2025, 3, 20))
    with pytest.raises(PermissionDenied):
        actions.record_gang(
            p.officer_a,
            unit=p.b,
            name="团伙",
            broken_on=date(2025, 3, 25),
            members_caught=1,
            case_ids=[p.b1.pk],
        )
    with pytest.raises(ValidationError) as exc:
        actions.record_gang(
            p.officer_a,
            unit=p.a,
            name="团伙",
            broken_on=date(2025, 3, 25),
            members_caught=1,
            case_ids=[p.a1.pk, p.b1.pk],
        )
    assert "cases" in exc.value.error_dict
    assert _counts() == before
    assert Case.objects.get(pk=p.a1.pk).recovered_amount == 0


def test_bad_input_is_refused_with_field_errors_and_nothing_saved(police: Police) -> None:
    p = police
    actions.record_cleared(p.a1, p.admin, on=date(2025, 3, 20))
    before = _counts()
    tomorrow = timezone.localdate() + timedelta(days=1)
    cases = [
        (lambda: actions.record_cleared(p.a1, p.admin, on=date(2025, 3, 21)), "kind"),
        (lambda: actions.record_cleared(p.a2, p.admin, on=tomorrow), "on"),
        (lambda: actions.record_cleared(p.a2, p.admin, on=date(2025, 3, 1)), "on"),  # before the case
        (lambda: actions.record_suspects(p.a1, p.admin, count=0, on=date(2025, 3, 21)), "count"),
        (lambda: actions.record_suspects(p.a1, p.admin, count="三", on=date(2025, 3, 21)), "count"),
        (lambda: actions.record_recovery(p.a1, p.admin, amount="abc", on=date(2025, 3, 21)), "amount"),
        (lambda: actions.record_recovery(p.a1, p.admin, amount="0", on=date(2025, 3, 21)), "amount"),
        (lambda: actions.record_recovery(p.a1, p.admin, amount="1700.01", on=date(2025, 3, 21)), "amount"),
        (
            lambda: actions.record_gang(
                p.admin, unit=p.a, name=" ", broken_on=date(2025, 3, 25), members_caught=1, case_ids=[p.a1.pk]
            ),
            "name",
        ),
        (
            lambda: actions.record_gang(
                p.admin, unit=p.a, name="团伙", broken_on=date(2025, 3, 25), members_caught=1, case_ids=[]
            ),
            "cases",
        ),
        (
            lambda: actions.record_gang(
                p.admin, unit=p.a, name="团伙", broken_on=None, members_caught=-1, case_ids=[p.a1.pk]
            ),
            "members_caught",
        ),
    ]
    for call, field in cases:
        with pytest.raises(ValidationError) as exc:
            call()
        assert field in exc.value.error_dict, field
    assert _counts() == before
    assert Case.objects.get(pk=p.a1.pk).recovered_amount == 0
    # The whole loss (1700) may be recovered, not a fen more.
    actions.record_recovery(p.a1, p.admin, amount="1700", on=date(2025, 3, 21))
    with pytest.raises(ValidationError, match="累计追回金额不能超过损失金额"):
        actions.record_recovery(p.a1, p.admin, amount="0.01", on=date(2025, 3, 21))
