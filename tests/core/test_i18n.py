"""English is complete: every translatable string in the package has an English translation."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import fanzha
from tests.conftest import skip_or_fail

PACKAGE = Path(fanzha.__file__).parent
ENTRY = re.compile(r'^msgid "(.*)"\n((?:".*"\n)*)msgstr "(.*)"\n((?:".*"\n)*)', re.M)


def _entries(po: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for every entry but the header."""
    result = []
    for block in po.split("\n\n"):
        fuzzy = "#, fuzzy" in block
        text = "\n".join(line for line in block.splitlines() if not line.startswith("#")) + "\n"
        for m in ENTRY.finditer(text):
            msgid = m.group(1) + "".join(s[1:-1] for s in m.group(2).splitlines())
            msgstr = m.group(3) + "".join(s[1:-1] for s in m.group(4).splitlines())
            if msgid:
                result.append((msgid, msgstr, fuzzy))
    plural = re.compile(r'^msgid_plural ".*"\n((?:msgstr\[\d\] ".*"\n)+)', re.M)
    for m in plural.finditer(po):
        for line in m.group(1).splitlines():
            if line.endswith('""'):
                result.append(("<plural>", "", False))
    return result


def test_english_translation_is_complete(tmp_path):
    if shutil.which("msgfmt") is None:
        skip_or_fail("GNU gettext (msgfmt, xgettext) is not installed")
    copy = tmp_path / "fanzha"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "en", "--no-obsolete", "--no-location"],
        cwd=copy,
        env={"DJANGO_SETTINGS_MODULE": "fanzha.settings.test", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    po = (copy / "locale/en/LC_MESSAGES/django.po").read_text()
    missing = [msgid for msgid, msgstr, fuzzy in _entries(po) if not msgstr or fuzzy]
    assert not missing, f"{len(missing)} strings without English: {missing[:20]}"


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def test_compiled_catalogue_is_current():
    """The committed .mo says what the .po says (run ``fanzha compilemessages`` after editing)."""
    import gettext

    po = (PACKAGE / "locale/en/LC_MESSAGES/django.po").read_text()
    with open(PACKAGE / "locale/en/LC_MESSAGES/django.mo", "rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    translated = [(m, s) for m, s, fuzzy in _entries(po) if m != "<plural>" and s and not fuzzy]
    stale = [m for m, s in translated if catalogue.gettext(_unescape(m)) != _unescape(s)]
    assert not stale, f"django.mo is older than django.po: {stale[:10]}"
