"""Every write of the notify app: queue a message, configure a channel (and test it), mark notifications read.

Why queue and not send: the message becomes an outbox row in the caller's transaction, so it
exists exactly when the change that caused it commits; ``delivery.deliver_pending`` sends it
later. The idempotency key (a unique column) makes queueing the same message twice a no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.core import crypto
from fanzha.core.identifiers import normalize_phone
from fanzha.org.models import Unit, User

from .models import MAILTO, Channel, ChannelAudience, ChannelKind, Notification, Outbox, default_audience
from .tasks import request_delivery_on_commit

WEBHOOK_KINDS = frozenset({ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU})
CHANNEL_KINDS = WEBHOOK_KINDS | {ChannelKind.EMAIL}  # what a unit may configure


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
    """Queue one message to a user (in-app or e-mail), an e-mail address, a phone number (SMS) or a
    webhook channel.

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
        if kind == ChannelKind.EMAIL:
            fields["address"] = to.email_address
    elif isinstance(to, str):
        if kind == ChannelKind.SMS:
            # An SMS goes to a phone number, stored encrypted until it is sent (then masked).
            fields["address"] = crypto.encrypt(normalize_phone(to))
        elif kind != ChannelKind.EMAIL:
            raise ValidationError({"address": _("只有电子邮件可以直接写地址")})
        else:
            fields["address"] = to
    else:
        if kind == ChannelKind.EMAIL:
            if not to.email:
                raise ValidationError({"address": _("该账号没有电子邮件地址")})
            fields["address"] = to.email
        elif kind != ChannelKind.IN_APP:
            raise ValidationError({"channel": _("群机器人消息需要指定渠道")})
        fields["user"] = to
    row, created = Outbox.objects.get_or_create(idempotency_key=key[:200], defaults=fields)
    if created:
        # Wake a worker once this commits (one task per transaction, however many rows it queues).
        request_delivery_on_commit(row.not_before)
    return row


def _target(kind: str, url: str) -> str:
    """A channel's address checked for its kind: a webhook's http(s) URL, or ``mailto:`` and an address."""
    url = url.strip()
    if kind == ChannelKind.EMAIL:
        address = url.removeprefix(MAILTO)
        try:
            EmailValidator()(address)
        except ValidationError as exc:
            raise ValidationError({"url": _("请填写有效的电子邮件地址")}) from exc
        return MAILTO + address
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise ValidationError({"url": _("请填写以 http:// 或 https:// 开头的 Webhook 地址")}) from exc
    return url


def _check_kind(kind: str) -> None:
    if kind not in CHANNEL_KINDS:
        raise ValidationError({"kind": _("只能添加企业微信、钉钉、飞书群机器人或电子邮件")})


def _check_audience(audience: str) -> str:
    if audience not in ChannelAudience.values:
        raise ValidationError({"audience": _("请选择群成员：班级群、家长群、教职工/工作群或警务群")})
    return audience


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空")})
    return name[:100]


@transaction.atomic
def add_channel(
    *, unit: Unit, kind: str, name: str, url: str, secret: str = "", audience: str | None = None
) -> Channel:
    """Configure a chat-group robot webhook (or an e-mail address) for a unit; its reminders go there too.

    ``url`` is the webhook's URL, or for e-mail the address. ``secret`` is the robot's signing key
    (DingTalk and Feishu "加签"), empty when it has none. ``audience`` says who reads the channel
    (``ChannelAudience``): stop-payment alerts go only to staff and police channels. None takes the
    unit's default (``models.default_audience``: a class or dormitory's group is the students'); the
    page always asks.
    """
    _check_kind(kind)
    name = _check_name(name)
    target = _target(kind, url)
    audience = _check_audience(default_audience(unit.kind) if audience is None else audience)
    return Channel.objects.create(
        unit=unit, kind=kind, name=name, url=target, secret=secret.strip(), audience=audience
    )


@transaction.atomic
def update_channel(
    channel: Channel,
    *,
    kind: str,
    name: str,
    url: str | None = None,
    secret: str | None = None,
    audience: str | None = None,
) -> Channel:
    """Change a channel. ``url``, ``secret`` and ``audience`` None keep what is stored (a form shows the
    URL and secret masked and leaves them empty); an empty ``secret`` removes the signing key."""
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    _check_kind(kind)
    channel.kind = kind
    channel.name = _check_name(name)
    channel.url = _target(kind, channel.url if url is None else url)
    if secret is not None:
        channel.secret = secret.strip()
    if audience is not None:
        channel.audience = _check_audience(audience)
    channel.save(update_fields=["kind", "name", "url", "secret", "audience"])
    return channel


@transaction.atomic
def disable_channel(channel: Channel) -> Channel:
    """Stop sending to a channel; its queued messages fail for good, its settings stay."""
    Channel.objects.filter(pk=channel.pk).update(is_active=False)
    channel.is_active = False
    return channel


@transaction.atomic
def enable_channel(channel: Channel) -> Channel:
    Channel.objects.filter(pk=channel.pk).update(is_active=True)
    channel.is_active = True
    return channel


@transaction.atomic
def queue_test_message(channel: Channel, actor: User) -> Outbox:
    """Queue a test message to a channel (each call a new one: the key is random)."""
    if not channel.is_active:
        raise ValidationError(_("该渠道已停用，请先启用再发送测试消息"))
    sender = actor.first_name or actor.get_username()
    body = _("这是一条来自反诈工作平台的测试消息。渠道：%(name)s（%(unit)s）；发送人：%(sender)s。") % {
        "name": channel.name,
        "unit": channel.unit.name,
        "sender": sender,
    }
    key = f"channel-test:{channel.pk}:{uuid.uuid4().hex}"
    return queue(channel.kind, channel, subject=_("测试消息"), body=body, key=key)


@transaction.atomic
def mark_read(user: User, notification_ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when ``notification_ids`` is None)."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=timezone.now())
