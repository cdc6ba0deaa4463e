"""Roster tests run tasks where they are enqueued (the immediate backend) unless a test asks for the
database queue and a worker (``test_views.DATABASE``)."""

from __future__ import annotations

import pytest

IMMEDIATE = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "slow"]}
}


@pytest.fixture(autouse=True)
def immediate_tasks(settings):
    """Tasks run where they are enqueued, once the request's transaction commits (``test_views.post``)."""
    settings.TASKS = IMMEDIATE
