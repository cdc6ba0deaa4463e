"""``fanzha demo-logins [--json]``: the demo logins of a built demo world, without building or serving.

The table is the one ``fanzha demo`` prints (role, login, name, scope, the shared password);
``--json`` prints a list of objects (role, label, login, name, scope, password) for scripts and tests.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fanzha.demo.logins import login_rows, login_table
from fanzha.org import demo


class Command(BaseCommand):
    help = (
        "Print the demo logins (role, login, name, scope) as `fanzha demo` prints them; "
        "--json prints them as a JSON list for scripts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="a JSON list instead of the table")

    def handle(self, *args: Any, **options: Any) -> None:
        logins = demo.demo_logins()
        if not any(login.user is not None and login.role != "superuser" for login in logins):
            raise CommandError("No demo world in this database: run `fanzha demo --no-serve` first.")
        if options["json"]:
            self.stdout.write(json.dumps(login_rows(logins), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(login_table(logins))
