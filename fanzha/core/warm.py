"""Warm a server process before it takes traffic: code, URLs, templates, translations, database, figures.

Why: a freshly started server answered the province root dashboard under 50 users at a median of
1.4–2.7 s for its first 30 s (max 11 s) before settling at 28 ms: every worker process compiled its
templates, imported its views, read its translations, opened its database connection and ran the
dashboard's aggregate queries (on a database whose pages were still on disk) while the crowd waited.
``fanzha.wsgi`` calls ``warm()`` in each gunicorn worker as it loads the application, before the worker
accepts its first connection (``FANZHA_WARM_ON_START``); ``fanzha warm`` runs the same steps by hand
(with ``FANZHA_CACHE=redis`` it fills the shared cache for every worker).

Core knows no domain app: apps register their own warmers (``register``) in ``AppConfig.ready``, as
``reports`` does for the root dashboards. A failing step is logged and skipped: warming must never
stop a server from starting. Steps stop once ``budget`` seconds have passed (gunicorn's worker timeout
is 120 s).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Warmer = Callable[[], object]
_warmers: list[tuple[str, Warmer]] = []
BUDGET_SECONDS = 60.0


def register(name: str, warmer: Warmer) -> None:
    """Add ``warmer()`` under ``name`` to the steps of ``warm``; registering a name twice is a no-op."""
    if all(existing != name for existing, _w in _warmers):
        _warmers.append((name, warmer))


def _urls() -> int:
    """The URL conf imported and resolved once: every view module is imported on the way."""
    from django.urls import get_resolver, reverse

    resolver = get_resolver()
    reverse("login")
    return len(resolver.reverse_dict)


def _templates() -> int:
    """Every template of the apps' ``templates`` directories compiled once (the cached loader keeps them)."""
    from django.apps import apps
    from django.template import TemplateDoesNotExist, TemplateSyntaxError
    from django.template.loader import get_template

    count = 0
    for config in apps.get_app_configs():
        if not config.name.startswith("fanzha"):
            continue
        root = Path(config.path) / "templates"
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.html")):
            try:
                get_template(path.relative_to(root).as_posix())
            except (TemplateDoesNotExist, TemplateSyntaxError):
                continue
            count += 1
    return count


def _translations() -> int:
    """The catalogue of every language loaded once (the first ``gettext`` of a language reads the .mo)."""
    from django.conf import settings
    from django.utils import translation

    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("首页")
    return len(settings.LANGUAGES)


def _database() -> int:
    from django.db import connection

    connection.ensure_connection()
    return 1


STEPS: list[tuple[str, Warmer]] = [
    ("database", _database),
    ("urls", _urls),
    ("translations", _translations),
    ("templates", _templates),
]


def warm(budget: float = BUDGET_SECONDS) -> dict[str, Any]:
    """Run every step, then the registered warmers, until ``budget`` seconds have passed; returns
    ``{step: {"seconds": …, "result": …}}`` (``"error"`` for a step that failed, ``"skipped"`` past the
    budget)."""
    started = time.monotonic()
    done: dict[str, Any] = {}
    for name, step in [*STEPS, *_warmers]:
        if time.monotonic() - started > budget:
            done[name] = {"skipped": True}
            continue
        t0 = time.monotonic()
        try:
            result = step()
        except Exception as exc:  # noqa: BLE001 - warming must never stop the server from starting
            log.warning("warm-up step %s failed: %s", name, exc.__class__.__name__, exc_info=True)
            done[name] = {"error": exc.__class__.__name__, "seconds": round(time.monotonic() - t0, 3)}
            continue
        done[name] = {"seconds": round(time.monotonic() - t0, 3), "result": result}
    log.info("warmed in %.1f s: %s", time.monotonic() - started, ", ".join(done))
    return done


def warm_on_start() -> None:
    """Warm this process if ``FANZHA_WARM_ON_START`` (the WSGI module calls it once per worker)."""
    from django.conf import settings

    if getattr(settings, "FANZHA_WARM_ON_START", False):
        warm()
