"""The OpenAPI schema generates cleanly and the doc page loads its assets locally."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    paths = schema["paths"]
    for path in [
        "/api/v1/units/",
        "/api/v1/units/{id}/",
        "/api/v1/units/{id}/move/",
        "/api/v1/people/",
        "/api/v1/people/{id}/",
        "/api/v1/memberships/",
        "/api/v1/memberships/{id}/",
        "/api/v1/auth/token/",
    ]:
        assert path in paths
    person = schema["components"]["schemas"]["Person"]["properties"]
    assert "phone" not in person and "id_number" not in person and "phone_masked" in person


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_doc_page_uses_no_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "//cdn."):
        assert cdn not in html
