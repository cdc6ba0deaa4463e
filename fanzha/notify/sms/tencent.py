"""Tencent Cloud SMS (腾讯云短信): API 2021-01-11 ``SendSms``, signed with TC3-HMAC-SHA256.

What this follows (the local fake in ``fanzha/bench/sms_fakes.py`` checks the same, written again from
the documents):

* 「发送短信 SendSms」: POST JSON to ``https://sms.tencentcloudapi.com/`` with ``PhoneNumberSet``
  (E.164, ``+86…``), ``SmsSdkAppId``, ``SignName`` (approved), ``TemplateId`` (approved) and
  ``TemplateParamSet`` (the values of ``{1}``, ``{2}`` … in order). The answer is always
  ``{"Response": {…, "RequestId": …}}``: a request refused as a whole carries ``Error``
  (``{"Code": …, "Message": …}``); otherwise ``SendStatusSet`` holds one status per number, ``Code``
  ``"Ok"`` and a ``SerialNo`` when it was accepted.
* 「签名方法 v3」: headers ``X-TC-Action: SendSms``, ``X-TC-Version: 2021-01-11``, ``X-TC-Timestamp``
  (Unix seconds), ``X-TC-Region``; CanonicalRequest = ``POST\\n/\\n\\n`` + the signed headers
  (``content-type`` and ``host``; names and values lower-case and trimmed, ``name:value\\n`` each, in
  the names' order) + ``\\n`` + their names joined
  by ``;`` + ``\\n`` + hex(SHA256(payload)); CredentialScope = ``<UTC date>/sms/tc3_request``;
  StringToSign = ``TC3-HMAC-SHA256\\n<timestamp>\\n<scope>\\n`` + hex(SHA256(CanonicalRequest)); the
  key is HMAC-SHA256 chained from ``"TC3" + SecretKey`` over the date, the service and
  ``tc3_request``; ``Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<scope>,
  SignedHeaders=content-type;host, Signature=<hex>``. A timestamp more than 5 minutes off is
  ``AuthFailure.SignatureExpire``; a wrong signature ``AuthFailure.SignatureFailure``.
* 「错误码」 and the console's default frequency limits per number: 1 in 30 seconds, 5 an hour, 10 a
  natural day (Beijing time): ``LimitExceeded.PhoneNumberThirtySecondLimit`` / ``…OneHourLimit`` /
  ``…DailyLimit``; the row waits for that window, uncounted. A variable of a verification template is
  at most 6 digits, of another at most 12 characters unless the account is a verified enterprise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from .. import errors
from . import PARAMS, GatewayConfig, Message, fit
from .transport import Answer, Unreachable, post, provider_code

ENDPOINT = "https://sms.tencentcloudapi.com"
REGION = "ap-guangzhou"
SERVICE = "sms"
VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
PARAM_CHARS = 12
BEIJING = ZoneInfo("Asia/Shanghai")

PERMANENT: dict[str, str] = {
    "AuthFailure.SignatureFailure": errors.SMS_AUTH,
    "AuthFailure.SecretIdNotFound": errors.SMS_AUTH,
    "AuthFailure.InvalidSecretId": errors.SMS_AUTH,
    "AuthFailure.InvalidAuthorization": errors.SMS_AUTH,
    "AuthFailure.UnauthorizedOperation": errors.SMS_AUTH,
    "AuthFailure.SignatureExpire": errors.BAD_TIMESTAMP,
    "InvalidParameterValue.SdkAppIdNotExist": errors.SMS_AUTH,
    "FailedOperation.SignatureIncorrectOrUnapproved": errors.SMS_SIGN_NAME,
    "FailedOperation.TemplateIncorrectOrUnapproved": errors.SMS_TEMPLATE,
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": errors.SMS_TEMPLATE,
    "FailedOperation.MissingSignatureList": errors.SMS_SIGN_NAME,
    "InvalidParameterValue.IncorrectPhoneNumber": errors.SMS_BAD_PHONE,
    "FailedOperation.PhoneNumberParseFail": errors.SMS_BAD_PHONE,
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": errors.SMS_BAD_PHONE,
    "FailedOperation.PhoneNumberInBlacklist": errors.SMS_BLOCKED,
    "FailedOperation.InsufficientBalanceInSmsPackage": errors.SMS_BALANCE,
    "FailedOperation.ContainSensitiveWord": errors.SMS_CONTENT,
    "InvalidParameterValue.TemplateParameterFormatError": errors.SMS_PARAMS,
    "InvalidParameterValue.TemplateParameterLengthLimit": errors.SMS_PARAMS,
    "InvalidParameterValue.ContentLengthLimit": errors.SMS_PARAMS,
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": errors.SMS_PARAMS,
    "LimitExceeded.PhoneNumberCountLimit": errors.SMS_PARAMS,
}
THIRTY_SECONDS = "LimitExceeded.PhoneNumberThirtySecondLimit"
ONE_HOUR = "LimitExceeded.PhoneNumberOneHourLimit"
# Limits counted per natural day (Beijing time): the number's, the same text's, the application's.
DAILY = (
    "LimitExceeded.PhoneNumberDailyLimit",
    "LimitExceeded.PhoneNumberSameContentDailyLimit",
    "LimitExceeded.AppDailyLimit",
    "LimitExceeded.AppMainlandChinaDailyLimit",
    "LimitExceeded.DailyLimit",
)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def host_of(endpoint: str) -> str:
    return endpoint.split("://", 1)[-1].split("/", 1)[0]


def authorization(secret_id: str, secret_key: str, host: str, payload: bytes, stamp: int) -> str:
    """The ``Authorization`` header of a POST of ``payload`` to ``host`` at ``stamp`` (Unix seconds)."""
    date = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host"
    canonical_headers = f"content-type:{CONTENT_TYPE.lower()}\nhost:{host.strip().lower()}\n"
    canonical = "\n".join(
        ["POST", "/", "", canonical_headers, signed_headers, hashlib.sha256(payload).hexdigest()]
    )
    scope = f"{date}/{SERVICE}/tc3_request"
    to_sign = "\n".join([ALGORITHM, str(stamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    sign = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={sign}"


def payload(config: GatewayConfig, message: Message) -> bytes:
    values = fit(message.params, PARAM_CHARS)
    body = {
        "PhoneNumberSet": [f"+86{message.phone}"],
        "SmsSdkAppId": config.app_id,
        "SignName": config.sign_name,
        "TemplateId": config.template_for(message),
        "TemplateParamSet": [values.get(name, "") for name in PARAMS.get(message.template, ())],
    }
    return json.dumps(body, ensure_ascii=False).encode()


def headers(config: GatewayConfig, body: bytes, stamp: int) -> dict[str, str]:
    host = host_of(config.endpoint)
    return {
        "Authorization": authorization(config.key_id, config.key_secret, host, body, stamp),
        "Content-Type": CONTENT_TYPE,
        "Host": host,
        "X-TC-Action": "SendSms",
        "X-TC-Version": VERSION,
        "X-TC-Timestamp": str(stamp),
        "X-TC-Region": config.region,
    }


def next_day(now: datetime) -> datetime:
    """The start of the next natural day in Beijing time, when Tencent's daily counts start afresh."""
    tomorrow = now.astimezone(BEIJING).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0, 0, 5), BEIJING)


