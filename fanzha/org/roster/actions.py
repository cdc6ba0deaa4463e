"""Roster import and export: a spreadsheet of people in, the same spreadsheet out.

Three stages, so that a dry run and a commit give the same answer:

1. ``read_table`` streams the file (XLSX through openpyxl's read-only reader; CSV in UTF-8,
   GB18030/GBK or UTF-16) into raw rows, refusing whatever is not one clean table: oversize,
   not a spreadsheet, unknown encoding, no template header, merged or formula cells, too many rows.
2. ``check_rows`` normalises every cell without touching the database; ``build_plan`` compares
   the rows with the database and yields problems or a change set. Both only read.
3. ``apply_plan`` writes the change set in one transaction through the bulk verbs of
   ``actions``. An identical re-import yields an empty change set: nothing is written.

Problems carry the spreadsheet row (the header is row 1; row 0 means the file as a whole), the
template header of the column (``-`` for the whole file) and a message in the user's language.
Blank optional cells leave stored values as they are, so a file with fewer columns never erases data.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fanzha.core import crypto
from fanzha.core.identifiers import normalize_id_number, normalize_phone

from .. import actions
from ..models import (
    Gender,
    Guardianship,
    Membership,
    MembershipRole,
    Person,
    PersonKind,
    Unit,
    UnitKind,
    User,
)
from ..text import initials

MAX_DATA_ROWS = 200_000  # a bigger file is refused before any checking
EMPTY_RUN_LIMIT = 1_000  # this many blank rows in a row end the table
MAX_PROBLEMS = 10_000  # problems kept for the report; the rest are only counted
MAX_HEADER_COLUMNS = 64
SHEET_NAME = "花名册"
ZIP_EXPANSION_LIMIT = 40  # unpacked XLSX may be at most this many times the upload limit
CHUNK = 5_000  # ids per IN (...) query

Progress = Callable[[str, int, int | None], None]


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """One template column: its key, its Chinese header (data, not translated) and its help text."""

    key: str
    header: str
    required: bool = False
    help: Any = ""
    width: int = 12
    text: bool = False  # formatted as text in the template, so Excel keeps leading zeros and all digits


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", True, gettext_lazy("必填，最长60字"), 10),
    Column(
        "kind", "类别", True, gettext_lazy("必填：学生、教师、职工、家长、民警、银行职员、居民、志愿者"), 8
    ),
    Column("number", "学号/工号", False, gettext_lazy("同一组织内唯一；再次导入时按它更新同一人"), 14, True),
    Column("college", "学院代码", False, gettext_lazy("班级所在学院（或部门）的代码"), 10, True),
    Column(
        "class",
        "班级代码",
        False,
        gettext_lazy("班级代码；不唯一时填写学院代码，或写成 学院代码/班级代码"),
        12,
        True,
    ),
    Column("building", "宿舍楼代码", False, gettext_lazy("宿舍楼代码"), 10, True),
    Column("room", "宿舍房间代码", False, gettext_lazy("宿舍房间代码（在宿舍楼之下）"), 12, True),
    Column("role", "班委职务", False, gettext_lazy("班长、班委、宿舍长、辅导员……；不填为普通成员"), 10),
    Column("phone", "手机号", False, gettext_lazy("11位手机号或带区号的固定电话"), 14, True),
    Column("id_number", "身份证号", False, gettext_lazy("18位居民身份证号，校验位须正确"), 20, True),
    Column("gender", "性别", False, gettext_lazy("男或女；不填时按身份证号推算"), 6),
    Column("birth_year", "出生年份", False, gettext_lazy("四位年份；不填时按身份证号推算"), 8),
    Column("enrolment_year", "入学年份", False, gettext_lazy("四位年份"), 8),
    Column("guardian_name", "监护人姓名", False, gettext_lazy("只填在学生行"), 10),
    Column(
        "guardian_phone", "监护人手机", False, gettext_lazy("家长按手机号识别，填写监护人时必填"), 14, True
    ),
    Column("guardian_relation", "监护人关系", False, gettext_lazy("父亲、母亲、祖父母、其他"), 10),
    Column("coverer", "联系班委学号", False, gettext_lazy("负责联系本人的班委的学号"), 14, True),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
COLUMN_ORDER = {c.key: i for i, c in enumerate(COLUMNS)}
REQUIRED_KEYS = [c.key for c in COLUMNS if c.required]

_HEADER_ALIASES = {
    "name": ["姓名", "name"],
    "kind": ["类别", "人员类别", "身份", "kind"],
    "number": ["学号/工号", "学号", "工号", "学工号", "编号", "number", "external_number"],
    "college": ["学院代码", "学院", "部门代码", "college"],
    "class": ["班级代码", "班级", "class"],
    "building": ["宿舍楼代码", "宿舍楼", "楼栋", "building"],
    "room": ["宿舍房间代码", "宿舍代码", "宿舍房间", "房间号", "宿舍", "room"],
    "role": ["班委职务", "职务", "role"],
    "phone": ["手机号", "手机", "手机号码", "联系电话", "电话", "phone"],
    "id_number": ["身份证号", "身份证", "身份证号码", "id_number"],
    "gender": ["性别", "gender"],
    "birth_year": ["出生年份", "出生年", "birth_year"],
    "enrolment_year": ["入学年份", "入学年", "enrolment_year"],
    "guardian_name": ["监护人姓名", "家长姓名", "guardian_name"],
    "guardian_phone": ["监护人手机", "监护人手机号", "监护人电话", "家长手机", "家长电话", "guardian_phone"],
    "guardian_relation": ["监护人关系", "与学生关系", "家长关系", "guardian_relation"],
    "coverer": ["联系班委学号", "联系班委", "coverer"],
}


def _norm_header(value: Any) -> str:
    text = str(value if value is not None else "").strip()
    for junk in ("*", "＊", " ", "\u3000", "\n", "\r", "\t", "\ufeff"):
        text = text.replace(junk, "")
    return text.replace("（", "(").replace("）", ")").replace("／", "/").lower()


HEADER_KEYS = {_norm_header(alias): key for key, aliases in _HEADER_ALIASES.items() for alias in aliases}


def header_label(key: str) -> str:
    """The template header of a column key, as used in problem lines."""
    column = COLUMN_BY_KEY.get(key)
    return column.header if column else key


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """Something wrong with the file: where (row, column header) and what, in the user's language."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column or '-'}: {self.message}"

    def as_list(self) -> list[Any]:
        return [self.row, self.column or "-", self.message]


