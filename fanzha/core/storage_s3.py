"""The S3 backend of uploaded files (``FANZHA_MEDIA_STORAGE=s3``, options in ``fanzha/core/storage.py``)."""

from __future__ import annotations

from typing import Any

from botocore.config import Config
from django.contrib.staticfiles.storage import ManifestFilesMixin
from storages.backends.s3 import S3Storage


class S3MediaStorage(S3Storage):
    """django-storages' S3 backend with settings that suit S3-compatible servers.

    Why: boto3 now sends CRC checksums on every upload, which MinIO before 2024, Ceph and OSS
    may reject; and a store that does not answer must fail a request in seconds, not minutes.
    """

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.client_config = self.client_config.merge(  # type: ignore[has-type]
            Config(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
            )
        )


class S3StaticStorage(ManifestFilesMixin, S3MediaStorage):
    """Collected static files on S3 (``FANZHA_STATIC_STORAGE=s3``), names hashed by content like
    whitenoise's, so several app servers share one copy and browsers cache each file for good."""
