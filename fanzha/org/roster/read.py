"""Reading a roster file into raw rows: XLSX through openpyxl's read-only reader, once ``scan`` has
checked the zip and its XML as a stream; CSV in UTF-8, GB18030/GBK or UTF-16. Whatever is not one
clean table is refused here: oversize, a zip bomb, not a spreadsheet, unknown encoding, no template
header, merged or formula cells, too many rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from . import charset, scan
from .columns import (
    HEADER_KEYS,
    MAX_HEADER_COLUMNS,
    REQUIRED_KEYS,
    SHEET_NAME,
    Problems,
    Progress,
    _norm_header,
    header_label,
)

MAX_DATA_ROWS = 200_000  # a bigger file is refused before any checking


EMPTY_RUN_LIMIT = 1_000  # this many blank rows in a row end the table


@dataclass
class Table:
    """Raw rows of the roster sheet: column key → index, and (row number, cell values) pairs."""

    columns: dict[str, int] = field(default_factory=dict)
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)
    kind: str = ""  # "xlsx" or "csv"
    encodings: tuple[str, ...] = ()  # a CSV readable in these encodings alike: the user must choose


_EXCEL_ERRORS = {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#GETTING_DATA"}


_MERGE_RE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")


def _fail(message: str, row: int = 0, key: str = "") -> Table:
    table = Table()
    table.problems.add(row, key, message)
    return table


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header_map(cells: Sequence[Any]) -> tuple[dict[str, int], list[tuple[str, int, int]]]:
    """Map header cells to column keys; also return duplicated columns (key, first, second index)."""
    columns: dict[str, int] = {}
    duplicates = []
    for index, cell in enumerate(cells):
        key = HEADER_KEYS.get(_norm_header(cell))
        if key is None:
            continue
        if key in columns:
            duplicates.append((key, columns[key], index))
        else:
            columns[key] = index
    return columns, duplicates


def _looks_like_header(cells: Sequence[Any]) -> bool:
    columns, _dups = _header_map(cells)
    return "name" in columns and len(columns) >= 2


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _check_header(table: Table, header: Sequence[Any]) -> None:
    columns, duplicates = _header_map(header)
    for key, first, _second in duplicates:
        table.problems.add(
            1,
            key,
            _("列“%(column)s”重复出现（第一次在 %(letter)s 列）")
            % {
                "column": header_label(key),
                "letter": _column_letter(first),
            },
        )
    for key in REQUIRED_KEYS:
        if key not in columns:
            table.problems.add(1, key, _("缺少必需的列“%(column)s”") % {"column": header_label(key)})
    table.columns = columns


def _collect_rows(
    table: Table, rows: Iterator[Sequence[Any]], width: int, total: int | None, progress: Progress | None
) -> None:
    """Keep the non-blank rows (from row 2 on); stop at a long blank run or at the row cap."""
    blank_run = 0
    number = 1
    wanted = sorted(table.columns.values())
    last_tick = time.monotonic()
    for cells in rows:
        number += 1
        values = (
            tuple(cells[:width]) if len(cells) >= width else tuple(cells) + (None,) * (width - len(cells))
        )
        if all(_is_blank(values[i]) for i in wanted):
            blank_run += 1
            if blank_run >= EMPTY_RUN_LIMIT:
                break
            continue
        blank_run = 0
        if len(table.rows) >= MAX_DATA_ROWS:
            table.problems.add(
                0, "", _("数据超过 %(limit)d 行上限：请拆分文件后分批导入") % {"limit": MAX_DATA_ROWS}
            )
            table.rows = []
            return
        table.rows.append((number, values))
        if progress and number % 1000 == 0 and time.monotonic() - last_tick > 0.5:
            last_tick = time.monotonic()
            progress("read", number, total)
    if not table.rows and not table.problems:
        table.problems.add(0, "", _("文件中没有数据行"))


def read_table(
    source: IO[bytes] | str | Path,
    filename: str = "",
    size: int | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> Table:
    """Read a roster file (XLSX or CSV, decided by content) into raw rows, or into file-level problems.

    ``encoding`` (a key of ``charset.CHOICES``) is the uploader's answer for a CSV whose encoding was
    ambiguous (``Table.encodings``)."""
    if isinstance(source, str | Path):
        path = Path(source)
        with path.open("rb") as handle:
            return read_table(handle, filename or path.name, path.stat().st_size, progress, encoding)
    if size is None:
        source.seek(0, io.SEEK_END)
        size = source.tell()
    source.seek(0)
    limit = settings.FANZHA_MAX_UPLOAD_BYTES
    if size > limit:
        return _fail(
            _("文件过大（%(size).1f MB），上限为 %(limit).1f MB")
            % {"size": size / 2**20, "limit": limit / 2**20}
        )
    if size == 0:
        return _fail(_("文件是空的"))
    head = source.read(8)
    source.seek(0)
    suffix = Path(filename).suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(source, progress)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _fail(_("不支持旧版 .xls 或加密的工作簿：请在 Excel 中另存为 .xlsx 或 CSV 后再导入"))
    if suffix in {".xlsx", ".xlsm", ".xls", ".ods", ".numbers"}:
        return _fail(_("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"))
    return _read_csv(source.read(limit + 1), progress, encoding)


def _read_xlsx(source: IO[bytes], progress: Progress | None) -> Table:
    import openpyxl

    refused = scan.check_xlsx(source, progress)  # before openpyxl: a tiny zip may unpack to gigabytes
    if refused:
        return _fail(refused)
    source.seek(0)
    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=False)
    except Exception:  # openpyxl raises KeyError, InvalidFileException, XML errors … for a non-workbook
        return _fail(_("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"))
    try:
        return _read_workbook(workbook, progress)
    except Exception:  # a damaged part inside an otherwise valid zip
        return _fail(_("工作簿已损坏或格式不受支持：请在 Excel 中另存为 .xlsx 后再导入"))
    finally:
        workbook.close()


def _read_workbook(workbook: Any, progress: Progress | None) -> Table:
    names = list(workbook.sheetnames)
    order = sorted(names, key=lambda n: n != SHEET_NAME)
    chosen = None
    late_header: tuple[str, int] | None = None
    for name in order:
        sheet = workbook[name]
        if not hasattr(sheet, "iter_rows"):  # a chart sheet
            continue
        first = list(sheet.iter_rows(min_row=1, max_row=10, max_col=MAX_HEADER_COLUMNS, values_only=True))
        if first and _looks_like_header(first[0]):
            chosen = sheet
            break
        for offset, cells in enumerate(first[1:], start=1):
            if late_header is None and _looks_like_header(cells):
                late_header = (name, offset)
    if chosen is None:
        if late_header is not None:
            return _fail(
                _("工作表“%(sheet)s”的表头应在第1行：请删除表头上方的 %(count)d 行")
                % {"sheet": late_header[0], "count": late_header[1]},
                row=1,
            )
        return _fail(
            _("没有找到花名册工作表：表头应在第1行（姓名、类别……）。本文件的工作表：%(sheets)s")
            % {"sheets": "、".join(names)},
            row=1,
        )
    table = Table(kind="xlsx")
    header = next(chosen.iter_rows(min_row=1, max_row=1, max_col=MAX_HEADER_COLUMNS, values_only=True), ())
    _check_header(table, header)
    _check_merges(table, workbook, chosen)
    if table.problems:
        return table
    width = max(table.columns.values()) + 1
    total = chosen.max_row
    chosen.reset_dimensions()  # a wrong <dimension> must not cut the table short
    rows = chosen.iter_rows(min_row=2, max_col=width, values_only=True)
    _collect_rows(table, rows, width, total, progress)
    return table


def _check_merges(table: Table, workbook: Any, sheet: Any) -> None:
    """Refuse merged cells: read-only openpyxl does not expose them, so scan the sheet XML for them."""
    archive = getattr(workbook, "_archive", None)
    part = getattr(sheet, "_worksheet_path", None)
    if archive is None or part is None:
        return
    from openpyxl.utils import column_index_from_string

    by_key = {index: key for key, index in table.columns.items()}
    tail = b""
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                break
            data = tail + chunk
            for match in _MERGE_RE.finditer(data):
                first_col, first_row = match.group(1).decode(), int(match.group(2))
                last_col = (match.group(3) or match.group(1)).decode()
                last_row = int(match.group(4) or match.group(2))
                ref = f"{first_col}{first_row}:{last_col}{last_row}"
                key = by_key.get(column_index_from_string(first_col) - 1, "")
                if first_row == 1:
                    table.problems.add(
                        1, key, _("表头单元格 %(range)s 被合并：请取消合并，每列一个表头") % {"range": ref}
                    )
                else:
                    table.problems.add(
                        first_row,
                        key,
                        _("单元格 %(range)s 被合并：请取消合并并在每一行填写完整") % {"range": ref},
                    )
            # Keep an unfinished element so that one split between two chunks is still found (once).
            cut = data.rfind(b"<")
            tail = data[cut:] if cut >= 0 and data.find(b">", cut) == -1 and len(data) - cut < 512 else b""


class _Counted:
    """A CSV reader that knows how many records it has handed out, so that an error names its row."""

    def __init__(self, reader: Iterator[list[str]]) -> None:
        self.reader = reader
        self.records = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> list[str]:
        row = next(self.reader)
        self.records += 1
        return row


def _csv_error(exc: csv.Error, row: int) -> Table:
    """A CSV the reader gave up on: name the row, and what is wrong when the reader says it."""
    if "field larger than field limit" in str(exc):
        return _fail(
            _(
                "第 %(row)d 行有一个单元格超过 %(limit)d 个字符（常见原因：引号没有成对，"
                "后面的内容都并进了这个单元格）"
            )
            % {"row": row, "limit": csv.field_size_limit()},
            row=row,
        )
    return _fail(_("CSV 文件第 %(row)d 行格式错误：请检查引号是否成对") % {"row": row}, row=row)


def _read_csv(data: bytes, progress: Progress | None, encoding: str | None = None) -> Table:
    binary = b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    decoded = charset.decode(data, encoding)
    if decoded.choices:
        table = _fail(_("无法确定文件的编码：按 UTF-8 和 GBK 读都像是正常文字，请指定文件的编码"))
        table.encodings = decoded.choices
        return table
    text = decoded.text
    if text is None:
        if encoding:
            return _fail(
                _("文件不是 %(encoding)s 编码：请选择另一种编码，或在 Excel 中另存为 UTF-8 CSV")
                % {"encoding": charset.CHOICE_LABELS[encoding]}
            )
        if binary:
            return _fail(_("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"))
        return _fail(_("无法识别文件编码：CSV 文件请以 UTF-8 或 GBK（GB18030）编码保存"))
    if any(ch in text[:4096] for ch in "\x00\x01\x02\x03\x04\x05\x06\x07\x08"):
        return _fail(_("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"))
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", "\t", ";", "，"], key=first_line.count)
    reader = _Counted(csv.reader(io.StringIO(text), delimiter=delimiter))
    try:
        header = next(reader, [])
        table = Table(kind="csv")
        if not _looks_like_header(header):
            return _fail(
                _("第1行没有找到模板表头（姓名、类别……）。CSV 文件请以 UTF-8 或 GBK（GB18030）编码保存"),
                row=1,
            )
        _check_header(table, header)
        if table.problems:
            return table
        width = max(table.columns.values()) + 1
        total = text.count("\n")
        _collect_rows(table, reader, width, total, progress)
    except csv.Error as exc:
        return _csv_error(exc, reader.records + 1)
    return table
