"""``fanzha outreach-report CAMPAIGN_ID [--unit CODE] [--format docx|xlsx] -o FILE``.

Writes the summary report (总结报告) of a campaign that counts outreach (the bank publicity month):
reach by branch × target group × channel × township (village), the goals against their targets and a
few photos; the whole campaign (the head office's report), or with ``--unit`` one branch's. The same
file the campaign's reach page downloads (``outreach.report``), for a cron job after the month.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from fanzha.campaigns.models import Campaign
from fanzha.campaigns.outreach.queries import campaign_records, totals
from fanzha.campaigns.summary import report
from fanzha.org import actions
from fanzha.org.models import Unit


class Command(BaseCommand):
    help = "Write the outreach summary report of a campaign (or one branch) as DOCX or XLSX."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", type=int, help="the campaign's id")
        parser.add_argument(
            "--unit", help="code of one branch, e.g. QSNSH/ZH01 (default: the whole campaign)"
        )
        parser.add_argument("--format", choices=["docx", "xlsx"], help="default: from the -o file's suffix")
        parser.add_argument("-o", "--output", required=True, help="the file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"])
        fmt = options["format"] or output.suffix.lower().lstrip(".")
        if fmt not in ("docx", "xlsx"):
            raise CommandError(_("请用 --format docx 或 --format xlsx 指定格式"))
        campaign = Campaign.objects.select_related("unit").filter(pk=options["campaign"]).first()
        if campaign is None:
            raise CommandError(_("未找到专项行动 %(id)s") % {"id": options["campaign"]})
        records = campaign_records(campaign)
        unit = None
        if options["unit"]:
            try:
                unit = actions.resolve_unit(options["unit"])
            except Unit.DoesNotExist as exc:
                raise CommandError(_("未找到单位代码 %(code)s") % {"code": options["unit"]}) from exc
            except ValidationError as exc:
                raise CommandError(exc.messages[0]) from exc
            if not unit.path.startswith(campaign.unit.path):
                raise CommandError(_("该单位不在专项行动的范围内。"))
            records = records.filter(unit__path__startswith=unit.path)
        found = totals(campaign, records)
        if found is None:
            raise CommandError(_("该专项行动不统计覆盖人群和渠道"))
        content, _type = report.render(found, fmt, unit)
        output.write_bytes(content)
        self.stdout.write(_("已写入 %(file)s") % {"file": output})
