"""``fanzha plan-doc TEMPLATE --unit CODE --format docx|pdf -o FILE [--set name=value ...]``.

Writes the plan document of a template (built-in, or a user's own by its code) for one unit.
Placeholders default from the unit and today: organisation = the unit's name, year = this
year, issue_date = today as 2026年11月30日; ``--set`` overrides any of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from fanzha.campaigns.documents import formats
from fanzha.campaigns.documents import plan as documents
from fanzha.campaigns.models import CampaignTemplate
from fanzha.campaigns.spec import TemplateError, TemplateSpec, builtin_templates
from fanzha.org import actions
from fanzha.org.models import Unit


def find_spec(code: str) -> TemplateSpec:
    """A built-in template from its file, else an active template stored in the database."""
    try:
        builtin = builtin_templates()
        if code in builtin:
            return builtin[code]
        row = CampaignTemplate.objects.filter(code=code, is_active=True).first()
        if row is not None:
            return row.spec()
    except TemplateError as exc:
        raise CommandError(str(exc)) from exc
    raise CommandError(_("未找到模板 %(code)s；用 fanzha templates 查看内置模板") % {"code": code})


def parse_sets(items: list[str]) -> dict[str, str]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CommandError(
                _("--set 的格式应为 名称=值，例如 --set leader=张三：%(item)s") % {"item": item}
            )
        values[name.strip()] = value
    return values


class Command(BaseCommand):
    help = "Write a template's plan document for a unit as DOCX or PDF."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("template", help="template code, e.g. university-fraud-free-campus")
        parser.add_argument("--unit", required=True, help="code of the issuing unit, e.g. UNI or UNI/CS")
        parser.add_argument("--format", choices=["docx", "pdf"], help="default: from the -o file's suffix")
        parser.add_argument("-o", "--output", required=True, help="the file to write")
        parser.add_argument(
            "--set", action="append", default=[], metavar="NAME=VALUE", help="fill a placeholder"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"])
        fmt = options["format"] or output.suffix.lower().lstrip(".")
        if fmt not in ("docx", "pdf"):
            raise CommandError(_("请用 --format docx 或 --format pdf 指定格式"))
        spec = find_spec(options["template"])
        try:
            unit = actions.resolve_unit(options["unit"])
        except Unit.DoesNotExist as exc:
            raise CommandError(_("未找到单位代码 %(code)s") % {"code": options["unit"]}) from exc
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from exc
        plan = documents.build_plan(spec, unit, parse_sets(options["set"]))
        try:
            content, _type = formats.render(plan, fmt)
        except formats.CJKFontMissing as exc:
            raise CommandError(str(exc)) from exc
        output.write_bytes(content)
        self.stdout.write(_("已写入 %(file)s") % {"file": output})
