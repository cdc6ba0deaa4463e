"""The accounts' background work: a bulk opening of many staff accounts (``actions.run_batch``).

Why a task: opening and inviting hundreds of accounts is a few queries and two queued messages per
person; a large school's staff would hold a request for a minute. Small batches run in the request
(``views``); large ones go to the default queue (the work is many short writes, not a long read).
"""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from ..models import AccountBatch
from . import actions


@task()
def run_batch(batch_id: str) -> str:
    """Open and invite the accounts of one ``AccountBatch``; progress and counts go to its row."""
    return actions.run_batch(batch_id)


def start_batch(batch: AccountBatch) -> None:
    """Queue the batch once the caller's writes are committed (the worker must find the row)."""
    batch_id = str(batch.pk)
    transaction.on_commit(lambda: run_batch.enqueue(batch_id))
