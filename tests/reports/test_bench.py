"""``fanzha bench rollup`` as a user runs it, on a tiny version of the large world."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from fanzha.reach.models import Attestation


@pytest.mark.django_db(transaction=True)  # the hooks run after commit, as in production
def test_bench_rollup_prints_one_json_object(monkeypatch):
    monkeypatch.setattr("fanzha.core.management.commands.serve.collect_static_if_needed", lambda log: None)
    out, err = StringIO(), StringIO()
    call_command("bench", "rollup", "--scale", "0.01", "--runs", "1", stdout=out, stderr=err)
    result = json.loads(out.getvalue())
    for key in (
        "people",
        "units",
        "rollup_seconds",
        "floor_seconds",
        "ratio",
        "dashboard_ms",
        "update_ms",
        "change_to_dashboard_ms",
        "membership_to_dashboard_ms",
    ):
        assert key in result, key
    assert result["people"] > 500 and result["units"] > 100
    assert result["attestations"] == Attestation.objects.count() > 0
    assert result["update_seen"] is True  # the root's figure changed after one attestation did
    assert result["change_seen"] is True  # … and after a member signed the pledge
    assert result["membership_seen"] is True  # … and after a student joined a class
    assert "building the large demo world" in err.getvalue()

    again_out, again_err = StringIO(), StringIO()
    call_command(
        "bench", "rollup", "--reuse", "--scale", "0.01", "--runs", "1", stdout=again_out, stderr=again_err
    )
    again = json.loads(again_out.getvalue())
    assert again["attestations"] == result["attestations"]
    assert again["kpi_rows"] == result["kpi_rows"]
    assert again["membership_seen"] is True  # the person taken out last time joins again
    assert "writing attestations" not in again_err.getvalue()