class Problems:
    """A capped, ordered collection of problems (a million bad rows must not take a gigabyte)."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.items: list[tuple[int, int, Problem]] = []
        self.total = 0
        self.limit = limit

    def add(self, row: int, key: str, message: str) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            label = header_label(key) if key else "-"
            self.items.append((row, COLUMN_ORDER.get(key, -1), Problem(row, label, message)))

    def __bool__(self) -> bool:
        return self.total > 0

    def sorted(self) -> list[Problem]:
        """Problems by row then column; a final line says how many more were left out."""
        result = [p for _r, _o, p in sorted(self.items, key=lambda item: (item[0], item[1]))]
        if self.total > len(result):
            more = self.total - len(result)
            result.append(Problem(0, "-", _("另有 %(count)d 个问题未列出") % {"count": more}))
        return result


# --------------------------------------------------------------------------- reading


@dataclass
class Table:
    """Raw rows of the roster sheet: column key → index, and (row number, cell values) pairs."""

    columns: dict[str, int] = field(default_factory=dict)
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)
    kind: str = ""  # "xlsx" or "csv"


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
) -> Table:
    """Read a roster file (XLSX or CSV, decided by content) into raw rows, or into file-level problems."""
    if isinstance(source, str | Path):
        path = Path(source)
        with path.open("rb") as handle:
            return read_table(handle, filename or path.name, path.stat().st_size, progress)
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
        return _read_xlsx(source, limit, progress)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _fail(_("不支持旧版 .xls 或加密的工作簿：请在 Excel 中另存为 .xlsx 或 CSV 后再导入"))
    if suffix in {".xlsx", ".xlsm", ".xls", ".ods", ".numbers"}:
        return _fail(_("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"))
    return _read_csv(source.read(limit + 1), progress)


def _read_xlsx(source: IO[bytes], limit: int, progress: Progress | None) -> Table:
    import openpyxl

    try:
        with zipfile.ZipFile(source) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return _fail(_("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"))
    if unpacked > limit * ZIP_EXPANSION_LIMIT:
        return _fail(_("文件解压后过大，不能导入"))
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


def _decode(data: bytes) -> str | None:
    """Decode CSV bytes: BOMs first, then strict UTF-8, then GB18030 (superset of GBK, as Excel saves)."""
    if data.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    elif b"\x00" in data[:4096]:
        sample = data[:4096]
        if sample[1::2].count(0) > len(sample) // 4:
            encodings = ["utf-16-le"]
        elif sample[0::2].count(0) > len(sample) // 4:
            encodings = ["utf-16-be"]
        else:
            return None
    else:
        encodings = ["utf-8", "gb18030"]
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _read_csv(data: bytes, progress: Progress | None) -> Table:
    binary = b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    text = _decode(data)
    if text is None:
        if binary:
            return _fail(_("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"))
        return _fail(_("无法识别文件编码：CSV 文件请以 UTF-8 或 GBK（GB18030）编码保存"))
    if any(ch in text[:4096] for ch in "\x00\x01\x02\x03\x04\x05\x06\x07\x08"):
        return _fail(_("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"))
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", "\t", ";", "，"], key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
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
    except csv.Error:
        return _fail(_("CSV 文件格式错误：请检查引号是否成对"))
    return table


# --------------------------------------------------------------------------- checking


@dataclass(slots=True)
class RowData:
    """One row after normalisation. ``None`` means "blank: leave the stored value as it is"."""

    row: int
    name: str = ""
    kind: str = ""
    number: str = ""
    college: str = ""
    klass: str = ""
    building: str = ""
    room: str = ""
    role: str = ""
    phone: str | None = None
    phone_hash: str = ""
    phone_masked: str = ""  # a masked value from an export: keep the stored one if it matches
    id_number: str | None = None
    id_hash: str = ""
    id_masked: str = ""
    gender: str | None = None
    birth_year: int | None = None
    enrolment_year: int | None = None
    guardian_name: str = ""
    guardian_phone: str = ""
    guardian_hash: str = ""
    guardian_masked: str = ""
    guardian_relation: str = ""
    coverer: str = ""
    valid: bool = True


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\u3000", " ").replace("\xa0", " ").strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _choice_map(choices: Any, extra: dict[str, str]) -> dict[str, str]:
    """Accept codes, Chinese labels, labels in the active language and a few everyday synonyms."""
    mapping = {str(value).lower(): str(value) for value in choices.values}
    with translation.override("zh-hans"):
        mapping.update({str(label).lower(): str(value) for value, label in choices.choices if value})
    mapping.update({str(label).lower(): str(value) for value, label in choices.choices if value})
    mapping.update(extra)
    return mapping


def _value_maps() -> dict[str, dict[str, str]]:
    return {
        "kind": _choice_map(
            PersonKind,
            {"老师": "teacher", "教职工": "staff", "员工": "staff", "父母": "parent", "监护人": "parent"},
        ),
        "gender": _choice_map(
            Gender, {"男": "m", "女": "f", "男性": "m", "女性": "f", "male": "m", "female": "f"}
        ),
        "role": _choice_map(
            MembershipRole,
            {
                "普通成员": "member",
                "学生": "member",
                "副班长": "committee",
                "团支书": "committee",
                "团支部书记": "committee",
                "寝室长": "dorm_head",
                "室长": "dorm_head",
            },
        ),
        "guardian_relation": _choice_map(
            Guardianship.Relation,
            {
                "父": "father",
                "爸爸": "father",
                "母": "mother",
                "妈妈": "mother",
                "祖父": "grandparent",
                "祖母": "grandparent",
                "外祖父": "grandparent",
                "外祖母": "grandparent",
                "爷爷": "grandparent",
                "奶奶": "grandparent",
                "外公": "grandparent",
                "外婆": "grandparent",
            },
        ),
    }


def _choices_text(choices: Any) -> str:
    return "、".join(str(label) for value, label in choices.choices if value)


def _year(value: Any) -> int | None:
    if isinstance(value, datetime | date):
        return value.year
    text = _text(value).rstrip("年")
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    raise ValueError(text)


@lru_cache(maxsize=1)
def _mobile_pattern() -> re.Pattern[str]:
    import phonenumbers

    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    assert metadata is not None and metadata.mobile is not None
    return re.compile(metadata.mobile.national_number_pattern or r"$^")


def _phone(raw: str) -> str:
    """``normalize_phone`` with a fast path for plain mobile numbers, the bulk of any roster.

    Why: full parsing costs about 20 µs, and a roster has two phone numbers per row. The path
    matches the same national-number pattern that ``phonenumbers`` validates mobiles against.
    """
    if len(raw) == 11 and raw[0] == "1" and raw.isdigit() and _mobile_pattern().fullmatch(raw):
        return raw
    return normalize_phone(raw)


def check_rows(table: Table, progress: Progress | None = None) -> tuple[list[RowData], Problems]:
    """Normalise and validate every row on its own and against the other rows; no database access."""
    problems = Problems()
    maps = _value_maps()
    cols = table.columns
    this_year = date.today().year
    seen_number: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    seen_phone_key: dict[tuple[str, str], int] = {}
    guardian_names: dict[str, tuple[str, int]] = {}
    result: list[RowData] = []
    last_tick = time.monotonic()

    for done, (number, values) in enumerate(table.rows, start=1):
        if progress and done % 1000 == 0 and time.monotonic() - last_tick > 0.5:
            last_tick = time.monotonic()
            progress("check", done, len(table.rows))
        data = RowData(row=number)
        before = problems.total

        def add(key: str, message: str, _number: int = number) -> None:
            problems.add(_number, key, message)

        raw: dict[str, Any] = {}
        flagged: set[str] = set()
        for key, index in cols.items():
            value = values[index]
            if isinstance(value, str):
                stripped = value.strip()
                if stripped.startswith("="):
                    add(key, _("单元格含公式：请复制后“选择性粘贴为数值”再导入"))
                    flagged.add(key)
                    continue
                if stripped in _EXCEL_ERRORS:
                    add(key, _("单元格是错误值 %(value)s") % {"value": stripped})
                    flagged.add(key)
                    continue
            raw[key] = value
        text = {key: _text(value) for key, value in raw.items()}

        def choice(key: str, mapping: dict[str, str], choices: Any, text: dict[str, str] = text) -> str:
            value = text.get(key, "")
            if not value:
                return ""
            found = mapping.get(value.lower())
            if found is None:
                add(
                    key,
                    _("无法识别的%(column)s“%(value)s”，可填：%(choices)s")
                    % {"column": header_label(key), "value": value[:20], "choices": _choices_text(choices)},
                )
                return ""
            return found

        def limited(key: str, limit: int, text: dict[str, str] = text) -> str:
            value = text.get(key, "")
            if len(value) > limit:
                add(key, _("%(column)s不能超过 %(max)d 个字符") % {"column": header_label(key), "max": limit})
                return value[:limit]
            return value

        has_guardian = any(text.get(k) for k in ("guardian_name", "guardian_phone", "guardian_relation"))
        data.name = limited("name", 60)
        data.number = limited("number", 40)
        if not data.name and not data.number and has_guardian:
            add("guardian_name", _("监护人信息没有对应的学生：请把监护人填在学生所在行"))
        else:
            for key in REQUIRED_KEYS:
                if not text.get(key) and key not in flagged:
                    add(key, _("必填项“%(column)s”为空") % {"column": header_label(key)})
        data.kind = choice("kind", maps["kind"], PersonKind)
        data.college = limited("college", 200)
        data.klass = limited("class", 200)
        data.building = limited("building", 200)
        data.room = limited("room", 200)
        data.role = choice("role", maps["role"], MembershipRole)
        data.coverer = limited("coverer", 40)

        # Phone and ID: normalised, hashed for matching; masked values from an export are kept as they are.
        phone = text.get("phone", "")
        if phone:
            if "*" in phone:
                data.phone_masked = phone
            else:
                try:
                    data.phone = _phone(phone)
                    data.phone_hash = crypto.keyed_hash(data.phone)
                except ValidationError as exc:
                    add("phone", exc.messages[0])
        id_raw = raw.get("id_number")
        id_text = text.get("id_number", "")
        if isinstance(id_raw, float) and abs(id_raw) >= 1e15:
            add("id_number", _("身份证号被存成了数字，末几位已丢失：请把该列设为文本格式后重新填写"))
        elif id_text:
            if "*" in id_text:
                data.id_masked = id_text
            else:
                try:
                    data.id_number = normalize_id_number(id_text)
                    data.id_hash = crypto.keyed_hash(data.id_number)
                except ValidationError as exc:
                    add("id_number", exc.messages[0])

        data.gender = choice("gender", maps["gender"], Gender) or None
        for key in ("birth_year", "enrolment_year"):
            if text.get(key):
                try:
                    year = _year(raw[key])
                except ValueError:
                    year = None
                if year is None or not 1900 <= year <= this_year + 1:
                    add(key, _("%(column)s应为四位年份") % {"column": header_label(key)})
                else:
                    setattr(data, key, year)
        if data.id_number:
            id_year = int(data.id_number[6:10])
            id_gender = "m" if int(data.id_number[16]) % 2 else "f"
            if data.gender and data.gender != id_gender:
                add("gender", _("性别与身份证号不一致"))
            if data.birth_year and data.birth_year != id_year:
                add("birth_year", _("出生年份与身份证号不一致"))
            data.gender = data.gender or id_gender
            data.birth_year = data.birth_year or id_year

        # Guardian columns: only on a student's row, with a name and a phone (parents are matched by phone).
        if has_guardian and (data.name or data.number):
            if data.kind and data.kind != PersonKind.STUDENT:
                add(
                    "guardian_name",
                    _("只有学生行可以填写监护人（本行类别为%(kind)s）")
                    % {"kind": PersonKind(data.kind).label},
                )
            data.guardian_name = limited("guardian_name", 60)
            if not data.guardian_name:
                add("guardian_name", _("填写了监护人信息，但监护人姓名为空"))
            guardian_phone = text.get("guardian_phone", "")
            if not guardian_phone:
                add("guardian_phone", _("监护人手机为空：家长按手机号识别，必须填写"))
            elif "*" in guardian_phone:
                data.guardian_masked = guardian_phone
            else:
                try:
                    data.guardian_phone = _phone(guardian_phone)
                    data.guardian_hash = crypto.keyed_hash(data.guardian_phone)
                except ValidationError as exc:
                    add("guardian_phone", exc.messages[0])
            data.guardian_relation = choice(
                "guardian_relation", maps["guardian_relation"], Guardianship.Relation
            )
            if data.guardian_hash and data.guardian_name:
                earlier = guardian_names.get(data.guardian_hash)
                if earlier is None:
                    guardian_names[data.guardian_hash] = (data.guardian_name, number)
                elif earlier[0] != data.guardian_name:
                    add(
                        "guardian_phone", _("监护人手机与第 %(row)d 行相同，但姓名不同") % {"row": earlier[1]}
                    )

        if data.role == MembershipRole.DORM_HEAD and not (data.building or data.room):
            add("role", _("宿舍长需要填写宿舍楼代码或宿舍房间代码"))
        elif data.role and data.role != MembershipRole.DORM_HEAD and not (data.klass or data.college):
            add("role", _("填写了班委职务，但没有班级代码"))
        if data.coverer and data.coverer == data.number:
            add("coverer", _("联系班委不能是本人"))

        # Within the file: one row per person.
        if data.number:
            if data.number in seen_number:
                add(
                    "number",
                    _("学号/工号 %(number)s 与第 %(row)d 行重复")
                    % {"number": data.number, "row": seen_number[data.number]},
                )
            else:
                seen_number[data.number] = number
        if data.id_hash:
            if data.id_hash in seen_id:
                add("id_number", _("身份证号与第 %(row)d 行重复") % {"row": seen_id[data.id_hash]})
            else:
                seen_id[data.id_hash] = number
        if not data.number and not data.id_hash and not data.id_masked:
            if data.phone_hash:
                phone_key = (data.kind, data.phone_hash)
                if phone_key in seen_phone_key:
                    add(
                        "phone",
                        _("与第 %(row)d 行是同一人（手机号相同，且都没有学号/工号和身份证号）")
                        % {"row": seen_phone_key[phone_key]},
                    )
                else:
                    seen_phone_key[phone_key] = number
            elif data.name and not data.phone_masked:
                add("number", _("请至少填写学号/工号、身份证号或手机号之一，以便再次导入时识别此人"))
        data.valid = problems.total == before
        result.append(data)
    return result, problems


# --------------------------------------------------------------------------- planning


@dataclass(eq=False, slots=True)
class UnitNode:
    """A unit of the import subtree, existing (``pk``) or to be created (``pk`` None, synthetic path)."""

    pk: int | None
    path: str
    parent_path: str
    code: str
    kind: str
    parent: UnitNode | None = None
    created: Unit | None = None

    @property
    def id(self) -> int:
        if self.pk is not None:
            return self.pk
        assert self.created is not None, "unit not created yet"
        return self.created.pk


class _Missing(Exception):
    pass


class _Ambiguous(Exception):
    pass


class UnitIndex:
    """Every unit below the import root, in memory, resolved the way ``actions.resolve_unit`` does."""

    def __init__(self, root: Unit) -> None:
        self.by_code: dict[str, list[UnitNode]] = defaultdict(list)
        self.by_parent: dict[tuple[str, str], UnitNode] = {}
        self.pending: list[UnitNode] = []
        self.root = UnitNode(root.pk, root.path, root.parent_path, root.code, root.kind)
        self._add(self.root)
        rows = Unit.objects.filter(path__startswith=root.path).exclude(pk=root.pk)
        for pk, path, parent_path, code, kind in rows.values_list(
            "pk", "path", "parent_path", "code", "kind"
        ):
            self._add(UnitNode(pk, path, parent_path, code, kind))

    def _add(self, node: UnitNode) -> None:
        self.by_code[node.code].append(node)
        self.by_parent[(node.parent_path, node.code)] = node

    def find(self, ref: str, within: UnitNode | None = None) -> UnitNode:
        """A bare code unique below ``within`` (or the root), or a path ``A/B/C`` from a unique ``A``."""
        base = within or self.root
        parts = [p.strip() for p in ref.split("/") if p.strip()]
        if not parts:
            raise _Missing
        first = [n for n in self.by_code.get(parts[0], ()) if n.path.startswith(base.path)]
        if not first:
            raise _Missing
        if len(first) > 1:
            raise _Ambiguous
        node = first[0]
        for part in parts[1:]:
            found = self.by_parent.get((node.path, part))
            if found is None:
                raise _Missing
            node = found
        return node

    def create(self, parent: UnitNode, code: str, kind: str) -> UnitNode:
        """Plan a new unit; it resolves like an existing one for the rest of the file."""
        node = UnitNode(None, f"{parent.path}#{len(self.pending)}.", parent.path, code, kind, parent=parent)
        self.pending.append(node)
        self._add(node)
        return node


@dataclass(slots=True)
class Existing:
    """A person already in the database, as plain values (cheaper than model instances)."""

    pk: int
    name: str
    kind: str
    number: str
    gender: str
    birth_year: int | None
    enrolment_year: int | None
    phone_hash: str
    phone_masked: str
    id_hash: str
    id_masked: str
    covered_by_id: int | None
    is_active: bool


_EXISTING_FIELDS = (
    "pk",
    "name",
    "kind",
    "external_number",
    "gender",
    "birth_year",
    "enrolment_year",
    "phone_hash",
    "phone_masked",
    "id_number_hash",
    "id_number_masked",
    "covered_by_id",
    "is_active",
)


@dataclass(eq=False, slots=True)
class Target:
    """The person a row writes to: an existing one (``existing``) or a new one (``new``)."""

    existing: Existing | None = None
    spec: actions.PersonSpec | None = None
    created: int | None = None  # primary key once inserted
    changed: set[str] = field(default_factory=set)
    person: Person | None = None  # the instance written by bulk_update, built on demand
    phone: str | None = None  # plain values to encrypt at apply time
    id_number: str | None = None
    row: int = 0

    @property
    def id(self) -> int:
        if self.existing is not None:
            return self.existing.pk
        assert self.created is not None, "person not created yet"
        return self.created


@dataclass
class Plan:
    """What an import would change. Empty when the file matches the database."""

    root: Unit
    org: Unit
    problems: Problems = field(default_factory=Problems)
    units: list[UnitNode] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    add_memberships: list[tuple[Target, UnitNode, str]] = field(default_factory=list)
    remove_memberships: list[int] = field(default_factory=list)
    links: list[tuple[Target, Target, str]] = field(default_factory=list)
    coverage: list[tuple[Target, Target]] = field(default_factory=list)
    rows: int = 0
    covered_at_insert: int = 0
    counts: dict[str, int] | None = None  # kept when a plan with problems drops its change set

    def summary(self) -> dict[str, int]:
        """Counts for the report (keys are stable; labels live in the templates and the CLI)."""
        if self.counts is not None:
            return dict(self.counts)
        people = [t for t in self.targets if t.row]
        guardians = [t for t in self.targets if not t.row]
        return {
            "rows": self.rows,
            "people_created": sum(1 for t in people if t.spec is not None),
            "people_updated": sum(1 for t in people if t.existing is not None and t.changed),
            "people_unchanged": sum(1 for t in people if t.existing is not None and not t.changed),
            "guardians_created": sum(1 for t in guardians if t.spec is not None),
            "guardians_updated": sum(1 for t in guardians if t.existing is not None and t.changed),
            "units_created": len(self.units),
            "memberships_added": len(self.add_memberships),
            "memberships_removed": len(self.remove_memberships),
            "guardian_links": len(self.links),
            "coverage_changed": len(self.coverage) + self.covered_at_insert,
        }

    @property
    def is_empty(self) -> bool:
        counts = self.summary()
        return not any(v for k, v in counts.items() if k not in {"rows", "people_unchanged"})


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load_existing(org: Unit, field_name: str, values: Iterable[Any], **extra: Any) -> list[Existing]:
    wanted = sorted({v for v in values if v})
    found: list[Existing] = []
    for chunk in _chunks(wanted):
        qs = Person.objects.filter(root=org, **{f"{field_name}__in": chunk}, **extra).order_by("pk")
        found.extend(Existing(*row) for row in qs.values_list(*_EXISTING_FIELDS))
    return found


def build_plan(
    rows: Sequence[RowData],
    root: Unit,
    *,
    create_units: bool = False,
    problems: Problems | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Compare the checked rows with the database and produce problems or a change set. Reads only."""
    org = root if root.depth == 1 else Unit.objects.get(path=root.root_path)
    plan = Plan(root=root, org=org, problems=problems or Problems(), rows=len(rows))
    add = plan.problems.add
    index = UnitIndex(root)

    # Everyone the file may touch, loaded in a few queries.
    by_number = {e.number: e for e in _load_existing(org, "external_number", (r.number for r in rows))}
    # Who holds each ID number (to refuse a second person with it), and in full only for rows
    # that have no number and are matched by their ID.
    id_owners: dict[str, list[int]] = defaultdict(list)
    for chunk in _chunks(sorted({r.id_hash for r in rows if r.id_hash})):
        owners = Person.objects.filter(root=org, id_number_hash__in=chunk).order_by("pk")
        for id_hash, pk in owners.values_list("id_number_hash", "pk"):
            id_owners[id_hash].append(pk)
    by_id: dict[str, list[Existing]] = defaultdict(list)
    for e in _load_existing(org, "id_number_hash", (r.id_hash for r in rows if not r.number)):
        by_id[e.id_hash].append(e)
    keyless = [r for r in rows if not r.number and not r.id_hash and r.phone_hash]
    by_phone: dict[tuple[str, str], list[Existing]] = defaultdict(list)
    for e in _load_existing(org, "phone_hash", (r.phone_hash for r in keyless)):
        by_phone[(e.kind, e.phone_hash)].append(e)
    parents: dict[str, Existing] = {}
    for e in _load_existing(org, "phone_hash", (r.guardian_hash for r in rows), kind=PersonKind.PARENT):
        parents.setdefault(e.phone_hash, e)
    file_numbers = {r.number for r in rows if r.number}
    for e in _load_existing(
        org, "external_number", (r.coverer for r in rows if r.coverer not in file_numbers)
    ):
        by_number.setdefault(e.number, e)

    matched_ids = (
        {e.pk for e in by_number.values()}
        | {e.pk for es in by_id.values() for e in es}
        | {e.pk for es in by_phone.values() for e in es}
    )
    memberships: dict[int, list[tuple[int, int, str, str, str]]] = defaultdict(list)
    for chunk in _chunks(sorted(matched_ids)):
        qs = Membership.objects.filter(person_id__in=chunk).values_list(
            "pk", "person_id", "unit_id", "role", "unit__path", "unit__kind"
        )
        for mid, person_id, unit_id, role, path, kind in qs:
            memberships[person_id].append((mid, unit_id, role, path, kind))

    def inside(existing: Existing) -> bool:
        mine = memberships.get(existing.pk, ())
        return not mine or any(path.startswith(root.path) for _m, _u, _r, path, _k in mine)

    claimed: dict[int, int] = {}
    row_targets: dict[str, Target] = {}
    all_targets: list[tuple[RowData, Target]] = []
    last_tick = time.monotonic()
    for done, row in enumerate(rows, start=1):
        if progress and done % 1000 == 0 and time.monotonic() - last_tick > 0.5:
            last_tick = time.monotonic()
            progress("plan", done, len(rows))
        class_unit = _resolve_class(row, index, create_units, add)
        dorm_unit = _resolve_dorm(row, index, create_units, add)

        # Who is this row?
        existing: Existing | None = None
        if row.number:
            existing = by_number.get(row.number)
        elif row.id_hash:
            candidates = by_id.get(row.id_hash, [])
            existing = candidates[0] if candidates else None
        elif row.phone_hash:
            candidates = by_phone.get((row.kind, row.phone_hash), [])
            candidates = [c for c in candidates if not c.number]
            if len(candidates) > 1:
                add(row.row, "phone", _("手机号对应多名已有人员：请填写学号/工号或身份证号"))
            existing = candidates[0] if len(candidates) == 1 else None
        if existing is not None:
            if not inside(existing):
                add(
                    row.row,
                    "number",
                    _("此人已属于本单位范围以外，不能在此修改（学号/工号 %(number)s）")
                    % {"number": row.number or "-"},
                )
                continue
            if existing.pk in claimed:
                add(row.row, "number", _("与第 %(row)d 行是同一人") % {"row": claimed[existing.pk]})
                continue
            claimed[existing.pk] = row.row
        if row.id_hash:
            others = [pk for pk in id_owners.get(row.id_hash, []) if existing is None or pk != existing.pk]
            if others:
                add(row.row, "id_number", _("身份证号已属于另一名已有人员"))
        for key, masked, stored in (
            ("phone", row.phone_masked, existing.phone_masked if existing else ""),
            ("id_number", row.id_masked, existing.id_masked if existing else ""),
        ):
            if masked and masked != stored:
                add(
                    row.row,
                    key,
                    _("%(column)s是脱敏后的值（含 *），只能原样保留已有人员的值")
                    % {"column": header_label(key)},
                )
        if not row.valid or plan.problems.total > MAX_PROBLEMS:
            continue

        target = _person_target(row, existing, org)
        plan.targets.append(target)
        all_targets.append((row, target))
        if row.number:
            row_targets[row.number] = target
        _plan_memberships(plan, row, target, class_unit, dorm_unit, memberships)

    # Guardians and coverage need every row's person first.
    links_by_student: dict[int, dict[int, str]] = defaultdict(dict)
    masked_guardians: dict[tuple[int, str], list[int]] = defaultdict(list)
    student_ids = [t.existing.pk for _r, t in all_targets if t.existing is not None]
    for chunk in _chunks(student_ids):
        links = Guardianship.objects.filter(student_id__in=chunk).values_list(
            "student_id", "guardian_id", "relation", "guardian__phone_masked"
        )
        for student_id, guardian_id, relation, masked in links:
            links_by_student[student_id][guardian_id] = relation
            masked_guardians[(student_id, masked)].append(guardian_id)
    # A masked guardian phone (from an export) stands for the student's guardian with that masked phone.
    masked_pick: dict[int, int] = {}
    for row, target in all_targets:
        if row.guardian_masked and row.guardian_name:
            found_ids = []
            if target.existing is not None:
                found_ids = masked_guardians.get((target.existing.pk, row.guardian_masked), [])
            if len(found_ids) != 1:
                message = _("监护人手机是脱敏后的值（含 *），只能原样保留此学生已有的监护人")
                add(row.row, "guardian_phone", message)
            else:
                masked_pick[row.row] = found_ids[0]
    picked = {e.pk: e for e in _load_existing(org, "pk", masked_pick.values())}
    guardian_targets: dict[str, Target] = {}
    for row, target in all_targets:
        key = row.guardian_hash or (f"pk:{masked_pick[row.row]}" if row.row in masked_pick else "")
        if key and row.guardian_name:
            guardian = guardian_targets.get(key)
            if guardian is None:
                if row.guardian_hash:
                    guardian = _guardian_target(row, parents.get(row.guardian_hash), org)
                else:
                    guardian = _guardian_target(row, picked[masked_pick[row.row]], org)
                guardian_targets[key] = guardian
                plan.targets.append(guardian)
            _plan_link(plan, row, guardian, target, links_by_student)
        if row.coverer and (row.coverer in row_targets or row.coverer not in file_numbers):
            coverer = row_targets.get(row.coverer)
            if coverer is None:
                found = by_number.get(row.coverer)
                if found is None or not inside(found):
                    message = _("联系班委学号 %(number)s 不在本文件中，也不是本单位的已有人员")
                    add(row.row, "coverer", message % {"number": row.coverer})
                    continue
                coverer = Target(existing=found)
            if target.spec is not None and coverer.existing is not None:
                target.spec.covered_by_id = coverer.existing.pk  # set as the person is created
                plan.covered_at_insert += 1
            elif target.existing is None or coverer.existing is None:
                plan.coverage.append((target, coverer))
            elif target.existing.covered_by_id != coverer.existing.pk:
                plan.coverage.append((target, coverer))

    plan.units = index.pending
    if plan.problems:  # a plan with problems is never applied: keep its counts, drop the change set
        plan.counts = plan.summary()
        plan.targets, plan.add_memberships, plan.remove_memberships = [], [], []
        plan.links, plan.coverage, plan.units = [], [], []
    return plan


