"""Alibaba Cloud SMS (阿里云短信服务): Dysmsapi 2017-05-25 ``SendSms`` over its documented RPC HTTP API.

What this follows (the local fake in ``fanzha/bench/sms_fakes.py`` checks the same, written again from
the documents):

* 「SendSms - 发送短信」: POST to ``https://dysmsapi.aliyuncs.com/`` with ``PhoneNumbers`` (mainland
  11 digits), ``SignName`` (an approved signature), ``TemplateCode`` (an approved template,
  ``SMS_…``) and ``TemplateParam`` (a JSON object of strings, one per ``${name}`` of the template; a
  verification-code template has one variable, 4 to 6 digits, a notice's each at most 35 characters).
  Success is HTTP 200 ``{"Code": "OK", "Message": "OK", "BizId": …, "RequestId": …}``.
* 「签名机制」 (RPC, signature version 1.0): the common parameters ``Format=JSON``,
  ``Version=2017-05-25``, ``AccessKeyId``, ``SignatureMethod=HMAC-SHA1``, ``Timestamp``
  (ISO 8601 UTC, ``yyyy-MM-ddTHH:mm:ssZ``), ``SignatureVersion=1.0``, ``SignatureNonce`` (unique per
  request); every parameter but ``Signature`` sorted by name, names and values percent-encoded
  (UTF-8; ``A-Z a-z 0-9 - _ . ~`` kept, space as ``%20``, ``*`` as ``%2A``) and joined with ``=`` and
  ``&``; StringToSign = ``POST&%2F&`` + percentEncode(that query); Signature = base64(HMAC-SHA1(key =
  AccessKeySecret + "&", StringToSign)). A timestamp more than 15 minutes off is refused
  (``InvalidTimeStamp.Expired``), a nonce used again too (``SignatureNonceUsed``), a wrong signature
  with HTTP 400 ``SignatureDoesNotMatch``, an unknown key with HTTP 404 ``InvalidAccessKeyId.NotFound``.
* 「短信发送频率限制」: per number and signature, a verification code at most 1 a minute, 5 an hour, 10
  a day (24 hours back from now); a notice at most 50 a day per template. Past that the answer is
  ``isv.BUSINESS_LIMIT_CONTROL`` with "触发分钟级流控" / "触发小时级流控" / "触发天级流控" in the message:
  the row waits for that window (``RateLimited``), uncounted.
* 「错误码」: the ``isv.*`` codes below, each a reason in our words (``errors``); ``isp.SYSTEM_ERROR``
  and HTTP 5xx are the service's own trouble and are retried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from .. import errors
from . import PARAMS, GatewayConfig, Message, Template, fit
from .transport import Answer, Unreachable, post, provider_code

ENDPOINT = "https://dysmsapi.aliyuncs.com"
REGION = "cn-hangzhou"
VERSION = "2017-05-25"
PARAM_CHARS = 35  # a notice template's variable: at most 35 characters (a code's: 4 to 6 digits)
# A verification-code template has exactly one variable, the code (its text says how long it lasts);
# the other kinds name theirs as ``PARAMS`` does.
NAMES = {**PARAMS, Template.CODE: ("code",)}

# The documented result codes, by what they mean for the row.
PERMANENT: dict[str, str] = {
    "isv.MOBILE_NUMBER_ILLEGAL": errors.SMS_BAD_PHONE,
    "isv.MOBILE_COUNT_OVER_LIMIT": errors.SMS_BAD_PHONE,
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": errors.SMS_BAD_PHONE,
    "isv.SMS_TEMPLATE_ILLEGAL": errors.SMS_TEMPLATE,
    "isv.TEMPLATE_MISSING_PARAMETERS": errors.SMS_TEMPLATE,
    "isv.SMS_SIGNATURE_ILLEGAL": errors.SMS_SIGN_NAME,
    "isv.SMS_SIGN_ILLEGAL": errors.SMS_SIGN_NAME,
    "isv.INVALID_PARAMETERS": errors.SMS_PARAMS,
    "isv.INVALID_JSON_PARAM": errors.SMS_PARAMS,
    "isv.PARAM_LENGTH_LIMIT": errors.SMS_PARAMS,
    "isv.TEMPLATE_PARAMS_ILLEGAL": errors.SMS_PARAMS,
    "isv.PARAM_NOT_SUPPORT_URL": errors.SMS_PARAMS,
    "isv.AMOUNT_NOT_ENOUGH": errors.SMS_BALANCE,
    "isv.OUT_OF_SERVICE": errors.SMS_BALANCE,
    "isv.ACCOUNT_NOT_EXISTS": errors.SMS_BALANCE,
    "isv.ACCOUNT_ABNORMAL": errors.SMS_BALANCE,
    "isv.PRODUCT_UN_SUBSCRIPT": errors.SMS_BALANCE,
    "isv.PRODUCT_UNSUBSCRIBE": errors.SMS_BALANCE,
    "isv.BLACK_KEY_CONTROL_LIMIT": errors.SMS_CONTENT,
    "isv.SMS_CONTENT_ILLEGAL": errors.SMS_CONTENT,
    "isv.DENY_IP_RANGE": errors.SMS_AUTH,
    "isp.RAM_PERMISSION_DENY": errors.SMS_AUTH,
    "SignatureDoesNotMatch": errors.SMS_AUTH,
    "IncompleteSignature": errors.SMS_AUTH,
    "InvalidAccessKeyId.NotFound": errors.SMS_AUTH,
    "InvalidAccessKeyId.Inactive": errors.SMS_AUTH,
    "Forbidden.RAM": errors.SMS_AUTH,
    "InvalidTimeStamp.Expired": errors.BAD_TIMESTAMP,
    "InvalidTimeStamp.Format": errors.BAD_TIMESTAMP,
}
LIMIT_CONTROL = "isv.BUSINESS_LIMIT_CONTROL"
DAY_LIMIT = "isv.DAY_LIMIT_CONTROL"  # the account's own daily quota
# Windows of ``isv.BUSINESS_LIMIT_CONTROL`` by the level its message names (with a margin for clocks).
WINDOWS = (
    ("分钟级", timedelta(seconds=61)),
    ("小时级", timedelta(hours=1, seconds=1)),
    ("天级", timedelta(days=1)),
)


def percent_encode(value: str) -> str:
    """The documented encoding: UTF-8, only ``A-Z a-z 0-9 - _ . ~`` kept, space as %20, ``*`` as %2A."""
    return urllib.parse.quote(value, safe="-_.~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(query)}"


def signature(secret: str, method: str, params: dict[str, str]) -> str:
    """base64(HMAC-SHA1(key = secret + "&", StringToSign)); ``params`` without ``Signature``."""
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_params(
    config: GatewayConfig, message: Message, now: datetime, nonce: str | None = None
) -> dict[str, str]:
    """Every parameter of one ``SendSms`` call, signed."""
    params = {
        "Action": "SendSms",
        "Version": VERSION,
        "Format": "JSON",
        "RegionId": config.region,
        "AccessKeyId": config.key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "Timestamp": timestamp(now),
        "PhoneNumbers": message.phone,
        "SignName": config.sign_name,
        "TemplateCode": config.template_for(message),
        "TemplateParam": json.dumps(_values(message), ensure_ascii=False),
    }
    params["Signature"] = signature(config.key_secret, "POST", params)
    return params


def _values(message: Message) -> dict[str, str]:
    """The template's variables, by name, each within the documented length."""
    names = NAMES.get(message.template, tuple(message.params))
    return fit({name: message.params.get(name, "") for name in names}, PARAM_CHARS)


