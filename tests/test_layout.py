"""The house rules that a linter does not see: file names by layer, tasks and menus owned by apps.

The import rules themselves are import-linter contracts (``lint-imports`` in ``make test``)."""

from __future__ import annotations

import re
from pathlib import Path

import fanzha
from fanzha.core import jobs, menu

PACKAGE = Path(fanzha.__file__).parent
LAYERS = ("actions", "views", "urls", "forms", "queries", "tasks", "reads")


def modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]


def test_no_module_is_named_feature_underscore_layer():
    pattern = re.compile(rf"^[a-z]+_({'|'.join(LAYERS)})\.py$")
    offenders = [str(p.relative_to(PACKAGE)) for p in modules() if pattern.match(p.name)]
    assert offenders == [], "a feature with more than one layer is a package: " + ", ".join(offenders)


def test_core_names_no_task_of_an_app():
    """core's scheduler runs what apps register; it names none of their tasks itself."""
    text = "\n".join(p.read_text() for p in (PACKAGE / "core").rglob("*.py"))
    for name in ("deliver_outbox", "escalate_alerts", "post_tips", "send_reminders", "rollup_refresh"):
        assert name not in text, name


def test_every_tasks_module_registers_its_jobs():
    registered = {job.enqueue.__module__ for job in jobs.registered()}
    with_jobs = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        for p in modules()
        if p.name == "tasks.py" and re.search(r"^JOBS = ", p.read_text(), re.M)
    }
    assert with_jobs and with_jobs <= registered


def test_every_menu_entry_leads_to_a_page_of_its_own_section():
    from django.urls import resolve, reverse

    entries = menu.entries()
    assert [e.order for e in entries] == sorted(e.order for e in entries)
    for entry in entries:
        url_name = resolve(reverse(entry.url_name)).url_name
        assert menu.section_of(url_name) == entry.section, entry
