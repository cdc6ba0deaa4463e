"""``fanzha bench pages`` on a tiny demo world: every demo role crawled, no server error, nothing outside
the site requested, signing out never requested. Structure only: the figures are the benchmark's."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from fanzha.bench import pages
from fanzha.org.models import Unit


def test_links_of_keeps_same_site_paths_only():
    html = """
      <a href="/cases/?page=2#top">next</a> <a href="detail/">relative</a>
      <a href="http://localhost/campaigns/">absolute, same site</a>
      <a href="https://example.com/cases/">another site</a> <a href="//evil.example/x">scheme-relative</a>
      <a href="mailto:a@b.c">mail</a> <a href="javascript:void(0)">js</a> <a href="tel:110">tel</a>
      <a>no href</a>
    """
    assert pages.links_of(html, "/cases/1/") == ["/cases/?page=2", "/cases/1/detail/", "/campaigns/"]


def test_p95_is_the_nearest_rank():
    assert pages.p95([5.0, 1.0, 3.0, 2.0, 4.0]) == 5.0
    assert pages.p95([float(n) for n in range(1, 101)]) == 95.0


@pytest.mark.django_db(transaction=True)
def test_bench_pages_crawls_every_role(monkeypatch, tmp_path):
    monkeypatch.setattr("fanzha.core.management.commands.serve.collect_static_if_needed", lambda log: None)
    monkeypatch.setitem(
        settings.STORAGES, "staticfiles", {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    )
    # A state-changing GET offered first of all: signing out must be skipped, or every later page of the
    # role would be the sign-in page's redirect.
    offered = pages.start_urls

    def with_sign_out(user):
        return [reverse("logout"), reverse("member_signout", args=["x" * 22]), *offered(user)]

    monkeypatch.setattr(pages, "start_urls", with_sign_out)
    database = settings.DATABASES["default"]["NAME"]
    out, err = StringIO(), StringIO()
    path = tmp_path / "pages.sqlite3"
    call_command(
        "bench", "pages", "--db", str(path), "--scale", "0.02", "--per-pattern", "1", "--max-pages", "30",
        "--json",
        stdout=out, stderr=err,
    )  # fmt: skip
    result = json.loads(out.getvalue())

    from fanzha.bench.alert import sqlite_file
    from fanzha.org.demo import demo_logins

    with sqlite_file(path):
        roles = [login.role for login in demo_logins()]
    assert len(roles) >= 15 and result["roles_missing"] == []
    assert list(result["roles"]) == roles  # every demo login crawled …
    for role, counts in result["roles"].items():
        assert counts["pages"] >= 2, role  # … past its first page: it stayed signed in
    assert result["roles"]["superuser"]["pages"] == 30  # --max-pages
    views = {row["view"] for row in result["patterns"]}
    assert "logout" not in views and "member_signout" not in views
    assert {"home", "campaign_list"} <= views
    assert result["pattern_count"] == len(result["patterns"]) >= 40
    assert all(row["pattern"].startswith("/") and row["n"] >= 1 for row in result["patterns"])
    assert all(row["n"] <= len(row["roles"]) for row in result["patterns"])  # one URL per pattern and role
    kinds = {kind for row in result["patterns"] for kind in row["content_types"]}
    assert "text/html" in kinds
    assert result["errors"] == []  # no 5xx anywhere
    assert result["pages"] == sum(counts["pages"] for counts in result["roles"].values())
    assert 0 < result["p50_ms"] <= result["p95_ms"] and result["baseline_ms"] > 0
    assert len(result["slowest"]) == pages.SLOWEST
    assert result["slowest"][0]["p95_ms"] == max(row["p95_ms"] for row in result["patterns"])
    # The test's own database is left alone.
    assert settings.DATABASES["default"]["NAME"] == database and not Unit.objects.exists()

    # Without --json a table for a person; an existing --db file is used only with --reuse.
    table = pages.render(result)
    assert "overall p50" in table and "slowest ten by p95" in table and "superuser" in table
    with pytest.raises(Exception, match="--reuse"):
        call_command("bench", "pages", "--db", str(path), stdout=StringIO(), stderr=err)
