"""``fanzha member-codes --unit CODE --user USERNAME [--all] [--site URL] -o slips.pdf``: sign-in slips
for the students of a class as a PDF, on the authority of a named account.

New personal sign-in codes are issued (``org.credentials.issue_codes``) to the students without one,
or to every student with ``--all`` (their old codes stop working), and written onto A4 slips with the
class link and its QR code. The account needs ``Cap.EDIT_PEOPLE`` at the unit, as on the page; every
code issued is audited under it. The file holds the codes: it is written readable by its owner only
and should be deleted once printed. Bad input ends with exit code 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from fanzha.campaigns.documents.formats import CJKFontMissing
from fanzha.org import actions as org_actions
from fanzha.org.credentials import actions as credentials
from fanzha.org.models import Unit, User
from fanzha.org.scope import Cap, in_scope
from fanzha.reach import actions, slips

BAD_INPUT = 2


def fail(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


class Command(BaseCommand):
    help = "Issue personal sign-in codes to a class's students and write their slips to a PDF."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help="unit code, or a code path such as UNI/CS/CS2301")
        parser.add_argument("-o", "--output", required=True, help="the .pdf file to write (mode 0600)")
        parser.add_argument("--user", help="username of the account on whose authority the codes are issued")
        parser.add_argument(
            "--all", action="store_true", help="new codes for every student (default: those without one)"
        )
        parser.add_argument("--site", help="the site's address for the class link (default: FANZHA_SITE_URL)")

    def handle(self, *args: Any, **options: Any) -> None:
        username = (options.get("user") or "").strip()
        if not username:
            raise fail(_("请用 --user 指定以哪个账号的权限发放登录码"))
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise fail(_("未找到账号 %(user)s") % {"user": username})
        try:
            unit = org_actions.resolve_unit(options["unit"])
        except Unit.DoesNotExist as exc:
            raise fail(_("未找到单位代码 %(code)s") % {"code": options["unit"]}) from exc
        except ValidationError as exc:
            raise fail(exc.messages[0]) from exc
        if not in_scope(user, unit, Cap.EDIT_PEOPLE):
            raise fail(
                _("账号 %(user)s 无权为“%(unit)s”的人员发放登录码") % {"user": username, "unit": unit.name}
            )
        site = (options.get("site") or settings.FANZHA_SITE_URL or "").rstrip("/")
        if not site.startswith(("https://", "http://")):
            raise fail(_("请用 --site 或 FANZHA_SITE_URL 指定本站地址（如 https://fanzha.example.edu.cn）"))
        output = Path(options["output"])
        if output.suffix.lower() != ".pdf":
            raise fail(_("输出文件应以 .pdf 结尾"))
        if not output.parent.is_dir():
            raise fail(_("目录不存在：%(dir)s") % {"dir": output.parent})
        try:
            # One transaction: when the PDF cannot be made, no code is replaced.
            with transaction.atomic():
                issued = credentials.issue_codes(unit, user, only_missing=not options["all"])
                url = site + reverse("member_landing", args=[actions.ensure_class_link(unit).token])
                data = slips.pdf_bytes(unit, issued, url) if issued else b""
        except ValidationError as exc:
            raise fail(exc.messages[0]) from exc
        except CJKFontMissing as exc:
            raise fail(str(exc)) from exc
        if not issued:
            self.stdout.write(_("所有学生都已有登录码，没有生成新的登录条。需要时请加 --all。"))
            return
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(output, 0o600)  # an existing file keeps its old mode otherwise
        self.stdout.write(
            _("已为 %(n)s 名学生生成登录码，登录条写入 %(file)s（含登录码，打印后请删除）")
            % {"n": len(issued), "file": output}
        )
