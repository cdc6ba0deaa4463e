"""``fanzha member-codes``: a class's sign-in slips as a PDF, on the authority of a named account."""

from __future__ import annotations

import re
import stat
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from fanzha.campaigns.documents import formats
from fanzha.core.models import AuditRecord
from fanzha.org.credentials import actions as credentials
from fanzha.org.models import SignInCode
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db

SITE = "https://fanzha.example.edu.cn"


def username(user) -> str:
    return user.username


def test_slips_pdf_for_a_class(cast, tmp_path):
    try:
        formats.cjk_fonts()
    except formats.CJKFontMissing as exc:
        skip_or_fail(str(exc))
    out = tmp_path / "slips.pdf"
    stdout = StringIO()
    call_command(
        "member-codes", "--unit", "UNI/CS/CS2301", "--user", username(cast.counsellor), "--site", SITE,
        "-o", str(out), stdout=stdout,
    )  # fmt: skip
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds the codes
    text = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    assert "张三" in text and "李四" in text and "2023001" in text and SITE in text
    codes = re.findall(r"\b(\d{5}) ?(\d{5})\b", text)
    assert len(codes) == 2
    checks = {credentials.check_code(p, "".join(c)) for p in (cast.student, cast.monitor) for c in codes}
    assert credentials.Check.OK in checks
    assert SignInCode.objects.count() == 2
    assert AuditRecord.objects.filter(actor=cast.counsellor, action="code_issue").count() == 2
    assert "2 名学生" in stdout.getvalue()
    again = StringIO()
    call_command(
        "member-codes", "--unit", "CS2301", "--user", username(cast.counsellor), "--site", SITE,
        "-o", str(tmp_path / "again.pdf"), stdout=again,
    )  # fmt: skip
    assert "所有学生都已有登录码" in again.getvalue() and not (tmp_path / "again.pdf").exists()


@pytest.mark.parametrize(
    ("who", "unit", "site", "name", "message"),
    [
        ("", "CS2301", SITE, "s.pdf", "--user"),
        ("auditor", "CS2301", SITE, "s.pdf", "无权"),
        ("outsider", "CS2301", SITE, "s.pdf", "无权"),
        ("counsellor", "NOPE", SITE, "s.pdf", "未找到单位"),
        ("counsellor", "CS2301", "", "s.pdf", "--site"),
        ("counsellor", "CS2301", SITE, "s.txt", ".pdf"),
    ],
)
def test_bad_input_changes_nothing(cast, tmp_path, settings, who, unit, site, name, message):
    settings.FANZHA_SITE_URL = ""
    args = ["member-codes", "--unit", unit, "-o", str(tmp_path / name)]
    if who:
        args += ["--user", username(getattr(cast, who))]
    if site:
        args += ["--site", site]
    with pytest.raises(CommandError, match=re.escape(message)) as info:
        call_command(*args)
    assert info.value.returncode == 2
    assert not SignInCode.objects.exists() and not AuditRecord.objects.exists()
    assert not list(tmp_path.iterdir())