def _plan_link(
    plan: Plan, row: RowData, guardian: Target, student: Target, stored_links: dict[int, dict[int, str]]
) -> None:
    """Link a guardian to the row's student, unless the link is already there with the same relation."""
    if guardian.existing is not None and student.existing is not None:
        if guardian.existing.pk == student.existing.pk:
            plan.problems.add(row.row, "guardian_phone", _("监护人不能是学生本人"))
            return
        stored = stored_links[student.existing.pk].get(guardian.existing.pk)
        if stored is not None and (not row.guardian_relation or row.guardian_relation == stored):
            return
    plan.links.append((guardian, student, row.guardian_relation or Guardianship.Relation.OTHER))


def _resolve_class(
    row: RowData, index: UnitIndex, create_units: bool, add: Callable[[int, str, str], None]
) -> UnitNode | None:
    college = None
    if row.college:
        try:
            college = index.find(row.college)
        except _Missing:
            add(row.row, "college", _("未知的学院代码 %(code)s") % {"code": row.college})
            return None
        except _Ambiguous:
            add(row.row, "college", _ambiguous("college", row.college))
            return None
    if not row.klass:
        return college
    return _resolve_child(
        row,
        index,
        create_units,
        add,
        parent=college,
        key="class",
        code=row.klass,
        kind=UnitKind.CLASS,
        unknown=_("未知的班级代码 %(code)s"),
        needs_parent=_("未知的班级代码 %(code)s：要自动创建班级，请填写学院代码"),
    )


