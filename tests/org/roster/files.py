"""Small roster files made in the tests: XLSX through openpyxl, CSV in any encoding, broken variants."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

from openpyxl import Workbook

from fanzha.org.models import Guardianship, Membership, Person, Unit
from fanzha.org.roster import actions as roster
from fanzha.org.roster import columns

HEADERS = [c.header for c in columns.COLUMNS]
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(body17: str) -> str:
    """A resident ID number with a correct check character."""
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]


def bad_checksum(number: str) -> str:
    """The same ID number with a wrong check character."""
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


def cells(row: dict[str, Any]) -> list[Any]:
    """A row given by column key (``class`` for 班级代码) as a list in template order."""
    return [row.get(c.key) for c in columns.COLUMNS]


def xlsx(rows: list[dict[str, Any]], *, sheet: str = "花名册", headers: list[str] | None = None) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    ws.append(headers or HEADERS)
    for row in rows:
        ws.append(cells(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[dict[str, Any]], encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in cells(row)])
    return text.getvalue().encode(encoding)


def with_empty_rows(data: bytes, count: int) -> bytes:
    """Append ``count`` empty ``<row>`` elements to the first sheet, as a spreadsheet app may leave."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                last = max(int(n) for n in re.findall(r'<row r="(\d+)"', text))
                empty = "".join(f'<row r="{n}"/>' for n in range(last + 1, last + 1 + count))
                text = text.replace("</sheetData>", empty + "</sheetData>")
                text = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:Q{last + count}"/>', text)
                content = text.encode()
            target.writestr(item, content)
    return out.getvalue()


def student(number: str, name: str = "新同学", **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "kind": "学生", "number": number, "college": "CS", "class": "CS2301"}
    row.update(extra)
    return row


ID_A = id_number("11010120050301001")  # odd sequence digit: male, born 2005


ID_B = id_number("11010120060402002")  # female, born 2006


def run(data: bytes, root: Unit, filename: str = "roster.xlsx", **options) -> roster.ImportResult:
    return roster.import_roster(io.BytesIO(data), root, filename=filename, **options)


def snapshot() -> tuple[int, int, int, int]:
    return (
        Person.objects.count(),
        Membership.objects.count(),
        Guardianship.objects.count(),
        Unit.objects.count(),
    )


def lines(result: roster.ImportResult) -> list[str]:
    return [str(p) for p in result.problems]


# Crafted bombs: tiny zips that unpack to a lot of XML (the file-size check passes them all) -------


def replace_part(data: bytes, name: str, content: bytes, content_type: str = "") -> bytes:
    """``data`` (an XLSX) with the part ``name`` replaced or added; a new part gets ``content_type``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename == name:
                continue
            part = source.read(item.filename)
            if item.filename == "[Content_Types].xml" and content_type:
                override = f'<Override PartName="/{name}" ContentType="{content_type}"/>'
                part = part.replace(b"</Types>", override.encode() + b"</Types>")
            target.writestr(item, part)
        target.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), content, zipfile.ZIP_DEFLATED, 9)
    return out.getvalue()


def sheet_xml(rows: bytes, *, before: bytes = b"", after: bytes = b"") -> bytes:
    """A worksheet whose first row is the template header and then ``rows`` (raw ``<row>`` XML)."""
    header = b"".join(b'<c t="inlineStr"><is><t>' + h.encode() + b"</t></is></c>" for h in HEADERS)
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + before
        + b'<sheetData><row r="1">'
        + header
        + b"</row>"
        + rows
        + b"</sheetData>"
        + after
        + b"</worksheet>"
    )


def with_sheet(xml: bytes) -> bytes:
    return replace_part(xlsx([]), "xl/worksheets/sheet1.xml", xml)


def empty_cells_bomb(cells: int = 16_000_000) -> bytes:
    """One row of millions of empty ``<c/>`` cells: 64 MB unpacked in a zip of about 70 KB."""
    return with_sheet(sheet_xml(b'<row r="2">' + b"<c/>" * cells + b"</row>"))


def shared_strings_bomb(count: int = 5_000_000) -> bytes:
    """A shared-strings table of millions of entries, which openpyxl loads all at once."""
    strings = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"<si><t>x</t></si>" * count
        + b"</sst>"
    )
    return replace_part(
        xlsx([]),
        "xl/sharedStrings.xml",
        strings,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml",
    )


def repeated_rows_bomb(rows: int = 2_000_000) -> bytes:
    """Millions of the same one-cell data row, past Excel's 1,048,576 rows."""
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    return with_sheet(sheet_xml(row * rows))


def ratio_bomb(size: int = 200 << 20) -> bytes:
    """A sheet padded with 200 MB of blanks: packs about a thousand to one."""
    return with_sheet(sheet_xml(b"", after=b" " * size))
