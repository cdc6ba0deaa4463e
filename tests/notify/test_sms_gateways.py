"""SMS through Alibaba Cloud and Tencent Cloud (issue 12, item 5): each message goes out as the approved
template of its kind with its parameters, signed as each provider documents; the provider's answer is
recorded: accepted (its message id), rejected for good with a reason in words, rate-limited (retried
when the provider's window ends, uncounted), or the service's own trouble (retried with the back-off).

The gateways are local fakes (``fanzha/bench/sms_fakes.py``) that recompute the signatures from the
providers' documents and answer with their documented bodies; the first tests show that they refuse
what the real services refuse."""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from fanzha.bench.sms_fakes import FakeAliyun, FakeTencent, Sent
from fanzha.notify import delivery, sms
from fanzha.notify.actions import queue
from fanzha.notify.delivery import MAX_ATTEMPTS
from fanzha.notify.models import ChannelKind, Outbox
from fanzha.notify.sms import GatewayConfig, Message
from fanzha.notify.sms import aliyun as aliyun_api
from fanzha.notify.sms import tencent as tencent_api
from fanzha.notify.sms.transport import post

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


def code_sms(phone: str = PHONE, code: str = "123456") -> Outbox:
    return queue(
        ChannelKind.SMS,
        phone,
        subject="【反诈工作平台】",
        body=f"你的登录验证码是 {code}，10 分钟内有效。",
        key=f"otp:{uuid.uuid4().hex}",
        sms_template="code",
        sms_params={"code": code, "minutes": 10},
    )


def alert_sms(phone: str = PHONE) -> Outbox:
    return queue(
        ChannelKind.SMS,
        phone,
        subject="【紧急止付预警】",
        body="案件AJ2026000042 损失12,000.00元 …",
        key=f"case-alert:{uuid.uuid4().hex}",
        sms_template="alert",
        sms_params={"number": "AJ2026000042", "loss": "12000.00", "deadline": "06-01 14:30"},
        priority=Outbox.Priority.ALERT,
    )


def fresh(row: Outbox) -> Outbox:
    return Outbox.objects.get(pk=row.pk)


# The fakes refuse what the providers refuse ------------------------------------------------------------


def _aliyun_config(fake: FakeAliyun, secret: str | None = None) -> GatewayConfig:
    return GatewayConfig(
        key_id=fake.key_id,
        key_secret=fake.key_secret if secret is None else secret,
        sign_name="反诈平台",
        region="cn-hangzhou",
        app_id="",
        endpoint=fake.base,
        templates={"code": "SMS_100001"},
        timeout=2,
    )


def _aliyun_post(fake: FakeAliyun, params: dict[str, str]) -> tuple[int, dict]:
    body = urllib.parse.urlencode(params, quote_via=urllib.parse.quote).encode()
    answer = post(fake.base + "/", body, {"Content-Type": "application/x-www-form-urlencoded"}, 2)
    return answer.status, answer.json()


def test_aliyun_fake_accepts_a_documented_request_and_refuses_a_wrong_signature(aliyun):
    message = Message(PHONE, "text", "code", {"code": "123456"})
    params = aliyun_api.request_params(_aliyun_config(aliyun), message, timezone.now())
    assert _aliyun_post(aliyun, params)[1]["Code"] == "OK"
    forged = aliyun_api.request_params(
        _aliyun_config(aliyun, secret="not-the-secret"), message, timezone.now()
    )
    status, body = _aliyun_post(aliyun, forged)
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")
    assert body["Message"] == "Specified signature is not matched with our calculation."
    tampered = dict(params, PhoneNumbers="13900139000", SignatureNonce="another")  # signed for another number
    assert _aliyun_post(aliyun, tampered)[1]["Code"] == "SignatureDoesNotMatch"
    assert len(aliyun.sent) == 1


def test_aliyun_fake_refuses_a_stale_timestamp_and_a_nonce_used_twice(aliyun):
    config = _aliyun_config(aliyun)
    message = Message(PHONE, "text", "code", {"code": "123456"})
    stale = aliyun_api.request_params(config, message, timezone.now() - timedelta(minutes=16))
    status, body = _aliyun_post(aliyun, stale)
    assert (status, body["Code"]) == (400, "InvalidTimeStamp.Expired")
    params = aliyun_api.request_params(config, message, timezone.now(), nonce="same-nonce")
    assert _aliyun_post(aliyun, params)[1]["Code"] == "OK"
    other = Message("13900139000", "text", "code", {"code": "654321"})
    again = aliyun_api.request_params(config, other, timezone.now(), nonce="same-nonce")
    status, body = _aliyun_post(aliyun, again)
    assert (status, body["Code"]) == (400, "SignatureNonceUsed")


