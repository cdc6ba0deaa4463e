"""The clues' periodic work: escalating overdue clues (registered in ``cases.tasks.JOBS``)."""

from __future__ import annotations

import logging

from django_tasks import task

from fanzha.core.jobs import moment_arg

from .actions import escalate_overdue_clues

log = logging.getLogger(__name__)


@task()
def escalate_clues(now: str | None = None) -> int:
    """Escalate clues past their feedback deadline (``actions.escalate_overdue_clues``)."""
    count = escalate_overdue_clues(moment_arg(now))
    if count:
        log.info("escalate_clues: %s clue(s) escalated", count)
    return count
