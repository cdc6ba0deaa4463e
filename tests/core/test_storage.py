"""Uploaded files on a directory or an S3-compatible store; with S3 they are still served by the app.

The S3 test talks HTTP to a real local S3 server (moto's, in a thread of this process), the way
fanzha talks to MinIO or Ceph on an intranet: endpoint URL, keys, path-style bucket addressing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import empty

from fanzha.campaigns.activities import actions as activity_actions
from fanzha.cases import actions as case_actions
from fanzha.core.storage import FILESYSTEM, S3, S3_STATIC, STATICFILES, static_origin, storages_from_env
from tests.campaigns import files
from tests.cases.conftest import intake

BUCKET = "fanzha-media"
KEYS = {"FANZHA_S3_ACCESS_KEY": "fanzha-test-key", "FANZHA_S3_SECRET_KEY": "fanzha-test-secret"}


def test_default_is_the_file_system_and_static_stays_on_whitenoise():
    storages = storages_from_env({})
    assert storages["default"] == {"BACKEND": FILESYSTEM}
    assert storages["staticfiles"] == {"BACKEND": STATICFILES}
    assert storages_from_env({"FANZHA_MEDIA_STORAGE": "filesystem"})["default"]["BACKEND"] == FILESYSTEM


def test_s3_options_come_from_the_environment():
    env = {
        "FANZHA_MEDIA_STORAGE": "S3",
        "FANZHA_S3_BUCKET": BUCKET,
        "FANZHA_S3_ENDPOINT_URL": "https://oss-cn-hangzhou.aliyuncs.com",
        "FANZHA_S3_REGION": "oss-cn-hangzhou",
        "FANZHA_S3_ADDRESSING_STYLE": "virtual",
        **KEYS,
    }
    default = storages_from_env(env)["default"]
    options = default["OPTIONS"]
    assert default["BACKEND"] == S3
    assert options["bucket_name"] == BUCKET and options["endpoint_url"].startswith("https://oss-")
    assert (options["access_key"], options["secret_key"]) == ("fanzha-test-key", "fanzha-test-secret")
    assert options["region_name"] == "oss-cn-hangzhou" and options["addressing_style"] == "virtual"
    assert options["default_acl"] == "private" and options["querystring_auth"] is True
    assert options["file_overwrite"] is False
    no_acl = storages_from_env({**env, "FANZHA_S3_DEFAULT_ACL": ""})["default"]["OPTIONS"]
    assert no_acl["default_acl"] is None


@pytest.mark.parametrize(
    "env",
    [{"FANZHA_MEDIA_STORAGE": "s3"}, {"FANZHA_MEDIA_STORAGE": "ftp"}],
    ids=["s3-without-bucket", "unknown-kind"],
)
def test_bad_configuration_is_refused_at_start(env):
    with pytest.raises(ImproperlyConfigured):
        storages_from_env(env)


@pytest.fixture
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port, with an empty bucket; its endpoint URL."""
    server_module = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=KEYS["FANZHA_S3_ACCESS_KEY"],
            aws_secret_access_key=KEYS["FANZHA_S3_SECRET_KEY"],
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_storage(settings, s3_server, monkeypatch) -> str:
    """STORAGES as production builds them for FANZHA_MEDIA_STORAGE=s3, aimed at the local server."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    settings.STORAGES = storages_from_env(
        {
            "FANZHA_MEDIA_STORAGE": "s3",
            "FANZHA_S3_BUCKET": BUCKET,
            "FANZHA_S3_ENDPOINT_URL": s3_server,
            "FANZHA_S3_REGION": "us-east-1",
            "FANZHA_S3_ADDRESSING_STYLE": "path",
            "FANZHA_S3_PREFIX": "media",
            **KEYS,
        }
    )
    return s3_server


def _objects(endpoint: str) -> dict[str, bytes]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEYS["FANZHA_S3_ACCESS_KEY"],
        aws_secret_access_key=KEYS["FANZHA_S3_SECRET_KEY"],
        region_name="us-east-1",
    )
    found = {}
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        key = item["Key"]
        found[key] = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        grants = client.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
        assert not any("AllUsers" in str(g.get("Grantee", {}).get("URI", "")) for g in grants), grants
    return found


@pytest.mark.django_db
def test_evidence_goes_to_s3_and_comes_back_through_the_scoped_view(client, cast, s3_storage):
    photo = files.jpeg()
    activity = activity_actions.record_activity(
        unit=cast.cs2301,
        kind="class_meeting",
        occurred_on=timezone.localdate(),
        title="三月主题班会",
        attendance_count=30,
        actor=cast.counsellor,
        files=[files.upload("合影.jpg", photo)],
    )
    evidence = activity.evidence.get()
    assert type(evidence.file.storage._wrapped).__name__ == "S3MediaStorage"

    stored = _objects(s3_storage)
    assert list(stored) == [f"media/{evidence.file.name}"] and stored[f"media/{evidence.file.name}"] == photo

    client.force_login(cast.counsellor)
    response = client.get(reverse("evidence_file", args=[evidence.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == photo

    client.force_login(cast.outsider)  # the same scope rules as on the file system
    assert client.get(reverse("evidence_file", args=[evidence.pk])).status_code == 404


@pytest.mark.django_db
def test_case_attachments_work_on_s3(client, cast, s3_storage):
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    case = case_actions.report_case(
        intake(cast.cs2301), cast.counsellor, attachments=[files.upload("转账凭证.pdf", pdf)]
    )
    attachment = case.attachments.get()
    assert f"media/{attachment.file.name}" in _objects(s3_storage)
    client.force_login(cast.school_admin)
    response = client.get(reverse("case_attachment", args=[case.pk, attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf


def test_static_files_can_live_on_s3_too():
    env = {
        "FANZHA_STATIC_STORAGE": "s3",
        "FANZHA_S3_BUCKET": BUCKET,
        "FANZHA_S3_ENDPOINT_URL": "https://minio.example.edu.cn:9000",
        "FANZHA_S3_ADDRESSING_STYLE": "path",
        **KEYS,
    }
    storages = storages_from_env(env)
    assert storages["default"] == {"BACKEND": FILESYSTEM}  # uploads stay where they were
    static = storages["staticfiles"]["OPTIONS"]
    assert storages["staticfiles"]["BACKEND"] == S3_STATIC
    assert static["location"] == "static" and static["querystring_auth"] is False
    assert static["default_acl"] == "public-read"
    assert static_origin(env) == "https://minio.example.edu.cn:9000"
    assert static_origin({**env, "FANZHA_S3_STATIC_DOMAIN": "cdn.example.edu.cn/fanzha"}) == (
        "https://cdn.example.edu.cn"
    )
    assert static_origin({}) == ""
    with pytest.raises(ImproperlyConfigured):
        storages_from_env({"FANZHA_STATIC_STORAGE": "ftp"})


def test_collected_static_files_are_served_from_s3(settings, s3_server, monkeypatch):
    """collectstatic into the local S3 server; {% static %} then names a public, hashed object there."""
    import urllib.request

    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.management import call_command
    from django.templatetags.static import static

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    settings.STORAGES = storages_from_env(
        {
            "FANZHA_STATIC_STORAGE": "s3",
            "FANZHA_S3_BUCKET": BUCKET,
            "FANZHA_S3_ENDPOINT_URL": s3_server,
            "FANZHA_S3_REGION": "us-east-1",
            "FANZHA_S3_ADDRESSING_STYLE": "path",
            **KEYS,
        }
    )
    staticfiles_storage._wrapped = empty  # settings changed: build the storage again
    settings.STATICFILES_DIRS = []
    call_command(
        "collectstatic", interactive=False, verbosity=0, ignore_patterns=["vendor", "swagger*", "drf*"]
    )
    url = static("fanzha/app.css")
    assert url.startswith(f"{s3_server}/{BUCKET}/static/fanzha/app.") and url.endswith(".css")
    assert "X-Amz-Signature" not in url
    body = urllib.request.urlopen(url, timeout=10).read()  # noqa: S310 (a loopback test server)
    assert b".subnav" in body
    staticfiles_storage._wrapped = empty
