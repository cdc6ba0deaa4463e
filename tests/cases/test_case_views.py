"""Case pages: the list (scope, filters, masking, fixed queries), the intake form (rows, errors kept,
double submit), drafts (autosave, restore, discard), the case page, files, edit, timeline, menu."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.alerts import actions as alert_actions
from fanzha.cases.followup import actions as fu
from fanzha.cases.models import Attachment, Case, CaseDraft, CaseEvent, CaseState, Side
from fanzha.core.models import AuditRecord
from tests.campaigns.files import jpeg, upload
from tests.cases.conftest import GOOD_CARD, intake

pytestmark = pytest.mark.django_db

FMT = "%Y-%m-%dT%H:%M"


def local(dt):
    return timezone.localtime(dt).strftime(FMT)


def form_data(cast, now=None, **changes):
    """A complete POST of the intake form: the cast's student, two transfers, three indicators."""
    now = now or timezone.now()
    data = {
        "submit_token": "tok-" + str(now.timestamp()).replace(".", ""),
        "unit": str(cast.cs2301.pk),
        "victim_number": "2023001",
        "victim_name": "",
        "victim_phone": "",
        "victim_id_number": "",
        "occurred_at": local(now - timedelta(hours=5)),
        "reported_at": local(now - timedelta(minutes=10)),
        "place": "宿舍",
        "channel": "qq",
        "fraud_type": "brushing",
        "impersonated": "电商客服",
        "narrative": "刷单返利",
        "total_loss": "",
        "fund_sources": ["living_allowance"],
        "funds_note": "本月生活费",
        "family": "单亲家庭",
        "tr-TOTAL_FORMS": "3",
        "tr-INITIAL_FORMS": "0",
        "tr-MIN_NUM_FORMS": "0",
        "tr-MAX_NUM_FORMS": "200",
        "tr-0-at": local(now - timedelta(hours=4)),
        "tr-0-amount": "500.00",
        "tr-0-method": "bank_transfer",
        "tr-0-from_account": "4111111111111111",
        "tr-0-to_account": GOOD_CARD,
        "tr-0-to_name": "某银行",
        "tr-1-at": local(now - timedelta(hours=2)),
        "tr-1-amount": "1200",
        "tr-1-method": "alipay",
        "tr-1-to_account": "pay@example.com",
        "ind-TOTAL_FORMS": "4",
        "ind-INITIAL_FORMS": "0",
        "ind-MIN_NUM_FORMS": "0",
        "ind-MAX_NUM_FORMS": "100",
        "ind-0-side": "suspect",
        "ind-0-kind": "phone",
        "ind-0-value": "+86 171 2345 6789",
        "ind-1-side": "suspect",
        "ind-1-kind": "bank_card",
        "ind-1-value": GOOD_CARD,
        "ind-2-side": "victim",
        "ind-2-kind": "bank_card",
        "ind-2-value": "4111111111111111",
        "ind-3-side": "suspect",
    }
    data.update(changes)
    return data


@pytest.fixture
def case(cast):
    return actions.report_case(intake(cast.cs2301, cast.student), cast.counsellor, submit_token="v1")


# The list ----------------------------------------------------------------------------------------


