"""Deliver queued outbox rows: in-app notifications, e-mail, SMS and chat-group robot webhooks.

How a row travels: a worker *claims* it in a short transaction (attempts + 1 and a lease in
``not_before``; on PostgreSQL the row is picked with ``select_for_update(skip_locked=True)``,
so two workers never take the same row), sends it outside any transaction, then marks it
sent — an in-app row is created in the same transaction as that mark, so it exists once. A
failure leaves the row ``failed`` with a back-off; a worker that dies mid-send leaves a lease
(``FANZHA_OUTBOX_LEASE_SECONDS``) that runs out, and the row is tried again. Nothing is lost; a
sent row is never picked again. Alerts (``Outbox.Priority.ALERT``) are claimed before anything else.

The one window for a duplicate: a worker killed after the robot, mail server or SMS gateway
accepted a message but before ``_mark_sent`` committed. Nothing on our side can close it (the
robots take no idempotency key), so it is kept as small as it can be: the mark is the very next
statement after the answer is read, one short transaction on one row. A worker killed before
the answer arrived (the common case: the send is the slow part) leaves the row unsent, and it is
sent once after the lease; ``tests/core/test_worker_kill.py`` kills real workers there.

Robots (``robots`` has the services' formats, limits and answers; ``webhooks`` where a post may go):
the text is fitted to the service's limit and carries the channel's keyword; the post takes a slot
of the robot's pace first (``pacing``) — a row without one waits for the window, uncounted; only
the service's documented success body marks it sent; a rate-limit answer holds the robot until the
service's penalty is over, uncounted; a permanent error (bad signature, keyword, unknown robot, an
address not allowed) fails at once; the rest is retried. The row and the channel keep the reason as
an ``errors`` code, which pages show in words; nothing the remote side said is kept or logged.

SMS: the row's ``address`` holds the phone number encrypted (``core.crypto``); the backend named by
``settings.FANZHA_SMS_BACKEND`` (``sms``) sends it as the approved template of the row's kind
(``sms_template``) with its parameters (``sms_params``). With no gateway (the default) nothing leaves
and the row ends ``unsent`` ("未发送：未配置短信网关"), never "sent". The gateway's answer is recorded:
its message id once accepted (``provider_ref``), otherwise its result code (``provider_code``) and the
reason in words (``last_error``); a refusal that can never succeed (an invalid number, a template not
approved, a bad key) fails at once, a per-number rate limit waits for the provider's window uncounted,
the service's own trouble is retried with the back-off. Once sent or given up, the address is replaced
by the masked number, and a row whose idempotency key starts with ``otp:`` (a one-time sign-in code)
has its body and parameters blanked: neither the number nor the code stays behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from fanzha.core import crypto
from fanzha.core.identifiers import mask_phone

from . import errors, pacing, robots, sms, webhooks
from .errors import DeliveryError, NotSent, PermanentError, RateLimited
from .models import Channel, ChannelKind, Notification, Outbox

log = logging.getLogger(__name__)

__all__ = ["DeliveryError", "PermanentError", "deliver_now", "deliver_one", "deliver_pending"]

TIMEOUT_SECONDS = 5
LEASE = timedelta(minutes=5)  # the default of FANZHA_OUTBOX_LEASE_SECONDS
WEBHOOK_KINDS = frozenset(robots.SERVICES)


def lease() -> timedelta:
    """How long a claimed row is left alone before another worker may retry it."""
    seconds = getattr(settings, "FANZHA_OUTBOX_LEASE_SECONDS", None)
    return LEASE if seconds is None else timedelta(seconds=int(seconds))


BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(days=1),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
RETRIABLE = (Outbox.Status.PENDING, Outbox.Status.FAILED)

SENT, FAILED, DEFERRED, NOTHING = "sent", "failed", "deferred", ""


class Deferred(Exception):
    """The robot's window is full (or the robot is held): try the row again at ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until


@dataclass
class Result:
    sent: int = 0
    failed: int = 0
    deferred: int = 0


def absolute_link(link: str) -> str:
    """The link as people outside the site reach it (absolute when ``FANZHA_SITE_URL`` is set)."""
    return getattr(settings, "FANZHA_SITE_URL", "").rstrip("/") + link if link else ""


def message_text(row: Outbox) -> str:
    """Subject, body and (absolute, when ``FANZHA_SITE_URL`` is set) link as one plain text."""
    parts = [row.subject, row.body, absolute_link(row.link)]
    return "\n".join(p for p in parts if p)


def robot_text(row: Outbox, channel: Channel) -> str:
    """The text a robot gets: with the channel's keyword, fitted to the service's limit (whole lines,
    then "…（全文见平台）" and the link to the full record)."""
    service = robots.SERVICES[row.channel_kind]
    head = robots.with_keyword("\n".join(p for p in (row.subject, row.body) if p), channel.keyword)
    return robots.fit(head, service.limit, service.measure, absolute_link(row.link))


