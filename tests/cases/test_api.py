"""The case ledger through the API: create (alert, validation, idempotency), transitions, timeline,
alerts, filters, fixed query counts, and no sensitive field or value in any response."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fanzha.cases import actions
from fanzha.cases.alerts import actions as alert_actions
from fanzha.cases.models import Alert, Case, CaseEvent, CaseState, Indicator, Transfer
from fanzha.org.models import Role
from tests.api.conftest import API, client_for
from tests.cases.conftest import BAD_CARD, GOOD_CARD, intake

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(cast) -> Callable[[str | None], APIClient]:
    """``api("counsellor")`` → a client with that cast member's token; ``api(None)`` → anonymous."""

    def make(who: str | None) -> APIClient:
        return client_for(cast.users()[who] if who else None)

    return make


VICTIM_PHONE = "13800138000"  # the cast student's phone (taken from the roster)
VICTIM_ID = "11010519491231002X"
NEW_PHONE = "13712345678"
NEW_ID = "110101199003077897"
VICTIM_CARD = "4111111111111111"
FAMILY = "单亲家庭，母亲务农"
FUNDS_NOTE = "本月生活费"
SECRETS = [
    VICTIM_PHONE,
    VICTIM_ID,
    NEW_PHONE,
    NEW_ID,
    VICTIM_CARD,
    FAMILY,
    FUNDS_NOTE,
    "138****8000",
    "****1111",
]
# Field names that would carry the victim's sensitive details: no response may hold any of them.
SENSITIVE_KEYS = {
    "victim_phone",
    "victim_phone_masked",
    "victim_phone_enc",
    "victim_id_number",
    "victim_id_masked",
    "victim_id_enc",
    "family",
    "family_enc",
    "funds",
    "funds_enc",
    "fund_sources",
    "funds_note",
    "from_account",
    "from_masked",
    "from_enc",
    "value_enc",
    "value_masked",
    "side",
    "submit_token",
}


def body(unit: Any, victim: Any = None, **changes: Any) -> dict[str, Any]:
    """The JSON of a valid intake (the fixture's brushing case, two transfers in the last hours)."""
    data = intake(unit, victim)
    result: dict[str, Any] = {
        "unit": unit.pk,
        "victim": victim.pk if victim else None,
        "victim_name": data.victim_name,
        "victim_phone": "" if victim else NEW_PHONE,
        "victim_id_number": "" if victim else NEW_ID,
        "occurred_at": data.occurred_at.isoformat(),
        "reported_at": data.reported_at.isoformat(),
        "place": data.place,
        "channel": data.channel,
        "fraud_type": data.fraud_type,
        "impersonated": data.impersonated,
        "narrative": data.narrative,
        "fund_sources": data.fund_sources,
        "funds_note": data.funds_note,
        "family": data.family,
        "indicators": [
            {"kind": i.kind, "value": i.value, "side": i.side, "note": i.note} for i in data.indicators
        ],
        "transfers": [
            {
                "at": t.at.isoformat(),
                "amount": str(t.amount),
                "method": t.method,
                "from_account": t.from_account,
                "to_account": t.to_account,
                "to_name": t.to_name,
            }
            for t in data.transfers
        ],
    }
    result.update(changes)
    return result


def keys(value: Any) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def ledger() -> dict[str, list[tuple[Any, ...]]]:
    return {
        "cases": list(
            Case.objects.order_by("pk").values_list("pk", "state", "updated_at", "police_case_number")
        ),
        "events": list(CaseEvent.objects.order_by("pk").values_list("pk", "kind")),
        "indicators": list(Indicator.objects.order_by("pk").values_list("pk")),
        "transfers": list(Transfer.objects.order_by("pk").values_list("pk")),
        "alerts": list(Alert.objects.order_by("pk").values_list("pk", "status", "acknowledged_at")),
    }


def report(cast, unit=None, victim=None, actor=None, now=None, **changes) -> Case:
    """A case recorded through the verb (by the counsellor, in CS2301, unless told otherwise)."""
    unit = unit or cast.cs2301
    return actions.report_case(intake(unit, victim, now=now, **changes), actor or cast.counsellor, now=now)


# ---------------------------------------------------------------------------- create


