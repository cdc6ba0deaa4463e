"""Where uploaded files live: a directory (default) or an S3-compatible object store.

Why S3: a bureau running several app servers needs one place for evidence, signatures and
case attachments that every server reads — MinIO, Ceph, Aliyun OSS or AWS through the S3 API.
Objects stay private: the app reads them with ``FieldFile.open()`` and serves them only
through its own scoped views, never by a public or pre-signed link handed to a browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible

FILESYSTEM = "django.core.files.storage.FileSystemStorage"
S3 = "fanzha.core.storage_s3.S3MediaStorage"  # its own module: boto3 is imported only when used
S3_STATIC = "fanzha.core.storage_s3.S3StaticStorage"
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


def s3_static_options(env: Mapping[str, str]) -> dict[str, Any]:
    """Options of static files on S3: the same store, under ``FANZHA_S3_STATIC_PREFIX`` (``static``),
    readable by every browser (public objects, plain URLs, cached for a year: their names carry a
    hash of their content)."""
    options = s3_options(env)
    options.update(
        location=env.get("FANZHA_S3_STATIC_PREFIX", "static").strip("/") or "static",
        default_acl=env.get("FANZHA_S3_STATIC_ACL", "public-read").strip() or None,
        querystring_auth=False,
        file_overwrite=True,
        object_parameters={"CacheControl": "public, max-age=31536000, immutable"},
    )
    options.pop("querystring_expire", None)
    custom = env.get("FANZHA_S3_STATIC_DOMAIN", "").strip().strip("/")
    if custom:  # a CDN or a bucket domain in front of the store
        options["custom_domain"] = custom
    return options


def storages_from_env(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``STORAGES``: uploaded files per ``FANZHA_MEDIA_STORAGE`` and static files per
    ``FANZHA_STATIC_STORAGE`` (each ``filesystem`` or ``s3``). Static files default to the local
    directory served by whitenoise: nothing is fetched from elsewhere at run time."""
    kind = env.get("FANZHA_MEDIA_STORAGE", "filesystem").strip().lower() or "filesystem"
    if kind == "filesystem":
        default: dict[str, Any] = {"BACKEND": FILESYSTEM}
    elif kind == "s3":
        default = {"BACKEND": S3, "OPTIONS": s3_options(env)}
    else:
        raise ImproperlyConfigured(f"FANZHA_MEDIA_STORAGE must be filesystem or s3, not {kind!r}")
    static_kind = env.get("FANZHA_STATIC_STORAGE", "filesystem").strip().lower() or "filesystem"
    if static_kind == "filesystem":
        static: dict[str, Any] = {"BACKEND": STATICFILES}
    elif static_kind == "s3":
        static = {"BACKEND": S3_STATIC, "OPTIONS": s3_static_options(env)}
    else:
        raise ImproperlyConfigured(f"FANZHA_STATIC_STORAGE must be filesystem or s3, not {static_kind!r}")
    return {"default": default, "staticfiles": static}


def static_origin(env: Mapping[str, str]) -> str:
    """The origin static files come from when they are on S3 (for the Content-Security-Policy), else ""."""
    if (env.get("FANZHA_STATIC_STORAGE", "").strip().lower() or "filesystem") != "s3":
        return ""
    custom = env.get("FANZHA_S3_STATIC_DOMAIN", "").strip().strip("/")
    if custom:
        return "https://" + custom.split("/")[0]
    endpoint = (env.get("FANZHA_S3_ENDPOINT_URL") or "").rstrip("/")
    if endpoint:
        scheme, _sep, rest = endpoint.partition("://")
        host = rest.split("/")[0]
        bucket = env.get("FANZHA_S3_BUCKET", "").strip()
        if (env.get("FANZHA_S3_ADDRESSING_STYLE") or "").strip() == "virtual" and bucket:
            return f"{scheme}://{bucket}.{host}"
        return f"{scheme}://{host}"
    return "https://*.amazonaws.com"


@deconstructible
class PrivateStorage(Storage):
    """The uploads' storage for files that hold personal data (a roster with ID and phone numbers):
    the configured default one, but on the file system its files are created 0600 and its folders
    0700, whatever ``FILE_UPLOAD_PERMISSIONS`` says for photos and the like.

    Why a wrapper resolved on every call: a model field keeps its storage from import time, while
    ``STORAGES`` is read from the environment (and changed by tests); S3 objects are private anyway.
    """

    FILE_MODE = 0o600
    DIRECTORY_MODE = 0o700

    def target(self) -> Storage:
        """The storage that does the work: the default one, or its file-system twin with private modes."""
        from django.core.files.storage import FileSystemStorage, storages

        default = storages["default"]
        if isinstance(default, FileSystemStorage):
            return FileSystemStorage(
                location=default.location,
                base_url=default.base_url,
                file_permissions_mode=self.FILE_MODE,
                directory_permissions_mode=self.DIRECTORY_MODE,
            )
        return default

    def _open(self, name: str, mode: str = "rb") -> File:
        return self.target().open(name, mode)

    def _save(self, name: str, content: File) -> str:
        return self.target().save(name, content)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.target().get_available_name(name, max_length)

    def generate_filename(self, filename: Any) -> str:
        return self.target().generate_filename(filename)

    def delete(self, name: str) -> None:
        self.target().delete(name)

    def exists(self, name: str) -> bool:
        return self.target().exists(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.target().listdir(path)

    def size(self, name: str) -> int:
        return self.target().size(name)

    def url(self, name: str | None) -> str:
        return self.target().url(name)

    def path(self, name: str) -> str:
        return self.target().path(name)

    def get_modified_time(self, name: str) -> datetime:
        return self.target().get_modified_time(name)

    def get_created_time(self, name: str) -> datetime:
        return self.target().get_created_time(name)

    def get_accessed_time(self, name: str) -> datetime:
        return self.target().get_accessed_time(name)
