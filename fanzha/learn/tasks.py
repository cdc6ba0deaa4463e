"""Learning's background work: the daily tip posted to every chat-group schedule (as
``fanzha post-tips``). Registered in ``LearnConfig.ready``."""

from __future__ import annotations

import logging

from django_tasks import task

from fanzha.core.jobs import Job, day_arg, local_day

from .actions import post_daily_tips

log = logging.getLogger(__name__)


@task()
def post_tips(day: str | None = None) -> int:
    """Queue the day's tip for every chat-group schedule (``actions.post_daily_tips``)."""
    run = post_daily_tips(day_arg(day))
    log.info("post_tips: %s queued, %s skipped", run.queued, len(run.skipped))
    return run.queued


JOBS = (
    Job("post_tips", lambda slot: post_tips.enqueue(local_day(slot)).id, at_setting="FANZHA_SCHEDULE_TIPS"),
)
