"""Serving an uploaded file back to a browser: images inline, everything else as a download, and
nothing an upload holds may run as a page of this site.

Why: a PDF with JavaScript, accepted as evidence, was shown inline; an HTML or SVG file would run
its scripts with the user's session. So every upload answers with ``X-Content-Type-Options:
nosniff`` (the type is the one checked on upload, never guessed) and a sandboxing
``Content-Security-Policy`` (no scripts, no forms, no same-origin access, even when a browser
renders it after all); only the raster image types every browser shows, and nothing else, are
inline, for the ``<img>`` of the pages that show them.
"""

from __future__ import annotations

from typing import IO

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header

# Raster images every browser displays itself; no SVG (it is a document that can hold scripts).
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
UPLOAD_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"


def upload_response(
    handle: IO[bytes],
    content_type: str,
    filename: str = "",
    *,
    inline_images: bool = True,
    cache: str = "private, max-age=3600",
) -> FileResponse:
    """A response for one uploaded file, after the caller's scope check: an image of
    ``INLINE_IMAGE_TYPES`` inline (unless ``inline_images`` is off), anything else (PDF, office
    files, video, HEIC …) as an attachment."""
    inline = inline_images and content_type in INLINE_IMAGE_TYPES
    response = FileResponse(
        handle,
        content_type=content_type or "application/octet-stream",
        as_attachment=not inline,
        filename=filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = UPLOAD_CSP
    response["Cache-Control"] = cache
    return response


def generated_response(data: bytes, content_type: str, filename: str, *, store: bool = False) -> HttpResponse:
    """A file the site has just built (an export, a report, a plan document) as a download.

    Why one function: the Chinese file name must be encoded for every browser, and a figure sheet of
    a scope must not stay in a shared cache (``no-store`` unless ``store``, for public templates)."""
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    if not store:
        response["Cache-Control"] = "no-store"
    return response