def test_aliyun_percent_encoding_is_the_documented_one():
    # space %20 (not +), * %2A, ~ kept, and UTF-8 for Chinese
    assert aliyun_api.percent_encode("a b*c~d/") == "a%20b%2Ac~d%2F"
    assert aliyun_api.percent_encode("反诈") == "%E5%8F%8D%E8%AF%88"


def _tencent_headers(fake: FakeTencent, body: bytes, stamp: int, secret: str | None = None) -> dict[str, str]:
    config = GatewayConfig(
        key_id=fake.key_id,
        key_secret=fake.key_secret if secret is None else secret,
        sign_name="反诈平台",
        region="ap-guangzhou",
        app_id=fake.app_id,
        endpoint=fake.base,
        templates={"code": "200001"},
        timeout=2,
    )
    return tencent_api.headers(config, body, stamp)


def _tencent_body(fake: FakeTencent, phone: str = PHONE) -> bytes:
    body = {
        "PhoneNumberSet": [f"+86{phone}"],
        "SmsSdkAppId": fake.app_id,
        "SignName": "反诈平台",
        "TemplateId": "200001",
        "TemplateParamSet": ["123456", "10"],
    }
    return json.dumps(body, ensure_ascii=False).encode()


def _tencent_code(fake: FakeTencent, body: bytes, headers: dict[str, str]) -> str:
    answer = post(fake.base + "/", body, headers, 2).json()["Response"]
    return answer["Error"]["Code"] if "Error" in answer else answer["SendStatusSet"][0]["Code"]


def test_tencent_fake_accepts_a_tc3_signed_request_and_refuses_forgeries(tencent):
    now = int(timezone.now().timestamp())
    body = _tencent_body(tencent)
    assert _tencent_code(tencent, body, _tencent_headers(tencent, body, now)) == "Ok"
    wrong_key = _tencent_headers(tencent, body, now, secret="not-the-key")
    assert _tencent_code(tencent, body, wrong_key) == "AuthFailure.SignatureFailure"
    # signed for one body, sent with another
    other = _tencent_body(tencent, "13900139000")
    assert (
        _tencent_code(tencent, other, _tencent_headers(tencent, body, now)) == "AuthFailure.SignatureFailure"
    )
    stale = _tencent_headers(tencent, body, now - 6 * 60)
    assert _tencent_code(tencent, body, stale) == "AuthFailure.SignatureExpire"
    unknown = dict(_tencent_headers(tencent, body, now))
    unknown["Authorization"] = unknown["Authorization"].replace(tencent.key_id, "AKIDnobody")
    assert _tencent_code(tencent, body, unknown) == "AuthFailure.SecretIdNotFound"
    assert len(tencent.sent) == 1


def test_tencent_fake_checks_template_variables(tencent):
    now = int(timezone.now().timestamp())
    body = json.loads(_tencent_body(tencent))
    for values, code in (
        (["1234567", "10"], "InvalidParameterValue.TemplateParameterFormatError"),  # a code: at most 6 digits
        (["123456"], "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"),
    ):
        raw = json.dumps({**body, "TemplateParamSet": values}).encode()
        assert _tencent_code(tencent, raw, _tencent_headers(tencent, raw, now)) == code
    raw = json.dumps(
        {**body, "TemplateId": "200003", "TemplateParamSet": ["一二三四五六七八九十一二三"]}
    ).encode()
    assert _tencent_code(tencent, raw, _tencent_headers(tencent, raw, now)) == (
        "InvalidParameterValue.TemplateParameterLengthLimit"
    )


# Delivery through Alibaba Cloud --------------------------------------------------------------------------


def test_aliyun_sends_the_approved_template_and_records_the_biz_id(aliyun):
    row = delivery.deliver_now(code_sms())
    assert row.status == Outbox.Status.SENT and row.status_text == "已发送"
    [sent] = aliyun.sent
    assert (sent.phone, sent.sign_name, sent.template, sent.params) == (
        PHONE,
        "反诈平台",
        "SMS_100001",
        {"code": "123456"},
    )
    assert row.provider_ref == sent.reference and row.provider_code == ""
    # a one-time code leaves nothing behind: masked number, no text, no parameters
    assert (row.address, row.body, row.sms_params) == ("138****8000", "-", {})


