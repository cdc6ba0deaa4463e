"""Every write of the notify app: queue a message, configure a channel, mark notifications read.

Why queue and not send: the message becomes an outbox row in the caller's transaction, so it
exists exactly when the change that caused it commits; ``delivery.deliver_pending`` sends it
later. The idempotency key (a unique column) makes queueing the same message twice a no-op.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.org.models import Unit, User

from .models import Channel, ChannelKind, Notification, Outbox

WEBHOOK_KINDS = frozenset({ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU})


@transaction.atomic
def queue(
    kind: str,
    to: User | Channel | str,
    *,
    subject: str,
    body: str,
    key: str,
    link: str = "",
    not_before: datetime | None = None,
) -> Outbox:
    """Queue one message to a user (in-app or e-mail), an e-mail address or a webhook channel.

    Idempotent on ``key``: a second call with the same key returns the first row unchanged.
    """
    if kind not in ChannelKind.values:
        raise ValidationError({"channel_kind": _("未知的通知渠道")})
    fields: dict[str, object] = {
        "channel_kind": kind,
        "subject": subject[:200],
        "body": body,
        "link": link[:300],
        "not_before": not_before,
    }
    if isinstance(to, Channel):
        if to.kind != kind:
            raise ValidationError({"channel": _("渠道类型不符")})
        fields["channel"] = to
    elif isinstance(to, str):
        if kind != ChannelKind.EMAIL:
            raise ValidationError({"address": _("只有电子邮件可以直接写地址")})
        fields["address"] = to
    else:
        if kind == ChannelKind.EMAIL:
            if not to.email:
                raise ValidationError({"address": _("该账号没有电子邮件地址")})
            fields["address"] = to.email
        elif kind != ChannelKind.IN_APP:
            raise ValidationError({"channel": _("群机器人消息需要指定渠道")})
        fields["user"] = to
    row, _created = Outbox.objects.get_or_create(idempotency_key=key[:200], defaults=fields)
    return row


@transaction.atomic
def add_channel(*, unit: Unit, kind: str, name: str, url: str, secret: str = "") -> Channel:
    """Configure a chat-group robot webhook for a unit (its reminders also go there)."""
    if kind not in WEBHOOK_KINDS:
        raise ValidationError({"kind": _("只能添加企业微信、钉钉或飞书群机器人")})
    URLValidator(schemes=["http", "https"])(url)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空")})
    return Channel.objects.create(unit=unit, kind=kind, name=name[:100], url=url, secret=secret.strip())


@transaction.atomic
def mark_read(user: User, notification_ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when ``notification_ids`` is None)."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=timezone.now())