def _resolve_dorm(
    row: RowData, index: UnitIndex, create_units: bool, add: Callable[[int, str, str], None]
) -> UnitNode | None:
    building = None
    if row.building:
        try:
            building = index.find(row.building)
        except _Ambiguous:
            add(row.row, "building", _ambiguous("building", row.building))
            return None
        except _Missing:
            if not create_units:
                add(row.row, "building", _("未知的宿舍楼代码 %(code)s") % {"code": row.building})
                return None
            if _bad_new_code(row.building):
                add(row.row, "building", _new_code_message("building", row.building))
                return None
            building = index.create(index.root, row.building, UnitKind.DORM_BUILDING)
    if not row.room:
        return building
    return _resolve_child(
        row,
        index,
        create_units,
        add,
        parent=building,
        key="room",
        code=row.room,
        kind=UnitKind.DORM_ROOM,
        unknown=_("未知的宿舍房间代码 %(code)s"),
        needs_parent=_("未知的宿舍房间代码 %(code)s：要自动创建宿舍，请填写宿舍楼代码"),
    )


def _resolve_child(
    row: RowData,
    index: UnitIndex,
    create_units: bool,
    add: Callable[[int, str, str], None],
    *,
    parent: UnitNode | None,
    key: str,
    code: str,
    kind: str,
    unknown: str,
    needs_parent: str,
) -> UnitNode | None:
    """The class or dorm room ``code`` (column ``key``) found under ``parent``, or created there when
    ``create_units`` allows; otherwise a problem on the row (``unknown`` / ``needs_parent`` take %(code)s)."""
    try:
        return index.find(code, within=parent)
    except _Ambiguous:
        add(row.row, key, _ambiguous(key, code))
    except _Missing:
        if not create_units:
            add(row.row, key, unknown % {"code": code})
        elif parent is None:
            add(row.row, key, needs_parent % {"code": code})
        elif _bad_new_code(code):
            add(row.row, key, _new_code_message(key, code))
        else:
            return index.create(parent, code, kind)
    return None


