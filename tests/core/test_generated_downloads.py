"""Files the site builds (exports, reports, plan documents) leave as downloads with their Chinese names
and are never kept by a shared cache; every such document is on the official A4 page."""

from __future__ import annotations

import io

from docx import Document

from fanzha.campaigns.documents import formats
from fanzha.core.downloads import generated_response


def test_a_built_file_is_a_download_kept_by_no_cache() -> None:
    response = generated_response(b"PK..", "application/octet-stream", "通报-城关派出所-2026-11.docx")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    assert "Cache-Control" not in generated_response(b"x", "text/plain", "a.toml", store=True)


def test_every_document_is_on_the_official_page() -> None:
    doc = formats.official_document("测试")
    out = io.BytesIO()
    doc.save(out)
    page = Document(io.BytesIO(out.getvalue())).sections[0]
    sizes = [page.page_width, page.page_height, page.top_margin, page.bottom_margin]
    sizes += [page.left_margin, page.right_margin]
    assert [round(x.mm) for x in sizes] == [210, 297, 37, 35, 28, 26]  # stored in twips, so rounded
    assert "PAGE" in page.footer._element.xml  # the “— 1 —” page number field
