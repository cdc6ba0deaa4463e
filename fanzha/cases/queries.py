"""Reads of the case ledger, restricted to the caller's scope here and nowhere else.

A case belongs to a unit; a role granted at a unit covers the cases of its whole subtree
(``org.scope``). A member who reported their own case sees it through ``own_cases``.
Out of scope is absent: lookups answer 404 exactly as for a case that does not exist.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from fanzha.campaigns.actions import EVENT_CLOSED
from fanzha.campaigns.models import Campaign, CampaignEvent
from fanzha.org.models import Person, Unit
from fanzha.org.scope import Cap, in_scope, path_q, scope_paths

from .models import AccountabilityAction, Alert, Callback, Case, CaseDraft, FollowUp, ReportedVia


def cases_for(user: Any, cap: Cap = Cap.CASE_VIEW) -> QuerySet[Case]:
    """Cases in units the user holds ``cap`` on."""
    return Case.objects.filter(path_q(scope_paths(user, cap), "unit__path"))


def can(user: Any, case: Case, cap: Cap) -> bool:
    """Whether the user holds ``cap`` at the case's unit."""
    return in_scope(user, case.unit, cap)


def alerts_for(user: Any, cap: Cap = Cap.CASE_VIEW) -> QuerySet[Alert]:
    return Alert.objects.filter(path_q(scope_paths(user, cap), "case__unit__path"))


def followups_for(user: Any, cap: Cap = Cap.COUNSEL) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(path_q(scope_paths(user, cap), "case__unit__path"))


def callbacks_for(user: Any, cap: Cap = Cap.CASE_VIEW) -> QuerySet[Callback]:
    """Callbacks (回访) of the cases in scope."""
    return Callback.objects.filter(path_q(scope_paths(user, cap), "case__unit__path"))


def accountability_for(user: Any, cap: Cap = Cap.CASE_VIEW) -> QuerySet[AccountabilityAction]:
    """Accountability actions on units in scope, or issued from campaigns the user may issue for."""
    paths = scope_paths(user, cap)
    return AccountabilityAction.objects.filter(
        path_q(paths, "target__path") | path_q(paths, "case__unit__path")
    )


def drafts_for(user: Any) -> QuerySet[CaseDraft]:
    """A user's own unsubmitted intake forms."""
    if user is None or not user.is_authenticated:
        return CaseDraft.objects.none()
    return CaseDraft.objects.filter(owner=user)


def own_cases(person: Person) -> QuerySet[Case]:
    """The cases a member reported about themselves (their phone pages list these)."""
    return Case.objects.filter(victim=person)


def self_reports_since(person: Person, since: datetime) -> QuerySet[Case]:
    """The cases the person filed themselves from the phone pages since ``since`` (their daily limit)."""
    return Case.objects.filter(victim=person, reported_via=ReportedVia.SELF, created_at__gte=since)


def units_for_intake(user: Any) -> QuerySet[Unit]:
    """Units the user may record a case in."""
    return Unit.objects.filter(path_q(scope_paths(user, Cap.CASE_EDIT)), is_active=True)


# Campaigns at the time of a case (the trace-back and accountability look at them) -------------------


def ancestors_and_self(path: str) -> list[str]:
    """The paths of a unit and of every unit above it."""
    return [path[:end] for end in range(Unit.steplen, len(path) + 1, Unit.steplen)]


def campaigns_at(case: Case, moment: datetime | None = None) -> list[Campaign]:
    """Campaigns running over the case's unit at ``moment`` (default: when the case happened).

    Issued at the case's unit or an ancestor, with the day inside the campaign's dates, and not yet
    closed then: an active campaign, or a closed one whose closing came later.
    """
    moment = moment or case.occurred_at
    day = timezone.localdate(moment)
    closed_before = CampaignEvent.objects.filter(campaign=OuterRef("pk"), kind=EVENT_CLOSED, at__lte=moment)
    return list(
        Campaign.objects.filter(
            unit__path__in=ancestors_and_self(case.unit.path), starts_on__lte=day, ends_on__gte=day
        )
        .exclude(Exists(closed_before))
        .select_related("unit", "template")
        .order_by("unit__path", "starts_on", "pk")
    )


def target_path(campaign: Campaign, case: Case) -> str:
    """The unit just below the campaign's unit on the way to the case's unit (the unit itself when equal)."""
    depth = len(campaign.unit.path) + Unit.steplen
    return case.unit.path[:depth] if len(case.unit.path) >= depth else case.unit.path


# The workbench's due filters (``cases.home``), shared with the lists its numbers link to -------------

WEEK_DAYS = 7  # "this week": today and the six days after it
OVERDUE = "overdue"  # the lists' filter value (``?due=overdue``) for what is late
THIS_WEEK = "week"  # … and for what falls due within ``WEEK_DAYS``


def due_filter(raw: str | None) -> str:
    """A list's ``?due=`` value when it is one the workbench links with (``OVERDUE``, ``THIS_WEEK``),
    else "" (no filter: a made-up value shows the whole list, not an empty one)."""
    return raw if raw in (OVERDUE, THIS_WEEK) else ""


def week_range(today: date) -> tuple[date, date]:
    """The days that count as "this week" on the workbench and the lists behind it (both included)."""
    return today, today + timedelta(days=WEEK_DAYS - 1)


def followups_due(scoped: Any, due: str, today: date) -> Any:
    """Open follow-ups whose next session is overdue (``OVERDUE``) or falls this week (``THIS_WEEK``)."""
    rows = scoped.filter(status=FollowUp.Status.OPEN)
    if due == OVERDUE:
        return rows.filter(next_date__lt=today)
    first, last = week_range(today)
    return rows.filter(next_date__gte=first, next_date__lte=last)


def callbacks_due(scoped: Any, due: str, today: date) -> Any:
    """Callbacks not made whose day has passed (``OVERDUE``) or falls this week (``THIS_WEEK``)."""
    rows = scoped.filter(done_at__isnull=True)
    if due == OVERDUE:
        return rows.filter(due_on__lt=today)
    first, last = week_range(today)
    return rows.filter(due_on__gte=first, due_on__lte=last)