def _ambiguous(key: str, code: str) -> str:
    return _("%(column)s %(code)s 不唯一：请同时填写上级代码，或写成 上级代码/代码") % {
        "column": header_label(key),
        "code": code,
    }


def _bad_new_code(code: str) -> bool:
    return "/" in code or len(code) > 40


def _new_code_message(key: str, code: str) -> str:
    return _("未知的%(column)s %(code)s，且不能用作新单位代码（不含“/”，最长40个字符）") % {
        "column": header_label(key),
        "code": code[:40],
    }


def _person_target(row: RowData, existing: Existing | None, org: Unit) -> Target:
    if existing is None:
        spec = actions.PersonSpec(
            name=row.name,
            kind=row.kind,
            external_number=row.number,
            phone=row.phone or "",
            id_number=row.id_number or "",
            gender=row.gender or "",
            birth_year=row.birth_year,
            enrolment_year=row.enrolment_year,
        )
        return Target(spec=spec, row=row.row)
    target = Target(existing=existing, row=row.row)
    for name, value, stored in (
        ("name", row.name, existing.name),
        ("kind", row.kind, existing.kind),
        ("gender", row.gender, existing.gender),
        ("birth_year", row.birth_year, existing.birth_year),
        ("enrolment_year", row.enrolment_year, existing.enrolment_year),
    ):
        if value is not None and value != "" and value != stored:
            target.changed.add(name)
    if not existing.is_active:
        target.changed.add("is_active")
    if row.phone and row.phone_hash != existing.phone_hash:
        target.phone = row.phone
        target.changed.add("phone")
    if row.id_number and row.id_hash != existing.id_hash:
        target.id_number = row.id_number
        target.changed.add("id_number")
    if target.changed:
        person = Person(pk=existing.pk, root_id=org.pk)
        for name in target.changed & {"name", "kind", "gender", "birth_year", "enrolment_year"}:
            setattr(person, name, getattr(row, name))
        person.is_active = True
        target.person = person
    return target


