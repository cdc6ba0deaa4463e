"""Small but real files for the evidence and signature tests, built in memory."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed date: the bytes (and the test ids made from them) are the same in every
    process, so xdist workers collecting a second apart agree on the tests."""
    return zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png(width: int = 40, height: int = 20, drawn: bool = True) -> bytes:
    """An RGBA PNG: transparent, with one dark line across the middle when ``drawn``."""
    rows = []
    for y in range(height):
        pixel = b"\x11\x18\x27\xff" if drawn and y == height // 2 else b"\x00\x00\x00\x00"
        rows.append(b"\x00" + pixel * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )


def jpeg(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    """A real JPEG (Pillow comes with WeasyPrint)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG")
    return buffer.getvalue()


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08free" + b"\x00" * 64
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00\x00\x00\x08wide" + b"\x00" * 64
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
TEXT = "这是一段纯文本，不是照片。\n".encode()


def office(folder: str = "word/") -> bytes:
    """A minimal OOXML package: Word for ``word/``, Excel for ``xl/``, PowerPoint for ``ppt/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_entry("[Content_Types].xml"), '<?xml version="1.0"?><Types/>')
        archive.writestr(_entry(f"{folder}document.xml"), "<document/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_entry("notes.txt"), "hello")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


# A PDF that runs JavaScript when opened (an OpenAction): accepted as a document, never shown inline.
PDF_WITH_JAVASCRIPT = (
    b"%PDF-1.7\n1 0 obj << /Type /Catalog /OpenAction 2 0 R >> endobj\n"
    b"2 0 obj << /S /JavaScript /JS (app.alert\\(document.cookie\\)) >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
