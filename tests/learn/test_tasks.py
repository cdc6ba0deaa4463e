"""The daily tip task does what ``fanzha post-tips`` does, once a day."""

from __future__ import annotations

from fanzha.learn import tasks
from fanzha.learn.models import TipPost
from tests.learn.test_tips import make_tips, schedule_for


def test_post_tips_queues_the_days_tip(cast):
    make_tips(5)
    schedule = schedule_for(cast.cs2301)
    assert tasks.post_tips.call("2026-03-06") == 1
    assert TipPost.objects.filter(schedule=schedule, day="2026-03-06").exists()
    assert tasks.post_tips.call("2026-03-06") == 0
