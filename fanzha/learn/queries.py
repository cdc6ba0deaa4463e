"""Scoped reads of the learn app.

Knowledge-base articles and fraud types are public information: anyone, signed in or not, reads
the built-in articles and every unit's published ones. Tip schedules belong to a unit and follow
its scope: visible to whoever can see the unit, managed by whoever may publish there
(``Cap.PUBLISH``: counsellors, class teachers, police stations, bank branches, administrators).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from fanzha.notify.actions import WEBHOOK_KINDS
from fanzha.notify.models import Channel, ChannelAudience
from fanzha.org.scope import Cap, path_q, scope_paths

from .models import Article, TipSchedule

# Publishing articles and running a unit's daily tips (``Cap.PUBLISH``).
MANAGE = Cap.PUBLISH


def public_articles(today: date | None = None) -> QuerySet[Article]:
    """Articles anyone may read: the built-in ones and every unit's article once its date has come."""
    today = today or timezone.localdate()
    return Article.objects.filter(Q(is_builtin=True) | Q(published_on__lte=today))


def json_list_has(field: str, value: str) -> Q:
    """Rows whose JSON list ``field`` holds the string ``value`` (a code: letters, digits, ``_-``).

    Why not ``__contains``: JSON containment is missing on SQLite; the quoted value inside the
    stored JSON text matches the same rows on SQLite and PostgreSQL.
    """
    return Q(**{f"{field}__icontains": f'"{value}"'})


def schedules_for(user: Any, cap: Cap = Cap.VIEW) -> QuerySet[TipSchedule]:
    """Tip schedules of units inside the user's scope for ``cap``."""
    return TipSchedule.objects.filter(path_q(scope_paths(user, cap), "unit__path"))


def schedulable_channels(user: Any) -> QuerySet[Channel]:
    """Active chat-group robots of units the user manages that have no tip schedule yet: class,
    parents' and staff groups. Police groups are for casework and get no daily tips (a schedule made
    before channels had an audience keeps posting where it does)."""
    return Channel.objects.filter(
        path_q(scope_paths(user, MANAGE), "unit__path"),
        kind__in=list(WEBHOOK_KINDS),
        is_active=True,
        unit__is_active=True,
        tip_schedules__isnull=True,
    ).exclude(audience=ChannelAudience.POLICE)
