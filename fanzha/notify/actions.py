"""Every write of the notify app: queue a message, configure a channel (and test it), mark notifications read.

Why queue and not send: the message becomes an outbox row in the caller's transaction, so it
exists exactly when the change that caused it commits; ``delivery.deliver_pending`` sends it
later. The idempotency key (a unique column) makes queueing the same message twice a no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fanzha.core import crypto
from fanzha.core.identifiers import normalize_phone
from fanzha.org.models import Unit, User

from . import errors, pacing, sms, webhooks
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
    expires_at: datetime | None = None,
    priority: int = Outbox.Priority.NORMAL,
    sms_template: str = "",
    sms_params: dict[str, Any] | None = None,
) -> Outbox:
    """Queue one message to a user (in-app or e-mail), an e-mail address, a phone number (SMS) or a
    webhook channel.

    An SMS names its kind (``sms_template``, a ``sms.Template``) and that kind's parameters
    (``sms_params``, ``sms.PARAMS``): a gateway sends the operator's approved template of that kind
    with them, never ``body`` (which our pages show). No personal data in the parameters.

    ``priority`` ``Outbox.Priority.ALERT`` (stop-payment alerts) is delivered before anything else and
    may use the room pacing keeps free on a robot. ``expires_at``: a message not sent by then is
    dropped as "unsent" (a day's tip is not posted days later, nor in a burst with the others).
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
        "expires_at": expires_at,
        "priority": priority,
    }
    if sms_template or sms_params:
        if kind != ChannelKind.SMS or sms_template not in sms.Template.values:
            raise ValidationError({"sms_template": _("未知的短信模板")})
        fields["sms_template"] = sms_template
        fields["sms_params"] = {str(k): str(v) for k, v in (sms_params or {}).items()}
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
    """A channel's address checked for its kind: ``mailto:`` and an address, or a robot's webhook URL
    on an allowed host (``webhooks.check_url``: the services' own https hosts and the operator's
    allow-list). The same words as a refused send, whatever the reason: nothing tells the intranet apart."""
    url = url.strip()
    if kind == ChannelKind.EMAIL:
        address = url.removeprefix(MAILTO)
        try:
            EmailValidator()(address)
        except ValidationError as exc:
            raise ValidationError({"url": _("请填写有效的电子邮件地址")}) from exc
        return MAILTO + address
    try:
        webhooks.check_url(url)
    except webhooks.Refused as exc:
        raise ValidationError({"url": errors.words(errors.ADDRESS_REFUSED)}) from exc
    if len(url) > 500:
        raise ValidationError({"url": _("Webhook 地址太长")})
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


def _check_keyword(kind: str, keyword: str) -> str:
    keyword = keyword.strip()
    if kind == ChannelKind.EMAIL:
        return ""
    if len(keyword) > 30 or "\n" in keyword:
        raise ValidationError({"keyword": _("关键词最多 30 个字，且只能有一行")})
    return keyword


@transaction.atomic
def add_channel(
    *,
    unit: Unit,
    kind: str,
    name: str,
    url: str,
    secret: str = "",
    audience: str | None = None,
    keyword: str = "",
) -> Channel:
    """Configure a chat-group robot webhook (or an e-mail address) for a unit; its reminders go there too.

    ``url`` is the webhook's URL, or for e-mail the address. ``secret`` is the robot's signing key
    (DingTalk and Feishu "加签"), empty when it has none. ``audience`` says who reads the channel
    (``ChannelAudience``): stop-payment alerts go only to staff and police channels. None takes the
    unit's default (``models.default_audience``: a class or dormitory's group is the students'); the
    page always asks. ``keyword`` is the robot's custom keyword (DingTalk and Feishu "自定义关键词"):
    every message to the channel carries it.
    """
    _check_kind(kind)
    name = _check_name(name)
    target = _target(kind, url)
    audience = _check_audience(default_audience(unit.kind) if audience is None else audience)
    return Channel.objects.create(
        unit=unit,
        kind=kind,
        name=name,
        url=target,
        secret=secret.strip(),
        audience=audience,
        keyword=_check_keyword(kind, keyword),
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
    keyword: str | None = None,
) -> Channel:
    """Change a channel. ``url``, ``secret`` and ``audience`` None keep what is stored (a form shows the
    URL and secret masked and leaves them empty); an empty ``secret`` removes the signing key;
    ``keyword`` None keeps it. A new URL is a new robot: its pace and its last error start afresh."""
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    _check_kind(kind)
    fields = ["kind", "name", "url", "secret", "keyword"]
    channel.kind = kind
    channel.name = _check_name(name)
    target = _target(kind, channel.url if url is None else url)
    if target != channel.url:
        pacing.reset(channel)
        channel.last_error = ""
        fields += ["recent_sends", "blocked_until", "last_error"]
    channel.url = target
    if secret is not None:
        channel.secret = secret.strip()
    if audience is not None:
        channel.audience = _check_audience(audience)
        fields.append("audience")
    if keyword is not None or kind == ChannelKind.EMAIL:
        channel.keyword = _check_keyword(kind, keyword or "")
    channel.save(update_fields=fields)
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
