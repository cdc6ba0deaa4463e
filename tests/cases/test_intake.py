"""Bad input at the intake: each refused with a clear message, and nothing changes (no case, line,
file or event is written). Good Chinese phone formats are accepted."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from fanzha.cases import actions
from fanzha.cases.intake import IndicatorIn, TransferIn
from fanzha.cases.models import Attachment, Case, CaseEvent, Indicator, IndicatorKind, Side, Transfer
from tests.campaigns.files import jpeg, upload
from tests.cases.conftest import BAD_CARD, intake
from tests.cases.test_case_views import form_data

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Case, Indicator, Transfer, Attachment, CaseEvent))


def refused(cast, data, **kwargs) -> str:
    """Report ``data``; assert it is refused and nothing was written; return the messages."""
    before = counts()
    with pytest.raises(ValidationError) as info:
        actions.report_case(data, cast.counsellor, **kwargs)
    assert counts() == before
    return " ".join(info.value.messages)


def now():
    return timezone.now()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"victim_phone": "1380013800"}, "手机号格式不正确"),
        ({"victim_phone": "+1 212 555 0100"}, "手机号格式不正确"),
        ({"victim_id_number": "110105194912310021"}, "身份证号校验位错误"),
        ({"victim_id_number": "11010519491231"}, "身份证号应为18位"),
        ({"indicators": [IndicatorIn(IndicatorKind.PHONE, "12345")]}, "第1条线索：电话号码“12345”格式不正确"),
        ({"indicators": [IndicatorIn(IndicatorKind.BANK_CARD, BAD_CARD)]}, "校验位错误"),
        ({"indicators": [IndicatorIn(IndicatorKind.QQ, "01234")]}, "QQ号"),
        ({"indicators": [IndicatorIn(IndicatorKind.URL, "not a url")]}, "网址"),
        ({"total_loss": "-1"}, "损失金额不能为负数"),
        ({"total_loss": "100.005"}, "最多保留两位小数"),
        ({"total_loss": "200000000"}, "超过1亿元"),
        ({"total_loss": "abc"}, "不是金额"),
        ({"channel": "telegram"}, "请选择接触方式"),
        ({"fraud_type": ""}, "请选择诈骗类型"),
        ({"occurred_at": None}, "请填写发案时间"),
    ],
)
def test_bad_fields_are_refused(cast, change, message):
    data = intake(cast.cs2301, cast.student)
    for key, value in change.items():
        setattr(data, key, value)
    assert message in refused(cast, data)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-100", "金额不能为负数"),
        ("12.345", "最多保留两位小数"),
        ("1000000000", "超过1亿元"),
        ("0", "金额应大于0"),
        ("一千", "不是金额"),
    ],
)
def test_bad_transfer_amounts(cast, amount, message):
    t = now()
    data = intake(cast.cs2301, cast.student, now=t)
    data.transfers = [TransferIn(t - timedelta(hours=1), amount, "bank_transfer")]
    text = refused(cast, data)
    assert "第1笔转账" in text and message in text


def test_times_in_the_future_or_after_the_report(cast):
    t = now()
    future = intake(cast.cs2301, cast.student, now=t, occurred_at=t + timedelta(hours=2))
    assert "发案时间不能晚于现在" in refused(cast, future)
    reported = intake(cast.cs2301, cast.student, now=t, reported_at=t + timedelta(days=1))
    assert "报案时间不能晚于现在" in refused(cast, reported)
    late = intake(cast.cs2301, cast.student, now=t)
    late.reported_at = t - timedelta(hours=3)
    late.transfers = [TransferIn(t - timedelta(hours=1), "100", "alipay")]
    assert "转账时间不能晚于报案时间" in refused(cast, late)
    ahead = intake(cast.cs2301, cast.student, now=t)
    ahead.transfers = [TransferIn(t + timedelta(hours=1), "100", "alipay")]
    assert "转账时间不能晚于现在" in refused(cast, ahead)


def test_a_victim_account_is_named_masked_in_the_message(cast):
    data = intake(cast.cs2301, cast.student)
    data.indicators = [IndicatorIn(IndicatorKind.BANK_CARD, BAD_CARD, side=Side.VICTIM)]
    text = refused(cast, data)
    assert BAD_CARD not in text and "****" + BAD_CARD[-4:] in text and "校验位错误" in text


def test_attachment_that_lies_about_its_type(cast):
    pdf = upload("receipt.jpg", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n", "image/jpeg")
    text = refused(cast, intake(cast.cs2301, cast.student), attachments=[pdf])
    assert "receipt.jpg" in text and "扩展名" in text


def test_attachment_that_lies_through_the_form(client, cast):
    client.force_login(cast.counsellor)
    pdf = upload("receipt.jpg", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n", "image/jpeg")
    before = counts()
    response = client.post(reverse("case_new"), {**form_data(cast), "attachments": [pdf]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "与扩展名 .jpg 不符" in html and "请重新选择附件" in html
    assert counts() == before


def test_attachment_that_lies_on_the_case_page(client, cast):
    case = actions.report_case(intake(cast.cs2301, cast.student), cast.counsellor)
    client.force_login(cast.counsellor)
    pdf = upload("chat.png", b"%PDF-1.4\n%%EOF\n", "image/png")
    before = counts()
    response = client.post(reverse("case_attach", args=[case.pk]), {"attachments": [pdf]}, follow=True)
    assert "与扩展名 .png 不符" in response.content.decode()
    assert counts() == before


def test_a_good_attachment_is_kept(cast):
    case = actions.report_case(
        intake(cast.cs2301, cast.student),
        cast.counsellor,
        attachments=[upload("a.jpg", jpeg(), "image/jpeg")],
    )
    assert case.attachments.get().content_type == "image/jpeg"


def test_double_submit_writes_once(cast):
    data = intake(cast.cs2301, cast.student)
    first = actions.report_case(data, cast.counsellor, submit_token="same")
    before = counts()
    again = actions.report_case(data, cast.counsellor, submit_token="same")
    assert again.pk == first.pk and counts() == before


def test_victim_out_of_scope_is_refused(cast):
    before = counts()
    with pytest.raises(ValidationError):
        actions.report_case(intake(cast.cs2301, cast.math_student), cast.counsellor)
    assert counts() == before


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+86 171 2345 6789", "17123456789"),
        ("0086-138-0013-8000", "13800138000"),
        ("400-810-8888", "4008108888"),
        ("800 820 8820", "8008208820"),
        ("95588", "95588"),
        ("(010) 6552 9988", "01065529988"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_chinese_phone_formats_are_accepted(cast, raw, stored):
    data = intake(cast.cs2301, cast.student)
    data.indicators = [IndicatorIn(IndicatorKind.PHONE, raw)]
    data.victim_phone = raw if not raw.startswith("+44") else ""
    case = actions.report_case(data, cast.counsellor)
    assert case.indicators.get().value == stored


def test_amounts_with_two_decimals_and_separators(cast):
    t = now()
    data = intake(cast.cs2301, cast.student, now=t)
    data.transfers = [TransferIn(t - timedelta(hours=1), "¥1,234.50元", "bank_transfer")]
    case = actions.report_case(data, cast.counsellor)
    assert case.total_loss == Decimal("1234.50")


def test_edit_keeps_sensitive_values_left_empty_and_replaces_typed_ones(cast):
    from fanzha.core import crypto

    case = actions.report_case(intake(cast.cs2301, cast.student), cast.counsellor)
    blank = intake(cast.cs2301, cast.student, fund_sources=[], funds_note="", family="")
    blank.occurred_at, blank.reported_at = case.occurred_at, case.reported_at
    blank.transfers = [
        TransferIn(t.at, t.amount, t.method, t.from_masked, t.to_account, t.to_name)
        for t in case.transfers.all()
    ]
    blank.indicators = [
        IndicatorIn(i.kind, i.value or i.value_masked, i.side, i.note) for i in case.indicators.all()
    ]
    actions.edit_case(case, blank, cast.counsellor)
    case.refresh_from_db()
    assert case.family == "单亲家庭，母亲务农" and case.funds["note"] == "本月生活费"
    assert crypto.decrypt(case.victim_phone_enc) == "13800138000"
    assert crypto.decrypt(case.indicators.get(side=Side.VICTIM).value_enc) == "4111111111111111"
    assert not case.events.filter(kind=CaseEvent.Kind.EDITED).exists()  # nothing changed

    blank.victim_phone, blank.family = "139 0013 9002", "父母均在外务工"
    actions.edit_case(case, blank, cast.counsellor)
    case.refresh_from_db()
    assert crypto.decrypt(case.victim_phone_enc) == "13900139002" and case.family == "父母均在外务工"
    event = case.events.get(kind=CaseEvent.Kind.EDITED)
    assert sorted(event.detail["fields"]) == ["family", "victim_phone"]
    assert "13900139002" not in str(event.detail)


def test_edit_refuses_bad_input_and_changes_nothing(cast):
    case = actions.report_case(intake(cast.cs2301, cast.student), cast.counsellor)
    before = counts(), case.total_loss
    with pytest.raises(ValidationError):
        actions.edit_case(case, intake(cast.cs2301, cast.student, total_loss="-3"), cast.counsellor)
    with pytest.raises(ValidationError):
        actions.edit_case(case, intake(cast.cs2301, cast.math_student), cast.counsellor)
    case.refresh_from_db()
    assert (counts(), case.total_loss) == before
