"""``fanzha bulletin UNIT_ID --month YYYY-MM | --quarter YYYY-Qn | --year YYYY [-o FILE]``: the unit's
periodic bulletin (通报) as DOCX, for the operator on the server.

It counts the whole subtree of the unit (aggregates only: no victim's details are in a bulletin) and
records nothing: issuing the bulletin against the campaign's obligation is done from its page. Bad
input (unknown unit, no or malformed period) ends with exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fanzha.cases.results.bulletin import build, write_docx
from fanzha.cases.stats import results as figures_q
from fanzha.org.models import Unit

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Write a unit's periodic bulletin (month, quarter or year) as DOCX."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("unit_id", type=int, help="the unit's id")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--month", help="YYYY-MM")
        group.add_argument("--quarter", help="YYYY-Qn")
        group.add_argument("--year", help="YYYY")
        parser.add_argument(
            "-o", "--output", help="the .docx file to write (default: a name from unit and period)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        unit = Unit.objects.filter(pk=options["unit_id"]).first()
        if unit is None:
            raise CommandError(f"no unit with id {options['unit_id']}", returncode=BAD_INPUT)
        period = figures_q.parse_period(
            options["month"] or "", options["quarter"] or "", options["year"] or ""
        )
        if period is None:
            raise CommandError(
                "the period must be --month YYYY-MM, --quarter YYYY-Qn or --year YYYY", returncode=BAD_INPUT
            )
        output = Path(options["output"] or f"bulletin-{unit.pk}-{figures_q.period_code(period)}.docx")
        if output.suffix.lower() != ".docx":
            raise CommandError("the output file must end in .docx", returncode=BAD_INPUT)
        bulletin = build(figures_q.all_sources(), unit, period)
        output.write_bytes(write_docx(bulletin))
        self.stdout.write(f"{output}: {bulletin.summary}")
