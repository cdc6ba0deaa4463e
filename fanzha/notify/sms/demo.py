"""The demo's SMS gateway (``FANZHA_SMS_BACKEND=demo``): nothing leaves; each message is kept in the
database and the system administrator reads it on ``/notifications/sms-demo/``, marked
"演示短信，未真实发送".

Why: in ``fanzha demo`` a parent signs in with a code sent to their phone, and the demo has no real
phones. Never for production: a system check (``notify.checks``) warns when it is set under the
production settings without ``FANZHA_PLAIN_HTTP`` (the demo's loopback-only mode).
"""

from __future__ import annotations

from fanzha.core.identifiers import mask_phone

from ..models import DemoSms
from . import Message


class DemoBackend:
    """Keeps the message for the demo page; "accepted" with the row's number as the message id."""

    def send(self, message: Message) -> str:
        row = DemoSms.objects.create(
            phone=mask_phone(message.phone),
            text=message.text,
            template=message.template,
            params=dict(message.params),
        )
        return f"demo-{row.pk}"
