"""``fanzha export-roster --unit CODE -o FILE.xlsx [--reveal]``: the roster of a unit's subtree.

The file has the import template's layout, so it can be edited and imported again. Phone and
ID numbers are masked unless ``--reveal`` (masked values re-import as "unchanged").
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from fanzha.org import actions
from fanzha.org.models import Unit
from fanzha.org.roster import export as roster_export


class Command(BaseCommand):
    help = "Export the roster of a unit's subtree to XLSX (the import template's layout)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help="unit code, e.g. UNI or UNI/CS")
        parser.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
        parser.add_argument("--reveal", action="store_true", help="write full phone and ID numbers")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            unit = actions.resolve_unit(options["unit"])
        except Unit.DoesNotExist as exc:
            raise CommandError(_("未找到单位代码 %(code)s") % {"code": options["unit"]}) from exc
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from exc
        if not options["output"].lower().endswith(".xlsx"):
            raise CommandError(_("输出文件应以 .xlsx 结尾"))
        count = roster_export.export_roster(unit, options["output"], reveal=options["reveal"])
        self.stdout.write(_("已导出 %(count)d 人到 %(file)s") % {"count": count, "file": options["output"]})
