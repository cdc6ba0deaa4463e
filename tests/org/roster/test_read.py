"""Reading a roster file: whatever is not one clean table is refused with a clear message."""

from __future__ import annotations

import io
import time

import pytest
from openpyxl import Workbook

from fanzha.org.models import Person
from fanzha.org.roster import columns, read

from .files import (
    csv_bytes,
    lines,
    run,
    snapshot,
    student,
    with_empty_rows,
    xlsx,
)

pytestmark = pytest.mark.django_db


def test_not_a_spreadsheet(cast):
    before = snapshot()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    for data, name in [(png, "roster.xlsx"), (png, "roster.csv"), (b"%PDF-1.7 \x00\x01", "roster.pdf")]:
        assert lines(run(data, cast.uni, filename=name)) == [
            "row 0, column -: 这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"
        ]
    zipped = io.BytesIO()
    with __import__("zipfile").ZipFile(zipped, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    assert "这不是有效的表格文件" in lines(run(zipped.getvalue(), cast.uni))[0]
    old = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    assert "不支持旧版 .xls" in lines(run(old, cast.uni, filename="roster.xls"))[0]
    assert snapshot() == before


def test_wrong_sheet_and_header_not_on_row_one(cast):
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "成绩"
    ws.append(["科目", "分数"])
    ws.append(["数学", 90])
    out = io.BytesIO()
    book.save(out)
    assert lines(run(out.getvalue(), cast.uni)) == [
        "row 1, column -: 没有找到花名册工作表：表头应在第1行（姓名、类别……）。本文件的工作表：成绩"
    ]
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["示范大学2023级学生花名册"])
    ws.append([c.header for c in columns.COLUMNS])
    out = io.BytesIO()
    book.save(out)
    assert lines(run(out.getvalue(), cast.uni)) == [
        "row 1, column -: 工作表“Sheet”的表头应在第1行：请删除表头上方的 1 行"
    ]


def test_the_roster_sheet_is_found_among_others(cast):
    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "说明"
    notes.append(["请在第二个工作表填写"])
    ws = book.create_sheet("学生")
    ws.append([c.header for c in columns.COLUMNS])
    ws.append(["新同学", "学生", "2023009", "CS", "CS2301"])
    out = io.BytesIO()
    book.save(out)
    assert run(out.getvalue(), cast.uni).ok


def test_a_million_empty_rows_are_cut_short(cast):
    empty_only = with_empty_rows(xlsx([]), 1_000_000)
    started = time.perf_counter()
    assert lines(run(empty_only, cast.uni)) == ["row 0, column -: 文件中没有数据行"]
    assert time.perf_counter() - started < 10
    data_then_empty = with_empty_rows(xlsx([student("2023009")]), 1_000_000)
    result = run(data_then_empty, cast.uni)
    assert result.ok and result.summary["rows"] == 1
    csv_empty = csv_bytes([]) + b",,,,\r\n" * 1_000_000
    assert lines(run(csv_empty, cast.uni, filename="r.csv")) == ["row 0, column -: 文件中没有数据行"]


def test_too_many_rows_are_refused(cast, monkeypatch):
    monkeypatch.setattr(read, "MAX_DATA_ROWS", 3)
    before = snapshot()
    result = run(xlsx([student(f"20230{i}") for i in range(50, 55)]), cast.uni)
    assert lines(result) == ["row 0, column -: 数据超过 3 行上限：请拆分文件后分批导入"]
    assert snapshot() == before


def test_formula_cells_are_refused(cast):
    data = xlsx([student("2023009", name='=CONCAT("张","三")'), student("2023010", phone="=13800000000+1")])
    assert lines(run(data, cast.uni)) == [
        "row 2, column 姓名: 单元格含公式：请复制后“选择性粘贴为数值”再导入",
        "row 3, column 手机号: 单元格含公式：请复制后“选择性粘贴为数值”再导入",
    ]


def test_merged_cells_are_refused(cast):
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "花名册"
    ws.append([c.header for c in columns.COLUMNS])
    ws.append(["甲", "学生", "2023009", "CS", "CS2301"])
    ws.append([None, "学生", "2023010", "CS", "CS2301"])
    ws.merge_cells("A1:B1")
    ws.merge_cells("A2:A3")
    out = io.BytesIO()
    book.save(out)
    before = snapshot()
    assert lines(run(out.getvalue(), cast.uni)) == [
        "row 1, column 姓名: 表头单元格 A1:B1 被合并：请取消合并，每列一个表头",
        "row 1, column 类别: 缺少必需的列“类别”",  # the merge swallowed the second header
        "row 2, column 姓名: 单元格 A2:A3 被合并：请取消合并并在每一行填写完整",
    ]
    assert snapshot() == before


def test_oversize_file_is_refused_before_reading(cast, settings):
    settings.FANZHA_MAX_UPLOAD_BYTES = 1000
    data = xlsx([student("2023009")])
    assert len(data) > 1000
    assert lines(run(data, cast.uni))[0].startswith("row 0, column -: 文件过大")