def test_create_records_the_case_and_raises_the_alert(cast, api):
    response = api("counsellor").post(f"{API}/cases/", body(cast.cs2301, cast.student), format="json")
    assert response.status_code == 201, response.content.decode()
    data = response.json()
    case = Case.objects.get()
    assert data["id"] == case.pk and data["number"] == case.number
    assert data["state"] == CaseState.ALERTED and data["alert_status"] == Alert.Status.OPEN
    assert data["victim_name"] == "张*"
    assert data["total_loss"] == "1700.00"
    assert data["unit"] == cast.cs2301.pk and data["unit_name"] == "计科2301班"
    assert {i["value"] for i in data["indicators"]} == {
        "17123456789",
        GOOD_CARD,
        "http://shua.example.com/task",
    }
    assert [t["amount"] for t in data["transfers"]] == ["500.00", "1200.00"]
    assert data["allowed_transitions"] == []  # a counsellor is not the police side
    assert case.recorded_by == cast.counsellor
    assert case.alert.status == Alert.Status.OPEN
    assert list(case.events.values_list("kind", flat=True)) == [
        CaseEvent.Kind.REPORTED,
        CaseEvent.Kind.ALERT_SENT,
    ]
    # The sensitive values went in (encrypted), and came back out nowhere.
    assert case.family == FAMILY and case.funds["note"] == FUNDS_NOTE
    assert case.indicators.filter(side="victim").count() == 1


def test_create_for_a_resident_keeps_phone_and_id_write_only(cast, api):
    response = api("police_liaison").post(f"{API}/cases/", body(cast.cs2302), format="json")
    assert response.status_code == 201, response.content.decode()
    case = Case.objects.get()
    assert case.victim is None and case.victim_name == "居民甲"
    assert case.victim_phone_masked == "137****5678"
    text = response.content.decode()
    assert NEW_PHONE not in text and NEW_ID not in text and "137****5678" not in text
    assert response.json()["victim_name"] == "居**"
    # The police side may move it on at once.
    assert set(response.json()["allowed_transitions"]) == {CaseState.FILED, CaseState.CLOSED}


