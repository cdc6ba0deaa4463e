"""The roster template and export: the same layout out that the import takes in."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from fanzha.org.roster import columns, read
from fanzha.org.roster import export as roster_export

from .files import (
    lines,
    run,
)

pytestmark = pytest.mark.django_db


def test_template_has_chinese_headers_and_reads_back_empty():
    out = io.BytesIO()
    roster_export.write_template(out)
    book = load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames[0] == "花名册"
    assert [c.value for c in book["花名册"][1]][:3] == ["姓名*", "类别*", "学号/工号"]
    assert "说明" in book.sheetnames
    table = read.read_table(io.BytesIO(out.getvalue()), "t.xlsx")
    assert set(table.columns) == {c.key for c in columns.COLUMNS}
    assert [p.message for p in table.problems.sorted()] == ["文件中没有数据行"]


def test_export_writes_the_template_layout_masked(cast):
    out = io.BytesIO()
    count = roster_export.export_roster(cast.uni, out)
    assert count == 3  # 张三, 李四, 王五
    book = load_workbook(io.BytesIO(out.getvalue()))
    rows = {r[2]: r for r in book["花名册"].iter_rows(min_row=2, values_only=True)}
    zhang = rows["2023001"]
    assert zhang[:8] == ("张三", "学生", "2023001", "CS", "CS2301", "D1", "D1-101", None)
    assert zhang[8] == "138****8000" and zhang[9] == "110***********002X"
    assert zhang[13:] == ("张父", "139****9000", "父亲", "2023002", None)
    assert rows["2023002"][7] == "班长"


def test_export_then_import_changes_nothing_and_reveal_writes_full_numbers(cast):
    out = io.BytesIO()
    roster_export.export_roster(cast.uni, out)
    result = run(out.getvalue(), cast.uni)
    assert result.ok, lines(result)
    assert not any(v for k, v in result.summary.items() if k not in {"rows", "people_unchanged"})
    full = io.BytesIO()
    roster_export.export_roster(cast.cs2301, full, reveal=True)
    values = [
        r for r in load_workbook(full)["花名册"].iter_rows(min_row=2, values_only=True) if r[2] == "2023001"
    ]
    assert values[0][8] == "13800138000" and values[0][9] == "11010519491231002X"
