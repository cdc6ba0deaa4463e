"""Sign-in slips for a class as a PDF (``fanzha member-codes``): the same slips as the printable page.

Why a file as well as the page: a school office prints a whole grade from a desk computer, and a
PDF keeps the A4 layout (8 slips a sheet) whatever the browser. The file holds the codes, so the
command writes it readable by its owner only; the page shows them once and is never cached.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import segno
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from fanzha.campaigns.documents.formats import cjk_fonts
from fanzha.org.credentials.actions import IssuedCode
from fanzha.org.models import Unit


def qr_svg(url: str, scale: int = 3) -> str:
    """The class link as an inline SVG QR code (no image request, no external service)."""
    return segno.make(url, error="m").svg_inline(scale=scale, border=2, dark="#14325c", omitsize=True)


def pdf_bytes(unit: Unit, issued: Sequence[IssuedCode], url: str) -> bytes:
    """The slips of ``issued`` for ``unit`` with the class link ``url`` and its QR code, as a PDF.

    Raises ``campaigns.documents.formats.CJKFontMissing`` when no Chinese font is installed.
    """
    from weasyprint import HTML

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    fonts = cjk_fonts()
    html = render_to_string(
        "reach/slips_pdf.html",
        {
            "unit": unit,
            "issued": issued,
            "url": url,
            "qr": mark_safe(qr_svg(url)),  # noqa: S308 - segno's own SVG markup
            "font": f'"{fonts["hei"].family}", "{fonts["body"].family}"',
        },
    )
    return HTML(string=html).write_pdf()
