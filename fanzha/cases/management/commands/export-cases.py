"""``fanzha export-cases --unit CODE -o FILE.xlsx --user USERNAME [--reveal]``: the case ledger of a
unit's subtree, on the authority of a named account.

The account's scope decides what is exported (``Cap.CASE_VIEW``); ``--reveal`` writes the victims'
phone and ID numbers, family situation, source of funds and own accounts, and needs
``Cap.CASE_REVEAL`` at the unit. Every export is audited under that account. Bad input (unknown or
ambiguous unit, unknown user, no permission, wrong file name) ends with exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from fanzha.cases import actions as case_actions
from fanzha.org import actions
from fanzha.org.models import Unit, User

BAD_INPUT = 2


def fail(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


class Command(BaseCommand):
    help = "Export the case ledger of a unit's subtree to XLSX (masked unless --reveal)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help="unit code, or a code path such as UNI/CS")
        parser.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
        parser.add_argument("--user", help="username of the account on whose authority the export runs")
        parser.add_argument(
            "--reveal", action="store_true", help="write the victims' sensitive details (needs case_reveal)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = (options.get("user") or "").strip()
        if not username:
            raise fail(_("请用 --user 指定以哪个账号的权限导出"))
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
        try:
            data = case_actions.export_ledger(user, unit, reveal=options["reveal"])
        except PermissionDenied as exc:
            raise fail(str(exc) or _("您没有权限进行此操作")) from exc
        output.write_bytes(data)
        self.stdout.write(_("已导出 %(unit)s 的案件台账到 %(file)s") % {"unit": unit.name, "file": output})