def _send_webhook(row: Outbox, now: datetime) -> None:
    channel = row.channel
    if channel is None or not channel.is_active or not channel.url:
        raise PermanentError(errors.CHANNEL_OFF, "channel removed or switched off")
    if webhooks.is_demo(channel.url):
        return  # the demo's pretend group: delivered, and nothing leaves the machine
    service = robots.SERVICES[row.channel_kind]
    try:
        webhooks.check_url(channel.url)
    except webhooks.Refused as exc:
        raise PermanentError(errors.ADDRESS_REFUSED, "address not allowed") from exc
    wait = pacing.take_slot(channel.pk, service, row.priority >= Outbox.Priority.ALERT, now)
    if wait is not None:
        raise Deferred(wait)
    url, body = robots.request(row.channel_kind, channel.url, channel.secret, robot_text(row, channel))
    try:
        answer = webhooks.post_json(url, body, TIMEOUT_SECONDS)
    except webhooks.Refused as exc:
        raise PermanentError(errors.ADDRESS_REFUSED, "address not allowed") from exc
    except webhooks.Unreachable as exc:
        raise DeliveryError(errors.UNREACHABLE, "no answer") from exc
    robots.check_answer(row.channel_kind, answer, now, service)


def _send_email(row: Outbox) -> None:
    address = row.address or (row.user.email if row.user else "")
    if not address:
        raise PermanentError(errors.NO_ADDRESS, "no e-mail address")
    try:
        send_mail(row.subject, message_text(row), None, [address], fail_silently=False)
    except Exception as exc:  # SMTP errors come in many classes; all mean "try later"
        raise DeliveryError(errors.MAIL_FAILED, type(exc).__name__) from exc


# Idempotency-key prefix of messages that carry a secret (a sign-in code): blanked once sent.
SECRET_KEY_PREFIX = "otp:"


def _sms_scrub(row: Outbox, phone: str) -> dict[str, Any]:
    """What an SMS row keeps once it is done with (sent or given up): the masked number, no code."""
    scrub: dict[str, Any] = {"address": mask_phone(phone)}
    if row.idempotency_key.startswith(SECRET_KEY_PREFIX):
        scrub["body"] = "-"
        scrub["sms_params"] = {}
    return scrub


def _send_sms(row: Outbox, phone: str) -> str:
    """Hand an SMS to the configured gateway (none by default: ``NotSent``); the provider's message id."""
    if not phone:
        raise PermanentError(errors.NO_ADDRESS, "no phone number")
    message = sms.Message(
        phone=phone, text=message_text(row), template=row.sms_template, params=dict(row.sms_params or {})
    )
    return sms.backend().send(message)


def _claim(now: datetime, pk: int | None = None) -> Outbox | None:
    """Claim the next due row (or row ``pk``, if due), alerts first: count the attempt and lease it,
    briefly locked."""
    with transaction.atomic():
        qs = (
            Outbox.objects.filter(status__in=RETRIABLE, attempts__lt=MAX_ATTEMPTS)
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
            .order_by("-priority", "created_at", "pk")
        )
        if pk is not None:
            qs = qs.filter(pk=pk)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        row = qs.select_related("channel", "user").first()
        if row is None:
            return None
        row.attempts += 1
        row.not_before = now + lease()
        row.save(update_fields=["attempts", "not_before"])
        return row


def _locked(row: Outbox) -> Outbox | None:
    """The row again, locked, unless another worker has sent it meanwhile."""
    fresh = Outbox.objects.select_for_update().filter(pk=row.pk).first()
    return None if fresh is None or fresh.status == Outbox.Status.SENT else fresh


def _channel_result(row: Outbox, now: datetime, reason: str = "") -> None:
    """Note on the row's channel how its latest message fared (the channel page shows it)."""
    if row.channel_id is None:
        return
    if reason:
        Channel.objects.filter(pk=row.channel_id).update(last_error=reason, last_error_at=now)
    else:
        Channel.objects.filter(pk=row.channel_id).update(last_ok_at=now)


def _mark_sent(row: Outbox, now: datetime, scrub: dict[str, Any] | None = None) -> bool:
    with transaction.atomic():
        fresh = _locked(row)
        if fresh is None:
            return False
        if fresh.channel_kind == ChannelKind.IN_APP:
            if fresh.user_id is None:
                raise PermanentError(errors.NO_ADDRESS, "no user")
            Notification.objects.create(
                user_id=fresh.user_id, subject=fresh.subject, body=fresh.body, link=fresh.link
            )
        fresh.status = Outbox.Status.SENT
        fresh.sent_at = now
        fresh.last_error = ""
        fresh.not_before = None
        for name, value in (scrub or {}).items():
            setattr(fresh, name, value)
        fresh.save(update_fields=["status", "sent_at", "last_error", "not_before", *(scrub or {})])
        _channel_result(fresh, now)
        return True


