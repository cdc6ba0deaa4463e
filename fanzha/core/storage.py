"""Where uploaded files live: a directory (default) or an S3-compatible object store.

Why S3: a bureau running several app servers needs one place for evidence, signatures and
case attachments that every server reads — MinIO, Ceph, Aliyun OSS or AWS through the S3 API.
Objects stay private: the app reads them with ``FieldFile.open()`` and serves them only
through its own scoped views, never by a public or pre-signed link handed to a browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

FILESYSTEM = "django.core.files.storage.FileSystemStorage"
S3 = "fanzha.core.storage_s3.S3MediaStorage"  # its own module: boto3 is imported only when used
STATICFILES = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def s3_options(env: Mapping[str, str]) -> dict[str, Any]:
    """The S3 storage's options from ``FANZHA_S3_*`` variables (``FANZHA_S3_BUCKET`` is required)."""
    bucket = env.get("FANZHA_S3_BUCKET", "").strip()
    if not bucket:
        raise ImproperlyConfigured("FANZHA_MEDIA_STORAGE=s3 needs FANZHA_S3_BUCKET")
    acl = env.get("FANZHA_S3_DEFAULT_ACL", "private").strip()
    return {
        "bucket_name": bucket,
        "endpoint_url": env.get("FANZHA_S3_ENDPOINT_URL") or None,
        # Without keys boto3 falls back to its own chain (AWS_* variables, instance roles).
        "access_key": env.get("FANZHA_S3_ACCESS_KEY") or None,
        "secret_key": env.get("FANZHA_S3_SECRET_KEY") or None,
        "region_name": env.get("FANZHA_S3_REGION") or None,
        # "path" for MinIO and Ceph behind one host name, "virtual" for Aliyun OSS; boto3 decides if unset.
        "addressing_style": env.get("FANZHA_S3_ADDRESSING_STYLE") or None,
        "location": env.get("FANZHA_S3_PREFIX", "").strip("/"),
        "signature_version": "s3v4",
        "default_acl": acl or None,  # "" for buckets that refuse ACL headers (they stay private)
        "file_overwrite": False,  # like the file system: a second upload with the same name gets a new one
        "querystring_auth": True,  # any URL made for an object is signed and short-lived
        "querystring_expire": 300,
        "object_parameters": {"CacheControl": "private, max-age=0"},
    }


def storages_from_env(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``STORAGES``: uploaded files per ``FANZHA_MEDIA_STORAGE`` (``filesystem`` or ``s3``); static
    files always collected locally and served by whitenoise (no CDN, no internet at run time)."""
    kind = env.get("FANZHA_MEDIA_STORAGE", "filesystem").strip().lower() or "filesystem"
    if kind == "filesystem":
        default: dict[str, Any] = {"BACKEND": FILESYSTEM}
    elif kind == "s3":
        default = {"BACKEND": S3, "OPTIONS": s3_options(env)}
    else:
        raise ImproperlyConfigured(f"FANZHA_MEDIA_STORAGE must be filesystem or s3, not {kind!r}")
    return {"default": default, "staticfiles": {"BACKEND": STATICFILES}}