def test_list_shows_cases_in_scope_masked(client, cast, case):
    other = actions.report_case(intake(cast.oc01), cast.outsider)
    client.force_login(cast.college_admin)
    response = client.get(reverse("case_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert case.number in html and other.number not in html
    assert "张*" in html and "张三" not in html
    assert "13800138000" not in html and "138****8000" not in html
    assert "止付预警待确认" in html  # the open alert is marked
    client.force_login(cast.outsider)
    html = client.get(reverse("case_list")).content.decode()
    assert other.number in html and case.number not in html


def test_list_refuses_a_user_without_case_scope(client, cast):
    client.force_login(cast.student_user)
    assert client.get(reverse("case_list")).status_code == 403


def test_list_filters(client, cast, case):
    second = actions.report_case(
        intake(cast.ma2301, fraud_type="loan", transfers=[]), cast.school_admin, submit_token="v2"
    )
    client.force_login(cast.school_admin)
    url = reverse("case_list")

    def numbers(**params):
        html = client.get(url, params).content.decode()
        return {n for n in (case.number, second.number) if n in html}

    assert numbers() == {case.number, second.number}
    assert numbers(state="alerted") == {case.number}
    assert numbers(state="reported") == {second.number}
    assert numbers(fraud_type="loan") == {second.number}
    assert numbers(unit=str(cast.cs.pk)) == {case.number}
    assert numbers(unit=str(cast.ma.pk)) == {second.number}
    month = timezone.localtime(case.reported_at).strftime("%Y-%m")
    assert numbers(month=month) == {case.number, second.number}
    assert numbers(month="2001-01") == set()
    assert numbers(q=second.number[-6:]) == {second.number}


def test_list_query_count_does_not_grow(client, cast, django_assert_max_num_queries):
    actions.report_case(intake(cast.cs2301, cast.student), cast.counsellor, submit_token="q1")
    client.force_login(cast.school_admin)
    client.get(reverse("case_list"))  # warm caches (content types, sessions)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("case_list"))
    baseline = len(few.captured_queries)
    for i in range(6):
        actions.report_case(
            intake(cast.cs2302, victim_name=f"居民{i}"), cast.school_admin, submit_token=f"q{i}x"
        )
    with django_assert_max_num_queries(baseline):
        response = client.get(reverse("case_list"))
    assert response.content.decode().count("/cases/") >= 7


# Intake ------------------------------------------------------------------------------------------


def test_intake_page_offers_empty_rows_a_token_and_the_script(client, cast):
    client.force_login(cast.counsellor)
    response = client.get(reverse("case_new"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="tr-2-amount"' in html and 'name="ind-3-value"' in html
    assert re.search(r'name="submit_token" value="[\w-]{20,}"', html)
    assert "cases/intake.js" in html and "<script>" not in html
    assert 'data-autosave="/cases/drafts/save/"' in html


def test_intake_needs_case_edit(client, cast):
    client.force_login(cast.auditor)
    assert client.get(reverse("case_new")).status_code == 403
    assert client.post(reverse("case_new"), form_data(cast)).status_code == 403
    assert Case.objects.count() == 0


def test_intake_records_the_case_and_redirects(client, cast):
    client.force_login(cast.counsellor)
    response = client.post(reverse("case_new"), form_data(cast))
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == reverse("case_detail", args=[case.pk])
    assert case.victim == cast.student and case.total_loss == Decimal("1700.00")
    assert case.transfers.count() == 2 and case.indicators.count() == 3
    assert case.indicators.get(side=Side.VICTIM).value == ""
    assert case.state == CaseState.ALERTED
    assert case.funds["sources"] == ["living_allowance"] and case.family == "单亲家庭"
    page = client.get(response.url).content.decode()
    assert "紧急止付预警已发出" in page


def test_double_submit_returns_the_first_case(client, cast):
    client.force_login(cast.counsellor)
    data = form_data(cast)
    first = client.post(reverse("case_new"), data)
    second = client.post(reverse("case_new"), data)
    assert Case.objects.count() == 1
    assert first.url == second.url
    assert "已经提交过了" in client.get(second.url).content.decode()


def test_errors_are_shown_at_fields_and_everything_typed_is_kept(client, cast):
    client.force_login(cast.counsellor)
    data = form_data(
        cast,
        victim_phone="12345",
        **{
            "tr-1-amount": "-5",
            "ind-1-value": "6222021234567890127",
            "ind-3-kind": "url",
            "ind-3-value": "x",
        },
    )
    response = client.post(reverse("case_new"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert Case.objects.count() == 0
    assert "手机号格式不正确" in html
    assert "第2笔转账" in html and "不能为负数" in html
    assert "第2条线索" in html and "校验位错误" in html
    # Every value comes back: the main fields and the rows.
    assert 'value="12345"' in html and 'value="-5"' in html and 'value="6222021234567890127"' in html
    assert "刷单返利" in html and 'value="pay@example.com"' in html and "单亲家庭" in html
    assert 'value="living_allowance" checked' in html or "checked" in html
    assert data["submit_token"] in html


def test_unknown_roster_number_is_an_error_at_the_field(client, cast):
    client.force_login(cast.counsellor)
    response = client.post(reverse("case_new"), form_data(cast, victim_number="2023101"))  # 王五: not hers
    assert response.status_code == 400
    assert "花名册中没有学号/工号为“2023101”的人员" in response.content.decode()
    assert Case.objects.count() == 0


def test_free_text_victim(client, cast):
    client.force_login(cast.counsellor)
    data = form_data(cast, victim_number="", victim_name="居民乙", victim_phone="+86 139 0013 9001")
    assert client.post(reverse("case_new"), data).status_code == 302
    case = Case.objects.get()
    assert case.victim is None and case.victim_name == "居民乙" and case.victim_phone_masked == "139****9001"


def test_person_lookup_is_scoped(client, cast):
    client.force_login(cast.counsellor)
    url = reverse("case_person")
    assert client.get(url, {"number": "2023001"}).json()["names"][0]["name"] == "张三"
    assert client.get(url, {"number": "2023101"}).json() == {"found": False, "names": []}


# Drafts ------------------------------------------------------------------------------------------


def save_draft(client, data, draft=None):
    return client.post(
        reverse("case_draft_save"),
        json.dumps({"draft": draft, "data": data}),
        content_type="application/json",
    )


def test_autosave_restore_and_discard_on_submit(client, cast):
    client.force_login(cast.counsellor)
    data = form_data(cast)
    typed = {k: v for k, v in data.items() if k != "submit_token"}
    typed["csrfmiddlewaretoken"] = "x"
    response = save_draft(client, typed)
    assert response.status_code == 200
    body = response.json()
    assert re.fullmatch(r"草稿已保存 \d\d:\d\d", body["message"])
    draft = CaseDraft.objects.get(pk=body["id"])
    assert draft.owner == cast.counsellor and draft.unit == cast.cs2301
    assert "csrfmiddlewaretoken" not in draft.data and "单亲家庭" not in draft.data_enc
    # Saving again updates the same draft.
    typed["place"] = "图书馆"
    assert save_draft(client, typed, draft.pk).json()["id"] == draft.pk
    assert CaseDraft.objects.count() == 1

    listing = client.get(reverse("case_list")).content.decode()
    assert f"?draft={draft.pk}" in listing and "继续填写" in listing

    restored = client.get(reverse("case_new"), {"draft": draft.pk}).content.decode()
    assert 'value="图书馆"' in restored and "单亲家庭" in restored
    assert f'value="{GOOD_CARD}"' in restored and 'value="1200"' in restored
    assert f'name="draft" value="{draft.pk}"' in restored

    submitted = client.post(reverse("case_new"), {**data, "draft": str(draft.pk)})
    assert submitted.status_code == 302
    assert not CaseDraft.objects.exists()


def test_drafts_are_the_owners_only(client, cast):
    client.force_login(cast.counsellor)
    draft_id = save_draft(client, {"place": "宿舍"}).json()["id"]
    client.force_login(cast.college_admin)
    assert client.get(reverse("case_new"), {"draft": draft_id}).status_code == 404
    assert save_draft(client, {"place": "别处"}, draft_id).status_code == 404
    assert client.post(reverse("case_draft_delete", args=[draft_id])).status_code == 404
    assert CaseDraft.objects.get().data == {"place": "宿舍"}
    client.force_login(cast.counsellor)
    assert client.post(reverse("case_draft_delete", args=[draft_id])).status_code == 302
    assert not CaseDraft.objects.exists()


def test_draft_save_refuses_garbage(client, cast):
    client.force_login(cast.counsellor)
    url = reverse("case_draft_save")
    assert client.post(url, "not json", content_type="application/json").status_code == 400
    assert client.post(url, json.dumps([1]), content_type="application/json").status_code == 400
    assert client.get(url).status_code == 405
    client.force_login(cast.auditor)
    assert save_draft(client, {"place": "x"}).status_code == 403
    assert not CaseDraft.objects.exists()


# The case page -----------------------------------------------------------------------------------


def test_case_page_for_roles_in_and_out_of_scope(client, cast, case):
    client.force_login(cast.outsider)
    assert client.get(reverse("case_detail", args=[case.pk])).status_code == 404
    assert client.get(reverse("case_detail", args=[999999])).status_code == 404
    client.force_login(cast.auditor)
    html = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert case.number in html and "查看敏感信息" not in html and "修改案情" not in html
    assert reverse("case_state", args=[case.pk]) not in html
    client.force_login(cast.police_liaison)
    html = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "立案" in html and "结案" in html and "公安立案编号" in html and "查看敏感信息" in html
    assert "http://shua.example.com/task" in html and "****1111" in html  # suspect plain, victim masked


def test_attachments_upload_and_download(client, cast, case):
    client.force_login(cast.counsellor)
    photo = upload("chat.jpg", jpeg(), "image/jpeg")
    response = client.post(reverse("case_attach", args=[case.pk]), {"attachments": [photo]})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    url = reverse("case_attachment", args=[case.pk, attachment.pk])
    assert url in client.get(reverse("case_detail", args=[case.pk])).content.decode()
    download = client.get(url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]  # never a page of this site
    assert b"".join(download.streaming_content) == jpeg()
    client.force_login(cast.outsider)
    assert client.get(url).status_code == 404
    client.force_login(cast.auditor)
    photo2 = upload("b.jpg", jpeg(colour=(1, 2, 3)), "image/jpeg")
    assert client.post(reverse("case_attach", args=[case.pk]), {"attachments": [photo2]}).status_code == 403
    assert Attachment.objects.count() == 1


# Edit --------------------------------------------------------------------------------------------


def edit_data(cast, case, **changes):
    """The edit form as a user without a reveal sends it: sensitive fields empty, accounts masked."""
    data = form_data(cast)
    data.update(
        {
            "submit_token": "",
            "victim_phone": "",
            "victim_id_number": "",
            "family": "",
            "funds_note": "",
            "fund_sources": [],
            "tr-0-at": local(case.transfers.all()[0].at),
            "tr-1-at": local(case.transfers.all()[1].at),
            "tr-0-from_account": case.transfers.all()[0].from_masked,
            "ind-2-value": "****1111",
            "ind-3-kind": "url",
            "ind-3-value": "Shua.Example.com/task",
            "narrative": case.narrative,
            "occurred_at": local(case.occurred_at),
            "reported_at": local(case.reported_at),
        }
    )
    data.update(changes)
    return data


def test_edit_keeps_sensitive_values_left_empty(client, cast, case):
    before_phone = case.victim_phone_enc
    client.force_login(cast.counsellor)
    page = client.get(reverse("case_edit", args=[case.pk])).content.decode()
    assert "单亲家庭" not in page and "13800138000" not in page and "4111111111111111" not in page
    assert "不修改请留空（现为 138****8000）" in page and "****1111" in page
    response = client.post(reverse("case_edit", args=[case.pk]), edit_data(cast, case, place="图书馆"))
    assert response.status_code == 302, response.content.decode()[:3000]
    case.refresh_from_db()
    assert case.place == "图书馆"
    assert case.family == "单亲家庭，母亲务农"
    assert case.funds["sources"] == ["living_allowance"]
    assert case.victim_phone_masked == "138****8000" and case.victim_phone_enc
    victim_card = case.indicators.get(side=Side.VICTIM)
    assert victim_card.value_masked == "****1111"
    from fanzha.core import crypto

    assert crypto.decrypt(victim_card.value_enc) == "4111111111111111"
    assert crypto.decrypt(case.transfers.all()[0].from_enc) == "4111111111111111"
    edited = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.EDITED).get()
    assert edited.detail["fields"] == ["place"]
    assert crypto.decrypt(case.victim_phone_enc) == crypto.decrypt(before_phone) == "13800138000"
    assert crypto.decrypt(case.victim_id_enc) == "11010519491231002X"


def test_edit_reveal_prefills_and_is_audited(client, cast, case):
    client.force_login(cast.counsellor)
    response = client.post(reverse("case_edit", args=[case.pk]), {"reveal": "1"})
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"].startswith("no-store")
    assert "单亲家庭" in html and "4111111111111111" in html
    assert AuditRecord.objects.filter(action="reveal", object_id=str(case.pk)).count() == 1
    client.force_login(cast.college_admin)  # may edit, may not reveal
    assert client.post(reverse("case_edit", args=[case.pk]), {"reveal": "1"}).status_code == 403
    assert AuditRecord.objects.count() == 1


def test_edit_refused_for_read_only_roles(client, cast, case):
    client.force_login(cast.auditor)
    assert client.get(reverse("case_edit", args=[case.pk])).status_code == 403
    assert (
        client.post(reverse("case_edit", args=[case.pk]), edit_data(cast, case, place="x")).status_code == 403
    )
    client.force_login(cast.outsider)
    assert client.get(reverse("case_edit", args=[case.pk])).status_code == 404
    case.refresh_from_db()
    assert case.place == "宿舍"


# Timeline ----------------------------------------------------------------------------------------


def test_timeline_lists_every_event_in_order(client, cast, case):
    actions.change_state(case, CaseState.FILED, cast.police_liaison, police_case_number="J2026-1")
    actions.reveal_case(case, cast.counsellor)
    client.force_login(cast.auditor)
    html = client.get(reverse("case_timeline", args=[case.pk])).content.decode()
    lines = [
        "报告案件（工作人员录入），转账 2 笔，线索 4 条",
        "发出止付预警",
        "状态由“已预警止付”改为“已立案”",
    ]
    positions = [html.index(line) for line in lines]
    assert positions == sorted(positions)
    assert "查看了敏感信息" in html and "警务联络员" in html
    assert "单亲家庭" not in html and "13800138000" not in html
    client.force_login(cast.outsider)
    assert client.get(reverse("case_timeline", args=[case.pk])).status_code == 404


# Menu and home -----------------------------------------------------------------------------------


def test_menu_and_home_link(client, cast):
    client.force_login(cast.auditor)
    home = client.get(reverse("home")).content.decode()
    assert 'href="/cases/"' in home and "案件台账" in home and "报告案件" not in home
    client.force_login(cast.counsellor)
    page = client.get(reverse("case_new")).content.decode()
    assert re.search(r'href="/cases/"\s+aria-current="page"', page)
    client.force_login(cast.student_user)
    assert 'href="/cases/"' not in client.get(reverse("home")).content.decode()


def test_closed_case_is_not_edited(client, cast, case):
    actions.change_state(
        case, CaseState.CLOSED, cast.police_liaison, outcome="unrecovered", recovered_amount="0"
    )
    client.force_login(cast.counsellor)
    response = client.get(reverse("case_edit", args=[case.pk]))
    assert response.status_code == 302
    assert "修改案情" not in client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert Case.objects.get().state == CaseState.CLOSED
    assert Decimal(Case.objects.get().recovered_amount) == 0


def test_timeline_tells_the_alert_and_the_follow_up_in_words(client, cast, case):
    alert_actions.acknowledge_alert(case.alert, cast.police_liaison)
    alert_actions.record_alert_outcome(case.alert, cast.police_liaison, "300", "0", "")
    fu.add_session(case.followup, cast.counsellor, timezone.localdate(), "谈话一次", None)
    client.force_login(cast.auditor)
    html = client.get(reverse("case_timeline", args=[case.pk])).content.decode()
    assert "警方确认预警（预警后" in html
    assert "记录止付结果：冻结 300.00 元，追回 0.00 元" in html
    assert "记录第 1 次心理疏导" in html and "谈话一次" not in html


def test_a_bad_filter_names_the_field_in_words(client, cast, case):
    """A filter value that is not a choice says which filter, by its label, never the form's field name."""
    client.force_login(cast.school_admin)
    html = client.get(reverse("case_list"), {"unit": "999999", "state": "nonsense"}).content.decode()
    errors = html.split('<div class="errors">')[1].split("</div>")[0]
    assert "unit" not in errors and "state" not in errors
    assert "选择一个有效的选项" in errors and "：" in errors


def test_page_titles_carry_no_latin_product_name(client, cast):
    client.force_login(cast.school_admin)
    html = client.get("/").content.decode()
    title = html.split("<title>")[1].split("</title>")[0]
    assert "fanzha" not in title
