"""Why a message was not sent, as a short code stored on the row and as words shown to people.

Why codes and not text: a row's ``last_error`` is read on pages in Chinese and in English, long after
it was written, so it holds a stable code (``bad_signature``) and the page says it in the reader's
language. Nothing a remote server answered is ever stored or shown: an answer is classified into one
of these codes, and only the code is kept (or logged).

The exceptions are what the senders raise; ``delivery`` turns them into the row's fate:
``DeliveryError`` is retried after a back-off, ``PermanentError`` fails the row at once,
``NotSent`` ends it as "not sent" (never handed to any service), ``RateLimited`` waits for the
service's window to end without counting as a failed attempt.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ADDRESS_REFUSED = "address_refused"
UNREACHABLE = "unreachable"
BAD_ANSWER = "bad_answer"
SERVICE_ERROR = "service_error"
REJECTED = "rejected"
BAD_SIGNATURE = "bad_signature"
BAD_TIMESTAMP = "bad_timestamp"
KEYWORD = "keyword"
IP_NOT_ALLOWED = "ip_not_allowed"
BAD_KEY = "bad_key"
TOO_LONG = "too_long"
RATE_LIMITED = "rate_limited"
CHANNEL_OFF = "channel_off"
NO_ADDRESS = "no_address"
MAIL_FAILED = "mail_failed"
NO_SMS_GATEWAY = "no_sms_gateway"
SMS_FAILED = "sms_failed"
EXPIRED = "expired"
# SMS gateways (Alibaba Cloud, Tencent Cloud): what their answers mean, in our words.
SMS_NO_TEMPLATE = "sms_no_template"
SMS_BAD_PHONE = "sms_bad_phone"
SMS_TEMPLATE = "sms_template"
SMS_SIGN_NAME = "sms_sign_name"
SMS_AUTH = "sms_auth"
SMS_BALANCE = "sms_balance"
SMS_PARAMS = "sms_params"
SMS_BLOCKED = "sms_blocked"
SMS_CONTENT = "sms_content"
SMS_SERVICE = "sms_service"
SMS_RATE_LIMITED = "sms_rate_limited"
SMS_REJECTED = "sms_rejected"
UNKNOWN = "unknown"

WORDS: dict[str, Promise] = {
    ADDRESS_REFUSED: _(
        "该地址不被允许：群机器人只能使用企业微信、钉钉、飞书的 https Webhook 地址，"
        "内网地址需由运维加入允许列表"
    ),
    UNREACHABLE: _("无法连接到该地址"),
    BAD_ANSWER: _("对方的回复不是机器人服务的格式，可能被网关或上网认证页面拦截"),
    SERVICE_ERROR: _("机器人服务暂时出错"),
    REJECTED: _("机器人服务拒绝了这条消息"),
    BAD_SIGNATURE: _("签名不匹配：请检查渠道的签名密钥"),
    BAD_TIMESTAMP: _("签名时间无效：请检查服务器的时间"),
    KEYWORD: _("消息不含机器人要求的关键词：请在渠道里填写与机器人设置一致的关键词"),
    IP_NOT_ALLOWED: _("机器人设置了 IP 白名单，本平台服务器的地址不在其中"),
    BAD_KEY: _("机器人地址无效或机器人已被移除：请检查 Webhook 地址"),
    TOO_LONG: _("消息超过机器人服务允许的长度"),
    RATE_LIMITED: _("发送太频繁，机器人服务暂时限流：限流结束后自动重试"),
    CHANNEL_OFF: _("渠道已停用或已删除"),
    NO_ADDRESS: _("没有收件地址"),
    MAIL_FAILED: _("邮件服务器暂时无法发送"),
    NO_SMS_GATEWAY: _("未配置短信网关"),
    SMS_FAILED: _("短信网关发送失败"),
    EXPIRED: _("已过期，不再补发"),
    SMS_NO_TEMPLATE: _("没有为这类短信配置审核通过的短信模板：请在 FANZHA_SMS_TEMPLATES 中填写模板编号"),
    SMS_BAD_PHONE: _("手机号无效或不能接收短信"),
    SMS_TEMPLATE: _("短信模板未审核通过或与参数不符：请检查短信模板设置"),
    SMS_SIGN_NAME: _("短信签名未审核通过：请检查短信签名设置"),
    SMS_AUTH: _("短信网关不接受本平台的密钥或签名：请检查短信网关的密钥设置"),
    SMS_BALANCE: _("短信账户余额不足、已停机或未开通短信服务"),
    SMS_PARAMS: _("短信参数不符合模板要求（过长或格式不对）"),
    SMS_BLOCKED: _("该号码已退订短信或在免打扰名单中"),
    SMS_CONTENT: _("短信内容被网关拦截"),
    SMS_SERVICE: _("短信网关暂时出错：稍后自动重试"),
    SMS_RATE_LIMITED: _("给该号码发短信太频繁，短信网关暂时限流：限流结束后自动重试"),
    SMS_REJECTED: _("短信网关拒绝了这条短信"),
    UNKNOWN: _("发送失败"),
}


def words(code: str) -> str:
    """The reason in the reader's language; a code from before these codes (or none) reads as a plain
    failure, never as the raw text."""
    if not code:
        return ""
    return str(WORDS.get(code, WORDS[UNKNOWN]))


class DeliveryError(Exception):
    """A send that failed and may succeed later. ``reason`` is one of the codes above."""

    def __init__(self, reason: str = UNKNOWN, detail: str = "", answer: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail  # a short code for the log (``errcode 310000``), never remote text
        # An SMS gateway's own result code (``isv.MOBILE_NUMBER_ILLEGAL``), kept on the row for the
        # operator: one of the provider's documented identifiers, checked to be one, never its text.
        self.answer = answer


class PermanentError(DeliveryError):
    """A send that can never succeed as it is (no channel, bad signature, unknown robot): no retries."""


class NotSent(PermanentError):
    """A message that was never handed to any service and will not be (no SMS gateway, an expired tip)."""


class RateLimited(DeliveryError):
    """The service refused for sending too often: try again at ``until``, not counted as a failure."""

    def __init__(
        self, until: datetime, detail: str = "", reason: str = RATE_LIMITED, answer: str = ""
    ) -> None:
        super().__init__(reason, detail, answer)
        self.until = until
