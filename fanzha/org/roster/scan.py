"""The stream check of an XLSX before openpyxl opens it: a few kilobytes of zip must not cost gigabytes.

Why: openpyxl's read-only reader builds a whole ``<row>`` in memory and loads the shared strings
and styles at once. A 70 KB file holding one row of sixteen million empty ``<c/>`` cells (64 MB
unpacked) took 5.4 GB. So every XML part of the zip is read here first, as a stream through expat
with nothing kept, against limits set by what Excel itself can make (16,384 columns, 1,048,576
rows, 32,767 characters in a cell) and by Apache POI's zip-bomb rule (no part unpacks more than
100 times its packed size). The first limit hit refuses the file with a message that names it.
Memory stays flat whatever the file holds (see ``tests/org/roster/test_bombs.py``).
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable
from typing import IO
from xml.parsers import expat

from django.utils.translation import gettext as _

from .columns import Progress

MAX_MEMBERS = 1_000  # parts in the zip; a workbook of a few sheets has about 15
MAX_RATIO = 100  # unpacked ÷ packed size of one part (Apache POI's MIN_INFLATE_RATIO of 0.01) …
RATIO_FROM_BYTES = 1 << 20  # … for parts that unpack to more than this (small parts may pack well)
MAX_TOTAL_BYTES = 1 << 30  # all parts together, unpacked
MAX_SHEET_BYTES = 512 << 20  # one worksheet's XML (200,000 rows written by openpyxl take about 200 MB)
MAX_STRINGS_BYTES = 256 << 20  # the shared-strings table's XML
MAX_PART_BYTES = 32 << 20  # any other XML part (styles, workbook, theme, relations …)
MAX_PART_ELEMENTS = 1_000_000  # elements of such another part (styles of a big workbook: some thousands)
MAX_ROWS = 1_048_576  # rows of a sheet: Excel's own limit
MAX_CELLS_PER_ROW = 16_384  # cells in one row, empty ``<c/>`` included: Excel's own limit (column XFD)
MAX_SHARED_STRINGS = 3_000_000  # entries of the shared-strings table
MAX_SHARED_CHARS = 64_000_000  # characters of the shared-strings table, all together
MAX_STRING_CHARS = 100_000  # characters of one shared string (Excel: 32,767, plus phonetic runs)
MAX_TOKEN_BYTES = 1 << 20  # bytes of XML without a single new element: one tag or text this long
CHUNK = 1 << 16

_XML_SUFFIXES = (".xml", ".rels", ".vml")


class Refused(Exception):
    """The file broke a limit; the message says which, in the user's language."""


def _mb(size: float) -> str:
    return f"{size / 2**20:.0f}"


def check_xlsx(source: IO[bytes], progress: Progress | None = None) -> str | None:
    """Check the zip and every XML part of an XLSX as a stream; the refusal message, or None when fine.

    ``source`` is read from its start and left at an unknown position.
    """
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            _check_members(members)
            parts = [m for m in members if m.filename.lower().endswith(_XML_SUFFIXES) and not m.is_dir()]
            total = sum(m.file_size for m in parts) or 1
            done = 0
            ticker = _Ticker(progress, total)
            for member in parts:
                ticker.base = done
                with archive.open(member) as stream:
                    _scan_part(member.filename, stream, ticker)
                done += member.file_size
    except Refused as exc:
        return str(exc)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError):
        # A damaged or encrypted member, an unknown compression method, a wrong CRC or size.
        return _("工作簿已损坏或格式不受支持：请在 Excel 中另存为 .xlsx 后再导入")
    except (OSError, ValueError):
        return _("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册")
    return None


