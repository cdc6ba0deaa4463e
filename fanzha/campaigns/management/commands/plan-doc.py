"""``fanzha plan-doc TEMPLATE --unit CODE --format docx|pdf -o FILE [--start DATE] [--end DATE]
[--set name=value ...]``.

Writes the plan document of a template (built-in, or a user's own by its code) for one unit.
Placeholders default from the unit and today: organisation = the unit's name, year = the start's
year, issue_date = today as 2026年11月30日; ``--set`` overrides any of them. Deadlines count from
``--start`` (default today) to ``--end`` (default the template's usual length).

Why it warns and refuses: a plan printed with blank lines nobody noticed, or a ``--set leadr=`` typo
silently ignored, reaches the people it is sent to. Blanks are allowed (a plan may be filled in by
hand) but named on stderr; an unknown name stops the command.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from fanzha.campaigns.documents import formats
from fanzha.campaigns.documents import plan as documents
from fanzha.campaigns.models import CampaignTemplate
from fanzha.campaigns.spec import BUILTIN_PLACEHOLDERS, TemplateError, TemplateSpec, builtin_templates
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


def check_names(spec: TemplateSpec, values: dict[str, str]) -> None:
    """Refuse a name the template does not have, listing the ones it has."""
    known = [p.name for p in spec.placeholders] + list(BUILTIN_PLACEHOLDERS)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise CommandError(
            _("模板中没有这些占位符：%(names)s。可以填写的有：%(known)s")
            % {"names": "、".join(unknown), "known": "、".join(dict.fromkeys(known))}
        )


def parse_day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            _("%(option)s 应为日期，例如 2026-09-01：%(value)s") % {"option": option, "value": value}
        ) from exc


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
        parser.add_argument("--start", metavar="YYYY-MM-DD", help="the campaign's first day (default today)")
        parser.add_argument("--end", metavar="YYYY-MM-DD", help="its last day (default: the usual length)")

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
        given = parse_sets(options["set"])
        check_names(spec, given)
        starts_on = parse_day(options["start"], "--start")
        ends_on = parse_day(options["end"], "--end")
        if starts_on and ends_on and ends_on < starts_on:
            raise CommandError(_("结束日期不能早于开始日期"))
        plan = documents.build_plan(spec, unit, given, starts_on=starts_on, ends_on=ends_on)
        blank = documents.unfilled(spec, documents.plan_values(spec, unit, given))
        if blank:
            self.stderr.write(
                _("提醒：以下内容未填写，文件中留有空白横线：%(names)s。可用 --set 名称=值 填写。")
                % {"names": "、".join(f"{p.label}（{p.name}）" for p in blank)}
            )
        try:
            content, _type = formats.render(plan, fmt)
        except formats.CJKFontMissing as exc:
            raise CommandError(str(exc)) from exc
        output.write_bytes(content)
        self.stdout.write(_("已写入 %(file)s") % {"file": output})
