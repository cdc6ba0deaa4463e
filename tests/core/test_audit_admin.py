"""The audit log is readable in the admin site and cannot be changed there."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fanzha.cases import actions
from fanzha.core.models import AuditRecord
from fanzha.org.models import User
from tests.cases.conftest import intake

pytestmark = pytest.mark.django_db


def test_a_reveal_shows_in_the_admin_audit_log_read_only(client, cast):
    case = actions.report_case(intake(cast.cs2301, cast.student), cast.counsellor)
    actions.reveal_case(case, cast.police_liaison)
    record = AuditRecord.objects.get(object_type="case")
    admin = User.objects.create_superuser("root", password="Root-pass-2026!")
    client.force_login(admin)
    listing = client.get(reverse("admin:core_auditrecord_changelist"))
    assert listing.status_code == 200 and "victim_phone" in listing.content.decode()
    assert client.get(reverse("admin:core_auditrecord_add")).status_code == 403
    delete = reverse("admin:core_auditrecord_delete", args=[record.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditRecord.objects.filter(pk=record.pk).exists()