class _Ticker:
    """Report ``scan`` progress (bytes unpacked so far of all XML parts) at most twice a second."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.last = progress, total, time.monotonic()
        self.base = 0  # bytes of the parts already scanned

    def __call__(self, done: int) -> None:
        if self.progress is not None and time.monotonic() - self.last > 0.5:
            self.last = time.monotonic()
            self.progress("scan", min(self.base + done, self.total), self.total)


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    """Count, declared sizes and compression ratio of the zip's parts, before unpacking any."""
    if len(members) > MAX_MEMBERS:
        raise Refused(
            _("文件中的部件过多（%(count)d 个，上限 %(limit)d 个）：这不是正常的 Excel 工作簿，不能导入")
            % {"count": len(members), "limit": MAX_MEMBERS}
        )
    total = 0
    for member in members:
        size = member.file_size
        total += size
        if size > RATIO_FROM_BYTES and size > MAX_RATIO * max(member.compress_size, 1):
            raise Refused(
                _(
                    "文件的压缩比异常（有一部分解压后是压缩时的 %(ratio)d 倍，上限 %(limit)d 倍），"
                    "可能是恶意构造的压缩炸弹，不能导入"
                )
                % {"ratio": size // max(member.compress_size, 1), "limit": MAX_RATIO}
            )
        limit = _byte_limit(member.filename)
        if member.filename.lower().endswith(_XML_SUFFIXES) and size > limit:
            raise Refused(_too_big(member.filename, size, limit))
    if total > MAX_TOTAL_BYTES:
        raise Refused(
            _("文件解压后过大（%(size)s MB，上限 %(limit)s MB），不能导入")
            % {"size": _mb(total), "limit": _mb(MAX_TOTAL_BYTES)}
        )


def _kind(name: str) -> str:
    lowered = name.lower()
    if lowered.startswith("xl/worksheets/") and lowered.count("/") == 2:
        return "sheet"
    if lowered == "xl/sharedstrings.xml":
        return "strings"
    return "part"


def _byte_limit(name: str) -> int:
    return {"sheet": MAX_SHEET_BYTES, "strings": MAX_STRINGS_BYTES}.get(_kind(name), MAX_PART_BYTES)


def _too_big(name: str, size: int, limit: int) -> str:
    what = {"sheet": _("工作表"), "strings": _("共享字符串表")}.get(_kind(name), _("工作簿的样式或其他部件"))
    return _("%(what)s解压后过大（%(size)s MB 以上，上限 %(limit)s MB），不能导入") % {
        "what": what,
        "size": _mb(size),
        "limit": _mb(limit),
    }


def _scan_part(name: str, stream: IO[bytes], tick: Callable[[int], None]) -> None:
    """Parse one XML part with expat, keeping only counters; raise ``Refused`` at the first limit.

    Every part is checked for rows, cells per row and shared strings, wherever they sit: openpyxl
    finds sheets and strings through the workbook's relations, not by these names. A character
    handler is set only outside worksheets, where text is rare; in a worksheet a cell's text
    longer than ``MAX_TOKEN_BYTES`` shows as a stretch of input with no new element.
    """
    kind = _kind(name)
    byte_limit = _byte_limit(name)
    rows = row_number = cells = strings = chars = string_chars = elements = events = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        # Called for every element (millions): only the per-row count is checked here, the
        # totals once per chunk below.
        nonlocal rows, row_number, cells, strings, string_chars, elements
        elements += 1
        if ":" in tag:
            tag = tag.rpartition(":")[2]
        if tag == "c":
            cells += 1
            if cells > MAX_CELLS_PER_ROW:
                raise Refused(
                    _("工作表第 %(row)d 行的单元格超过 %(limit)d 个（Excel 每行最多 16384 列），不能导入")
                    % {"row": max(row_number, 1), "limit": MAX_CELLS_PER_ROW}
                )
        elif tag == "row":
            rows += 1
            cells = 0
            number = attrs.get("r", "")
            row_number = int(number) if number.isdigit() and len(number) < 9 else rows
        elif tag == "si":
            strings += 1
            string_chars = 0

    def text(data: str) -> None:
        nonlocal chars, string_chars, events
        events += 1
        if strings:
            chars += len(data)
            string_chars += len(data)
            if string_chars > MAX_STRING_CHARS:
                raise Refused(
                    _("有一个文字单元格超过 %(limit)d 个字符，不能导入") % {"limit": MAX_STRING_CHARS}
                )

    def totals() -> None:
        if rows > MAX_ROWS:
            raise Refused(_("工作表超过 %(limit)d 行（Excel 的上限），不能导入") % {"limit": MAX_ROWS})
        if strings > MAX_SHARED_STRINGS:
            raise Refused(_("共享字符串表超过 %(limit)d 项，不能导入") % {"limit": MAX_SHARED_STRINGS})
        if chars > MAX_SHARED_CHARS:
            raise Refused(
                _("共享字符串表的文字总长超过 %(limit)d 个字符，不能导入") % {"limit": MAX_SHARED_CHARS}
            )
        if kind == "part" and elements > MAX_PART_ELEMENTS:
            raise Refused(
                _("工作簿的样式或其他部件过大（超过 %(limit)d 个元素），不能导入")
                % {"limit": MAX_PART_ELEMENTS}
            )

    def doctype(*_args: object) -> None:
        # Excel never writes one; a DTD is where entity-expansion bombs live.
        raise Refused(_("文件含有 XML 文档类型声明，正常的 Excel 文件不会有，不能导入"))

    parser = expat.ParserCreate()
    parser.buffer_text = False
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    if kind != "sheet":
        parser.CharacterDataHandler = text
    read = quiet = 0
    seen = -1
    try:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            read += len(chunk)
            if read > byte_limit:
                raise Refused(_too_big(name, read, byte_limit))
            parser.Parse(chunk, False)
            totals()
            quiet = quiet + len(chunk) if elements + events == seen else 0
            seen = elements + events
            if quiet > MAX_TOKEN_BYTES:
                raise Refused(
                    _("文件中有一段内容超过 %(limit)s MB 而没有分隔（单个标签或单元格过长），不能导入")
                    % {"limit": _mb(MAX_TOKEN_BYTES)}
                )
            tick(read)
        parser.Parse(b"", True)
        totals()
    except expat.ExpatError as exc:
        raise Refused(_("工作簿已损坏或格式不受支持：请在 Excel 中另存为 .xlsx 后再导入")) from exc
