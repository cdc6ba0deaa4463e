"""Local fakes of the two SMS gateways, Alibaba Cloud SMS and Tencent Cloud SMS, for the tests.

Why fakes that refuse: a gateway that accepts anything proves nothing — a wrong signature, a stale
timestamp, a template nobody approved, a variable too long or the sixth code of the hour to one number
would all look sent. Each fake checks what its service checks, by its documentation, and answers with
that service's documented bodies; the signatures are computed here again from the documents, not
imported from the code under test, so that a mistake on either side shows.

Alibaba Cloud SMS — 「SendSms」, 「签名机制」 (RPC, version 1.0), 「短信发送频率限制」, 「错误码」:
    POST / with the parameters form-encoded (or in the query). Common parameters Action=SendSms,
    Version=2017-05-25, Format, AccessKeyId, SignatureMethod=HMAC-SHA1, SignatureVersion=1.0,
    SignatureNonce, Timestamp (``yyyy-MM-ddTHH:mm:ssZ``, UTC), Signature = base64(HMAC-SHA1(key =
    secret + "&", "POST&%2F&" + percentEncode(the sorted, percent-encoded query))). Gateway errors
    come with their HTTP status and ``{"RequestId", "HostId", "Code", "Message", "Recommend"}``:
    404 InvalidAccessKeyId.NotFound "Specified access key is not found."; 400 SignatureDoesNotMatch
    "Specified signature is not matched with our calculation."; 400 InvalidTimeStamp.Expired
    "Specified time stamp or date value is expired." (more than 15 minutes off); 400
    SignatureNonceUsed "Specified signature nonce was used already."; 400 IncompleteSignature. SMS
    errors come with HTTP 200 and ``{"Code", "Message", "RequestId"}``: isv.MOBILE_NUMBER_ILLEGAL
    "非法手机号", isv.SMS_SIGNATURE_ILLEGAL "该账号下找不到对应签名", isv.SMS_TEMPLATE_ILLEGAL
    "该账号下找不到对应模板", isv.INVALID_JSON_PARAM "JSON参数不合法，只接受字符串值",
    isv.TEMPLATE_MISSING_PARAMETERS "模板变量缺少对应参数值", isv.PARAM_LENGTH_LIMIT "参数超出长度限制"
    (a code 4 to 6 digits, a notice's variable at most 35 characters), isv.AMOUNT_NOT_ENOUGH
    "账户余额不足", isv.BUSINESS_LIMIT_CONTROL "触发分钟级流控Permits:1" / "触发小时级流控Permits:5" /
    "触发天级流控Permits:10" (a verification code: 1 a minute, 5 an hour, 10 in 24 hours per number and
    signature; a notice: 50 in 24 hours per number, signature and template). Success ``{"Code": "OK",
    "Message": "OK", "BizId": …, "RequestId": …}``.
Tencent Cloud SMS — 「SendSms」 (2021-01-11), 「签名方法 v3」, 「公共参数」, 「错误码」:
    POST / JSON with headers X-TC-Action=SendSms, X-TC-Version=2021-01-11, X-TC-Timestamp, X-TC-Region
    and ``Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/tc3_request,
    SignedHeaders=…, Signature=…`` (the canonical request of the signed headers, names and values
    lower-case; the key chained from "TC3" + SecretKey over the date, "sms" and "tc3_request"). Every
    answer is HTTP 200 ``{"Response": {…, "RequestId": …}}``; a refused request carries ``Error``
    ``{"Code", "Message"}``: AuthFailure.InvalidAuthorization, AuthFailure.SecretIdNotFound,
    AuthFailure.SignatureExpire (more than 5 minutes off), AuthFailure.SignatureFailure,
    InvalidParameterValue.SdkAppIdNotExist, FailedOperation.SignatureIncorrectOrUnapproved,
    FailedOperation.TemplateIncorrectOrUnapproved, FailedOperation.TemplateParamSetNotMatchApprovedTemplate,
    InvalidParameterValue.TemplateParameterFormatError (a verification variable: at most 6 digits),
    InvalidParameterValue.TemplateParameterLengthLimit (another: at most 12 characters),
    FailedOperation.InsufficientBalanceInSmsPackage. Otherwise ``SendStatusSet`` has one status per
    number: ``{"SerialNo", "PhoneNumber", "Fee", "SessionContext", "Code": "Ok", "Message": "send
    success", "IsoCode": "CN"}``, or the number's refusal: InvalidParameterValue.IncorrectPhoneNumber,
    LimitExceeded.PhoneNumberThirtySecondLimit / PhoneNumberOneHourLimit / PhoneNumberDailyLimit (the
    console's defaults: 1 in 30 seconds, 5 an hour, 10 a natural day, Beijing time).

Each fake keeps its own clock for the rate-limit windows (``advance`` moves it, so a test reaches a
window's end without waiting; timestamps are checked against the real time, as the sender signs with
it), records every request and its answer, and can play the service's trouble: ``outage`` (HTTP 503
with the service's "service unavailable" body) and ``stall`` (no answer before the sender's timeout).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any

from . import fakehttp

ALIYUN, TENCENT = "aliyun", "tencent"
VERIFY, NOTICE = "verify", "notice"
BEIJING = timezone(timedelta(hours=8))
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


@dataclass
class Sent:
    """One message the fake accepted."""

    phone: str
    sign_name: str
    template: str
    params: Any  # a dict (Alibaba Cloud) or a list (Tencent Cloud)
    reference: str
    at: float


@dataclass
class Exchange:
    status: int
    answer: Any
    code: str


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


@dataclass
class FakeGateway:
    """What both fakes share: the account, the clock, the record, the trouble to play."""

    kind: str
    key_id: str
    key_secret: str
    sign_names: tuple[str, ...]
    # template id → (VERIFY or NOTICE, variable names (Alibaba Cloud) or count (Tencent Cloud))
    templates: dict[str, tuple[str, Any]]
    balance: int = 1000
    base: str = ""
    offset: float = 0.0
    outages: int = 0
    stall_seconds: float = 0.0
    stalls: int = 0
    sent: list[Sent] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on (a rate-limit window ends without the test waiting for it)."""
        with self.lock:
            self.offset += seconds

    def outage(self, requests: int = 1) -> None:
        """Answer the next ``requests`` with HTTP 503."""
        with self.lock:
            self.outages += requests

    def stall(self, seconds: float, requests: int = 1) -> None:
        """Let the next ``requests`` go unanswered for ``seconds`` (past the sender's timeout), then drop
        them unprocessed, as a request lost on the way."""
        with self.lock:
            self.stall_seconds, self.stalls = seconds, requests

    def codes(self) -> list[str]:
        return [e.code for e in self.exchanges]

    def _times(self, key: tuple[str, ...]) -> list[float]:
        return [s.at for s in self.sent if self._key(s, len(key)) == key]

    @staticmethod
    def _key(sent: Sent, size: int) -> tuple[str, ...]:
        return (sent.phone, sent.sign_name, sent.template)[:size]

    def _count(self, key: tuple[str, ...], now: float, seconds: float) -> int:
        return sum(1 for t in self._times(key) if now - seconds < t <= now)

    def take_stall(self) -> float:
        with self.lock:
            if self.stalls:
                self.stalls -= 1
                return self.stall_seconds
        return 0.0

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        raise NotImplementedError


