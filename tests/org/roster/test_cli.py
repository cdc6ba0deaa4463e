"""``fanzha import-roster``, ``fanzha export-roster`` and ``fanzha bench import`` as a user runs them."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from fanzha.core.models import AuditRecord
from fanzha.org.models import Membership, Person

from .files import bad_checksum, id_number, student, xlsx

pytestmark = pytest.mark.django_db

LINE = re.compile(r"^row \d+, column [^:]+: .+$")


def fanzha(*argv: str) -> tuple[int, str, str]:
    """Run a command in this process (so it sees the test database): exit status and output.

    ``run_from_argv`` turns ``CommandError`` into ``sys.exit(returncode)`` and then closes every
    database connection, which would end the test's transaction on PostgreSQL; so the exit
    status is taken from the error here, and ``test_real_console_exit_status`` runs the console.
    """
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*argv, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        return exc.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_hyphenated_command_is_found(capsys):
    ManagementUtility(["fanzha", "help", "import-roster"]).execute()
    out = capsys.readouterr().out
    assert "--create-units" in out and "--template" in out


def test_real_console_exit_status(tmp_path):
    """The installed ``fanzha`` console script: exit 1 and one line per problem, 0 on success."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update({"FANZHA_DATA_DIR": str(tmp_path), "DEBUG": "0"})

    def console(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "fanzha", *argv]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert console("migrate", "-v", "0").returncode == 0
    make = (
        "from fanzha.org import actions; actions.create_unit(parent=None, name='S', code='S1', kind='school')"
    )
    assert console("shell", "-c", make).returncode == 0
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    result = console("import-roster", str(bad), "--root", "S1")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "row 0, column -: 这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"
    ]
    good = tmp_path / "good.csv"
    good.write_bytes("姓名,类别,学号/工号\n张三,学生,S001\n".encode("gbk"))
    result = console("import-roster", str(good), "--root", "S1")
    assert result.returncode == 0, result.stderr
    assert "新增 1 人" in result.stdout


def test_template_is_written(tmp_path):
    target = tmp_path / "模板.xlsx"
    code, out, _err = fanzha("import-roster", "--template", "-o", str(target))
    assert code == 0 and "模板" in out
    assert load_workbook(target).sheetnames[0] == "花名册"


def test_good_file_exits_zero_and_prints_counts(cast, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx([student("2023009"), student("2023010", name="乙")]))
    code, out, err = fanzha("import-roster", str(path), "--root", "UNI")
    assert code == 0, err
    assert "新增 2 人" in out
    assert Person.objects.filter(external_number__in=["2023009", "2023010"]).count() == 2
    code, out, _err = fanzha("import-roster", str(path), "--root", "UNI")
    assert code == 0 and "新增 0 人" in out and "未变 2 人" in out


def test_dry_run_exits_zero_and_writes_nothing(cast, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx([student("2023009")]))
    before = Person.objects.count()
    code, out, _err = fanzha("import-roster", str(path), "--root", "UNI", "--dry-run")
    assert code == 0 and "试运行" in out
    assert Person.objects.count() == before


def test_bad_file_exits_one_with_one_line_per_problem(cast, tmp_path):
    path = tmp_path / "roster.xlsx"
    good = id_number("11010120050301001")
    path.write_bytes(
        xlsx(
            [
                student("2023009", phone="123"),
                student("2023010", id_number=bad_checksum(good), **{"class": "NOPE"}),
                student("2023010"),
            ]
        )
    )
    before = (Person.objects.count(), Membership.objects.count())
    code, out, err = fanzha("import-roster", str(path), "--root", "UNI", "--create-units")
    assert code == 1
    assert out.splitlines() == [
        "row 2, column 手机号: 手机号格式不正确",
        "row 3, column 身份证号: 身份证号校验位错误",
        "row 4, column 学号/工号: 学号/工号 2023010 与第 3 行重复",
    ]
    assert all(LINE.match(line) for line in out.splitlines())
    assert "未写入任何数据" in err
    assert (Person.objects.count(), Membership.objects.count()) == before


