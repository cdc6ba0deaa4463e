"""The outbox: every message fanzha sends is a row first, delivered later by a worker.

Why: a message is queued in the same transaction as the change that causes it, and its
idempotency key makes a retry or a second run a no-op — nothing lost, nothing sent twice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from fanzha.core import crypto
from fanzha.org.models import Unit, UnitKind

from . import errors


class SealedTextField(models.TextField):
    """Text sealed at rest with ``core.crypto`` (Fernet): the database holds only the token, the model
    the clear value. Why: a webhook URL carries the robot's key and a signing secret is a key; a
    database dump must not hand them out. Equality lookups cannot work on it (each seal differs)."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str:
        return crypto.decrypt(value) if value else ""

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return crypto.encrypt(value) if value else ""


class ChannelKind(models.TextChoices):
    IN_APP = "in_app", _("站内消息")
    EMAIL = "email", _("电子邮件")
    WECOM = "wecom", _("企业微信群机器人")
    DINGTALK = "dingtalk", _("钉钉群机器人")
    FEISHU = "feishu", _("飞书群机器人")
    SMS = "sms", _("短信")


class ChannelAudience(models.TextChoices):
    """Who reads a channel. It decides what may be sent there: a stop-payment alert names the victim's
    class, loss and payees, so it goes only to staff and police groups, never to a group of students
    or parents (``ALERT_AUDIENCES``)."""

    CLASS = "class", _("班级群（学生）")
    PARENTS = "parents", _("家长群")
    STAFF = "staff", _("教职工/工作群")
    POLICE = "police", _("警务群")


# The audiences that may read a stop-payment alert.
ALERT_AUDIENCES = frozenset({ChannelAudience.STAFF, ChannelAudience.POLICE})

# Units whose channels are students' groups by default (a class, a dormitory building or room).
STUDENT_UNIT_KINDS = frozenset({UnitKind.CLASS, UnitKind.DORM_BUILDING, UnitKind.DORM_ROOM})
POLICE_UNIT_KINDS = frozenset({UnitKind.POLICE_BUREAU, UnitKind.POLICE_DEPARTMENT, UnitKind.POLICE_STATION})


def default_audience(unit_kind: str) -> str:
    """The audience a channel of a unit of ``unit_kind`` has unless told otherwise: a class or dormitory
    group is the students', a police unit's group the police's, any other unit's the staff's. (The
    migration that introduced audiences applied the same rule to the channels already configured.)"""
    if unit_kind in STUDENT_UNIT_KINDS:
        return ChannelAudience.CLASS
    if unit_kind in POLICE_UNIT_KINDS:
        return ChannelAudience.POLICE
    return ChannelAudience.STAFF


class Channel(models.Model):
    """A configured chat-group robot webhook (or other channel) of a unit, with who reads it."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="channels", verbose_name=_("单位"))
    kind = models.CharField(_("类型"), max_length=10, choices=ChannelKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    # The model's default is the safe one (a students' group never receives an alert);
    # ``actions.add_channel`` sets it from the unit when not told.
    audience = models.CharField(
        _("群成员"), max_length=8, choices=ChannelAudience.choices, default=ChannelAudience.CLASS
    )
    url = SealedTextField(_("Webhook 地址"), blank=True)
    secret = SealedTextField(_("签名密钥"), blank=True)
    # A robot secured by a custom keyword takes only messages containing it; every message carries it.
    keyword = models.CharField(_("关键词"), max_length=30, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    # The latest failure (an ``errors`` code) and success, for the channel page.
    last_error = models.CharField(max_length=40, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    # Pacing (``notify.pacing``): when the latest messages went out (epoch seconds), and until when the
    # service told us to stop sending.
    recent_sends = models.JSONField(default=list, blank=True)
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("通知渠道")
        verbose_name_plural = _("通知渠道")

    def __str__(self) -> str:
        return self.name

    @property
    def email_address(self) -> str:
        """An e-mail channel's address (kept in ``url`` as ``mailto:``), else ""."""
        return self.url[len(MAILTO) :] if self.url.startswith(MAILTO) else ""

    @property
    def masked_url(self) -> str:
        """The address to show once saved: a webhook's token (its last path part and query) hidden."""
        if self.email_address or not self.url:
            return self.email_address
        split = urlsplit(self.url)
        head, _sep, tail = split.path.rpartition("/")
        hidden = tail + ("?" + split.query if split.query else "")
        return f"{split.scheme}://{split.netloc}{head}/{_mask(hidden)}"

    @property
    def masked_secret(self) -> str:
        return _mask(self.secret)

    @property
    def last_error_text(self) -> str:
        """The latest failure in words, when it is newer than the latest success."""
        if not self.last_error or (
            self.last_ok_at and self.last_error_at and self.last_ok_at > self.last_error_at
        ):
            return ""
        return errors.words(self.last_error)


