"""Deliver queued outbox rows: in-app notifications, e-mail and chat-group robot webhooks.

How a row travels: a worker *claims* it in a short transaction (attempts + 1 and a lease in
``not_before``; on PostgreSQL the row is picked with ``select_for_update(skip_locked=True)``,
so two workers never take the same row), sends it outside any transaction, then marks it
sent — an in-app row is created in the same transaction as that mark, so it exists once. A
failure leaves the row ``failed`` with a back-off; a worker that dies mid-send leaves a lease
(``FANZHA_OUTBOX_LEASE_SECONDS``) that runs out, and the row is tried again. Nothing is lost; a
sent row is never picked again.

The one window for a duplicate: a worker killed after the robot, mail server or SMS gateway
accepted a message but before ``_mark_sent`` committed. Nothing on our side can close it (the
robots take no idempotency key), so it is kept as small as it can be: the mark is the very next
statement after the answer is read, one short transaction on one row. A worker killed before
the answer arrived (the common case: the send is the slow part) leaves the row unsent, and it is
sent once after the lease; ``tests/core/test_worker_kill.py`` kills real workers there.

Webhook formats (text messages): WeCom ``{"msgtype": "text", "text": {"content": …}}``;
DingTalk the same, signed with ``timestamp`` and ``sign`` query parameters (HMAC-SHA256 of
"timestamp\\nsecret" keyed by the secret, base64); Feishu ``{"msg_type": "text", "content":
{"text": …}}`` with ``timestamp`` and ``sign`` in the body (HMAC-SHA256 keyed by
"timestamp\\nsecret" over an empty message, base64).

SMS: the row's ``address`` holds the phone number encrypted (``core.crypto``); the backend named by
``settings.FANZHA_SMS_BACKEND`` (default ``notify.sms.LogBackend``) sends it. Once sent, the
address is replaced by the masked number, and a row whose idempotency key starts with ``otp:``
(a one-time sign-in code) has its body blanked: neither the number nor the code stays behind.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
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

from . import sms
from .models import ChannelKind, Notification, Outbox

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5
LEASE = timedelta(minutes=5)  # the default of FANZHA_OUTBOX_LEASE_SECONDS


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


class DeliveryError(Exception):
    """A send that failed and may succeed later."""


class PermanentError(DeliveryError):
    """A send that can never succeed (no channel, no address): the row is not retried."""


@dataclass
class Result:
    sent: int = 0
    failed: int = 0


def message_text(row: Outbox) -> str:
    """Subject, body and (absolute, when ``FANZHA_SITE_URL`` is set) link as one plain text."""
    parts = [row.subject, row.body]
    if row.link:
        parts.append(getattr(settings, "FANZHA_SITE_URL", "").rstrip("/") + row.link)
    return "\n".join(p for p in parts if p)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret"))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key="timestamp\\nsecret", msg=""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_request(
    kind: str, url: str, secret: str, text: str, now: float | None = None
) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body to POST for one text message on ``kind``'s robot webhook."""
    now = time.time() if now is None else now
    if kind == ChannelKind.WECOM:
        return url, {"msgtype": "text", "text": {"content": text}}
    if kind == ChannelKind.DINGTALK:
        if secret:
            ms = int(now * 1000)
            query = urllib.parse.urlencode({"timestamp": ms, "sign": dingtalk_sign(secret, ms)})
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url, {"msgtype": "text", "text": {"content": text}}
    if kind == ChannelKind.FEISHU:
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if secret:
            seconds = int(now)
            body = {"timestamp": str(seconds), "sign": feishu_sign(secret, seconds), **body}
        return url, body
    raise PermanentError(f"not a webhook channel: {kind}")


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise PermanentError("webhook URL must be http or https")
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (scheme checked)
            raw = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"connection failed: {type(reason).__name__}") from exc
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _send_webhook(row: Outbox) -> None:
    channel = row.channel
    if channel is None or not channel.is_active or not channel.url:
        raise PermanentError("channel removed or switched off")
    url, body = webhook_request(row.channel_kind, channel.url, channel.secret, message_text(row))
    answer = _post(url, body)
    # WeCom and DingTalk answer {"errcode": 0}, Feishu {"code": 0} (older: {"StatusCode": 0}).
    for key in ("errcode", "code", "StatusCode"):
        if key in answer and answer[key] not in (0, "0"):
            message = str(answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or "")
            raise DeliveryError(f"{key} {answer[key]}: {message}"[:200])


