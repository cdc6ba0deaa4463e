"""``fanzha warm``: run the warm-up steps a server process runs before its first request, and say what
each took. With ``FANZHA_CACHE=redis`` it also fills the figures every worker shares; with the local
cache it is a check that warming works (each gunicorn worker warms itself, ``fanzha.wsgi``)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fanzha.core.warm import BUDGET_SECONDS, warm


class Command(BaseCommand):
    help = "Warm code, templates, translations and the root dashboards' figures; print what each step took."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--budget", type=float, default=BUDGET_SECONDS, help="seconds after which steps are skipped"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(warm(options["budget"]), ensure_ascii=False, indent=2))
