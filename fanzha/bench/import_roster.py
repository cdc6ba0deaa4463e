"""``fanzha bench import --rows N``: write an N-row roster XLSX, import it, and import it again.

Printed figures: ``seconds`` for the import (read, check, plan, write in one transaction),
``rows_per_second``, ``peak_rss_mb`` (resident memory sampled during the import) and
``baseline_seconds``: plain openpyxl read-only iteration of the same file, without checks or
writes; ``ratio`` = seconds / baseline_seconds. ``reimport_seconds`` is the second import of the
same file, which must change nothing (``reimport_changes`` = 0).

Every row is a student with class, dormitory, role, phone, ID number, guardian and covering
monitor, so the import writes about 2N people (students and parents), 2N memberships, N
guardian links and N coverage links, plus the classes and rooms (``--create-units``).
The benchmark works in an organisation of its own (code ``BENCH…``) and deletes it afterwards
unless ``--keep``; it refuses a database that already holds other people unless ``--force``.
"""

from __future__ import annotations

import random
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.db import connection, transaction

HELP = "Import an N-row roster XLSX (default 100,000 rows) and print seconds, rows/s and peak memory."

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建文浩宇轩然欣怡子涵梓睿博雨晨思琪嘉豪俊"
REGIONS = ["110101", "310104", "440106", "510107", "420102", "330106", "320102", "610113"]
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="data rows in the generated file")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for the generated names")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark organisation afterwards")
    parser.add_argument("--force", action="store_true", help="run even if the database holds other people")


