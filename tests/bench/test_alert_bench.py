"""``fanzha bench alert`` as a user runs it: one JSON object, positive figures, and the test's own
database left alone (the benchmark builds its tiny world in a throwaway SQLite file)."""

from __future__ import annotations

import json
import os
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from fanzha.cases.models import Case
from fanzha.org.models import Unit

FIGURES = (
    "report_to_webhook_ms",
    "report_to_webhook_p95_ms",
    "response_ms",
    "response_p95_ms",
    "in_app_ms",
    "in_app_p95_ms",
    "baseline_ms",
    "ratio",
)


@pytest.mark.django_db(transaction=True)  # the alert is delivered after commit, as in production
def test_bench_alert_prints_one_json_object(monkeypatch):
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    database = settings.DATABASES["default"]["NAME"]
    out, err = StringIO(), StringIO()
    call_command("bench", "alert", "--runs", "2", stdout=out, stderr=err)
    result = json.loads(out.getvalue())
    assert result["benchmark"] == "alert" and result["runs"] == 2 and result["delivery"] == "thread"
    for key in FIGURES:
        assert result[key] > 0, key
    assert result["report_to_webhook_p95_ms"] >= result["report_to_webhook_ms"]
    assert result["in_app_ms"] < result["report_to_webhook_ms"]  # in-app rows go out before the webhook
    assert result["webhook_posts"] == 3  # the warm-up and two reports, each exactly once
    assert result["message_chars"] > 100
    assert "warm-up report, then 2 timed" in err.getvalue()
    # Nothing leaked into the test's database, its settings or the environment.
    assert settings.DATABASES["default"]["NAME"] == database
    assert not Case.objects.exists() and not Unit.objects.exists()
    assert "no_proxy" not in os.environ and "NO_PROXY" not in os.environ
