"""Accountability (问责): proposed from the running campaigns' rules by the case's loss, issued by the
campaign's side, acknowledged by the target unit's own administrators; everyone else is refused and
nothing changes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from fanzha.cases import actions
from fanzha.cases.accountability import actions as acc
from fanzha.cases.models import AccountabilityAction, Case, CaseEvent
from fanzha.notify.models import Outbox
from tests.cases.conftest import District, start

pytestmark = pytest.mark.django_db
A = AccountabilityAction


def report(d: District, make_intake, loss: str) -> Case:
    return actions.report_case(make_intake(d.klass, total_loss=loss), d.school_admin)


def kinds(case: Case) -> dict[str, str]:
    return dict(A.objects.filter(case=case).values_list("action", "status"))


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("1000", {"notice"}),
        ("50000", {"notice"}),  # 5万 is the interview's exclusive lower bound
        ("60000", {"interview", "notice"}),
        ("100000", {"interview", "notice"}),  # 10万 is the interview's inclusive upper bound
        ("150000", {"listing", "notice"}),
    ],
)
def test_district_rules_by_loss(district, make_intake, loss, expected):
    case = report(district, make_intake, loss)
    found = A.objects.filter(case=case)
    assert {a.action for a in found} == expected
    assert {a.status for a in found} == {A.Status.PROPOSED}
    assert {a.target for a in found} == {district.school}  # the unit just below the bureau
    assert {a.campaign for a in found} == {district.campaign}
    assert "通报" in found.get(action="notice").rule


def test_propose_is_idempotent(district, make_intake):
    case = report(district, make_intake, "60000")
    acc.propose_accountability(case)
    acc.propose_accountability(case)
    assert A.objects.filter(case=case).count() == 2


def test_refresh_follows_the_loss_and_keeps_issued(district, make_intake):
    case = report(district, make_intake, "60000")
    interview = A.objects.get(case=case, action="interview")
    acc.issue_accountability(interview, district.bureau_admin)
    Case.objects.filter(pk=case.pk).update(total_loss=Decimal("150000"))
    case.refresh_from_db()
    acc.refresh_accountability(case)
    assert kinds(case) == {
        "interview": A.Status.ISSUED,
        "listing": A.Status.PROPOSED,
        "notice": A.Status.PROPOSED,
    }
    Case.objects.filter(pk=case.pk).update(total_loss=Decimal("800"))
    case.refresh_from_db()
    acc.refresh_accountability(case)
    assert kinds(case) == {"interview": A.Status.ISSUED, "notice": A.Status.PROPOSED}


def test_no_campaign_no_proposal(cast, make_intake):
    case = actions.report_case(make_intake(cast.cs2301), cast.counsellor)
    assert not A.objects.filter(case=case).exists()


def test_issue_notifies_target_admins(district, make_intake):
    case = report(district, make_intake, "150000")
    listing = A.objects.get(case=case, action="listing")
    issued = acc.issue_accountability(listing, district.bureau_admin, "请于一周内提交整改报告")
    assert issued.status == A.Status.ISSUED and issued.issued_by == district.bureau_admin
    assert issued.note == "请于一周内提交整改报告"
    (row,) = Outbox.objects.filter(idempotency_key__startswith=f"accountability:{listing.pk}:")
    assert row.user == district.school_admin and row.channel_kind == "in_app"
    assert "挂牌督办" in row.subject and case.number in row.subject
    event = case.events.get(kind=CaseEvent.Kind.ACCOUNTABILITY)
    assert event.detail["step"] == "issued" and event.actor == district.bureau_admin
    with pytest.raises(ValidationError):
        acc.issue_accountability(listing, district.bureau_admin)


@pytest.mark.parametrize("who", ["outsider", "counsellor", "school_admin"])
def test_issue_refused(cast, district, make_intake, who):
    user = cast.outsider if who == "outsider" else getattr(district, who)
    case = report(district, make_intake, "60000")
    action = A.objects.get(case=case, action="interview")
    with pytest.raises(PermissionDenied):
        acc.issue_accountability(action, user, "x")
    action.refresh_from_db()
    assert action.status == A.Status.PROPOSED and action.issued_by is None and action.note == ""
    assert not Outbox.objects.filter(idempotency_key__startswith="accountability:").exists()
    assert not case.events.filter(kind=CaseEvent.Kind.ACCOUNTABILITY).exists()


@pytest.mark.parametrize("who", ["outsider", "counsellor", "bureau_admin"])
def test_acknowledge_refused(cast, district, make_intake, who):
    user = cast.outsider if who == "outsider" else getattr(district, who)
    case = report(district, make_intake, "60000")
    action = acc.issue_accountability(A.objects.get(case=case, action="notice"), district.bureau_admin)
    with pytest.raises(PermissionDenied):
        acc.acknowledge_accountability(action, user)
    action.refresh_from_db()
    assert action.status == A.Status.ISSUED and action.acknowledged_by is None
    assert case.events.filter(kind=CaseEvent.Kind.ACCOUNTABILITY).count() == 1


def test_acknowledge_by_target_admin(district, make_intake):
    case = report(district, make_intake, "60000")
    action = A.objects.get(case=case, action="notice")
    with pytest.raises(ValidationError):
        acc.acknowledge_accountability(action, district.school_admin)  # not issued yet
    acc.issue_accountability(action, district.bureau_admin)
    done = acc.acknowledge_accountability(action, district.school_admin)
    assert done.status == A.Status.ACKNOWLEDGED and done.acknowledged_by == district.school_admin
    steps = list(
        case.events.filter(kind=CaseEvent.Kind.ACCOUNTABILITY).values_list("detail__step", flat=True)
    )
    assert steps == ["issued", "acknowledged"]


def test_university_campaign_targets_the_college(cast, make_intake):
    start("university-fraud-free-campus", cast.uni)
    case = actions.report_case(make_intake(cast.cs2301, cast.student), cast.counsellor)
    (action,) = A.objects.filter(case=case)
    assert (action.action, action.target) == ("notice", cast.cs)
    with pytest.raises(PermissionDenied):
        acc.issue_accountability(action, cast.college_admin)
    acc.issue_accountability(action, cast.school_admin)
    assert (
        Outbox.objects.get(idempotency_key__startswith=f"accountability:{action.pk}:").user
        == cast.college_admin
    )
    with pytest.raises(PermissionDenied):
        acc.acknowledge_accountability(action, cast.counsellor)
    with pytest.raises(PermissionDenied):
        acc.acknowledge_accountability(action, cast.school_admin)  # the issuer signs not for the college
    assert acc.acknowledge_accountability(action, cast.college_admin).status == A.Status.ACKNOWLEDGED


def test_list_and_buttons(client, cast, district, make_intake, django_assert_max_num_queries):
    for loss in ("60000", "150000", "1000"):
        report(district, make_intake, loss)
    client.force_login(district.bureau_admin)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("accountability_list"))
    html = response.content.decode()
    assert html.count('name="note"') == 5  # every proposal has its issue form
    action = A.objects.filter(action="listing").get()
    response = client.post(reverse("accountability_issue", args=[action.pk]), {"note": "限期整改"})
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == A.Status.ISSUED
    html = client.get(reverse("accountability_list") + "?status=issued").content.decode()
    assert html.count("挂牌督办") >= 1 and 'name="note"' not in html

    client.force_login(district.school_admin)
    html = client.get(reverse("accountability_list")).content.decode()
    assert reverse("accountability_acknowledge", args=[action.pk]) in html
    assert 'name="note"' not in html  # the target side issues nothing
    response = client.post(reverse("accountability_acknowledge", args=[action.pk]))
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == A.Status.ACKNOWLEDGED


def test_pages_refuse_outsider_and_counsellor(client, cast, district, make_intake):
    case = report(district, make_intake, "60000")
    action = A.objects.get(case=case, action="interview")
    client.force_login(cast.outsider)
    assert client.post(reverse("accountability_issue", args=[action.pk])).status_code == 404
    assert (
        reverse("accountability_issue", args=[action.pk])
        not in client.get(reverse("accountability_list")).content.decode()
    )
    client.force_login(district.counsellor)
    assert client.post(reverse("accountability_issue", args=[action.pk])).status_code == 403
    action.refresh_from_db()
    assert action.status == A.Status.PROPOSED
    assert not case.events.filter(kind=CaseEvent.Kind.ACCOUNTABILITY).exists()


def test_case_page_panel_has_issue_button_for_the_issuer(client, cast, make_intake):
    start("university-fraud-free-campus", cast.uni)
    case = actions.report_case(make_intake(cast.cs2301, cast.student), cast.counsellor)
    action = A.objects.get(case=case)
    issue = reverse("accountability_issue", args=[action.pk])
    client.force_login(cast.school_admin)
    html = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert issue in html and reverse("traceback_detail", args=[case.pk]) in html
    client.force_login(cast.auditor)
    html = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert issue not in html and "通报" in html
