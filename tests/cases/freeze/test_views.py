"""The freeze-request pages: the scope matrix (the police of another county, another bank, the outlet
below the branch and the school's staff all get 404), the bank's answer form (errors in Chinese and
English, what was typed kept), masking with an audited reveal, the police's send forms and the per-case
times on the alert page and the case page, and the bank contact's home link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.cases.freeze import actions
from fanzha.cases.models import Alert, FreezeRequest
from fanzha.core.models import AuditRecord
from tests.cases.conftest import GOOD_CARD

from .conftest import PHONE, World

pytestmark = pytest.mark.django_db
F = FreezeRequest


def send_card(w: World, now: Any = None) -> FreezeRequest:
    return actions.send_request(
        w.case, w.cast.police_liaison, key=w.key(GOOD_CARD), kind=F.Kind.FREEZE, now=now or w.now
    )


def test_scope_matrix(client: Any, world: World) -> None:
    req = send_card(world)
    c = world.cast
    sees = {
        "police_liaison": c.police_liaison,
        "branch_manager": c.branch_manager,
        "bank_admin": world.bank_admin,
    }
    blind = {
        "outlet_manager": c.outlet_manager,  # below the branch the request went to
        "other_bank": world.other_bank_manager,
        "other_county_police": world.other_police,
        "police_admin": c.police_admin,  # the police tree, but not the school's cases
        "police_officer": c.police_officer,
        "counsellor": c.counsellor,  # sees the case, is not the police side
        "school_admin": c.school_admin,
        "outsider": c.outsider,
    }
    for name, user in {**sees, **blind}.items():
        client.force_login(user)
        status = client.get(reverse("freeze_detail", args=[req.pk])).status_code
        assert status == (200 if name in sees else 404), name
        listed = client.get(reverse("freeze_list"))
        if listed.status_code == 200:
            assert (req.target_masked in listed.content.decode()) == (name in sees), name
        for url in (reverse("freeze_answer", args=[req.pk]), reverse("freeze_reveal", args=[req.pk])):
            if name not in sees:
                assert client.post(url, {"result": "empty"}).status_code == 404, name
    assert F.objects.get(pk=req.pk).status == F.Status.PENDING
    assert not AuditRecord.objects.filter(object_type="freeze_request").exists()


def test_send_from_the_alert_page_is_police_only(client: Any, world: World) -> None:
    url = reverse("freeze_send", args=[world.case.pk])
    data = {"key": world.key(GOOD_CARD), "kind": "freeze"}
    client.force_login(world.cast.counsellor)
    assert client.post(url, data).status_code == 404
    client.force_login(world.other_police)
    assert client.post(url, data).status_code == 404
    assert not F.objects.exists()
    client.force_login(world.cast.police_liaison)
    page = client.get(reverse("alert_detail", args=[world.case.alert.pk])).content.decode()
    assert 'data-testid="freeze-figures"' in page and "****" + GOOD_CARD[-4:] in page
    assert world.key(GOOD_CARD) in page
    response = client.post(url, {**data, "minutes": "45"})
    assert response.status_code == 302
    req = F.objects.get()
    assert req.unit == world.cast.branch and req.deadline - req.requested_at == timedelta(minutes=45)
    response = client.post(reverse("freeze_send_all", args=[world.case.pk]), {"account_kind": "stop_payment"})
    assert response.status_code == 302
    assert F.objects.filter(kind=F.Kind.NUMBER_BLOCK).count() == 1


def test_answer_form_errors_keep_the_input(client: Any, world: World) -> None:
    req = send_card(world)
    client.force_login(world.cast.branch_manager)
    page = client.get(reverse("freeze_detail", args=[req.pk])).content.decode()
    assert GOOD_CARD not in page and req.target_masked in page and "blocked" not in page
    url = reverse("freeze_answer", args=[req.pk])
    response = client.post(url, {"result": "frozen", "frozen_amount": "12abc", "reason": "已冻结"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "不是金额" in html and 'value="12abc"' in html
    response = client.post(url, {"result": "refused"})
    assert response.status_code == 400 and "不予办理时请说明理由" in response.content.decode()
    client.cookies["django_language"] = "en"
    response = client.post(url, {"result": "refused"})
    assert response.status_code == 400 and "Please give the reason for refusing" in response.content.decode()
    del client.cookies["django_language"]
    assert F.objects.get(pk=req.pk).status == F.Status.PENDING
    response = client.post(url, {"result": "frozen", "frozen_amount": "800"})
    assert response.status_code == 302
    assert F.objects.get(pk=req.pk).result == F.Result.FROZEN


def test_reveal_shows_the_number_once_and_is_audited(client: Any, world: World) -> None:
    req = send_card(world)
    client.force_login(world.cast.branch_manager)
    response = client.post(reverse("freeze_reveal", args=[req.pk]))
    assert response.status_code == 200 and GOOD_CARD in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert (
        AuditRecord.objects.filter(object_type="freeze_request", actor=world.cast.branch_manager).count() == 1
    )
    assert GOOD_CARD not in client.get(reverse("freeze_detail", args=[req.pk])).content.decode()


def test_times_on_the_alert_page_and_the_case_page(client: Any, world: World) -> None:
    start = timezone.now() - timedelta(hours=1)
    req = send_card(world, now=start)
    actions.answer_request(
        req,
        world.cast.branch_manager,
        result="frozen",
        frozen_amount="800",
        frozen_at=start + timedelta(minutes=9),
        now=start + timedelta(minutes=12),
    )
    client.force_login(world.cast.police_liaison)
    alert_page = client.get(reverse("alert_detail", args=[world.case.alert.pk])).content.decode()
    assert "12分钟" in alert_page and "9分钟" in alert_page
    client.force_login(world.cast.counsellor)  # the case page's panel: figures, no numbers
    case_page = client.get(reverse("case_detail", args=[world.case.pk])).content.decode()
    assert 'data-testid="freeze-figures"' in case_page and "12分钟" in case_page


def test_overdue_is_marked_on_the_pages(client: Any, world: World) -> None:
    req = send_card(world, now=timezone.now() - timedelta(hours=2))
    client.force_login(world.cast.branch_manager)
    assert 'data-testid="overdue"' in client.get(reverse("freeze_detail", args=[req.pk])).content.decode()


def test_home_link_for_bank_contacts(client: Any, world: World) -> None:
    send_card(world)
    client.force_login(world.cast.branch_manager)
    response = client.get("/")
    home = response.content.decode()
    assert reverse("freeze_list") in home
    # on the workbench as urgent work, as many as the list behind it shows
    waiting = [w for w in response.context["urgent"] if w.label == "待答复的止付冻结请求"]
    assert [w.count for w in waiting] == [1]
    listed = client.get(waiting[0].url)
    assert len(listed.context["rows"]) == 1
    # the police side sees the request waiting for the bank's answer, due this week
    client.force_login(world.cast.police_liaison)
    response = client.get("/")
    sent = [w for w in response.context["week"] if w.label == "等待答复的止付冻结请求"]
    assert [w.count for w in sent] == [1]
    assert len(client.get(sent[0].url).context["rows"]) == 1
    client.force_login(world.cast.counsellor)
    assert reverse("freeze_list") not in client.get("/").content.decode()


def test_number_block_masks_the_phone(client: Any, world: World) -> None:
    req = actions.send_request(
        world.case, world.cast.police_liaison, key=world.key(PHONE), kind=F.Kind.NUMBER_BLOCK
    )
    client.force_login(world.cast.police_liaison)
    page = client.get(reverse("freeze_detail", args=[req.pk])).content.decode()
    assert PHONE not in page and req.target_masked in page


def test_the_timeline_names_a_reveal_in_words(client: Any, world: World) -> None:
    req = send_card(world)
    actions.reveal_target(req, world.cast.police_liaison)
    client.force_login(world.cast.police_liaison)
    page = client.get(reverse("case_timeline", args=[world.case.pk])).content.decode()
    assert "止付冻结请求的账号/号码" in page and "freeze_target" not in page and GOOD_CARD not in page
    assert "发出止付冻结请求" in page


def test_the_answer_form_marks_the_field_in_error_as_the_case_form_does(client: Any, world: World) -> None:
    """The freeze and alert forms render their fields with cases/_case_field.html: the field in error
    is marked (has-error), so the bank contact finds it on a long phone page."""
    req = send_card(world)
    client.force_login(world.cast.branch_manager)
    response = client.post(reverse("freeze_answer", args=[req.pk]), {"result": "refused"})
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('class="has-error"') == 1 and "不予办理时请说明理由" in html
    from fanzha.cases.alerts.actions import acknowledge_alert

    acknowledge_alert(world.case.alert, world.cast.police_liaison)
    client.force_login(world.cast.police_liaison)
    url = reverse("alert_outcome", args=[world.case.alert.pk])
    response = client.post(url, {"frozen_amount": "12abc", "recovered_amount": "0"})
    assert response.status_code == 400 and 'class="has-error"' in response.content.decode()


def test_pages_link_to_the_request_list_only_for_whom_it_opens(client: Any, world: World) -> None:
    """The alert list and the alert page link to the request list for the police side and the bank
    contacts only; everyone else seeing an alert would follow the link to a refusal."""
    c = world.cast
    send_card(world)
    alert = Alert.objects.filter(case=world.case).first()
    assert alert is not None
    for user in (c.police_liaison, c.school_admin, c.counsellor):
        client.force_login(user)
        opens = client.get(reverse("freeze_list")).status_code == 200
        pages = [client.get(reverse("alert_list")).content.decode()]
        detail = client.get(reverse("alert_detail", args=[alert.pk]))
        if detail.status_code == 200:
            pages.append(detail.content.decode())
        for html in pages:
            assert (reverse("freeze_list") + '"' in html) == opens, user
    client.force_login(c.school_admin)
    assert client.get(reverse("freeze_list")).status_code == 403