def _refused(code: str, now: datetime) -> errors.DeliveryError:
    if code == THIRTY_SECONDS:
        return errors.RateLimited(now + timedelta(seconds=31), code, errors.SMS_RATE_LIMITED, code)
    if code == ONE_HOUR or code == "LimitExceeded.DeliveryFrequencyLimit":
        return errors.RateLimited(now + timedelta(hours=1, seconds=1), code, errors.SMS_RATE_LIMITED, code)
    if code in DAILY:
        return errors.RateLimited(next_day(now), code, errors.SMS_RATE_LIMITED, code)
    if code.startswith("RequestLimitExceeded"):
        return errors.RateLimited(now + timedelta(seconds=61), code, errors.SMS_RATE_LIMITED, code)
    if code in PERMANENT:
        return errors.PermanentError(PERMANENT[code], code, code)
    if code.startswith(("MissingParameter", "InvalidParameter")):
        return errors.PermanentError(errors.SMS_PARAMS, code, code)
    if code.startswith(("FailedOperation.", "UnauthorizedOperation.", "UnsupportedOperation.")):
        return errors.PermanentError(errors.SMS_REJECTED, code, code)
    return errors.DeliveryError(errors.SMS_SERVICE, code, code)  # InternalError.* and the like


def classify(answer: Answer, now: datetime) -> str:
    """The SerialNo of an accepted message; otherwise the ``errors`` exception the answer means."""
    body = answer.json()
    response = body.get("Response") if isinstance(body, dict) else None
    if not isinstance(response, dict):
        if answer.status >= 500:
            raise errors.DeliveryError(errors.SMS_SERVICE, f"http {answer.status}")
        raise errors.DeliveryError(errors.BAD_ANSWER, f"http {answer.status}, not the service's format")
    error = response.get("Error")
    if isinstance(error, dict):
        raise _refused(provider_code(error.get("Code")), now)
    statuses = response.get("SendStatusSet")
    status = statuses[0] if isinstance(statuses, list) and statuses else None
    if not isinstance(status, dict):
        raise errors.DeliveryError(errors.BAD_ANSWER, "no send status")
    code = provider_code(status.get("Code"))
    if code == "Ok":
        return str(status.get("SerialNo") or "")[:100]
    raise _refused(code, now)


class TencentBackend:
    """Sends each message as its approved template through Tencent Cloud SMS (``FANZHA_SMS_*``)."""

    def __init__(self) -> None:
        self.config = GatewayConfig.from_settings(REGION, ENDPOINT)

    def send(self, message: Message) -> str:
        now = timezone.now()
        body = payload(self.config, message)
        signed = headers(self.config, body, int(now.timestamp()))
        try:
            answer = post(self.config.endpoint + "/", body, signed, self.config.timeout)
        except Unreachable as exc:
            raise errors.DeliveryError(errors.UNREACHABLE, str(exc)) from exc
        return classify(answer, now)
