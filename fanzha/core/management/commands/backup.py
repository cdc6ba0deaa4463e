"""``fanzha backup``: the database and the uploaded files in one archive (see ``fanzha.core.backup``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fanzha.core import backup


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite online backup or pg_dump) and the uploaded files into a .tar.gz; "
        "the field key is NOT included: keep it separately."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-o",
            "--output",
            type=Path,
            help="archive to write, or a directory for it (default: $FANZHA_DATA_DIR/backups/)",
        )
        parser.add_argument(
            "--no-media", action="store_true", help="leave out the uploaded files (e.g. kept in S3)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = backup.create_backup(
                options["output"],
                include_media=not options["no_media"],
                log=self.stdout.write,
                warn=lambda message: self.stderr.write(self.style.WARNING(f"WARNING: {message}")),
            )
        except backup.BackupError as exc:
            raise CommandError(str(exc), returncode=exc.code) from exc
        self.stdout.write(self.style.SUCCESS(f"backup written: {path}"))
