"""SMS backends: what ``delivery`` hands a text message to, chosen by ``settings.FANZHA_SMS_BACKEND``.

A backend is a class with ``send(phone, text)``; it raises ``delivery.DeliveryError`` for a send
that may succeed later and ``delivery.PermanentError`` for one that never will. The default,
``LogBackend``, sends nothing: it writes one log line (the phone masked, the text never — it may
hold a sign-in code) and the outbox row is marked sent, which is what a demo, a test or an
intranet without a gateway wants. An HTTP gateway backend can be added beside it later.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from fanzha.core.identifiers import mask_phone

log = logging.getLogger(__name__)

DEFAULT_BACKEND = "fanzha.notify.sms.LogBackend"


class SmsBackend(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class LogBackend:
    """Sends nothing; logs that a message of so many characters went to a masked number."""

    def send(self, phone: str, text: str) -> None:
        log.info("sms (log backend) to %s: %d characters, not sent", mask_phone(phone), len(text))


def backend() -> SmsBackend:
    """An instance of the configured backend."""
    return import_string(getattr(settings, "FANZHA_SMS_BACKEND", "") or DEFAULT_BACKEND)()