def test_not_a_spreadsheet_fails(cast, tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    code, out, _err = fanzha("import-roster", str(path), "--root", "UNI")
    assert code == 1
    assert out.splitlines() == ["row 0, column -: 这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"]


def test_unknown_root_and_missing_file_are_errors(cast, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx([student("2023009")]))
    with pytest.raises(CommandError, match="未找到单位代码 NOPE"):
        call_command("import-roster", str(path), root="NOPE")
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("import-roster", str(tmp_path / "missing.xlsx"), root="UNI")
    # A path resolves below a root whose code is unique.
    call_command("import-roster", str(path), root="UNI/CS", stdout=io.StringIO())
    assert Person.objects.filter(external_number="2023009").exists()


def test_export_roster_command(cast, tmp_path):
    target = tmp_path / "out.xlsx"
    code, out, _err = fanzha("export-roster", "--unit", "UNI/CS", "-o", str(target))
    assert code == 0 and "2" in out
    numbers = {row[2] for row in load_workbook(target)["花名册"].iter_rows(min_row=2, values_only=True)}
    assert numbers == {"2023001", "2023002"}
    code, _out, err = fanzha("export-roster", "--unit", "NOPE", "-o", str(target))
    assert code == 2 and "未找到单位代码" in err


def test_export_roster_reveal_needs_an_authorised_user_and_is_audited(cast, tmp_path):
    target = tmp_path / "full.xlsx"
    before = AuditRecord.objects.count()
    code, _out, err = fanzha("export-roster", "--unit", "UNI/CS", "-o", str(target), "--reveal")
    assert code == 2 and "--user" in err and not target.exists()
    code, _out, err = fanzha(
        "export-roster", "--unit", "UNI/CS", "-o", str(target), "--reveal", "--user", "nobody"
    )
    assert code == 2 and "nobody" in err and not target.exists()
    auditor = cast.auditor.username  # may view, may not reveal
    code, _out, err = fanzha(
        "export-roster", "--unit", "UNI/CS", "-o", str(target), "--reveal", "--user", auditor
    )
    assert code == 2 and "没有权限" in err and not target.exists()
    outsider = cast.outsider.username
    code, _out, err = fanzha("export-roster", "--unit", "UNI/CS", "-o", str(target), "--user", outsider)
    assert code == 2 and "没有权限" in err and not target.exists()
    assert AuditRecord.objects.count() == before

    admin = cast.school_admin.username
    code, out, err = fanzha(
        "export-roster", "--unit", "UNI/CS", "-o", str(target), "--reveal", "--user", admin
    )
    assert code == 0, err
    phones = {row[8] for row in load_workbook(target)["花名册"].iter_rows(min_row=2, values_only=True)}
    assert "13800138000" in phones
    record = AuditRecord.objects.get(actor=cast.school_admin, action="export")
    assert record.object_type == "unit" and record.object_id == str(cast.cs.pk)
    assert record.detail == "roster;unit=CS;count=2;reveal"
    # A masked export on a named account is audited too (without --user it is the operator's own).
    code, out, err = fanzha("export-roster", "--unit", "UNI/CS", "-o", str(target), "--user", auditor)
    assert code == 0, err
    assert AuditRecord.objects.get(actor=cast.auditor).detail == "roster;unit=CS;count=2"


def test_bench_import_prints_one_json_object(db):
    out, err = io.StringIO(), io.StringIO()
    call_command("bench", "import", "--rows", "40", stdout=out, stderr=err)
    result = json.loads(out.getvalue())
    for key in ("rows", "seconds", "rows_per_second", "peak_rss_mb", "baseline_seconds", "ratio"):
        assert key in result
    assert result["rows"] == 40 and result["reimport_changes"] == 0
    assert result["people_created"] == 80  # students and their parents
    assert not Person.objects.exists()  # the benchmark cleans up after itself


def test_bench_refuses_a_database_with_people(cast):
    with pytest.raises(CommandError, match="throwaway"):
        call_command("bench", "import", "--rows", "10", stdout=io.StringIO(), stderr=io.StringIO())


def test_an_ambiguous_csv_needs_encoding_on_the_command_line(cast, tmp_path):
    path = tmp_path / "名单.csv"
    path.write_bytes("name,kind,number,college,class\nJosé,student,2023204,CS,CS2301\n".encode())
    code, out, err = fanzha("import-roster", str(path), "--root", "UNI")
    assert code == 2
    assert "--encoding utf-8" in err and "--encoding gbk" in err and "José" in err and "Jos茅" in err
    assert not Person.objects.filter(external_number="2023204").exists()
    code, out, err = fanzha("import-roster", str(path), "--root", "UNI", "--encoding", "utf-8")
    assert code == 0, err
    assert Person.objects.get(external_number="2023204").name == "José"
