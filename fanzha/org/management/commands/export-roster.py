"""``fanzha export-roster --unit CODE -o FILE.xlsx [--user USERNAME] [--reveal]``: the roster of a unit's
subtree.

The file has the import template's layout, so it can be edited and imported again. Phone and
ID numbers are masked unless ``--reveal`` (masked values re-import as "unchanged"). ``--reveal``
needs ``--user``, an account allowed to reveal at the unit (``Cap.REVEAL``); an export on a named
account is audited under it (who, unit, count, revealed), like the page's. Bad input (unknown or
ambiguous unit, unknown user, no permission, wrong file name) ends with exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from fanzha.org import actions
from fanzha.org.models import Unit, User
from fanzha.org.roster import actions as roster
from fanzha.org.roster import export as roster_export

BAD_INPUT = 2


def fail(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


class Command(BaseCommand):
    help = "Export the roster of a unit's subtree to XLSX (the import template's layout)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help="unit code, e.g. UNI or UNI/CS")
        parser.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
        parser.add_argument("--user", help="username of the account on whose authority the export runs")
        parser.add_argument(
            "--reveal", action="store_true", help="write full phone and ID numbers (needs --user with reveal)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = (options.get("user") or "").strip()
        if options["reveal"] and not username:
            raise fail(_("导出完整号码须用 --user 指定有权查看完整号码的账号（将记入审计日志）"))
        user = None
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise fail(_("未找到账号 %(user)s") % {"user": username})
        try:
            unit = actions.resolve_unit(options["unit"])
        except Unit.DoesNotExist as exc:
            raise fail(_("未找到单位代码 %(code)s") % {"code": options["unit"]}) from exc
        except ValidationError as exc:
            raise fail(exc.messages[0]) from exc
        output = Path(options["output"])
        if output.suffix.lower() != ".xlsx":
            raise fail(_("输出文件应以 .xlsx 结尾"))
        if not output.parent.is_dir():
            raise fail(_("目录不存在：%(dir)s") % {"dir": output.parent})
        if user is None:
            count = roster_export.export_roster(unit, output)
        else:
            try:
                count = roster.export_for(user, unit, output, reveal=options["reveal"])
            except PermissionDenied as exc:
                raise fail(str(exc) or _("您没有权限进行此操作")) from exc
        self.stdout.write(_("已导出 %(count)d 人到 %(file)s") % {"count": count, "file": output})
