"""``fanzha import-roster FILE --root CODE [--dry-run] [--create-units] [--encoding utf-8|gbk]`` and
``--template -o FILE.xlsx``.

Exit status 0 when the file was imported (or, with ``--dry-run``, would be), 1 when it has
problems: then one line per problem, ``row N, column X: message`` (N is the spreadsheet row,
the header being row 1, row 0 the file as a whole; X is the template header of the column),
and nothing is written. Exit status 2 for bad input, and for a CSV that reads as plausible text
in both UTF-8 and GBK: then ``--encoding`` says which it is (the first lines are shown both ways).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from fanzha.org import actions
from fanzha.org.models import Unit
from fanzha.org.roster import actions as roster
from fanzha.org.roster import charset, export


def resolve_root(code: str) -> Unit:
    """The unit named by ``--root``: a unique code or a path such as ``UNI/CS``."""
    try:
        return actions.resolve_unit(code)
    except Unit.DoesNotExist as exc:
        raise CommandError(_("未找到单位代码 %(code)s") % {"code": code}) from exc
    except ValidationError as exc:
        raise CommandError(exc.messages[0]) from exc


class Command(BaseCommand):
    help = "Import a roster (XLSX or CSV) into a unit's subtree, or write the empty template."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the roster file, .xlsx or .csv (UTF-8 or GBK)")
        parser.add_argument("--root", help="code of the unit the roster belongs to, e.g. UNI or UNI/CS")
        parser.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
        parser.add_argument(
            "--create-units", action="store_true", help="create missing classes and dormitories"
        )
        parser.add_argument(
            "--encoding",
            choices=sorted(charset.CHOICES),
            help="a CSV's encoding, needed when it reads as text in both (default: detected)",
        )
        parser.add_argument("--template", action="store_true", help="write the empty template (with -o)")
        parser.add_argument("-o", "--output", help="where --template writes")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["template"]:
            if not options["output"]:
                raise CommandError(_("请用 -o 指定模板文件名，例如 -o 花名册模板.xlsx"))
            export.write_template(options["output"])
            self.stdout.write(_("已写入模板 %(file)s") % {"file": options["output"]})
            return
        if not options["file"] or not options["root"]:
            raise CommandError(
                _("用法：fanzha import-roster 文件 --root 单位代码 [--dry-run] [--create-units]")
            )
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("找不到文件 %(file)s") % {"file": path})
        root = resolve_root(options["root"])
        progress = self._progress if options["verbosity"] >= 2 else None
        result = roster.import_roster(
            path,
            root,
            filename=path.name,
            dry_run=options["dry_run"],
            create_units=options["create_units"],
            progress=progress,
            encoding=options["encoding"],
        )
        if result.encodings:
            raise CommandError(self._ask_encoding(path), returncode=2)
        for problem in result.problems:
            self.stdout.write(str(problem))
        if result.problems:
            message = _("文件有 %(count)d 个问题，未写入任何数据") % {"count": result.problem_total}
            raise CommandError(message, returncode=1)
        self.stdout.write(roster.summary_text(result.summary, result.committed))

    def _ask_encoding(self, path: Path) -> str:
        """The message for a CSV that reads as text in both encodings: its first lines both ways."""
        with path.open("rb") as handle:
            shown = charset.preview(handle.read(16 * 1024), lines=3)
        lines = [
            _("无法确定 %(file)s 的编码：按 UTF-8 和 GBK 读都像是正常文字。请看哪一种读对了，")
            % {"file": path.name}
            + _("再用 --encoding utf-8 或 --encoding gbk 指定：")
        ]
        for name, rows in shown.items():
            lines.append(f"--encoding {name}:")
            lines += [f"    {row}" for row in rows]
        return "\n".join(lines)

    def _progress(self, stage: str, done: int, total: int | None) -> None:
        sys.stderr.write(f"{stage} {done}/{total or '?'}\n")