def _send_email(row: Outbox) -> None:
    address = row.address or (row.user.email if row.user else "")
    if not address:
        raise PermanentError("no e-mail address")
    try:
        send_mail(row.subject, message_text(row), None, [address], fail_silently=False)
    except Exception as exc:  # SMTP errors come in many classes; all mean "try later"
        raise DeliveryError(f"mail failed: {type(exc).__name__}") from exc


# Idempotency-key prefix of messages that carry a secret (a sign-in code): blanked once sent.
SECRET_KEY_PREFIX = "otp:"


def _send_sms(row: Outbox) -> dict[str, str]:
    """Send an SMS row through the configured backend; return the fields to store once it is sent."""
    phone = crypto.decrypt(row.address)
    if not phone:
        raise PermanentError("no phone number")
    sms.backend().send(phone, message_text(row))
    scrub = {"address": mask_phone(phone)}
    if row.idempotency_key.startswith(SECRET_KEY_PREFIX):
        scrub["body"] = "-"
    return scrub


def _claim(now: datetime, pk: int | None = None) -> Outbox | None:
    """Claim the next due row (or row ``pk``, if due): count the attempt and lease it, briefly locked."""
    with transaction.atomic():
        qs = (
            Outbox.objects.filter(
                status__in=[Outbox.Status.PENDING, Outbox.Status.FAILED], attempts__lt=MAX_ATTEMPTS
            )
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
            .order_by("created_at", "pk")
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


def _mark_sent(row: Outbox, now: datetime, scrub: dict[str, str] | None = None) -> bool:
    with transaction.atomic():
        fresh = _locked(row)
        if fresh is None:
            return False
        if fresh.channel_kind == ChannelKind.IN_APP:
            if fresh.user_id is None:
                raise PermanentError("no user")
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
        return True


def _mark_failed(row: Outbox, now: datetime, error: DeliveryError) -> None:
    with transaction.atomic():
        fresh = _locked(row)
        if fresh is None:
            return
        fresh.status = Outbox.Status.FAILED
        fresh.last_error = str(error)[:300]
        if isinstance(error, PermanentError):
            fresh.attempts = MAX_ATTEMPTS
            fresh.not_before = None
        else:
            fresh.not_before = now + BACKOFF[min(fresh.attempts, len(BACKOFF)) - 1]
        fresh.save(update_fields=["status", "last_error", "attempts", "not_before"])
    log.warning("outbox %s: delivery failed (attempt %s): %s", row.pk, row.attempts, error)


def deliver_one(row: Outbox, now: datetime) -> bool:
    """Send one claimed row; True when it is now sent."""
    try:
        scrub = None
        if row.channel_kind == ChannelKind.EMAIL:
            _send_email(row)
        elif row.channel_kind in {ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU}:
            _send_webhook(row)
        elif row.channel_kind == ChannelKind.SMS:
            scrub = _send_sms(row)
        elif row.channel_kind != ChannelKind.IN_APP:
            raise PermanentError(f"no adapter for {row.channel_kind}")
        return _mark_sent(row, now, scrub)
    except DeliveryError as exc:
        _mark_failed(row, now, exc)
        return False


def deliver_pending(now: datetime | None = None, limit: int = 200) -> Result:
    """Deliver up to ``limit`` due rows (pending, or failed and past their back-off)."""
    fixed = now
    result = Result()
    for _ in range(limit):
        # Each claim on the real clock (unless told the time): a lease from a stale "now" runs out early.
        now = fixed or timezone.now()
        row = _claim(now)
        if row is None:
            break
        if deliver_one(row, now):
            result.sent += 1
        else:
            result.failed += 1
    return result


def deliver_now(row: Outbox, now: datetime | None = None, retry: bool = True) -> Outbox:
    """Send one queued row at once (a channel's test message) instead of waiting for the worker.

    The row is claimed exactly as the worker claims rows, so a worker running at the same moment
    never sends it too. With ``retry`` False a failure is final: a test message that failed is not
    sent hours later by the worker. Returns the row as it is afterwards.
    """
    now = now or timezone.now()
    claimed = _claim(now, row.pk)
    if claimed is not None and not deliver_one(claimed, now) and not retry:
        Outbox.objects.filter(pk=row.pk, status=Outbox.Status.FAILED).update(
            attempts=MAX_ATTEMPTS, not_before=None
        )
    return Outbox.objects.select_related("channel").get(pk=row.pk)