MAILTO = "mailto:"


def _mask(value: str) -> str:
    """Dots and, for a long value, its last four characters: enough to tell two keys apart."""
    if not value:
        return ""
    return "••••••" + (value[-4:] if len(value) >= 12 else "")


class Outbox(models.Model):
    """One message to one recipient over one channel."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        # Never handed to any service and never will be (no SMS gateway, a tip past its day): not
        # retried, and never shown as sent.
        UNSENT = "unsent", _("未发送")

    class Priority(models.IntegerChoices):
        NORMAL = 0, _("普通")
        ALERT = 10, _("紧急预警")

    idempotency_key = models.CharField(max_length=200, unique=True)
    channel_kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.SET_NULL)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    address = models.CharField(max_length=254, blank=True)  # e-mail address when there is no user
    subject = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    # Alerts are claimed before anything else and may use the room pacing keeps free for them.
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)  # an ``errors`` code
    not_before = models.DateTimeField(null=True, blank=True)
    # A message that means nothing later (a day's tip) is dropped, not sent, once this has passed.
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # SMS: the approved template's kind (``sms.Template``) and its parameters, which a gateway sends
    # instead of ``body`` (kept for pages); the provider's answer: its message id once accepted (BizId,
    # SerialNo), its result code otherwise (``isv.MOBILE_NUMBER_ILLEGAL``; the reason in words is
    # ``last_error``).
    sms_template = models.CharField(max_length=20, blank=True)
    sms_params = models.JSONField(default=dict, blank=True)
    provider_ref = models.CharField(max_length=100, blank=True)
    provider_code = models.CharField(max_length=80, blank=True)

    class Meta:
        verbose_name = _("发件箱")
        verbose_name_plural = _("发件箱")
        indexes = [
            models.Index(fields=["status", "not_before"]),
            models.Index(fields=["status", "-priority", "created_at"], name="notify_outbox_claim_idx"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key

    @property
    def error_text(self) -> str:
        """Why it is not sent (yet), in words; empty once sent."""
        return "" if self.status == self.Status.SENT else errors.words(self.last_error)

    @property
    def status_text(self) -> str:
        """The status with its reason, e.g. "未发送：未配置短信网关" — what a page shows per message."""
        label = str(self.get_status_display())
        reason = self.error_text
        return gettext("%(status)s：%(reason)s") % {"status": label, "reason": reason} if reason else label


class DemoSms(models.Model):
    """An SMS the demo's gateway kept instead of sending (``FANZHA_SMS_BACKEND=demo``): the system
    administrator reads it on a page marked as the demo's, so that a demo parent can sign in with a code."""

    phone = models.CharField(max_length=20)  # masked: the page never shows a whole number
    text = models.TextField()
    template = models.CharField(max_length=20, blank=True)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("演示短信")
        verbose_name_plural = _("演示短信")

    def __str__(self) -> str:
        return f"{self.phone} {self.created_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """An in-app message shown to a user until read."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.subject
