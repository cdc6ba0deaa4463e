"""SMS: what ``delivery`` hands a text message to, chosen by ``settings.FANZHA_SMS_BACKEND``.

Why templates: in mainland China an SMS gateway sends only a text the operator had approved in
advance (a *template*, 模板) under an approved sender name (a *signature*, 签名), with the changing
parts passed as parameters. So every SMS fanzha queues says which kind of message it is
(``Template``: sign-in code, stop-payment alert, reminder, parent notice, an account's
"set your password") and carries the parameters
of that kind (``PARAMS``) beside its human-readable text; the operator lists the approved template of
each kind in ``FANZHA_SMS_TEMPLATES``. The parameters hold no personal data: a case number, an amount
and a time, a task's name, a count — never a name, an account or an ID number.

Backends (``FANZHA_SMS_BACKEND``):

* ``none`` (the default, ``LogBackend``): "no gateway". It writes one log line (the phone masked, the
  text never — it may hold a sign-in code) and raises ``NotSent``, so the row ends "未发送：未配置短信网关"
  and is never shown as sent nor retried: an alert page that says "已发送" for an SMS that never left
  sends the police to wait for a text nobody got.
* ``aliyun``: Alibaba Cloud SMS (Dysmsapi ``SendSms``), ``aliyun.py``.
* ``tencent``: Tencent Cloud SMS (API 2021-01-11 ``SendSms``), ``tencent.py``.
* ``demo``: nothing leaves; each message is kept in the database and shown to the system administrator
  on a page marked "演示短信，未真实发送" (``demo.py``), so that a demo parent can sign in with a code.
  A system check warns when it is set in production.
* any other value: the dotted path of a class (tests use one that records what it was given).

A backend's ``send(message)`` returns the provider's message id once a real gateway accepted the
message, and raises ``errors.DeliveryError`` for a send that may succeed later, ``errors.RateLimited``
when the provider's per-number limit refused it (retried when its window ends, not counted),
``errors.PermanentError`` for one that never will, ``errors.NotSent`` when nothing was handed to any
gateway.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from fanzha.core.identifiers import mask_phone

from .. import errors

log = logging.getLogger(__name__)

NONE, ALIYUN, TENCENT, DEMO = "none", "aliyun", "tencent", "demo"
BACKENDS = {
    NONE: "fanzha.notify.sms.LogBackend",
    ALIYUN: "fanzha.notify.sms.aliyun.AliyunBackend",
    TENCENT: "fanzha.notify.sms.tencent.TencentBackend",
    DEMO: "fanzha.notify.sms.demo.DemoBackend",
}
DEFAULT_BACKEND = BACKENDS[NONE]


class Template(models.TextChoices):
    """The kinds of SMS fanzha sends, each an approved template of the operator's SMS account."""

    CODE = "code", _("登录验证码")
    ALERT = "alert", _("紧急止付预警")
    REMINDER = "reminder", _("任务提醒")
    PARENT_NOTICE = "parent_notice", _("家长告知书提醒")
    ACCOUNT = "account", _("账号设置密码通知")


# The parameters of each kind, in the order Tencent Cloud numbers them ({1}, {2} …); Alibaba Cloud
# names them (${code}, ${minutes} …). The deployment guide lists the template text to apply for.
PARAMS: dict[str, tuple[str, ...]] = {
    Template.CODE: ("code", "minutes"),
    Template.ALERT: ("number", "loss", "deadline"),
    Template.REMINDER: ("item",),
    Template.PARENT_NOTICE: ("count",),
    # An invitation or an administrator's reset: a link does not fit a template's variable, so the
    # text sends the person to "忘记密码" on the sign-in page, where this phone gets a code.
    Template.ACCOUNT: (),
}


@dataclass(frozen=True)
class Message:
    """One SMS as a backend gets it: the number (national digits), the text people read on our pages
    (and the demo page shows), and the template kind with its parameters (what a gateway sends)."""

    phone: str
    text: str
    template: str = ""
    params: dict[str, str] = field(default_factory=dict)


class SmsBackend(Protocol):
    def send(self, message: Message) -> str: ...


class LogBackend:
    """No gateway: sends nothing, logs that a message of so many characters was not sent, raises NotSent."""

    def send(self, message: Message) -> str:
        phone, size = mask_phone(message.phone), len(message.text)
        log.info("sms (no gateway) to %s: %d characters, not sent", phone, size)
        raise errors.NotSent(errors.NO_SMS_GATEWAY, "no SMS gateway configured")


def backend_name() -> str:
    """The configured backend: ``none``, ``aliyun``, ``tencent``, ``demo`` or a class path."""
    value = (getattr(settings, "FANZHA_SMS_BACKEND", "") or NONE).strip()
    return NONE if value == DEFAULT_BACKEND else value


def backend() -> SmsBackend:
    """An instance of the configured backend."""
    name = backend_name()
    return import_string(BACKENDS.get(name.lower(), name))()


def configured() -> bool:
    """Whether SMS can reach anyone: a gateway (or the demo's page) is configured, not "none"."""
    return backend_name().lower() != NONE


def is_demo() -> bool:
    return backend_name().lower() == DEMO


def template_ids() -> dict[str, str]:
    """``FANZHA_SMS_TEMPLATES``: the approved template id of each kind (a dict, or JSON text of one)."""
    raw: Any = getattr(settings, "FANZHA_SMS_TEMPLATES", None) or {}
    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip() else {}
    return {str(k): str(v) for k, v in dict(raw).items() if v}


def fit(params: dict[str, Any], limit: int) -> dict[str, str]:
    """The parameters as strings of at most ``limit`` characters each (a provider refuses a longer
    variable for good; a cut one still reads). Why cut here and not fail: the values are built to fit
    (``params_*``), so a cut is the rare odd value, not a lost alert."""
    result = {}
    for key, value in params.items():
        text = str(value).strip()
        result[key] = text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"
    return result


@dataclass(frozen=True)
class GatewayConfig:
    """What a gateway backend reads from the settings (``FANZHA_SMS_*``)."""

    key_id: str
    key_secret: str
    sign_name: str
    region: str
    app_id: str
    endpoint: str
    templates: dict[str, str]
    timeout: float

    @classmethod
    def from_settings(cls, default_region: str, default_endpoint: str) -> GatewayConfig:
        return cls(
            key_id=getattr(settings, "FANZHA_SMS_KEY_ID", ""),
            key_secret=getattr(settings, "FANZHA_SMS_KEY_SECRET", ""),
            sign_name=getattr(settings, "FANZHA_SMS_SIGN_NAME", ""),
            region=getattr(settings, "FANZHA_SMS_REGION", "") or default_region,
            app_id=getattr(settings, "FANZHA_SMS_APP_ID", ""),
            endpoint=(getattr(settings, "FANZHA_SMS_ENDPOINT", "") or default_endpoint).rstrip("/"),
            templates=template_ids(),
            timeout=float(getattr(settings, "FANZHA_SMS_TIMEOUT", 10)),
        )

    def template_for(self, message: Message) -> str:
        """The approved template id of the message's kind; a message without one cannot be sent, ever."""
        template = self.templates.get(message.template, "")
        if not template:
            raise errors.PermanentError(errors.SMS_NO_TEMPLATE, f"no template for {message.template or '-'}")
        return template
