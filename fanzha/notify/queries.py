"""Scoped reads of the notify app: the channels a user may see.

A channel belongs to a unit; it is visible to whoever can see the unit, and changed by whoever may
edit units there (``Cap.EDIT_UNITS``). Anything else is absent, like a channel that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from fanzha.org.scope import Cap, path_q, scope_paths

from .models import Channel, Outbox


def channels_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[Channel]:
    """Channels of units inside the user's scope for ``cap``."""
    return Channel.objects.filter(path_q(scope_paths(user, cap), "unit__path"))


def with_last_message(channels: QuerySet[Channel]) -> QuerySet[Channel]:
    """Annotate each channel with its latest outbox row's status and time (no query per row); its latest
    error is on the channel itself (``Channel.last_error_text``)."""
    latest = Outbox.objects.filter(channel=OuterRef("pk")).order_by("-created_at", "-pk")
    return channels.annotate(
        last_status=Subquery(latest.values("status")[:1]),
        last_at=Subquery(latest.values("created_at")[:1]),
    )