class FakeAliyun(FakeGateway):
    """Alibaba Cloud SMS (see the module's docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("kind", ALIYUN)
        kwargs.setdefault("key_id", "LTAI5tFakeAccessKey")
        kwargs.setdefault("key_secret", "fake-aliyun-secret-" + uuid.uuid4().hex)
        kwargs.setdefault("sign_names", ("反诈平台",))
        kwargs.setdefault(
            "templates",
            {
                "SMS_100001": (VERIFY, ("code",)),
                "SMS_100002": (NOTICE, ("number", "loss", "deadline")),
                "SMS_100003": (NOTICE, ("item",)),
                "SMS_100004": (NOTICE, ("count",)),
            },
        )
        super().__init__(**kwargs)
        self.nonces: set[str] = set()

    @staticmethod
    def _encode(value: str) -> str:
        return urllib.parse.quote(value, safe="-_.~")

    def _expected(self, params: dict[str, str]) -> str:
        query = "&".join(
            f"{self._encode(k)}={self._encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
        )
        to_sign = "POST&" + self._encode("/") + "&" + self._encode(query)
        mac = hmac.new((self.key_secret + "&").encode(), to_sign.encode(), hashlib.sha1)
        return base64.b64encode(mac.digest()).decode()

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        split = urllib.parse.urlsplit(path)
        params = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        params.update(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        request_id = str(uuid.uuid4()).upper()
        with self.lock:
            now = self.now()
            if self.outages:
                self.outages -= 1
                answer = {
                    "RequestId": request_id,
                    "HostId": "dysmsapi.aliyuncs.com",
                    "Code": "ServiceUnavailable",
                    "Message": "The request has failed due to a temporary failure of the server.",
                }
                self.exchanges.append(Exchange(503, answer, "ServiceUnavailable"))
                return 503, answer
            try:
                self._gateway(split.path, params, now)
                reference = self._send(params, now)
            except Refusal as refusal:
                answer = {"RequestId": request_id, "Code": refusal.code, "Message": refusal.message}
                if refusal.status != 200:
                    answer["HostId"] = "dysmsapi.aliyuncs.com"
                    answer["Recommend"] = f"https://next.api.aliyun.com/troubleshoot?q={refusal.code}"
                self.exchanges.append(Exchange(refusal.status, answer, refusal.code))
                return refusal.status, answer
            answer = {"Message": "OK", "RequestId": request_id, "Code": "OK", "BizId": reference}
            self.exchanges.append(Exchange(200, answer, "OK"))
            return 200, answer

    def _gateway(self, path: str, params: dict[str, str], now: float) -> None:
        """What the API gateway checks before the SMS service sees anything."""
        if path != "/":
            raise Refusal(404, "InvalidAction.NotFound", "Specified api is not found, please check your url.")
        if params.get("AccessKeyId") != self.key_id:
            raise Refusal(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if (
            params.get("SignatureMethod") != "HMAC-SHA1"
            or params.get("SignatureVersion") != "1.0"
            or not params.get("Signature")
            or not params.get("SignatureNonce")
        ):
            raise Refusal(
                400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."
            )
        try:
            stamp = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError as exc:
            raise Refusal(
                400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            ) from exc
        if abs(stamp.timestamp() - time.time()) > 15 * MINUTE:
            raise Refusal(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        if not hmac.compare_digest(params["Signature"], self._expected(params)):
            raise Refusal(
                400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
            )
        if params["SignatureNonce"] in self.nonces:
            raise Refusal(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces.add(params["SignatureNonce"])
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            raise Refusal(404, "InvalidAction.NotFound", "Specified api is not found, please check your url.")

    def _send(self, params: dict[str, str], now: float) -> str:
        """What the SMS service checks; HTTP 200 with an ``isv.*`` code when it refuses."""
        phone = params.get("PhoneNumbers", "")
        if not re.fullmatch(r"1\d{10}", phone):
            raise Refusal(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        sign = params.get("SignName", "")
        if sign not in self.sign_names:
            raise Refusal(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template_id = params.get("TemplateCode", "")
        if template_id not in self.templates:
            raise Refusal(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        kind, names = self.templates[template_id]
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            values = None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise Refusal(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if any(not values.get(name) for name in names):
            raise Refusal(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        for name in names:
            value = values[name]
            if (kind == VERIFY and not re.fullmatch(r"[0-9A-Za-z]{4,6}", value)) or len(value) > 35:
                raise Refusal(200, "isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
        if self.balance <= 0:
            raise Refusal(200, "isv.AMOUNT_NOT_ENOUGH", "账户余额不足")
        if kind == VERIFY:
            key = (phone, sign)
            for seconds, permits, level in ((MINUTE, 1, "分钟级"), (HOUR, 5, "小时级"), (DAY, 10, "天级")):
                if self._count(key, now, seconds) >= permits:
                    raise Refusal(200, "isv.BUSINESS_LIMIT_CONTROL", f"触发{level}流控Permits:{permits}")
        elif self._count((phone, sign, template_id), now, DAY) >= 50:
            raise Refusal(200, "isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:50")
        self.balance -= 1
        reference = f"{len(self.sent) + 900000000000:d}^0"
        self.sent.append(Sent(phone, sign, template_id, {n: values[n] for n in names}, reference, now))
        return reference


class FakeTencent(FakeGateway):
    """Tencent Cloud SMS (see the module's docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("kind", TENCENT)
        kwargs.setdefault("key_id", "AKIDFakeTencentSecretId")
        kwargs.setdefault("key_secret", "fake-tencent-secret-" + uuid.uuid4().hex)
        kwargs.setdefault("sign_names", ("反诈平台",))
        kwargs.setdefault(
            "templates",
            {"200001": (VERIFY, 2), "200002": (NOTICE, 3), "200003": (NOTICE, 1), "200004": (NOTICE, 1)},
        )
        self.app_id = kwargs.pop("app_id", "1400000001")
        super().__init__(**kwargs)

    AUTH = re.compile(
        r"TC3-HMAC-SHA256 Credential=(?P<id>[^/\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)"
        r"/tc3_request, "
        r"SignedHeaders=(?P<signed>[a-z0-9;\-]+), Signature=(?P<sign>[0-9a-f]{64})"
    )

    def _expected(self, headers: dict[str, str], signed: str, raw: bytes, stamp: str, date: str) -> str:
        names = signed.split(";")
        canonical_headers = "".join(f"{n}:{headers.get(n, '').strip().lower()}\n" for n in names)
        canonical = f"POST\n/\n\n{canonical_headers}\n{signed}\n{hashlib.sha256(raw).hexdigest()}"
        scope = f"{date}/sms/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

        def mac(key: bytes, text: str) -> bytes:
            return hmac.new(key, text.encode(), hashlib.sha256).digest()

        key = mac(mac(mac(("TC3" + self.key_secret).encode(), date), "sms"), "tc3_request")
        return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        headers = {k.lower(): v for k, v in headers.items()}
        request_id = str(uuid.uuid4())
        with self.lock:
            now = self.now()
            if self.outages:
                self.outages -= 1
                answer = {"Response": {"Error": {"Code": "InternalError", "Message": "服务暂不可用"}}}
                self.exchanges.append(Exchange(503, answer, "InternalError"))
                return 503, answer
            try:
                self._auth(path, headers, raw, now)
                response = self._send(raw, now)
            except Refusal as refusal:
                response = {"Error": {"Code": refusal.code, "Message": refusal.message}}
            response["RequestId"] = request_id
            error = response.get("Error")
            code = error["Code"] if error else response["SendStatusSet"][0]["Code"]
            answer = {"Response": response}
            self.exchanges.append(Exchange(200, answer, code))
            return 200, answer

    def _auth(self, path: str, headers: dict[str, str], raw: bytes, now: float) -> None:
        if path != "/":
            raise Refusal(200, "InvalidAction", "接口不存在。")
        match = self.AUTH.fullmatch(headers.get("authorization", ""))
        if match is None or not {"content-type", "host"} <= set(match["signed"].split(";")):
            raise Refusal(
                200, "AuthFailure.InvalidAuthorization", "请求头部的 Authorization 不符合腾讯云标准。"
            )
        if match["id"] != self.key_id:
            raise Refusal(200, "AuthFailure.SecretIdNotFound", "密钥不存在。")
        stamp = headers.get("x-tc-timestamp", "")
        if not stamp.isdigit() or abs(int(stamp) - time.time()) > 5 * MINUTE:
            raise Refusal(200, "AuthFailure.SignatureExpire", "签名过期。")
        date = datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d")
        expected = self._expected(headers, match["signed"], raw, stamp, date)
        if (
            match["date"] != date
            or match["service"] != "sms"
            or not hmac.compare_digest(match["sign"], expected)
        ):
            raise Refusal(200, "AuthFailure.SignatureFailure", "签名错误。")
        if headers.get("x-tc-action") != "SendSms":
            raise Refusal(200, "InvalidAction", "接口不存在。")
        if headers.get("x-tc-version") != "2021-01-11":
            raise Refusal(200, "NoSuchVersion", "接口版本不存在。")
        if not headers.get("x-tc-region"):
            raise Refusal(200, "MissingParameter", "缺少参数错误：X-TC-Region。")

    def _day(self, moment: float) -> str:
        return datetime.fromtimestamp(moment, BEIJING).strftime("%Y-%m-%d")

    def _send(self, raw: bytes, now: float) -> dict[str, Any]:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        if not isinstance(body, dict):
            raise Refusal(200, "FailedOperation.FailResolvePacket", "请求包解析失败。")
        if body.get("SmsSdkAppId") != self.app_id:
            raise Refusal(200, "InvalidParameterValue.SdkAppIdNotExist", "SdkAppId 不存在。")
        if body.get("SignName") not in self.sign_names:
            raise Refusal(200, "FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误。")
        template_id = str(body.get("TemplateId", ""))
        if template_id not in self.templates:
            raise Refusal(200, "FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配。")
        kind, count = self.templates[template_id]
        values = body.get("TemplateParamSet") or []
        if (
            not isinstance(values, list)
            or len(values) != count
            or not all(isinstance(v, str) for v in values)
        ):
            raise Refusal(
                200,
                "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                "请求内容与审核通过的模板内容不匹配。",
            )
        for value in values:
            if kind == VERIFY and not re.fullmatch(r"\d{0,6}", value):
                raise Refusal(
                    200,
                    "InvalidParameterValue.TemplateParameterFormatError",
                    "验证码模板参数格式错误，验证码类模板，模板变量只能传入0-6位（包括6位）纯数字。",
                )
            if len(value) > 12:
                raise Refusal(
                    200, "InvalidParameterValue.TemplateParameterLengthLimit", "单个模板变量字符数超过12个。"
                )
        if self.balance <= 0:
            raise Refusal(200, "FailedOperation.InsufficientBalanceInSmsPackage", "套餐包余量不足。")
        numbers = body.get("PhoneNumberSet") or []
        if not isinstance(numbers, list) or len(numbers) != 1:
            raise Refusal(
                200, "LimitExceeded.PhoneNumberCountLimit", "调用接口单次提交的手机号个数超过200个。"
            )
        number = str(numbers[0])
        status = {"SerialNo": "", "PhoneNumber": number, "Fee": 0, "SessionContext": "", "IsoCode": "CN"}
        phone = re.sub(r"^(\+86|0086|86)", "", number)
        refusal = self._number(phone, template_id, now)
        if refusal is not None:
            return {"SendStatusSet": [{**status, "Code": refusal[0], "Message": refusal[1]}]}
        self.balance -= 1
        serial = f"2433:{len(self.sent) + 100000000000000:d}"
        self.sent.append(Sent(phone, str(body["SignName"]), template_id, list(values), serial, now))
        return {
            "SendStatusSet": [
                {**status, "SerialNo": serial, "Fee": 1, "Code": "Ok", "Message": "send success"}
            ]
        }

    def _number(self, phone: str, template_id: str, now: float) -> tuple[str, str] | None:
        if not re.fullmatch(r"1\d{10}", phone):
            return "InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误。"
        times = [s.at for s in self.sent if s.phone == phone]
        if any(now - 30 < t <= now for t in times):
            return (
                "LimitExceeded.PhoneNumberThirtySecondLimit",
                "单个手机号30秒内下发短信条数超过设定的上限。",
            )
        if sum(1 for t in times if now - HOUR < t <= now) >= 5:
            return "LimitExceeded.PhoneNumberOneHourLimit", "单个手机号1小时内下发短信条数超过设定的上限。"
        if sum(1 for t in times if self._day(t) == self._day(now)) >= 10:
            return "LimitExceeded.PhoneNumberDailyLimit", "单个手机号日下发短信条数超过设定的上限。"
        return None


@contextmanager
def serving(gateway: FakeGateway) -> Iterator[FakeGateway]:
    """Serve ``gateway`` on a free port of 127.0.0.1 until the block ends (``gateway.base``)."""

    def answer(request: BaseHTTPRequestHandler, raw: bytes) -> tuple[int, bytes, str] | None:
        wait = gateway.take_stall()
        if wait:  # the request is lost on the way: no answer, nothing sent
            time.sleep(wait)
            gateway.exchanges.append(Exchange(0, None, "stalled"))
            return None
        status, body = gateway.handle(request.path, dict(request.headers.items()), raw)
        return status, json.dumps(body, ensure_ascii=False).encode(), "application/json;charset=utf-8"

    with fakehttp.serve(answer, f"fake-{gateway.kind}") as base:
        gateway.base = base
        yield gateway