def test_gbk_and_utf8_csv_are_read(cast):
    rows = [student("2023009", name="欧阳锋", phone="13812345678")]
    for encoding in ("gbk", "gb18030", "utf-8", "utf-8-sig", "utf-16"):
        result = run(csv_bytes(rows, encoding), cast.uni, filename="名单.csv")
        assert result.ok, (encoding, lines(result))
    assert Person.objects.get(external_number="2023009").name == "欧阳锋"
    tabbed = csv_bytes(rows, "gbk").replace(b",", b"\t")
    assert run(tabbed, cast.uni, filename="名单.txt").ok


def test_wrong_encoding_gets_a_clear_message(cast):
    undecodable = "姓名,类别\n".encode("gbk") + b"\xff\xfe\xfd\xfc,\x81\x30\n"
    assert lines(run(undecodable, cast.uni, filename="r.csv")) == [
        "row 0, column -: 无法识别文件编码：CSV 文件请以 UTF-8 或 GBK（GB18030）编码保存"
    ]
    big5 = "姓名,類別,學號\n張三,學生,2023009\n".encode("big5")  # traditional Chinese, another code page
    message = lines(run(big5, cast.uni, filename="r.csv"))[0]
    assert "UTF-8 或 GBK" in message


def test_missing_and_duplicated_columns(cast):
    headers = ["姓名", "学号", "手机号", "手机"]
    assert lines(run(xlsx([], headers=headers), cast.uni)) == [
        "row 1, column 类别: 缺少必需的列“类别”",
        "row 1, column 手机号: 列“手机号”重复出现（第一次在 C 列）",
    ]


def test_a_gbk_file_that_is_also_valid_utf8_is_read_as_gbk(cast):
    """叶小雪 and 谢思远 in GBK are valid UTF-8 (Cyrillic and Arabic letters): once imported as that."""
    data = (
        "name,kind,number,college,class\n叶小雪,student,2023201,CS,CS2301\n谢思远,student,2023202,CS,CS2301\n"
    )
    raw = data.encode("gbk")
    raw.decode("utf-8")  # the point of the test: these bytes are valid UTF-8 as well
    result = run(raw, cast.uni, filename="名单.csv")
    assert result.ok, lines(result)
    assert set(Person.objects.filter(external_number__startswith="20232").values_list("name", flat=True)) == {
        "叶小雪",
        "谢思远",
    }


def test_utf8_that_is_also_valid_gb18030_is_read_as_utf8(cast):
    raw = "name,kind,number,college,class\n名字,student,2023203,CS,CS2301\n".encode()
    raw.decode("gb18030")  # 鍚嶅瓧 in GB18030
    assert run(raw, cast.uni, filename="名单.csv").ok
    assert Person.objects.get(external_number="2023203").name == "名字"


def test_an_ambiguous_encoding_is_asked_not_guessed(cast):
    """José in UTF-8 reads as Jos茅 in GB18030: both plausible, so the import stops and asks."""
    raw = "name,kind,number,college,class\nJosé,student,2023204,CS,CS2301\n".encode()
    before = snapshot()
    result = run(raw, cast.uni, filename="名单.csv")
    assert result.encodings == ("utf-8", "gbk")
    assert lines(result) == [
        "row 0, column -: 无法确定文件的编码：按 UTF-8 和 GBK 读都像是正常文字，请指定文件的编码"
    ]
    assert snapshot() == before
    assert run(raw, cast.uni, filename="名单.csv", encoding="utf-8").ok
    assert Person.objects.get(external_number="2023204").name == "José"
    wrong = run("姓名,类别\n张三,学生\n".encode("gbk"), cast.uni, filename="r.csv", encoding="utf-8")
    assert lines(wrong) == [
        "row 0, column -: 文件不是 UTF-8 编码：请选择另一种编码，或在 Excel 中另存为 UTF-8 CSV"
    ]


def test_an_overlong_csv_cell_is_named_not_blamed_on_quotes(cast):
    import csv

    limit = csv.field_size_limit()
    rows = csv_bytes([student("2023009"), student("2023010", name="甲" * (10 * 2**20 // 3))])
    result = run(rows, cast.uni, filename="r.csv")
    assert lines(result) == [
        f"row 3, column -: 第 3 行有一个单元格超过 {limit} 个字符（常见原因：引号没有成对，"
        "后面的内容都并进了这个单元格）"
    ]
    stray_quote = csv_bytes([]) + '"张三,学生,2023011,CS,CS2301\n'.encode() + b"a,b\n" * (limit // 4 + 10)
    assert lines(run(stray_quote, cast.uni, filename="r.csv"))[0].startswith(
        f"row 2, column -: 第 2 行有一个单元格超过 {limit} 个字符"
    )