def _guardian_target(row: RowData, existing: Existing | None, org: Unit) -> Target:
    if existing is None:
        spec = actions.PersonSpec(name=row.guardian_name, kind=PersonKind.PARENT, phone=row.guardian_phone)
        return Target(spec=spec)
    target = Target(existing=existing)
    if row.guardian_name != existing.name:
        target.changed.add("name")
    if not existing.is_active:
        target.changed.add("is_active")
    if target.changed:
        target.person = Person(pk=existing.pk, root_id=org.pk, name=row.guardian_name, is_active=True)
    return target


_DORM_KINDS = {UnitKind.DORM_BUILDING, UnitKind.DORM_ROOM}
# Roles the roster owns: a class or room change replaces these, and leaves other roles
# (counsellor, liaison, leader …, granted by hand) alone.
ROSTER_ROLES = {
    MembershipRole.MEMBER,
    MembershipRole.MONITOR,
    MembershipRole.COMMITTEE,
    MembershipRole.DORM_HEAD,
}


def _plan_memberships(
    plan: Plan,
    row: RowData,
    target: Target,
    class_unit: UnitNode | None,
    dorm_unit: UnitNode | None,
    memberships: dict[int, list[tuple[int, int, str, str, str]]],
) -> None:
    """The row's class (or college) and dormitory replace the person's roster places of the same kind."""
    role = row.role or MembershipRole.MEMBER
    slots = []
    if class_unit is not None:
        slots.append((class_unit, MembershipRole.MEMBER if role == MembershipRole.DORM_HEAD else role))
    if dorm_unit is not None:
        slots.append((dorm_unit, MembershipRole.DORM_HEAD if role == MembershipRole.DORM_HEAD else "member"))
    mine = memberships.get(target.existing.pk, []) if target.existing is not None else []
    for unit, wanted_role in slots:
        have = False
        for mid, unit_id, current_role, path, kind in mine:
            if not path.startswith(plan.root.path) or kind != unit.kind:
                continue
            if unit.pk is not None and unit_id == unit.pk and current_role == wanted_role:
                have = True
            elif current_role in ROSTER_ROLES:
                plan.remove_memberships.append(mid)
        if not have:
            plan.add_memberships.append((target, unit, wanted_role))


# --------------------------------------------------------------------------- applying