def test_aliyun_alert_parameters_fit_its_variables(aliyun):
    row = delivery.deliver_now(alert_sms())
    assert row.status == Outbox.Status.SENT
    assert aliyun.sent[0].params == {"number": "AJ2026000042", "loss": "12000.00", "deadline": "06-01 14:30"}
    assert row.sms_params["number"] == "AJ2026000042"  # kept: only a code's parameters are blanked


def test_an_invalid_number_is_rejected_for_good_with_the_reason(aliyun):
    row = delivery.deliver_now(code_sms(phone="01062345678"))  # a landline: no SMS
    assert row.status == Outbox.Status.FAILED and row.attempts == MAX_ATTEMPTS
    assert (row.last_error, row.provider_code) == ("sms_bad_phone", "isv.MOBILE_NUMBER_ILLEGAL")
    assert row.status_text == "发送失败：手机号无效或不能接收短信"
    assert delivery.deliver_pending(timezone.now() + timedelta(days=2)).sent == 0  # never retried
    assert aliyun.codes() == ["isv.MOBILE_NUMBER_ILLEGAL"]


def test_a_template_not_approved_is_rejected_for_good(aliyun, settings):
    settings.FANZHA_SMS_TEMPLATES = {**settings.FANZHA_SMS_TEMPLATES, "code": "SMS_999999"}
    row = delivery.deliver_now(code_sms())
    assert (row.status, row.attempts, row.last_error) == (Outbox.Status.FAILED, MAX_ATTEMPTS, "sms_template")
    assert row.provider_code == "isv.SMS_TEMPLATE_ILLEGAL"


def test_a_wrong_key_is_rejected_for_good(aliyun, settings):
    settings.FANZHA_SMS_KEY_SECRET = "rotated-away"
    row = delivery.deliver_now(code_sms())
    assert (row.status, row.last_error, row.provider_code) == (
        Outbox.Status.FAILED,
        "sms_auth",
        "SignatureDoesNotMatch",
    )
    assert "密钥" in row.status_text


def test_a_kind_without_a_template_is_not_sent_at_all(aliyun, settings):
    settings.FANZHA_SMS_TEMPLATES = {"code": "SMS_100001"}
    row = delivery.deliver_now(alert_sms())
    assert (row.status, row.last_error) == (Outbox.Status.FAILED, "sms_no_template")
    assert aliyun.exchanges == []  # nothing was asked of the gateway


def test_aliyun_rate_limit_waits_for_its_window_uncounted(aliyun):
    now = timezone.now()
    first = delivery.deliver_now(code_sms(code="111111"), now=now)
    second = delivery.deliver_now(code_sms(code="222222"), now=now)
    assert first.status == Outbox.Status.SENT
    assert second.status == Outbox.Status.PENDING and second.attempts == 0
    assert (second.last_error, second.provider_code) == ("sms_rate_limited", "isv.BUSINESS_LIMIT_CONTROL")
    assert timedelta(seconds=60) < second.not_before - now < timedelta(seconds=63)  # the minute's window
    assert "限流" in second.error_text
    assert delivery.deliver_pending(now + timedelta(seconds=30)).sent == 0  # still waiting
    aliyun.advance(61)
    assert delivery.deliver_pending(now + timedelta(seconds=65)).sent == 1
    assert fresh(second).status == Outbox.Status.SENT and len(aliyun.sent) == 2


def test_aliyun_hour_limit_waits_an_hour(aliyun):
    now = timezone.now()
    for i in range(5):
        aliyun.advance(61)
        assert delivery.deliver_now(code_sms(code=f"10000{i}"), now=now).status == Outbox.Status.SENT
    aliyun.advance(61)
    sixth = delivery.deliver_now(code_sms(code="100009"), now=now)
    assert sixth.status == Outbox.Status.PENDING
    assert timedelta(hours=1) < sixth.not_before - now < timedelta(hours=1, seconds=5)
    assert aliyun.exchanges[-1].answer["Message"] == "触发小时级流控Permits:5"


def test_service_trouble_is_retried_with_the_back_off(aliyun):
    aliyun.outage(1)
    now = timezone.now()
    row = delivery.deliver_now(alert_sms(), now=now)
    assert (row.status, row.attempts, row.last_error) == (Outbox.Status.FAILED, 1, "sms_service")
    assert row.not_before == now + timedelta(minutes=1) and row.address != "138****8000"  # number kept
    assert delivery.deliver_pending(now + timedelta(minutes=2)).sent == 1
    assert fresh(row).status == Outbox.Status.SENT and len(aliyun.sent) == 1


