"""Privacy of the case ledger: sensitive values (victim phone and ID, family, funds, own accounts)
never in list or case HTML unless revealed, never in logs, URLs or error pages; a reveal is POST
only, for CASE_REVEAL holders, and writes an audit record and a timeline event."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from fanzha.cases import actions
from fanzha.cases.models import CaseEvent
from fanzha.core.models import AuditRecord
from fanzha.reach import actions as reach_actions
from tests.api.conftest import API, client_for
from tests.cases.conftest import BAD_CARD, intake
from tests.cases.test_case_views import form_data

pytestmark = pytest.mark.django_db

PHONE = "13800138000"  # 张三's phone from the roster
ID_NUMBER = "11010519491231002X"
FAMILY = "单亲家庭，母亲务农"
FUNDS_NOTE = "本月生活费"
OWN_CARD = "4111111111111111"
SECRETS = (PHONE, ID_NUMBER, FAMILY, FUNDS_NOTE, OWN_CARD)


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.fixture
def case(cast):
    data = intake(cast.cs2301, cast.student)
    data.victim_id_number = ID_NUMBER
    return actions.report_case(data, cast.counsellor, submit_token="p1")


@pytest.mark.parametrize("role", ["school_admin", "college_admin", "counsellor", "police_liaison", "auditor"])
def test_list_and_case_page_show_nothing_sensitive(client, cast, case, role):
    client.force_login(cast.users()[role])
    for name, args in (("case_list", []), ("case_detail", [case.pk]), ("case_timeline", [case.pk])):
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200
        assert leaked(response.content.decode()) == [], (role, name)
    detail = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "138****8000" in detail and "110***********002X" in detail and "****1111" in detail


def test_reveal_shows_values_once_and_is_audited(client, cast, case):
    client.force_login(cast.counsellor)
    assert client.get(reverse("case_reveal", args=[case.pk])).status_code == 405
    response = client.post(reverse("case_reveal", args=[case.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    assert sorted(leaked(html)) == sorted(SECRETS)
    assert "生活费" in html  # the fund source by its label
    record = AuditRecord.objects.get()
    assert (record.actor, record.action, record.object_type, record.object_id) == (
        cast.counsellor,
        AuditRecord.Action.REVEAL,
        "case",
        str(case.pk),
    )
    assert "victim_phone" in record.detail and "family" in record.detail
    event = case.events.get(kind=CaseEvent.Kind.REVEALED)
    assert event.actor == cast.counsellor and leaked(str(event.detail)) == []
    # The next plain view is masked again.
    assert leaked(client.get(reverse("case_detail", args=[case.pk])).content.decode()) == []


@pytest.mark.parametrize("role", ["auditor", "college_admin", "school_admin"])
def test_reveal_refused_without_case_reveal(client, cast, case, role):
    client.force_login(cast.users()[role])
    before = case.events.count()
    response = client.post(reverse("case_reveal", args=[case.pk]))
    assert response.status_code == 403
    assert leaked(response.content.decode()) == []
    assert AuditRecord.objects.count() == 0 and case.events.count() == before
    assert "查看敏感信息</button>" not in client.get(reverse("case_detail", args=[case.pk])).content.decode()


def test_reveal_out_of_scope_is_not_found(client, cast, case):
    client.force_login(cast.outsider)
    assert client.post(reverse("case_reveal", args=[case.pk])).status_code == 404
    assert AuditRecord.objects.count() == 0


def test_no_sensitive_value_in_the_logs_of_a_bad_intake(client, cast, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(cast.counsellor)
    data = form_data(
        cast,
        victim_phone=PHONE,
        victim_id_number=ID_NUMBER,
        family=FAMILY,
        funds_note=FUNDS_NOTE,
        **{"ind-1-value": BAD_CARD, "ind-2-value": "6222021234567890120"},
    )
    response = client.post(reverse("case_new"), data)
    assert response.status_code == 400
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert leaked(logged) == [] and "6222021234567890120" not in logged
    # The victim's own bad card is named masked in the message, the suspect's in full.
    html = response.content.decode()
    assert "第3条线索：银行卡号“****0120”有误" in html
    assert f"第2条线索：银行卡号“{BAD_CARD}”有误" in html


def test_no_sensitive_value_in_urls(client, cast, case):
    client.force_login(cast.counsellor)
    data = form_data(cast, victim_phone=PHONE, family=FAMILY, **{"tr-0-amount": "-1"})
    response = client.post(reverse("case_new"), data)
    assert response.status_code == 400
    assert leaked(response.request["PATH_INFO"] + response.request.get("QUERY_STRING", "")) == []
    ok = client.post(reverse("case_new"), form_data(cast, victim_phone=PHONE, family=FAMILY))
    assert ok.status_code == 302 and leaked(ok.url) == []
    revealed = client.post(reverse("case_reveal", args=[case.pk]))
    hrefs = " ".join(part.split('"')[0] for part in revealed.content.decode().split('href="')[1:])
    actions_ = " ".join(part.split('"')[0] for part in revealed.content.decode().split('action="')[1:])
    assert leaked(hrefs + actions_) == []


def test_drafts_never_carry_contents_in_urls(client, cast):
    client.force_login(cast.counsellor)
    import json

    response = client.post(
        reverse("case_draft_save"),
        json.dumps({"draft": None, "data": {"victim_phone": PHONE, "family": FAMILY}}),
        content_type="application/json",
    )
    assert leaked(json.dumps(response.json())) == []
    listing = client.get(reverse("case_list")).content.decode()
    assert leaked(listing) == []


def test_values_are_encrypted_at_rest(case):
    from fanzha.cases.models import Case

    row = Case.objects.filter(pk=case.pk).values().get()
    assert leaked(" ".join(str(v) for v in row.values())) == []
    assert (
        leaked(" ".join(str(v) for v in case.indicators.values_list("value", "value_enc", "value_masked")))
        == []
    )
    assert leaked(" ".join(str(v) for v in case.transfers.values_list("from_enc", "from_masked"))) == []


def test_error_reports_hide_what_the_intake_posts(client, cast, make_intake):
    """Django's error reports (mails to ADMINS, debug pages) must not show the posted values."""
    client.force_login(cast.counsellor)
    for name in ("case_new",):
        response = client.post(reverse(name), {"victim_phone": "13800138000"})
        assert response.wsgi_request.sensitive_post_parameters == "__ALL__"
    link = reach_actions.ensure_class_link(cast.cs2301)
    response = client.post(reverse("member_report", args=[link.token]), {})
    # not signed in as a member: redirected, but the decorator ran first
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"
    api = client_for(cast.counsellor).post(f"{API}/cases/", {"victim_phone": "13800138000"}, format="json")
    assert api.wsgi_request.sensitive_post_parameters == "__ALL__"