@transaction.atomic
def apply_plan(plan: Plan, actor: User | None = None, progress: Progress | None = None) -> dict[str, int]:
    """Write a problem-free plan in one transaction through ``actions``; an empty plan writes nothing."""
    if plan.problems:
        raise ValueError("a plan with problems cannot be applied")
    counts = plan.summary()
    if plan.is_empty:
        return counts
    if progress:
        progress("write", 0, None)
    # Units: parents before children (a new room may sit in a new building).
    groups: dict[UnitNode, list[UnitNode]] = {}
    for node in sorted(plan.units, key=lambda n: n.path.count("#")):
        assert node.parent is not None
        groups.setdefault(node.parent, []).append(node)
    for parent_node, children in groups.items():
        parent = parent_node.created or Unit.objects.get(pk=parent_node.pk)
        unit_specs = [actions.UnitSpec(name=c.code, code=c.code, kind=c.kind) for c in children]
        created = actions.bulk_create_children(parent, unit_specs, actor=actor)
        for node, unit in zip(children, created, strict=True):
            node.created = unit

    # New people who cover others go in first, so that the people they cover get ``covered_by``
    # as they are inserted instead of in a second pass of updates.
    coverers = {id(c) for _s, c in plan.coverage if c.spec is not None}
    first = [t for t in plan.targets if t.spec is not None and id(t) in coverers]
    _insert_targets(plan.org, first)
    coverage = []
    for student, coverer in plan.coverage:
        if student.spec is not None and student.created is None and coverer.existing is None:
            student.spec.covered_by_id = coverer.id
        else:
            coverage.append((student, coverer))
    _insert_targets(plan.org, [t for t in plan.targets if t.spec is not None and t.created is None])
    changed = []
    for target in plan.targets:
        if target.person is not None:
            fields = set(target.changed) - {"phone", "id_number"}
            if target.phone:
                target.person.set_phone(target.phone)
                fields |= {"phone_enc", "phone_hash", "phone_masked"}
            if target.id_number:
                target.person.set_id_number(target.id_number)
                fields |= {"id_number_enc", "id_number_hash", "id_number_masked"}
            if "name" in fields:
                target.person.initials = initials(target.person.name)[:60]
                fields.add("initials")
            changed.append((target.person, fields))
    actions.bulk_update_people(changed)
    actions.bulk_remove_memberships(plan.remove_memberships)
    actions.insert_memberships((t.id, u.id, role) for t, u, role in plan.add_memberships)
    actions.bulk_upsert_guardians((g.id, s.id, relation) for g, s, relation in plan.links)
    actions.bulk_assign_coverage((s.id, c.id) for s, c in coverage)
    return counts


def _insert_targets(org: Unit, targets: list[Target]) -> None:
    specs = [t.spec for t in targets if t.spec is not None]
    for target, pk in zip(targets, actions.insert_people(org, specs), strict=True):
        target.created = pk


# --------------------------------------------------------------------------- the whole import

SUMMARY_KEYS = (
    "rows",
    "people_created",
    "people_updated",
    "people_unchanged",
    "guardians_created",
    "guardians_updated",
    "units_created",
    "memberships_added",
    "memberships_removed",
    "guardian_links",
    "coverage_changed",
)


def summary_text(summary: dict[str, int], committed: bool) -> str:
    """The counts of an import in one line of the user's language (CLI output, messages)."""
    text = _(
        "共 %(rows)d 行：新增 %(people_created)d 人，更新 %(people_updated)d 人，"
        "未变 %(people_unchanged)d 人；新增家长 %(guardians_created)d 人，"
        "更新家长 %(guardians_updated)d 人；新建单位 %(units_created)d 个；"
        "加入单位 %(memberships_added)d 次，移出 %(memberships_removed)d 次；"
        "监护关系 %(guardian_links)d 条；联系班委 %(coverage_changed)d 条"
    ) % {key: summary.get(key, 0) for key in SUMMARY_KEYS}
    return text if committed else text + _("（试运行，未写入）")


@dataclass
class ImportResult:
    """The outcome of an import or a dry run: problems (nothing written) or the counts of the changes."""

    problems: list[Problem]
    summary: dict[str, int]
    committed: bool = False
    problem_total: int = 0  # every problem found, also those past the listed ones

    @property
    def ok(self) -> bool:
        return not self.problems

    @classmethod
    def failed(cls, problems: Problems, summary: dict[str, int] | None = None) -> ImportResult:
        return cls(problems.sorted(), summary or {}, problem_total=problems.total)


def import_roster(
    source: IO[bytes] | str | Path,
    root: Unit,
    *,
    filename: str = "",
    size: int | None = None,
    dry_run: bool = False,
    create_units: bool = False,
    actor: User | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Read, check, plan and (unless ``dry_run`` or anything is wrong) apply a roster file: all or nothing."""
    table = read_table(source, filename, size, progress)
    if table.problems:
        return ImportResult.failed(table.problems)
    rows, problems = check_rows(table, progress)
    del table
    if dry_run:
        plan = build_plan(rows, root, create_units=create_units, problems=problems, progress=progress)
        return ImportResult.failed(plan.problems, plan.summary())
    if progress:
        progress("write", 0, None)
    try:
        with transaction.atomic():
            plan = build_plan(rows, root, create_units=create_units, problems=problems, progress=progress)
            del rows  # the plan holds what it needs; free the rows before the write
            if plan.problems:
                return ImportResult.failed(plan.problems, plan.summary())
            counts = apply_plan(plan, actor=actor, progress=progress)
            if actor is not None and not plan.is_empty:
                from fanzha.core.models import AuditRecord

                AuditRecord.objects.create(
                    actor=actor,
                    action=AuditRecord.Action.IMPORT,
                    object_type="unit",
                    object_id=str(root.pk),
                    detail=" ".join(f"{k}={v}" for k, v in counts.items() if v)[:200],
                )
    except (ValidationError, IntegrityError) as exc:
        # Someone changed the same people or units between the check and the write: all rolled back.
        detail = exc.messages[0] if isinstance(exc, ValidationError) else ""
        message = _("数据在导入期间被其他操作修改，未写入任何数据，请重新导入。%(detail)s")
        message = message % {"detail": detail}
        return ImportResult([Problem(0, "-", message.strip())], {}, problem_total=1)
    return ImportResult([], counts, committed=True)


# --------------------------------------------------------------------------- template and export


def _header_font() -> Any:
    from openpyxl.styles import Font

    return Font(bold=True)


def write_template(out: IO[bytes] | str | Path) -> None:
    """The empty template: the 花名册 sheet with Chinese headers and drop-down lists, and a 说明 sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_NAME
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header + ("*" if column.required else ""))
        cell.font = _header_font()
        if column.required:
            cell.fill = required_fill
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width + 4
        if column.text:
            sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"
    lists = {
        "kind": PersonKind,
        "gender": Gender,
        "role": MembershipRole,
        "guardian_relation": Guardianship.Relation,
    }
    with translation.override("zh-hans"):
        for key, choices in lists.items():
            letter = get_column_letter(COLUMN_ORDER[key] + 1)
            labels = ",".join(str(label) for value, label in choices.choices if value)
            validation = DataValidation(type="list", formula1=f'"{labels}"', allow_blank=True)
            validation.add(f"{letter}2:{letter}{MAX_DATA_ROWS + 1}")
            sheet.add_data_validation(validation)
    notes = book.create_sheet("说明")
    notes.append([_("列"), _("必填"), _("说明")])
    for cell in notes[1]:
        cell.font = _header_font()
    for column in COLUMNS:
        notes.append([column.header, _("是") if column.required else "", str(column.help)])
    notes.append([])
    notes.append([_("表头在第1行，数据从第2行开始；不要合并单元格，不要使用公式。")])
    notes.append([_("CSV 文件请以 UTF-8 或 GBK 编码保存，表头与本模板相同。")])
    notes.append([_("留空的可选项保持原值不变；同一学号/工号再次导入时更新此人，不会重复。")])
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["B"].width = 6
    notes.column_dimensions["C"].width = 70
    book.save(out)


