"""The daily reminder task does what ``fanzha send-reminders`` does."""

from __future__ import annotations

from fanzha.campaigns import tasks


def test_send_reminders_runs_on_an_empty_world(db):
    assert tasks.send_reminders.call("2026-03-06") == 0
