"""Reading a warning list (预警名单: potential victims the national anti-fraud centre names) from a CSV or
XLSX, and checking it row by row before anything is written.

Why apart from the verbs: like the roster import, the file is read and every row checked first; the
page shows each bad row with its reason and imports the good rows only once the user confirms. The
good rows travel to the confirmation encrypted (``core.crypto``), so the phones never sit in the page.
Columns (header row, Chinese or English): 姓名/name, 电话/phone, 原因/reason, 派出所/station (a
station's code or name) or 辖区/area (a community's code or name: its station takes the task).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from fanzha.core import crypto
from fanzha.core.identifiers import normalize_phone
from fanzha.org.models import Unit, UnitKind
from fanzha.org.roster import charset, scan
from fanzha.org.scope import Cap, path_q, scope_paths

MAX_ROWS = 5_000
HEADERS = {
    "name": ("姓名", "name"),
    "phone": ("电话", "手机号", "phone", "mobile"),
    "reason": ("原因", "预警原因", "reason"),
    "station": ("派出所", "派出所代码", "station", "station code"),
    "area": ("辖区", "社区", "area"),
}


@dataclass
class Checked:
    """The rows of a warning list: the good ones (ready for ``actions.import_warning_list``) and the bad
    ones with their reasons (row number as the user counts it, header = 1); or a file-level error."""

    good: list[dict[str, Any]] = field(default_factory=list)
    bad: list[tuple[int, list[str]]] = field(default_factory=list)
    error: str = ""


def _cells(source: IO[bytes], filename: str) -> list[list[Any]]:
    """The sheet's rows as lists of cells; raises ``ValidationError`` for a file that is not one table."""
    data = source.read(settings.FANZHA_MAX_UPLOAD_BYTES + 1)
    if len(data) > settings.FANZHA_MAX_UPLOAD_BYTES:
        raise ValidationError(_("文件过大"))
    if not data:
        raise ValidationError(_("文件是空的"))
    if data.startswith(b"PK\x03\x04"):
        stream = io.BytesIO(data)
        refusal = scan.check_xlsx(stream)
        if refusal:
            raise ValidationError(refusal)
        import openpyxl

        stream.seek(0)
        try:
            book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken workbook
            raise ValidationError(_("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的名单")) from exc
        try:
            rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
        finally:
            book.close()
        return rows
    if filename.lower().endswith((".xlsx", ".xls", ".xlsm")) or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(_("这不是有效的表格文件：请上传 XLSX 或 CSV 格式的名单"))
    decoded = charset.decode(data)
    text = decoded.text
    if text is None:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ValidationError(_("无法识别文件的编码：请另存为 UTF-8 编码的 CSV")) from exc
    return [list(r) for r in csv.reader(io.StringIO(text.lstrip("\ufeff")))][: MAX_ROWS + 2]


def _columns(header: list[Any]) -> dict[str, int]:
    names = [str(c or "").strip().lower() for c in header]
    found: dict[str, int] = {}
    for key, labels in HEADERS.items():
        for index, name in enumerate(names):
            if name in labels:
                found[key] = index
                break
    return found


def _stations(user: Any) -> dict[str, Unit]:
    """Code and name → station, for the stations (and their communities) in the user's police scope."""
    units = Unit.objects.filter(
        path_q(scope_paths(user, Cap.CASE_POLICE)),
        kind__in=(UnitKind.POLICE_STATION, UnitKind.COMMUNITY),
        is_active=True,
    ).order_by("path")
    stations = {u.path: u for u in units if u.kind == UnitKind.POLICE_STATION}
    lookup: dict[str, Unit] = {}
    for unit in units:
        station = stations.get(unit.path) or next(
            (s for path, s in stations.items() if unit.path.startswith(path)), None
        )
        if station is not None:
            lookup.setdefault(unit.code.lower(), station)
            lookup.setdefault(unit.name.lower(), station)
    return lookup


def _value(row: list[Any], index: int | None) -> str:
    if index is None or index >= len(row) or row[index] is None:
        return ""
    return str(row[index]).strip()


@sensitive_variables()
def check_rows(source: IO[bytes], filename: str, user: Any) -> Checked:
    """Read the file and check every row: a name, a valid phone, a station in the user's scope."""
    result = Checked()
    try:
        rows = _cells(source, filename)
    except ValidationError as exc:
        result.error = " ".join(exc.messages)
        return result
    if not rows:
        result.error = _("文件中没有数据行")
        return result
    columns = _columns(rows[0])
    missing = [HEADERS[k][0] for k in ("name", "phone") if k not in columns]
    if missing or ("station" not in columns and "area" not in columns):
        result.error = _("表头应包含：姓名、电话、原因、派出所（或辖区）；缺少：%(missing)s") % {
            "missing": "、".join(missing or [_("派出所或辖区")])
        }
        return result
    if len(rows) - 1 > MAX_ROWS:
        result.error = _("名单最多%(n)d行") % {"n": MAX_ROWS}
        return result
    lookup = _stations(user)
    for number, row in enumerate(rows[1:], start=2):
        if not any(_value(row, i) for i in range(len(row))):
            continue
        errors: list[str] = []
        name = _value(row, columns.get("name"))
        if not name:
            errors.append(_("姓名为空"))
        elif len(name) > 60:
            errors.append(_("姓名过长"))
        phone = ""
        try:
            phone = normalize_phone(_value(row, columns.get("phone")))
        except ValidationError as exc:
            errors.extend(exc.messages)
        place = _value(row, columns.get("station")) or _value(row, columns.get("area"))
        station = lookup.get(place.lower()) if place else None
        if not place:
            errors.append(_("派出所或辖区为空"))
        elif station is None:
            errors.append(_("没有找到派出所或辖区“%(place)s”") % {"place": place[:40]})
        if errors:
            result.bad.append((number, errors))
            continue
        assert station is not None
        result.good.append(
            {
                "row": number,
                "name": name,
                "phone": phone,
                "reason": _value(row, columns.get("reason"))[:200],
                "station": station.pk,
                "station_name": station.name,
            }
        )
    if not result.good and not result.bad:
        result.error = _("文件中没有数据行")
    return result


@sensitive_variables()
def seal_rows(rows: list[dict[str, Any]]) -> str:
    """The good rows as one encrypted token for the confirmation form (phones never in the page), with a
    key of its own so that confirming twice imports once."""
    return crypto.encrypt(json.dumps({"key": uuid.uuid4().hex, "rows": rows}, ensure_ascii=False))


@sensitive_variables()
def open_rows(token: str) -> tuple[str, list[dict[str, Any]]]:
    """The key and rows of ``seal_rows``; a token that does not decrypt is refused."""
    try:
        sealed = json.loads(crypto.decrypt(token))
        key, rows = str(sealed["key"]), sealed["rows"]
    except Exception as exc:  # a tampered token
        raise ValidationError(_("确认信息无效，请重新上传名单")) from exc
    if not isinstance(rows, list):
        raise ValidationError(_("确认信息无效，请重新上传名单"))
    return key, rows