def classify(answer: Answer, now: datetime) -> str:
    """The BizId of an accepted message; otherwise the ``errors`` exception the answer means."""
    body = answer.json()
    code = provider_code(body.get("Code")) if isinstance(body, dict) else ""
    if answer.status == 200 and code == "OK":
        return str(body.get("BizId") or "")[:100]
    if not code:
        if answer.status >= 500:
            raise errors.DeliveryError(errors.SMS_SERVICE, f"http {answer.status}")
        raise errors.DeliveryError(errors.BAD_ANSWER, f"http {answer.status}, not the service's format")
    if code == LIMIT_CONTROL:
        message = str(body.get("Message") or "")
        window = next((w for level, w in WINDOWS if level in message), timedelta(hours=1, seconds=1))
        raise errors.RateLimited(now + window, code, errors.SMS_RATE_LIMITED, code)
    if code == DAY_LIMIT or code.startswith("Throttling"):
        wait = timedelta(days=1) if code == DAY_LIMIT else timedelta(seconds=61)
        raise errors.RateLimited(now + wait, code, errors.SMS_RATE_LIMITED, code)
    if code in PERMANENT:
        raise errors.PermanentError(PERMANENT[code], code, code)
    if code.startswith(("MissingParameter", "InvalidParameter")):
        raise errors.PermanentError(errors.SMS_PARAMS, code, code)
    if code.startswith("isv.") and answer.status < 500:
        raise errors.PermanentError(errors.SMS_REJECTED, code, code)  # a business refusal we do not know
    raise errors.DeliveryError(errors.SMS_SERVICE, code, code)  # isp.SYSTEM_ERROR, ServiceUnavailable …


class AliyunBackend:
    """Sends each message as its approved template through Alibaba Cloud SMS (``FANZHA_SMS_*``)."""

    def __init__(self) -> None:
        self.config = GatewayConfig.from_settings(REGION, ENDPOINT)

    def send(self, message: Message) -> str:
        now = timezone.now()
        params = request_params(self.config, message, now)
        body = urllib.parse.urlencode(params, quote_via=urllib.parse.quote).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Accept": "application/json",
        }
        try:
            answer = post(self.config.endpoint + "/", body, headers, self.config.timeout)
        except Unreachable as exc:
            raise errors.DeliveryError(errors.UNREACHABLE, str(exc)) from exc
        return classify(answer, now)
