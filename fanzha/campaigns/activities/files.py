"""What an upload is, judged by its first bytes and never by its name: evidence files (photos,
videos, documents) and drawn signatures. A phone's camera names its files freely, and a renamed
executable must not reach other people's browsers. Used by activities, letters, reach and cases."""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from ..models import Evidence

MB = 1024 * 1024


DEFAULT_EVIDENCE_LIMITS: dict[str, int] = {
    Evidence.Kind.PHOTO: 15 * MB,
    Evidence.Kind.DOCUMENT: 30 * MB,
    Evidence.Kind.VIDEO: 300 * MB,
}


SIGNATURE_MAX_BYTES = 500 * 1024


SIGNATURE_MAX_SIZE = (2000, 1000)


def evidence_limits() -> dict[str, int]:
    """Size limit per evidence kind in bytes; ``settings.FANZHA_EVIDENCE_MAX_BYTES`` overrides any of them."""
    return {**DEFAULT_EVIDENCE_LIMITS, **getattr(settings, "FANZHA_EVIDENCE_MAX_BYTES", {})}


@dataclass(frozen=True)
class FileType:
    """A file type that evidence may have: what its content says it is, and the names it may carry."""

    code: str
    content_type: str
    kind: str
    extensions: tuple[str, ...]
    label: str


FILE_TYPES: dict[str, FileType] = {
    t.code: t
    for t in (
        FileType("jpeg", "image/jpeg", Evidence.Kind.PHOTO, ("jpg", "jpeg", "jfif"), "JPEG"),
        FileType("png", "image/png", Evidence.Kind.PHOTO, ("png",), "PNG"),
        FileType("gif", "image/gif", Evidence.Kind.PHOTO, ("gif",), "GIF"),
        FileType("webp", "image/webp", Evidence.Kind.PHOTO, ("webp",), "WebP"),
        FileType("heic", "image/heic", Evidence.Kind.PHOTO, ("heic", "heif"), "HEIC"),
        FileType("heif", "image/heif", Evidence.Kind.PHOTO, ("heif", "heic"), "HEIF"),
        FileType("mp4", "video/mp4", Evidence.Kind.VIDEO, ("mp4", "m4v", "mov"), "MP4"),
        FileType("mov", "video/quicktime", Evidence.Kind.VIDEO, ("mov", "qt"), "MOV"),
        FileType("pdf", "application/pdf", Evidence.Kind.DOCUMENT, ("pdf",), "PDF"),
        FileType(
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Evidence.Kind.DOCUMENT,
            ("docx",),
            "Word",
        ),
        FileType(
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Evidence.Kind.DOCUMENT,
            ("xlsx",),
            "Excel",
        ),
        FileType(
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            Evidence.Kind.DOCUMENT,
            ("pptx",),
            "PowerPoint",
        ),
    )
}


_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"3gp4",
    b"3gp5", b"3gp6", b"3g2a", b"MSNV", b"f4v ",
}  # fmt: skip

# The ``accept`` attribute of the upload fields: what the phone's picker should offer.
ACCEPT = "image/*,video/mp4,video/quicktime,.heic,.heif,.pdf,.docx,.xlsx,.pptx"


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}


_HEIF_GENERIC = {b"mif1", b"msf1"}


def _iso_bmff(head: bytes) -> str | None:
    """HEIC/HEIF, MOV or MP4 from an ISO base media file's ``ftyp`` box."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = struct.unpack(">I", head[:4])[0]
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    if major in _HEIF_BRANDS:
        return "heic"
    if major in _HEIF_GENERIC:
        return "heic" if compatible & _HEIF_BRANDS else "heif"
    if major == b"qt  ":
        return "mov"
    if major in _MP4_BRANDS or compatible & _MP4_BRANDS:
        return "mp4"
    return None


def _ooxml(stream: IO[bytes]) -> str | None:
    """Word, Excel or PowerPoint from a zip's list of names (nothing is decompressed)."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    folders = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
    found = [code for code, folder in folders.items() if any(n.startswith(folder) for n in names)]
    return found[0] if len(found) == 1 else None


