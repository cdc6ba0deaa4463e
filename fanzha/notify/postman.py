"""The postman that lets ``org`` send SMS and e-mail through the outbox (``core.hooks.Postman``).

Why: ``org.accounts`` sends invitations and password-reset codes, but may not import ``notify``
(imports run one way). ``NotifyConfig.ready`` registers ``OutboxPostman``; the letters become outbox
rows like any other message, so an SMS without a gateway ends "未发送：未配置短信网关" here too.
"""

from __future__ import annotations

from collections.abc import Sequence

from fanzha.core.hooks import Delivery, Letter

from . import actions, sms
from .models import Outbox


class OutboxPostman:
    """``core.hooks.Postman`` on the outbox."""

    def queue(self, letter: Letter) -> None:
        actions.queue(
            letter.kind,
            letter.to,
            subject=letter.subject,
            body=letter.body,
            key=letter.key,
            link=letter.link,
            sms_template=letter.sms_template if letter.kind == "sms" else "",
            sms_params=letter.sms_params if letter.kind == "sms" else None,
        )

    def send_now(self, keys: Sequence[str]) -> None:
        from .delivery import deliver_now

        for row in Outbox.objects.filter(idempotency_key__in=list(keys), status=Outbox.Status.PENDING):
            deliver_now(row)  # a failure is retried by the worker as usual

    def status(self, keys: Sequence[str]) -> dict[str, Delivery]:
        rows = Outbox.objects.filter(idempotency_key__in=list(keys))
        return {row.idempotency_key: Delivery(str(row.status), row.status_text) for row in rows}

    def sms_configured(self) -> bool:
        return sms.configured()