def test_no_answer_in_time_is_retried(aliyun, settings):
    settings.FANZHA_SMS_TIMEOUT = 0.3
    aliyun.stall(1.0)
    now = timezone.now()
    row = delivery.deliver_now(alert_sms(), now=now)
    assert (row.status, row.last_error) == (Outbox.Status.FAILED, "unreachable")
    assert delivery.deliver_pending(now + timedelta(minutes=2)).sent == 1


# Delivery through Tencent Cloud --------------------------------------------------------------------------


def test_tencent_sends_the_template_parameters_in_order_and_records_the_serial_no(tencent):
    row = delivery.deliver_now(alert_sms())
    assert row.status == Outbox.Status.SENT
    [sent] = tencent.sent
    assert (sent.template, sent.params) == ("200002", ["AJ2026000042", "12000.00", "06-01 14:30"])
    assert row.provider_ref == sent.reference and sent.reference.startswith("2433:")
    code = delivery.deliver_now(code_sms(phone="13900139000"))
    assert tencent.sent[-1].params == ["123456", "10"] and code.status == Outbox.Status.SENT


def test_tencent_long_values_are_cut_to_its_variable_length(tencent):
    row = queue(
        ChannelKind.SMS,
        PHONE,
        subject="提醒",
        body="…",
        key="r:long",
        sms_template="reminder",
        sms_params={"item": "一个名字非常非常长的反诈专项任务"},
    )
    assert delivery.deliver_now(row).status == Outbox.Status.SENT
    assert len(tencent.sent[0].params[0]) == 12


def test_tencent_thirty_second_limit_waits_uncounted(tencent):
    now = timezone.now()
    assert delivery.deliver_now(code_sms(), now=now).status == Outbox.Status.SENT
    second = delivery.deliver_now(alert_sms(), now=now)
    assert (second.status, second.attempts, second.provider_code) == (
        Outbox.Status.PENDING,
        0,
        "LimitExceeded.PhoneNumberThirtySecondLimit",
    )
    assert timedelta(seconds=30) < second.not_before - now < timedelta(seconds=33)
    tencent.advance(31)
    assert delivery.deliver_pending(now + timedelta(seconds=35)).sent == 1


def test_tencent_daily_limit_waits_for_the_next_day_in_beijing(tencent):
    beijing = ZoneInfo("Asia/Shanghai")
    # the fake's clock at 20:00 Beijing time, ten messages already sent that day
    evening = datetime.combine(timezone.now().astimezone(beijing).date(), datetime.min.time(), beijing)
    evening += timedelta(hours=20)
    tencent.offset = evening.timestamp() - time.time()
    for i in range(10):  # one every 80 minutes from 6:40 on: never five within an hour
        at = evening.timestamp() - 80 * 60 * (i + 1)
        tencent.sent.append(Sent(PHONE, "反诈平台", "200001", [], f"earlier-{i}", at))
    row = delivery.deliver_now(alert_sms())
    assert (row.status, row.provider_code) == (Outbox.Status.PENDING, "LimitExceeded.PhoneNumberDailyLimit")
    wait = row.not_before.astimezone(beijing)
    assert (wait.hour, wait.minute) == (
        0,
        0,
    ) and timezone.now() < row.not_before < timezone.now() + timedelta(days=1)


def test_tencent_rejections_say_why(tencent, settings):
    row = delivery.deliver_now(code_sms(phone="01062345678"))
    assert (row.status, row.last_error, row.provider_code) == (
        Outbox.Status.FAILED,
        "sms_bad_phone",
        "InvalidParameterValue.IncorrectPhoneNumber",
    )
    settings.FANZHA_SMS_SIGN_NAME = "没审核的签名"
    row = delivery.deliver_now(code_sms(phone="13900139000"))
    assert (row.last_error, row.provider_code) == (
        "sms_sign_name",
        "FailedOperation.SignatureIncorrectOrUnapproved",
    )
    assert row.attempts == MAX_ATTEMPTS


def test_backend_names_and_the_default(settings):
    settings.FANZHA_SMS_BACKEND = "none"
    assert not sms.configured() and isinstance(sms.backend(), sms.LogBackend)
    settings.FANZHA_SMS_BACKEND = "fanzha.notify.sms.LogBackend"  # the former default, still understood
    assert not sms.configured()
    settings.FANZHA_SMS_BACKEND = "aliyun"
    assert sms.configured() and isinstance(sms.backend(), aliyun_api.AliyunBackend)
    settings.FANZHA_SMS_BACKEND = "tencent"
    assert isinstance(sms.backend(), tencent_api.TencentBackend)