def sniff(stream: IO[bytes]) -> FileType | None:
    """The type of a file from its first bytes (and, for a zip, its list of names); None if not allowed."""
    stream.seek(0)
    head = stream.read(64)
    stream.seek(0)
    code: str | None = None
    if head.startswith(b"\xff\xd8\xff"):
        code = "jpeg"
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        code = "png"
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        code = "gif"
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        code = "webp"
    elif head.startswith(b"%PDF-"):
        code = "pdf"
    elif head.startswith(b"PK\x03\x04"):
        code = _ooxml(stream)
        stream.seek(0)
    else:
        code = _iso_bmff(head)
    return FILE_TYPES[code] if code else None


@dataclass(frozen=True)
class Inspected:
    """What an upload turned out to be."""

    type: FileType
    size: int
    sha256: str
    name: str
    extension: str


def inspect_upload(upload: File) -> Inspected:
    """Check an upload's type (by content, against its extension) and size; hash it.

    Forms call this to show errors before anything is saved; ``add_evidence`` calls it again.
    """
    name = os.path.basename(upload.name or "")[-200:] or "file"
    extension = name.rsplit(".", 1)[1].lower() if "." in name else ""
    size = upload.size or 0
    if size <= 0:
        raise ValidationError(_("文件“%(name)s”是空的。") % {"name": name}, code="empty")
    detected = sniff(upload)
    if detected is None:
        raise ValidationError(
            _(
                "不支持文件“%(name)s”的类型。只能上传照片（JPEG、PNG、GIF、WebP、HEIC）、"
                "视频（MP4、MOV）和文档（PDF、Word、Excel、PowerPoint）。"
            )
            % {"name": name},
            code="type",
        )
    if extension and extension not in detected.extensions:
        raise ValidationError(
            _("文件“%(name)s”的内容是 %(actual)s 格式，与扩展名 .%(extension)s 不符，请检查后重新选择。")
            % {"name": name, "actual": detected.label, "extension": extension},
            code="mismatch",
        )
    limit = evidence_limits()[detected.kind]
    if size > limit:
        raise ValidationError(
            _("文件“%(name)s”大小为 %(size)s，超过了%(kind)s的上限 %(limit)s。")
            % {
                "name": name,
                "size": filesizeformat(size),
                "kind": Evidence.Kind(detected.kind).label,
                "limit": filesizeformat(limit),
            },
            code="size",
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return Inspected(detected, size, digest.hexdigest(), name, extension or detected.extensions[0])


def _png_is_blank(data: bytes, width: int, height: int, depth: int, colour: int) -> bool:
    """Whether every pixel byte is zero (a transparent canvas nobody drew on); decompression is bounded."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if channels is None or colour == 3:
        return False  # palette images: not what our pad makes, judge them drawn
    stride = (width * channels * depth + 7) // 8 + 1
    idat = bytearray()
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    try:
        raw = zlib.decompressobj().decompress(bytes(idat), stride * height)
    except zlib.error:
        return False
    rows = len(raw) // stride
    return not any(raw[r * stride + 1 : (r + 1) * stride].strip(b"\0") for r in range(rows))


def check_signature_png(png: bytes) -> tuple[int, int]:
    """Check that a drawn signature is a real, reasonably small, non-empty PNG; return its size."""
    invalid = ValidationError(_("签名图片无效，请重新签名。"), code="invalid")
    if not png:
        raise ValidationError(_("请先在签名框内签名。"), code="required")
    if len(png) > SIGNATURE_MAX_BYTES:
        raise ValidationError(
            _("签名图片太大（不能超过 %(limit)s）。") % {"limit": filesizeformat(SIGNATURE_MAX_BYTES)},
            code="size",
        )
    if len(png) < 45 or not png.startswith(b"\x89PNG\r\n\x1a\n") or png[12:16] != b"IHDR":
        raise invalid
    length, width, height, depth, colour = struct.unpack(">I4xIIBB", png[8:26])
    if length != 13 or b"IEND" not in png[-12:]:
        raise invalid
    if not (0 < width <= SIGNATURE_MAX_SIZE[0] and 0 < height <= SIGNATURE_MAX_SIZE[1]):
        raise ValidationError(
            _("签名图片尺寸不能超过 %(w)s×%(h)s 像素。")
            % {"w": SIGNATURE_MAX_SIZE[0], "h": SIGNATURE_MAX_SIZE[1]},
            code="dimensions",
        )
    if _png_is_blank(png, width, height, depth, colour):
        raise ValidationError(_("请先在签名框内签名。"), code="blank")
    return width, height
