"""Warming a server process (``fanzha.core.warm``) and the root dashboards' shared figures
(``reports.warm``, ``core.singleflight``): after the warm-up, the first crowd on the root dashboard
reads the figures instead of running the aggregate queries again."""

from __future__ import annotations

import logging
from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fanzha.core import warm
from fanzha.reports.warm import root_campaigns, warm_root_dashboards

KPI_READS = "reports_kpicount"


def kpi_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return sum(KPI_READS in q["sql"] for q in ctx.captured_queries)


def test_warmed_root_dashboard_reads_its_figures_from_the_cache(client, cast, campaign, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.FANZHA_FIGURES_SECONDS = 60
    assert root_campaigns() == [campaign]
    cast.school_admin.is_superuser = True  # the warm-up renders as the first superuser
    cast.school_admin.save()
    assert warm_root_dashboards() == 1
    client.force_login(cast.school_admin)
    url = reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk])
    assert kpi_queries(client, url) == 0  # sums and trend computed by the warm-up


def test_without_shared_figures_every_request_computes(client, cast, campaign, settings):
    """The tests' settings (``FANZHA_FIGURES_SECONDS=0``): a page always shows the figures of now."""
    client.force_login(cast.school_admin)
    url = reverse("dashboard_unit", args=[campaign.pk, cast.uni.pk])
    warm_root_dashboards()
    assert kpi_queries(client, url) == 2


def test_warm_runs_every_step_and_survives_a_failing_one(db, caplog):
    def broken() -> None:
        raise RuntimeError("no database")

    warm.register("test_broken", broken)
    try:
        with caplog.at_level(logging.WARNING, logger="fanzha.core.warm"):
            done = warm.warm()
    finally:
        warm._warmers[:] = [(n, w) for n, w in warm._warmers if n != "test_broken"]
    assert done["test_broken"]["error"] == "RuntimeError"
    assert done["templates"]["result"] > 50  # every fanzha template compiled
    assert done["root_dashboards"]["result"] == 0  # no running campaign at a root unit here
    assert "test_broken" in caplog.text


def test_the_warm_command_says_what_each_step_took(db):
    out = StringIO()
    call_command("warm", stdout=out)
    assert '"urls"' in out.getvalue() and '"seconds"' in out.getvalue()


def test_past_the_budget_steps_are_skipped(db):
    done = warm.warm(budget=-1)
    assert all(step == {"skipped": True} for step in done.values())
