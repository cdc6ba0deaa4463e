"""``fanzha restore``: put a ``fanzha backup`` archive back (see ``fanzha.core.backup``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fanzha.core import backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `fanzha backup`: the database, then the uploaded files, then migrate "
        "if the backup is older. Stop the server and workers first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="the .tar.gz written by `fanzha backup`")
        parser.add_argument("--yes", action="store_true", help="replace the data of a database in use")
        parser.add_argument(
            "--ignore-key-mismatch",
            action="store_true",
            help="restore although FANZHA_FIELD_KEY differs (encrypted fields become unreadable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            backup.restore_backup(
                options["archive"],
                replace=options["yes"],
                ignore_key_mismatch=options["ignore_key_mismatch"],
                log=self.stdout.write,
                warn=lambda message: self.stderr.write(self.style.WARNING(f"WARNING: {message}")),
            )
        except backup.BackupError as exc:
            raise CommandError(str(exc), returncode=exc.code) from exc
        self.stdout.write(self.style.SUCCESS("restored"))
