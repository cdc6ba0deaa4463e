"""XLSX bombs: tiny files that unpack to gigabytes of work are refused by the stream check, quickly and
with flat memory, before openpyxl sees them (security issue item 3).

Each bomb is read by ``read.read_table`` in a child process (a fresh interpreter, limited to 2 GB of
address space so that a regression fails instead of swapping), which reports its own peak resident
set. Not ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` in this process, nor ``RUSAGE_SELF`` in the child:
Linux carries the peak of the forked parent (this test process, which just built a 64 MB bomb) over
the ``exec`` into the child's figure. ``VmHWM`` in ``/proc/self/status`` belongs to the new program
only.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fanzha.bench.import_roster import write_file
from fanzha.org.roster import read, scan

from .files import (
    empty_cells_bomb,
    lines,
    ratio_bomb,
    repeated_rows_bomb,
    replace_part,
    run,
    shared_strings_bomb,
    sheet_xml,
    student,
    with_sheet,
    xlsx,
)

ROOT = Path(__file__).resolve().parents[3]
PEAK_LIMIT_MB = 300
CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
import django
django.setup()
from fanzha.org.roster import read
limits = json.loads(sys.argv[2])
if limits:
    from fanzha.org.roster import scan
    for name, value in limits.items():
        setattr(scan, name, value)
table = read.read_table(sys.argv[1])
try:
    status = open("/proc/self/status").read()
    peak_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
except (OSError, IndexError):  # not Linux: the figure may include the parent's, and so err high
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"problems": [p.message for p in table.problems.sorted()], "peak_mb": peak_mb}))
"""

NO_RATIO = {"MAX_RATIO": 10**9}  # let the bomb past the zip check, to reach the check of its XML


def check_in_child(path: Path, limits: dict[str, int]) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "fanzha.settings.test"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), json.dumps(limits)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("bomb", "limits", "expected"),
    [
        (empty_cells_bomb, {}, "压缩比异常"),
        (empty_cells_bomb, NO_RATIO, "工作表第 2 行的单元格超过 16384 个"),
        (shared_strings_bomb, NO_RATIO, "共享字符串表超过 3000000 项"),
        (repeated_rows_bomb, NO_RATIO, "工作表超过 1048576 行"),
        (ratio_bomb, {}, "压缩比异常"),
        (ratio_bomb, NO_RATIO, "没有分隔"),
    ],
    ids=["cells", "cells-stream", "shared-strings", "rows", "ratio", "ratio-stream"],
)
def test_bombs_are_refused_with_flat_memory(tmp_path, bomb, limits, expected):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bomb())
    assert path.stat().st_size < 50 * 2**20  # under the upload limit: only the stream check stops it
    result = check_in_child(path, limits)
    assert len(result["problems"]) == 1 and expected in result["problems"][0], result["problems"]
    assert result["peak_mb"] < PEAK_LIMIT_MB, result


def test_each_limit_names_what_was_too_big(cast, monkeypatch):
    """Lowered limits, so that small files reach each one: the message says which limit it was."""
    monkeypatch.setattr(scan, "MAX_CELLS_PER_ROW", 30)
    wide = with_sheet(sheet_xml(b'<row r="7">' + b"<c/>" * 31 + b"</row>"))
    assert lines(run(wide, cast.uni)) == [
        "row 0, column -: 工作表第 7 行的单元格超过 30 个（Excel 每行最多 16384 列），不能导入"
    ]
    monkeypatch.setattr(scan, "MAX_ROWS", 3)
    assert "工作表超过 3 行" in lines(run(xlsx([student(f"202300{i}") for i in range(3)]), cast.uni))[0]
    monkeypatch.setattr(scan, "MAX_ROWS", 1000)
    monkeypatch.setattr(scan, "MAX_SHARED_STRINGS", 2)
    strings = b'<sst xmlns="x">' + b"<si><t>a</t></si>" * 3 + b"</sst>"
    assert (
        "共享字符串表超过 2 项"
        in lines(run(replace_part(xlsx([]), "xl/sharedStrings.xml", strings), cast.uni))[0]
    )
    monkeypatch.setattr(scan, "MAX_SHARED_STRINGS", 100)
    monkeypatch.setattr(scan, "MAX_SHARED_CHARS", 10)
    strings = b'<sst xmlns="x">' + b"<si><t>abcdef</t></si>" * 2 + b"</sst>"
    assert (
        "文字总长超过 10 个字符"
        in lines(run(replace_part(xlsx([]), "xl/sharedStrings.xml", strings), cast.uni))[0]
    )
    monkeypatch.setattr(scan, "MAX_MEMBERS", 3)
    assert "部件过多" in lines(run(xlsx([]), cast.uni))[0]
    monkeypatch.setattr(scan, "MAX_MEMBERS", 1000)
    monkeypatch.setattr(scan, "MAX_SHEET_BYTES", 1000)
    assert "工作表解压后过大" in lines(run(xlsx([student(f"2023{i:03d}") for i in range(50)]), cast.uni))[0]


def test_a_doctype_is_refused(cast):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData><row><c><v>&lol2;</v></c></row></sheetData></worksheet>"
    )
    assert "文档类型声明" in lines(run(with_sheet(laughs), cast.uni))[0]


def test_broken_xml_is_refused(cast):
    broken = sheet_xml(b"<row><c>")[:-20]
    assert "工作簿已损坏" in lines(run(with_sheet(broken), cast.uni))[0]


def test_normal_files_pass_the_check(cast, tmp_path):
    assert run(xlsx([student("2023009")]), cast.uni).ok
    path = tmp_path / "bench.xlsx"
    write_file(path, 3_000)  # the benchmark's own file, as ``fanzha bench import`` writes it
    with path.open("rb") as handle:
        assert scan.check_xlsx(handle) is None
    table = read.read_table(path)
    assert not table.problems and len(table.rows) == 3_000
    assert read.read_table(io.BytesIO(path.read_bytes()), "bench.xlsx").rows == table.rows
