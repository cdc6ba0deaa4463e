"""One money format on every page: amounts go through ``|yuan`` (35,200.00), never raw (35200.00) nor
another filter, so a dashboard and an alert show the same figure the same way."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from django.template import engines

from fanzha.core.formats import yuan

ROOT = Path(__file__).resolve().parents[2] / "fanzha"
AMOUNT = re.compile(r"\{\{ ([a-z_.]*(?:loss|amount|frozen|recovered)[a-z_]*)(\|[^ }]+)? \}\}")
# The same inside a translation: {% blocktranslate with a=case.total_loss|yuan %}
BOUND = re.compile(r"\b[a-z]+=([a-z_.]*(?:loss|amount|frozen|recovered)[a-z_]*)(\|[^ %]+)?")
WIDGETS = ("f.", "t.form.", "form.")  # form fields render inputs, not figures


def test_the_format() -> None:
    assert yuan(Decimal("248888.07")) == "248,888.07"
    assert yuan(35200) == "35,200.00" and yuan(None) == "" and yuan("") == ""


def test_every_template_formats_amounts_with_yuan() -> None:
    raw = []
    for path in ROOT.glob("**/templates/**/*.html"):
        text = path.read_text(encoding="utf-8")
        bound = [
            b for tag in re.findall(r"\{% blocktranslate with [^%]*%\}", text) for b in BOUND.finditer(tag)
        ]
        for m in [*AMOUNT.finditer(text), *bound]:
            name, filt = m.group(1), m.group(2) or ""
            if "." not in name:  # a blocktranslate alias: formatted where it is bound
                continue
            if (
                name.startswith(WIDGETS)
                or name.endswith(("_count", "_at", "_yoy", "_mom", "_change"))
                or ".to_" in name
            ):
                continue
            if not filt.startswith("|yuan"):
                raw.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert raw == []


def test_the_filter_needs_no_load() -> None:
    rendered = engines["django"].from_string("{{ v|yuan }}").render({"v": Decimal("1234.5")})
    assert rendered == "1,234.50"
