"""The freeze-request verbs: sending routes each payee account to its bank's unit and each number to the
police bureau's technical department (the tree has no telecom units); the answer's rules; the overdue
job; the per-case times; the audited reveal."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fanzha.cases import tasks
from fanzha.cases.freeze import actions, queries
from fanzha.cases.models import CaseEvent, FreezeRequest
from fanzha.core.models import AuditRecord
from fanzha.notify.models import Outbox
from fanzha.org import actions as org
from tests.cases.conftest import GOOD_CARD

from .conftest import OTHER_CARD, PHONE, World

pytestmark = pytest.mark.django_db
F = FreezeRequest


def send_card(w: World, **kw: object) -> FreezeRequest:
    return actions.send_request(
        w.case, w.cast.police_liaison, key=w.key(GOOD_CARD), kind=F.Kind.FREEZE, now=w.now, **kw
    )  # type: ignore[arg-type]


# Send ----------------------------------------------------------------------------------------------


def test_targets_are_the_payee_accounts_and_the_numbers(world: World) -> None:
    found = queries.targets(world.case)
    assert [(t.value, t.is_number) for t in found] == [(GOOD_CARD, False), (OTHER_CARD, False), (PHONE, True)]
    assert found[0].masked == "****" + GOOD_CARD[-4:]


def test_an_account_goes_to_the_branch_its_bank_text_names(world: World) -> None:
    req = send_card(world)
    assert req.unit == world.cast.branch and req.routed
    assert req.status == F.Status.PENDING
    assert req.deadline == world.now + timedelta(minutes=30)
    assert req.target_masked == "****" + GOOD_CARD[-4:] and GOOD_CARD not in req.target_enc
    event = CaseEvent.objects.get(case=world.case, kind=CaseEvent.Kind.FREEZE_SENT)
    assert event.detail["request"] == req.pk and GOOD_CARD not in str(event.detail)
    # The branch's manager hears of it first (the bank admin above only when overdue; the outlet's
    # manager below never).
    told = set(
        Outbox.objects.filter(idempotency_key__startswith=f"freeze:{req.pk}:sent").values_list(
            "user", flat=True
        )
    )
    assert told == {world.cast.branch_manager.pk}
    for body in Outbox.objects.filter(idempotency_key__startswith="freeze:").values_list("body", flat=True):
        assert GOOD_CARD not in body


def test_the_head_office_when_no_branch_is_named(world: World) -> None:
    assert queries.route_account("青山农商银行股份有限公司") == world.cast.bank
    assert queries.route_account("东门分理处 青山农商银行") == world.cast.outlet
    assert queries.route_account("远方银行") is None


def test_an_unrouted_account_needs_a_unit_chosen_by_hand(world: World) -> None:
    key = world.key(OTHER_CARD)
    with pytest.raises(ValidationError) as exc:
        actions.send_request(world.case, world.cast.police_liaison, key=key, kind=F.Kind.STOP_PAYMENT)
    assert "unit" in exc.value.error_dict
    req = actions.send_request(
        world.case, world.cast.police_liaison, key=key, kind=F.Kind.STOP_PAYMENT, unit=world.cast.branch2
    )
    assert req.unit == world.cast.branch2 and not req.routed


def test_a_number_goes_to_the_technical_department_else_the_bureau(world: World) -> None:
    liaison = world.cast.police_liaison
    assert queries.route_number(liaison) == world.cast.police  # no 技侦 in the tree yet
    jz = org.create_unit(parent=world.cast.police, name="技侦大队", code="JZ", kind="police_department")
    req = actions.send_request(world.case, liaison, key=world.key(PHONE), kind=F.Kind.NUMBER_BLOCK)
    assert req.unit == jz and req.target_masked != PHONE


def test_send_refusals(world: World) -> None:
    c = world.cast
    with pytest.raises(PermissionDenied):
        actions.send_request(world.case, c.counsellor, key=world.key(GOOD_CARD), kind=F.Kind.FREEZE)
    with pytest.raises(ValidationError) as exc:
        actions.send_request(world.case, c.police_liaison, key=world.key(PHONE), kind=F.Kind.FREEZE)
    assert "kind" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:
        actions.send_request(world.case, c.police_liaison, key=world.key(GOOD_CARD), kind=F.Kind.NUMBER_BLOCK)
    assert "kind" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:
        actions.send_request(world.case, c.police_liaison, key="nope", kind=F.Kind.FREEZE)
    assert "key" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:  # a school is not a bank
        actions.send_request(
            world.case, c.police_liaison, key=world.key(GOOD_CARD), kind=F.Kind.FREEZE, unit=c.uni
        )
    assert "unit" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:
        send_card(world, minutes=0)
    assert "minutes" in exc.value.error_dict
    assert not F.objects.exists()


def test_sending_again_returns_the_first_request(world: World) -> None:
    first = send_card(world)
    assert send_card(world) == first and F.objects.count() == 1


def test_send_all_sends_what_routing_places(world: World) -> None:
    sent, left = actions.send_all(world.case, world.cast.police_liaison, account_kind=F.Kind.FREEZE)
    assert (sent, left) == (2, 1)  # the branch's card and the number; the unknown bank's card waits
    assert actions.send_all(world.case, world.cast.police_liaison, account_kind=F.Kind.FREEZE) == (0, 1)


# Answer --------------------------------------------------------------------------------------------


def answer(w: World, req: FreezeRequest, **kw: object) -> FreezeRequest:
    kw.setdefault("now", w.now + timedelta(minutes=12))
    return actions.answer_request(req, w.cast.branch_manager, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"result": "frozen"}, "frozen_amount"),
        ({"result": "frozen", "frozen_amount": "abc"}, "frozen_amount"),
        ({"result": "empty", "frozen_amount": "100"}, "frozen_amount"),
        ({"result": "refused"}, "reason"),
        ({"result": "blocked"}, "result"),
        ({"result": ""}, "result"),
        ({"result": "not_found", "frozen_at_offset": 5}, "frozen_at"),
        ({"result": "frozen", "frozen_amount": "800", "frozen_at_offset": -5}, "frozen_at"),
        ({"result": "frozen", "frozen_amount": "800", "frozen_at_offset": 60}, "frozen_at"),
    ],
)
def test_answer_validation(world: World, fields: dict[str, object], field: str) -> None:
    req = send_card(world)
    offset = fields.pop("frozen_at_offset", None)
    if offset is not None:
        fields["frozen_at"] = world.now + timedelta(minutes=int(offset))  # type: ignore[call-overload]
    with pytest.raises(ValidationError) as exc:
        answer(world, req, **fields)
    assert field in exc.value.error_dict
    assert F.objects.get(pk=req.pk).status == F.Status.PENDING


def test_only_the_receiving_contacts_answer_once(world: World) -> None:
    req = send_card(world)
    for outsider in (world.cast.outlet_manager, world.other_bank_manager, world.cast.police_liaison):
        with pytest.raises(PermissionDenied):
            actions.answer_request(req, outsider, result="empty")
    done = answer(
        world, req, result="frozen", frozen_amount="800", frozen_at=world.now + timedelta(minutes=9)
    )
    assert done.answered_by == world.cast.branch_manager and done.frozen_amount == Decimal("800.00")
    with pytest.raises(ValidationError):
        answer(world, req, result="empty")
    # The police who sent it hear of the answer.
    assert Outbox.objects.filter(
        idempotency_key=f"freeze:{req.pk}:answered:{world.cast.police_liaison.pk}"
    ).exists()


def test_a_refusal_keeps_its_reason(world: World) -> None:
    done = answer(world, send_card(world), result="refused", reason="缺少法律文书")
    assert done.result == F.Result.REFUSED and done.reason == "缺少法律文书" and done.frozen_at is None


# Times ---------------------------------------------------------------------------------------------


def test_times_per_case(world: World) -> None:
    req = send_card(world)
    answer(world, req, result="frozen", frozen_amount="800", frozen_at=world.now + timedelta(minutes=9))
    phone = actions.send_request(
        world.case, world.cast.police_liaison, key=world.key(PHONE), kind=F.Kind.NUMBER_BLOCK, now=world.now
    )
    actions.answer_request(
        phone, world.cast.police_liaison, result="blocked", now=world.now + timedelta(minutes=40)
    )  # the bureau's liaison answers for the bureau (no 技侦 unit), after the 30-minute deadline
    f = queries.figures(queries.case_requests(world.case), now=world.now + timedelta(hours=1))
    assert (f["count"], f["answered"], f["pending"], f["overdue"], f["frozen"]) == (2, 2, 0, 1, 2)
    assert f["answer_median"] == pytest.approx(26) and f["answer_max"] == pytest.approx(40)
    assert f["frozen_median"] == pytest.approx(24.5) and f["frozen_max"] == pytest.approx(40)
    assert f["frozen_amount"] == Decimal("800.00")


# Overdue -------------------------------------------------------------------------------------------


def test_overdue_requests_are_marked_and_escalated_once(world: World) -> None:
    req = send_card(world)
    assert actions.escalate_overdue(world.now + timedelta(minutes=29)) == 0
    later = world.now + timedelta(minutes=31)
    assert tasks.escalate_freeze_requests.call(later.isoformat()) == 1
    req.refresh_from_db()
    assert req.overdue_at == later and req.status == F.Status.PENDING
    told = set(
        Outbox.objects.filter(idempotency_key__startswith=f"freeze:{req.pk}:overdue").values_list(
            "user", flat=True
        )
    )
    # Above the branch: the bank's admin; and the police who sent it.
    assert told == {world.bank_admin.pk, world.cast.police_liaison.pk}
    assert CaseEvent.objects.filter(case=world.case, kind=CaseEvent.Kind.FREEZE_OVERDUE).count() == 1
    assert actions.escalate_overdue(later + timedelta(minutes=5)) == 0
    assert "escalate_freeze_requests" in {job.name for job in tasks.JOBS}


def test_an_answered_request_is_never_overdue(world: World) -> None:
    answer(world, send_card(world), result="empty")
    assert actions.escalate_overdue(world.now + timedelta(hours=2)) == 0


# Reveal --------------------------------------------------------------------------------------------


def test_reveal_is_audited_and_never_logged(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    req = send_card(world)
    assert actions.reveal_target(req, world.cast.branch_manager) == GOOD_CARD
    assert actions.reveal_target(req, world.cast.police_liaison) == GOOD_CARD
    records = AuditRecord.objects.filter(object_type="freeze_request", object_id=str(req.pk))
    assert {r.actor_id for r in records} == {world.cast.branch_manager.pk, world.cast.police_liaison.pk}
    assert all(GOOD_CARD not in r.detail for r in records)
    assert CaseEvent.objects.filter(case=world.case, kind=CaseEvent.Kind.REVEALED).count() == 2
    for outsider in (world.cast.outlet_manager, world.other_bank_manager, world.cast.counsellor):
        with pytest.raises(PermissionDenied):
            actions.reveal_target(req, outsider)
    assert GOOD_CARD not in caplog.text


def test_a_bank_freeze_raises_the_cases_frozen_amount(world: World) -> None:
    """What the bank answered it froze is on the case (the alert page, statistics and bulletins read it),
    never above the loss, never lowered by a later answer."""
    case = world.case
    assert case.frozen_amount == Decimal("0")
    answer(world, send_card(world), result="frozen", frozen_amount="800")
    case.refresh_from_db()
    assert case.frozen_amount == Decimal("800.00")
    other = actions.send_request(
        case,
        world.cast.police_liaison,
        key=world.key(OTHER_CARD),
        kind=F.Kind.FREEZE,
        now=world.now,
        unit=world.cast.branch,
    )
    answer(world, other, result="frozen", frozen_amount=str(case.total_loss * 10))
    case.refresh_from_db()
    assert case.frozen_amount == case.total_loss