def export_rows(unit: Unit, reveal: bool = False) -> Iterator[list[Any]]:
    """Rows for the roster of everyone with a place in ``unit``'s subtree, in template order.

    Phone and ID numbers are masked unless ``reveal`` (the caller checks the right and audits it);
    masked values re-import as "unchanged". A student with several guardians is written with the
    first one (father, then mother …), since the template has one guardian per row.
    """
    members = (
        Membership.objects.filter(unit__path__startswith=unit.path)
        .order_by("person_id", "unit__path")
        .values_list("person_id", "role", "unit__kind", "unit__code", "unit__parent_path")
    )
    places: dict[int, list[tuple[str, str, str, str]]] = defaultdict(list)
    for person_id, role, kind, code, parent_path in members.iterator(chunk_size=5000):
        places[person_id].append((role, kind, code, parent_path))
    parent_paths = {p[3] for items in places.values() for p in items}
    parent_codes: dict[str, str] = {}
    for chunk in _chunks(sorted(parent_paths)):
        parent_codes.update(Unit.objects.filter(path__in=chunk).values_list("path", "code"))
    kinds = {k: str(v) for k, v in PersonKind.choices}
    genders = {"m": "男", "f": "女"}
    roles = {k: str(v) for k, v in MembershipRole.choices}
    relations = {k: str(v) for k, v in Guardianship.Relation.choices}
    rank = {r: i for i, r in enumerate(Guardianship.Relation.values)}
    for chunk in _chunks(sorted(places), 2000):
        people = {p.pk: p for p in Person.objects.filter(pk__in=chunk)}
        coverers = [p.covered_by_id for p in people.values() if p.covered_by_id]
        numbers = dict(Person.objects.filter(pk__in=coverers).values_list("pk", "external_number"))
        guardians: dict[int, tuple[int, Person, str]] = {}
        links = Guardianship.objects.filter(student_id__in=chunk).select_related("guardian").order_by("pk")
        for link in links:
            current = guardians.get(link.student_id)
            if current is None or rank.get(link.relation, 99) < current[0]:
                guardians[link.student_id] = (rank.get(link.relation, 99), link.guardian, link.relation)
        for pk in chunk:
            person = people.get(pk)
            if person is None:
                continue
            college = klass = building = room = role = ""
            for m_role, kind, code, parent_path in places[pk]:
                if kind in _DORM_KINDS:
                    if kind == UnitKind.DORM_ROOM:
                        room, building = code, parent_codes.get(parent_path, "")
                    elif not room:
                        building = code
                    if m_role == MembershipRole.DORM_HEAD:
                        role = role or roles[m_role]
                elif kind == UnitKind.CLASS and not klass:
                    klass, college = code, parent_codes.get(parent_path, "")
                    if m_role != MembershipRole.MEMBER:
                        role = roles.get(m_role, "")
                elif not klass and not college:
                    college = code  # a teacher in a college, an officer in a department …
                    if m_role != MembershipRole.MEMBER:
                        role = roles.get(m_role, "")
            guardian = guardians.get(pk)
            yield [
                person.name,
                kinds.get(person.kind, person.kind),
                person.external_number,
                college,
                klass,
                building,
                room,
                role,
                person.phone if reveal else person.phone_masked,
                person.id_number if reveal else person.id_number_masked,
                genders.get(person.gender, ""),
                person.birth_year,
                person.enrolment_year,
                guardian[1].name if guardian else "",
                (guardian[1].phone if reveal else guardian[1].phone_masked) if guardian else "",
                relations.get(guardian[2], "") if guardian else "",
                numbers.get(person.covered_by_id or 0, ""),
            ]


def export_roster(unit: Unit, out: IO[bytes] | str | Path, reveal: bool = False) -> int:
    """Write the roster of ``unit``'s subtree as an XLSX in the template layout, so it can be re-imported.

    Every value is written as a plain value: text that starts with ``=`` stays text, never a formula.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_NAME)
    header = []
    for column in COLUMNS:
        cell = WriteOnlyCell(sheet, value=column.header + ("*" if column.required else ""))
        cell.font = _header_font()
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in export_rows(unit, reveal=reveal):
        cells: list[Any] = []
        for value in row:
            if isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
        count += 1
    book.save(out)
    return count


# --------------------------------------------------------------------------- web jobs


def run_job(job_id: Any, commit: bool) -> None:
    """Check (dry run) or commit an ``ImportJob``'s file, keeping status, progress and outcome on the job.

    Progress is written only outside the import transaction: inside it the row would stay
    invisible until the end, and on SQLite a second writer would have to wait for the lock.
    """
    import logging

    from django.db import connection

    from ..models import ImportJob

    job = ImportJob.objects.select_related("root", "user").get(pk=job_id)
    running = ImportJob.Status.COMMITTING if commit else ImportJob.Status.CHECKING
    _retry_locked(
        lambda: ImportJob.objects.filter(pk=job.pk).update(status=running, stage="read", done=0, total=None)
    )

    def progress(stage: str, done: int, total: int | None) -> None:
        if not connection.in_atomic_block:
            _retry_locked(
                lambda: ImportJob.objects.filter(pk=job.pk).update(stage=stage, done=done, total=total)
            )

    try:
        with job.file.open("rb") as handle:
            result = import_roster(
                handle,
                job.root,
                filename=job.filename,
                size=job.size,
                dry_run=not commit,
                create_units=job.create_units,
                actor=job.user if commit else None,
                progress=progress,
            )
    except Exception:
        logging.getLogger(__name__).exception("roster import job %s failed", job.pk)
        problem = Problem(0, "-", _("导入时发生内部错误，未写入任何数据；请稍后重试或联系管理员"))
        result = ImportResult([problem], {}, problem_total=1)
        status = ImportJob.Status.FAILED
    else:
        if result.problems:
            status = ImportJob.Status.INVALID
        else:
            status = ImportJob.Status.DONE if commit else ImportJob.Status.CHECKED
    job.status = status
    job.stage = ""
    job.problems = [p.as_list() for p in result.problems]
    job.problem_count = result.problem_total
    job.summary = result.summary
    if status != ImportJob.Status.CHECKED and job.file:
        job.file.delete(save=False)  # the file holds ID and phone numbers: keep it no longer than needed
    _retry_locked(
        lambda: job.save(
            update_fields=["status", "stage", "problems", "problem_count", "summary", "file", "updated_at"]
        )
    )


def _retry_locked(write: Any, attempts: int = 100) -> Any:
    """Run a short write of the job's row, retrying while SQLite says the table is locked.

    Why: the page polls the job's row while this thread writes it. A file database waits for the
    lock by itself (busy timeout), but SQLite's shared-cache mode (the test database, some embedded
    set-ups) answers "table is locked" at once; the progress row must not be lost to that.
    """
    import time

    from django.db import OperationalError

    for attempt in range(attempts):
        try:
            return write()
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02)
    return None


def start_job(job: Any, commit: bool) -> None:
    """Run a job now when its file is small, else in a background thread once the request's data is saved.

    Why a thread and not a task queue: the project has no worker yet; an import of 100,000 rows
    takes under a minute and survives as long as the server process does (a job cut short is
    reported as interrupted, see ``import_views``). Switch to a Django task when workers exist.
    """
    import threading

    from django.db import connection

    inline_limit = getattr(settings, "FANZHA_IMPORT_INLINE_BYTES", 256 * 1024)
    if job.size <= inline_limit:
        run_job(job.pk, commit)
        return

    def work() -> None:
        try:
            run_job(job.pk, commit)
        finally:
            connection.close()

    def start() -> None:
        threading.Thread(target=work, name=f"roster-import-{job.pk}", daemon=True).start()

    transaction.on_commit(start)
