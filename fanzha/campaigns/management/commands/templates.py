"""``fanzha templates [--sync]``: list the built-in campaign templates (code and title).

With ``--sync`` the files are also written to the database (one row per template), which
starting a campaign from a built-in template needs.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from fanzha.campaigns.plan_templates.actions import display_title, sync_builtin_templates
from fanzha.campaigns.spec import TemplateError, builtin_templates


class Command(BaseCommand):
    help = "List the built-in campaign templates (code and title); --sync stores them in the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sync", action="store_true", help="upsert the built-in templates into the database"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            specs = builtin_templates()
            synced = len(sync_builtin_templates()) if options["sync"] else None
        except TemplateError as exc:
            raise CommandError(str(exc)) from exc
        width = max((len(code) for code in specs), default=0)
        for code, spec in specs.items():
            self.stdout.write(f"{code.ljust(width)}  {spec.seed}  {display_title(spec)}")
        if synced is not None:
            self.stdout.write(_("已同步 %(count)d 个内置模板") % {"count": synced})