def _mark_failed(
    row: Outbox, now: datetime, error: DeliveryError, scrub: dict[str, Any] | None = None
) -> None:
    scrub = scrub or {}
    with transaction.atomic():
        fresh = _locked(row)
        if fresh is None:
            return
        fresh.last_error = error.reason
        fresh.provider_code = error.answer
        fresh.not_before = None
        if isinstance(error, NotSent):
            fresh.status = Outbox.Status.UNSENT
        else:
            fresh.status = Outbox.Status.FAILED
            if isinstance(error, PermanentError):
                fresh.attempts = MAX_ATTEMPTS
            else:
                fresh.not_before = now + BACKOFF[min(fresh.attempts, len(BACKOFF)) - 1]
        if not isinstance(error, PermanentError):
            scrub = {}  # an SMS that will be retried keeps its number
        for name, value in scrub.items():
            setattr(fresh, name, value)
        fresh.save(update_fields=["status", "last_error", "provider_code", "attempts", "not_before", *scrub])
        _channel_result(fresh, now, error.reason)
    log.warning(
        "outbox %s: %s (attempt %s): %s %s", row.pk, fresh.status, row.attempts, error.reason, error.detail
    )


def _defer(row: Outbox, now: datetime, until: datetime, reason: str = "", answer: str = "") -> None:
    """Put the row (and every other due row to the same robot it would have to wait behind) off until
    ``until``; the attempt does not count. ``answer``: an SMS gateway's result code, kept on the row."""
    with transaction.atomic():
        fresh = _locked(row)
        if fresh is None:
            return
        fresh.attempts = max(fresh.attempts - 1, 0)
        fresh.not_before = until
        fields = ["attempts", "not_before"]
        if reason:
            fresh.last_error = reason
            fresh.provider_code = answer
            fields += ["last_error", "provider_code"]
        fresh.save(update_fields=fields)
        if row.channel_id is not None:
            waiting = Outbox.objects.filter(
                channel=row.channel, status__in=RETRIABLE, attempts__lt=MAX_ATTEMPTS
            ).filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
            if not reason:  # only paced: alerts still have their reserved room
                waiting = waiting.filter(priority__lte=row.priority)
            waiting.exclude(pk=row.pk).update(not_before=until)
        if reason:
            _channel_result(fresh, now, reason)


def deliver_one(row: Outbox, now: datetime) -> str:
    """Send one claimed row; ``SENT``, ``FAILED``, ``DEFERRED`` (waits for the robot's window), or
    ``NOTHING`` (another worker had sent it)."""
    scrub: dict[str, Any] = {}
    try:
        if row.expires_at is not None and row.expires_at <= now:
            raise NotSent(errors.EXPIRED, "expired")
        if row.channel_kind == ChannelKind.EMAIL:
            _send_email(row)
        elif row.channel_kind in WEBHOOK_KINDS:
            _send_webhook(row, now)
        elif row.channel_kind == ChannelKind.SMS:
            phone = crypto.decrypt(row.address)
            scrub = _sms_scrub(row, phone) if phone else {}
            reference = _send_sms(row, phone)
            scrub = {**scrub, "provider_ref": reference[:100], "provider_code": ""}
        elif row.channel_kind != ChannelKind.IN_APP:
            raise PermanentError(errors.UNKNOWN, f"no adapter for {row.channel_kind}")
        return SENT if _mark_sent(row, now, scrub) else NOTHING
    except Deferred as wait:
        _defer(row, now, wait.until)
        return DEFERRED
    except RateLimited as limited:
        if row.channel_id is not None:
            pacing.hold(row.channel_id, limited.until)
        _defer(row, now, limited.until, limited.reason, limited.answer)
        log.warning("outbox %s: rate limited (%s), next try %s", row.pk, limited.detail, limited.until)
        return DEFERRED
    except DeliveryError as exc:
        _mark_failed(row, now, exc, scrub)
        return FAILED


def deliver_pending(now: datetime | None = None, limit: int = 200) -> Result:
    """Deliver up to ``limit`` due rows (pending, or failed and past their back-off), alerts first."""
    fixed = now
    result = Result()
    for _ in range(limit):
        # Each claim on the real clock (unless told the time): a lease from a stale "now" runs out early.
        now = fixed or timezone.now()
        row = _claim(now)
        if row is None:
            break
        outcome = deliver_one(row, now)
        if outcome == SENT:
            result.sent += 1
        elif outcome == DEFERRED:
            result.deferred += 1
        elif outcome == FAILED:
            result.failed += 1
    return result


def deliver_now(row: Outbox, now: datetime | None = None, retry: bool = True) -> Outbox:
    """Send one queued row at once (a channel's test message, an alert) instead of waiting for the worker.

    The row is claimed exactly as the worker claims rows, so a worker running at the same moment
    never sends it too. With ``retry`` False a failure is final: a test message that failed is not
    sent hours later by the worker (one that only waits for the robot's window still goes). Returns
    the row as it is afterwards.
    """
    now = now or timezone.now()
    claimed = _claim(now, row.pk)
    if claimed is not None and deliver_one(claimed, now) == FAILED and not retry:
        Outbox.objects.filter(pk=row.pk, status=Outbox.Status.FAILED).update(
            attempts=MAX_ATTEMPTS, not_before=None
        )
    return Outbox.objects.select_related("channel").get(pk=row.pk)