def test_invalid_intake_is_400_with_the_verb_messages_and_nothing_written(cast, api):
    before = ledger()
    now = timezone.now()
    bad = body(
        cast.cs2301,
        cast.student,
        occurred_at=(now + timedelta(days=2)).isoformat(),
        indicators=[{"kind": "bank_card", "value": BAD_CARD}],
        fund_sources=["living_allowance"],
    )
    response = api("counsellor").post(f"{API}/cases/", bad, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "发案时间不能晚于现在" in errors["occurred_at"]
    assert any("第1条线索" in m and "银行卡号" in m for m in errors["indicators"])
    assert ledger() == before


def test_malformed_body_is_400_field_by_field(cast, api):
    response = api("counsellor").post(
        f"{API}/cases/",
        body(
            cast.cs2301,
            fraud_type="nonsense",
            transfers=[{"at": "yesterday", "amount": "x", "method": "alipay"}],
        ),
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert "fraud_type" in errors and "transfers" in errors
    assert Case.objects.count() == 0


def test_same_idempotency_key_twice_records_one_case(cast, api):
    client = api("counsellor")
    first = client.post(
        f"{API}/cases/", body(cast.cs2301, cast.student), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    second = client.post(
        f"{API}/cases/", body(cast.cs2301, cast.student), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Case.objects.count() == 1 and Alert.objects.count() == 1
    # The key may also come in the body; a new key is a new case.
    third = client.post(f"{API}/cases/", body(cast.cs2301, submit_token="k-2"), format="json")
    fourth = client.post(f"{API}/cases/", body(cast.cs2301, submit_token="k-2"), format="json")
    assert (third.status_code, fourth.status_code) == (201, 200)
    assert Case.objects.count() == 2


def test_idempotency_keys_are_per_user(cast, api):
    """The same key from another user is another submit: it never answers with someone else's case."""
    mine = api("counsellor").post(f"{API}/cases/", body(cast.cs2301), format="json", HTTP_IDEMPOTENCY_KEY="k")
    theirs = api("outsider").post(f"{API}/cases/", body(cast.oc01), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["unit"] == cast.oc01.pk


def test_create_without_the_right_is_refused(cast, api):
    before = ledger()
    assert api("auditor").post(f"{API}/cases/", body(cast.cs2301), format="json").status_code == 403
    assert api("outsider").post(f"{API}/cases/", body(cast.cs2301), format="json").status_code == 400
    # A victim outside the caller's scope is refused by the verb.
    response = api("counsellor").post(f"{API}/cases/", body(cast.cs2301, cast.math_student), format="json")
    assert response.status_code == 400 and "victim" in response.json()
    assert ledger() == before


# ---------------------------------------------------------------------------- transitions and timeline


def test_police_files_investigates_and_closes(cast, api):
    case = report(cast)
    client = api("police_liaison")
    url = f"{API}/cases/{case.pk}/transition/"

    missing = client.post(url, {"state": "filed"}, format="json")
    assert missing.status_code == 400 and "police_case_number" in missing.json()

    filed = client.post(url, {"state": "filed", "police_case_number": "QS2026-001"}, format="json")
    assert filed.status_code == 200, filed.content.decode()
    assert filed.json()["state"] == CaseState.FILED
    assert filed.json()["police_case_number"] == "QS2026-001"
    assert set(filed.json()["allowed_transitions"]) == {CaseState.INVESTIGATING, CaseState.CLOSED}

    backwards = client.post(url, {"state": "reported"}, format="json")
    assert backwards.status_code == 400 and "不能改为" in json.dumps(backwards.json(), ensure_ascii=False)

    assert client.post(url, {"state": "investigating"}, format="json").status_code == 200
    wrong = client.post(
        url, {"state": "closed", "outcome": "recovered", "recovered_amount": "100"}, format="json"
    )
    assert wrong.status_code == 400 and "recovered_amount" in wrong.json()
    closed = client.post(
        url,
        {"state": "closed", "outcome": "partly", "recovered_amount": "500.00", "note": "部分返还"},
        format="json",
    )
    assert closed.status_code == 200
    assert closed.json()["state"] == CaseState.CLOSED and closed.json()["outcome"] == "partly"
    assert closed.json()["recovered_amount"] == "500.00"
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.recovered_amount == Decimal("500.00")


@pytest.mark.parametrize("who", ["school_admin", "college_admin", "counsellor", "auditor"])
def test_roles_that_are_not_the_police_side_get_403(cast, api, who):
    case = report(cast)
    before = ledger()
    response = api(who).post(
        f"{API}/cases/{case.pk}/transition/", {"state": "filed", "police_case_number": "X1"}, format="json"
    )
    assert response.status_code == 403
    assert ledger() == before


def test_events_are_the_timeline_without_sensitive_values(cast, api):
    case = report(cast, victim=cast.student)
    actions.change_state(case, CaseState.FILED, cast.police_liaison, police_case_number="QS-7")
    actions.reveal_case(case, cast.counsellor)
    response = api("auditor").get(f"{API}/cases/{case.pk}/events/")
    assert response.status_code == 200
    events = response.json()
    assert [e["kind"] for e in events] == ["reported", "alert_sent", "state", "revealed"]
    assert events[2]["state_before"] == "alerted" and events[2]["state_after"] == "filed"
    assert events[2]["actor_name"] == "警务联络员"
    assert events[0]["actor_name"] == "辅导员甲"
    text = response.content.decode()
    for secret in SECRETS:
        assert secret not in text


# ---------------------------------------------------------------------------- alerts


def test_alerts_list_open_first_and_acknowledge(cast, api):
    now = timezone.now()
    older = report(cast, now=now - timedelta(hours=3))
    newer = report(cast, unit=cast.cs2302, actor=cast.college_admin)
    alert_actions.acknowledge_alert(newer.alert, cast.police_liaison)
    response = api("school_admin").get(f"{API}/alerts/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["case"] for r in rows] == [older.pk, newer.pk]  # the open one first, though older
    assert rows[0]["status"] == "open" and rows[1]["status"] == "acknowledged"
    assert rows[1]["acknowledged_by_name"] == "警务联络员"
    assert rows[0]["case_number"] == older.number

    url = f"{API}/alerts/{older.alert.pk}/acknowledge/"
    before = ledger()
    assert api("counsellor").post(url, {}, format="json").status_code == 403
    assert api("outsider").post(url, {}, format="json").status_code == 404
    assert ledger() == before
    ok = api("police_liaison").post(url, {"note": "已联系银行"}, format="json")
    assert ok.status_code == 200, ok.content.decode()
    assert ok.json()["status"] == "acknowledged" and ok.json()["seconds_to_ack"] is not None
    again = api("police_liaison").post(url, {}, format="json")
    assert again.status_code == 400
    assert CaseEvent.objects.filter(case=older, kind=CaseEvent.Kind.ACKNOWLEDGED).count() == 1

    only_open = api("school_admin").get(f"{API}/alerts/", {"status": "open"}).json()
    assert only_open["count"] == 0


# ---------------------------------------------------------------------------- filters and shape


def test_filters(cast, api):
    now = timezone.now()
    a = report(cast)  # CS2301, brushing, alerted
    b = report(cast, unit=cast.ma2301, actor=cast.school_admin, fraud_type="romance")
    c = report(
        cast,
        unit=cast.cs2302,
        actor=cast.college_admin,
        occurred_at=now - timedelta(days=40),
        reported_at=now - timedelta(days=39),
        transfers=[],
    )  # no money in the window: reported, no alert
    actions.change_state(a, CaseState.FILED, cast.police_liaison, police_case_number="F1")
    client = api("school_admin")

    def ids(**params: Any) -> list[int]:
        response = client.get(f"{API}/cases/", params)
        assert response.status_code == 200, response.content.decode()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [b.pk, a.pk, c.pk]  # newest report first
    assert ids(state="filed") == [a.pk]
    assert ids(state="reported") == [c.pk]
    assert ids(fraud_type="romance") == [b.pk]
    assert ids(unit=cast.cs.pk) == [a.pk, c.pk]
    assert ids(unit=cast.ma2301.pk) == [b.pk]
    assert ids(unit=cast.oc01.pk) == []  # an invisible unit matches nothing
    assert ids(reported_at_before=(now - timedelta(days=2)).isoformat()) == [c.pk]
    assert ids(reported_at_after=(now - timedelta(days=2)).isoformat()) == [b.pk, a.pk]
    assert client.get(f"{API}/cases/", {"state": "nonsense"}).status_code == 400
    assert [r["id"] for r in api("college_admin").get(f"{API}/cases/").json()["results"]] == [a.pk, c.pk]


@pytest.mark.parametrize("count", [2, 12])
def test_list_query_count_is_fixed(cast, django_assert_num_queries, count):
    for _ in range(count):
        report(cast)
    client = client_for(cast.school_admin)
    # token + grants (scope) + count + one page of rows (unit and alert joined)
    with django_assert_num_queries(4):
        response = client.get(f"{API}/cases/", {"page_size": 500})
    assert response.json()["count"] == count
    with django_assert_num_queries(4):
        response = client.get(f"{API}/alerts/", {"page_size": 500})
    assert response.json()["count"] == count


def test_no_sensitive_field_or_value_in_any_response(cast, api):
    """List, detail, create, transition, events, alerts and the browsable pages: the victim's phone,
    ID, family, funds and own accounts appear nowhere, not even masked."""
    client = api("police_liaison")
    created = client.post(f"{API}/cases/", body(cast.cs2301, cast.student), format="json")
    resident = client.post(f"{API}/cases/", body(cast.cs2302), format="json")
    case_id = created.json()["id"]
    alert_id = Alert.objects.get(case_id=case_id).pk
    responses = [
        created,
        resident,
        client.get(f"{API}/cases/"),
        client.get(f"{API}/cases/{case_id}/"),
        client.post(
            f"{API}/cases/{case_id}/transition/",
            {"state": "filed", "police_case_number": "P-1"},
            format="json",
        ),
        client.get(f"{API}/cases/{case_id}/events/"),
        client.get(f"{API}/alerts/"),
        client.post(f"{API}/alerts/{alert_id}/acknowledge/", {"note": "收到"}, format="json"),
        client.get(f"{API}/alerts/{alert_id}/"),
    ]
    for response in responses:
        assert response.status_code in (200, 201), response.content.decode()
        found = keys(response.json()) & SENSITIVE_KEYS
        assert not found, (response.request["PATH_INFO"], found)
        text = response.content.decode()
        for secret in SECRETS:
            assert secret not in text, (response.request["PATH_INFO"], secret)
    for path in [f"{API}/cases/", f"{API}/cases/{case_id}/", f"{API}/alerts/"]:
        page = client.get(path, HTTP_ACCEPT="text/html").content.decode()
        for secret in SECRETS:
            assert secret not in page, (path, secret)


def test_a_role_on_a_single_class_sees_its_cases_only(cast, api):
    """A security officer granted at CS2302 reads and records there, and nowhere else."""
    from tests.conftest import make_staff

    officer = make_staff(cast.uni, "S0001", "保卫干事", Role.SECURITY_OFFICER, cast.cs2302)
    mine = report(cast, unit=cast.cs2302, actor=officer)
    other = report(cast)
    client = client_for(officer)
    assert [r["id"] for r in client.get(f"{API}/cases/").json()["results"]] == [mine.pk]
    assert client.get(f"{API}/cases/{other.pk}/").status_code == 404
    assert client.post(f"{API}/cases/", body(cast.cs2302), format="json").status_code == 201
    assert client.post(f"{API}/cases/", body(cast.cs2301), format="json").status_code == 400  # not visible
