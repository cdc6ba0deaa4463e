"""SMS backends: what ``delivery`` hands a text message to, chosen by ``settings.FANZHA_SMS_BACKEND``.

A backend is a class with ``send(phone, text)``; it returns when a real gateway accepted the message,
and raises ``errors.DeliveryError`` for a send that may succeed later, ``errors.PermanentError`` for
one that never will, ``errors.NotSent`` when nothing was handed to any gateway. The default,
``LogBackend``, is "no gateway": it writes one log line (the phone masked, the text never — it may hold
a sign-in code) and raises ``NotSent``, so the row ends "未发送：未配置短信网关" and is never shown as
sent nor retried. Why: an alert page that says "已发送" for an SMS that never left sends the police to
wait for a text nobody got. Gateway backends (Alibaba Cloud, Tencent Cloud) come later; a test
backend that records what it was given counts as a gateway.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from fanzha.core.identifiers import mask_phone

from . import errors

log = logging.getLogger(__name__)

DEFAULT_BACKEND = "fanzha.notify.sms.LogBackend"


class SmsBackend(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class LogBackend:
    """No gateway: sends nothing, logs that a message of so many characters was not sent, raises NotSent."""

    def send(self, phone: str, text: str) -> None:
        log.info("sms (no gateway) to %s: %d characters, not sent", mask_phone(phone), len(text))
        raise errors.NotSent(errors.NO_SMS_GATEWAY, "no SMS gateway configured")


def backend() -> SmsBackend:
    """An instance of the configured backend."""
    return import_string(getattr(settings, "FANZHA_SMS_BACKEND", "") or DEFAULT_BACKEND)()


def configured() -> bool:
    """Whether an SMS gateway is configured (anything but the default no-gateway backend)."""
    return (getattr(settings, "FANZHA_SMS_BACKEND", "") or DEFAULT_BACKEND) != DEFAULT_BACKEND
