"""``fanzha sync-content [--dir DIR]``: load the built-in knowledge content into the database.

Fraud types, articles, tips, slogans and the question bank come from ``fanzha/learn/content``
(or ``--dir``); default quiz papers are created per audience. Safe to run again: it changes only
what the files changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fanzha.learn.actions import sync_content


class Command(BaseCommand):
    help = "Sync built-in fraud types, articles, tips, slogans, questions and default quiz papers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", help="read the content files from this directory instead")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["dir"]) if options["dir"] else None
        if source is not None and not source.is_dir():
            raise CommandError(f"--dir: not a directory: {source}")
        try:
            result = sync_content(source)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        for name, c in result.counts.items():
            self.stdout.write(
                f"{name}: {c['created']} created, {c['updated']} updated, {c['retired']} retired"
            )
