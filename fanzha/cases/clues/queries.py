"""Scoped reads of clues and dissuasion tasks. A clue is seen by the people holding ``Cap.CASE_POLICE``
at its command centre or at the unit it was dispatched to (the county bureau sees all, a station only its
own); a dissuasion task by those at its station and above. Schools hold no police capability over
police units, so they never see either. Out of scope answers 404 like missing."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from fanzha.org.models import Unit, UnitKind
from fanzha.org.scope import Cap, in_scope, path_q, scope_paths

from ..models import Clue, DissuasionTask

CENTRE_KINDS = (UnitKind.POLICE_BUREAU, UnitKind.POLICE_DEPARTMENT)
RECEIVER_KINDS = (UnitKind.POLICE_DEPARTMENT, UnitKind.POLICE_STATION)


def clues_for(user: Any, cap: Cap = Cap.CASE_POLICE) -> QuerySet[Clue]:
    """Clues whose command centre or receiving unit lies in the user's ``cap`` scope."""
    paths = scope_paths(user, cap)
    return Clue.objects.filter(Q(path_q(paths, "centre__path")) | Q(path_q(paths, "assignee__path")))


def tasks_for(user: Any, cap: Cap = Cap.CASE_POLICE) -> QuerySet[DissuasionTask]:
    """Dissuasion tasks of the stations in the user's ``cap`` scope."""
    return DissuasionTask.objects.filter(path_q(scope_paths(user, cap), "unit__path"))


def centres_for(user: Any) -> list[Unit]:
    """The police bureaus and departments where the user may record clues and import warning lists."""
    return list(
        Unit.objects.filter(
            path_q(scope_paths(user, Cap.CASE_POLICE)), kind__in=CENTRE_KINDS, is_active=True
        ).order_by("path")
    )


def receivers(centre: Unit) -> QuerySet[Unit]:
    """The departments and stations of the centre's police bureau a clue may be dispatched to."""
    root = centre.path[: Unit.steplen]
    return Unit.objects.filter(path__startswith=root, kind__in=RECEIVER_KINDS, is_active=True).order_by(
        "path"
    )


def can_direct(user: Any, clue: Clue) -> bool:
    """Whether the user acts for the clue's command centre (dispatch, close)."""
    return in_scope(user, clue.centre, Cap.CASE_POLICE)


def can_answer(user: Any, clue: Clue) -> bool:
    """Whether the user acts for the unit the clue was dispatched to (feedback)."""
    return clue.assignee is not None and in_scope(user, clue.assignee, Cap.CASE_POLICE)