def _id_number(index: int) -> tuple[str, int, str]:
    """A valid, unique 18-digit ID number for row ``index``, with its birth year and gender."""
    year = 2002 + index % 5
    day = (index // 5) % 365
    month, dom = 1 + day // 31 % 12, 1 + day % 28
    seq = (index // (5 * 365)) % 1000
    body = f"{REGIONS[index % len(REGIONS)]}{year}{month:02d}{dom:02d}{seq:03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]
    return body + check, year, "男" if seq % 2 else "女"


def write_file(path: Path, rows: int, seed: int = 2026) -> dict[str, int]:
    """Write the benchmark roster (streaming, so memory stays flat) and return its shape."""
    from openpyxl import Workbook

    from fanzha.org.roster.columns import COLUMNS, SHEET_NAME

    rng = random.Random(seed)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_NAME)
    sheet.append([c.header for c in COLUMNS])
    class_size, room_size, colleges, buildings = 30, 4, 10, 20
    for i in range(rows):
        klass, seat = divmod(i, class_size)
        room = i // room_size
        number = f"B{i:07d}"
        monitor = f"B{klass * class_size:07d}"
        if seat == 0:
            role = "班长"
        elif seat <= 4:
            role = "班委"
        elif i % room_size == 0:
            role = "宿舍长"
        else:
            role = ""
        id_number, birth_year, gender = _id_number(i)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
        sheet.append(
            [
                name,
                "学生",
                number,
                f"C{klass % colleges:02d}",
                f"K{klass:05d}",
                f"D{room % buildings:02d}",
                f"R{room:06d}",
                role,
                f"13{5 + i % 5}{i:08d}",
                id_number,
                gender,
                birth_year,
                2020 + birth_year % 5,
                name[0] + rng.choice(GIVEN) + rng.choice(GIVEN),
                f"1{(58, 59, 86, 87, 88)[i % 5]}{i:08d}",
                "父亲" if i % 2 else "母亲",
                "" if seat == 0 else monitor,
            ]
        )
    book.save(path)
    return {"classes": -(-rows // class_size), "rooms": -(-rows // room_size), "colleges": colleges}


def baseline(path: Path) -> float:
    """Seconds to iterate every cell value of the file with openpyxl read-only, and nothing else."""
    from openpyxl import load_workbook

    started = time.perf_counter()
    book = load_workbook(path, read_only=True)
    count = 0
    for row in book.worksheets[0].iter_rows(values_only=True):
        count += len(row)
    book.close()
    return time.perf_counter() - started


class PeakMemory:
    """Sample the resident set size in a thread; ``peak_mb`` is the largest value seen."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)


def _delete_org(org_pk: int) -> None:
    """Remove the benchmark organisation with set-based deletes (the ORM collector would be slow)."""
    from fanzha.org.models import Guardianship, Membership, Person, Unit, UnitEvent

    org = Unit.objects.get(pk=org_pk)
    with transaction.atomic():
        people = Person.objects.filter(root=org)
        Guardianship.objects.filter(student__root=org).delete()
        Guardianship.objects.filter(guardian__root=org).delete()
        Membership.objects.filter(unit__path__startswith=org.path).delete()
        people.update(covered_by=None)
        ids = list(people.values_list("pk", flat=True))
        for start in range(0, len(ids), 5000):  # in chunks: the delete collector holds what it deletes
            Person.objects.filter(pk__in=ids[start : start + 5000]).delete()
        UnitEvent.objects.filter(unit__path__startswith=org.path).delete()
        Unit.objects.filter(path__startswith=org.path).delete()


def run(*, rows: int, seed: int, keep: bool, force: bool, log: IO[str] | Any = None, **_options: Any) -> dict:
    """Generate, import, re-import; return the figures (see the module docstring)."""
    from fanzha.org import actions
    from fanzha.org.models import Person
    from fanzha.org.roster import actions as roster

    def say(text: str) -> None:
        if log is not None:
            log.write(text + "\n")

    if rows < 1:
        raise CommandError("--rows must be at least 1")
    call_command("migrate", verbosity=0, interactive=False)
    if Person.objects.exclude(root__code__startswith="BENCH").exists() and not force:
        raise CommandError(
            "this database holds people; run the benchmark on a throwaway database or add --force"
        )
    code = f"BENCH{int(time.time())}"
    org = actions.create_unit(parent=None, name="基准测试大学", code=code, kind="school")
    for c in range(10):
        actions.create_unit(parent=org, name=f"学院{c:02d}", code=f"C{c:02d}", kind="college")
    try:
        with tempfile.TemporaryDirectory(prefix="fanzha-bench-") as tmp:
            path = Path(tmp) / "roster.xlsx"
            say(f"writing {rows} rows to {path}")
            started = time.perf_counter()
            shape = write_file(path, rows, seed)
            write_seconds = time.perf_counter() - started
            size_mb = path.stat().st_size / 2**20
            say(f"baseline: openpyxl read-only iteration of {size_mb:.1f} MB")
            base = baseline(path)
            say("import")
            with PeakMemory() as memory:
                started = time.perf_counter()
                result = roster.import_roster(path, org, create_units=True)
                seconds = time.perf_counter() - started
            if result.problems:
                raise CommandError("benchmark file had problems: " + "; ".join(map(str, result.problems[:5])))
            say("import again (must change nothing)")
            with PeakMemory() as again_memory:
                started = time.perf_counter()
                again = roster.import_roster(path, org, create_units=True)
                reimport_seconds = time.perf_counter() - started
            changes = sum(v for k, v in again.summary.items() if k not in {"rows", "people_unchanged"})
    finally:
        if not keep:
            say("cleaning up")
            _delete_org(org.pk)
    return {
        "benchmark": "import",
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "peak_rss_mb": memory.peak_mb,
        "baseline_seconds": round(base, 2),
        "ratio": round(seconds / base, 2),
        "reimport_seconds": round(reimport_seconds, 2),
        "reimport_changes": changes,
        "reimport_peak_rss_mb": again_memory.peak_mb,
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "file_mb": round(size_mb, 1),
        "write_file_seconds": round(write_seconds, 2),
        "people_created": result.summary["people_created"] + result.summary["guardians_created"],
        "units_created": result.summary["units_created"],
        "classes": shape["classes"],
        "database": connection.vendor,
    }
