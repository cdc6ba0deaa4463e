"""Pacing: each chat-group robot gets messages no faster than its service allows.

Why: a burst (25 queued tips to one robot) made WeCom refuse 5, Feishu refuse 20, and DingTalk block
the robot for ten minutes — and a stop-payment alert sent next to that robot waited behind the block.
So every send to a robot first takes a slot here: the times of the robot's latest sends are kept on
its channel row (all workers see them; the row is locked while a slot is taken), and a message that
would exceed a window of the service (``robots.Service.windows``) is told when the window has room
again instead of being sent. Alerts come first: ordinary messages may fill a window only up to
``RESERVED`` short of the limit, so an alert finds room at once even in the middle of a burst. A
rate-limit answer holds the robot (``hold``) until the service's penalty is over.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction

from .models import Channel
from .robots import Service


def reserved(limit: int) -> int:
    """Slots of a window kept free for alerts: two of twenty, one of five."""
    return 2 if limit >= 10 else 1


def take_slot(channel_pk: int, service: Service, urgent: bool, now: datetime) -> datetime | None:
    """Record a send to the channel now and return None, or return when to try again (nothing recorded)."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().only("recent_sends", "blocked_until").get(pk=channel_pk)
        if channel.blocked_until is not None and channel.blocked_until > now:
            return channel.blocked_until
        t = now.timestamp()
        longest = max(seconds for seconds, _limit in service.windows)
        sends = sorted(float(s) for s in channel.recent_sends or [] if t - longest < float(s) <= t + longest)
        free_at = 0.0
        for seconds, limit in service.windows:
            allowed = limit if urgent else limit - reserved(limit)
            inside = [s for s in sends if s > t - seconds]
            if len(inside) >= allowed:
                # Room again when enough of the window's sends have left it.
                free_at = max(free_at, inside[len(inside) - allowed] + seconds)
        if free_at > t:
            return datetime.fromtimestamp(free_at, tz=UTC)
        most = max(limit for _seconds, limit in service.windows)
        channel.recent_sends = [*sends, t][-most:]
        channel.save(update_fields=["recent_sends"])
        return None


def hold(channel_pk: int, until: datetime) -> None:
    """The service refused for sending too often: send nothing more to the channel until ``until``."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().only("blocked_until").get(pk=channel_pk)
        if channel.blocked_until is None or channel.blocked_until < until:
            channel.blocked_until = until
            channel.save(update_fields=["blocked_until"])


def reset(channel: Channel) -> None:
    """A new robot behind the channel (its URL changed): its predecessor's sends do not count."""
    channel.recent_sends = []
    channel.blocked_until = None
