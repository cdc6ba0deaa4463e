"""Roster pages: upload → dry-run report → confirm, scope (404 for the outsider), template, export."""

from __future__ import annotations

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from fanzha.core.models import AuditRecord
from fanzha.org.models import ImportJob, Membership, Person

from .files import student, xlsx

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "roster.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def post_file(client, root, data: bytes, **extra):
    return client.post(reverse("roster_import"), {"root": root.pk, "file": upload(data), **extra})


def test_import_page_for_importers_only(client, cast):
    client.force_login(cast.school_admin)
    page = client.get(reverse("roster_import"))
    assert page.status_code == 200
    assert "示范大学" in page.content.decode() and "计科2301班" not in page.content.decode()
    for user in (cast.student_user, cast.counsellor, cast.auditor, cast.police_liaison):
        client.force_login(user)
        assert client.get(reverse("roster_import")).status_code == 404


def test_out_of_scope_root_is_404_and_nothing_is_stored(client, cast):
    client.force_login(cast.outsider)
    assert client.get(reverse("roster_import"), {"root": cast.uni.pk}).status_code == 404
    response = post_file(client, cast.uni, xlsx([student("2023009")]))
    assert response.status_code == 404
    assert not ImportJob.objects.exists()
    client.force_login(cast.college_admin)  # CS admin, not MA
    assert post_file(client, cast.ma, xlsx([student("2023009")])).status_code == 404


def test_dry_run_then_commit(client, cast):
    client.force_login(cast.school_admin)
    before = Person.objects.count()
    response = post_file(client, cast.uni, xlsx([student("2023009"), student("2023010", name="乙")]))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("roster_import_job", args=[job.pk])
    assert job.status == ImportJob.Status.CHECKED and job.summary["people_created"] == 2
    assert Person.objects.count() == before  # the check writes nothing
    page = client.get(response.url).content.decode()
    assert "确认导入" in page and "新增人员" in page
    response = client.post(reverse("roster_import_commit", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and not job.file  # the uploaded file is gone
    assert Person.objects.count() == before + 2
    assert AuditRecord.objects.filter(action="import", actor=cast.school_admin).exists()
    # A second click does not import twice.
    client.post(reverse("roster_import_commit", args=[job.pk]))
    assert Person.objects.count() == before + 2
    status = client.get(reverse("roster_import_status", args=[job.pk])).json()
    assert status["status"] == "done" and status["running"] is False


def test_problems_are_listed_and_downloadable(client, cast):
    client.force_login(cast.college_admin)
    before = (Person.objects.count(), Membership.objects.count())
    post_file(client, cast.cs, xlsx([student("2023009", phone="123"), student("2023009")]))
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.INVALID and job.problem_count == 2
    page = client.get(reverse("roster_import_job", args=[job.pk])).content.decode()
    assert "手机号格式不正确" in page and "与第 2 行重复" in page and "确认导入" not in page
    assert client.post(reverse("roster_import_commit", args=[job.pk])).status_code == 302
    assert (Person.objects.count(), Membership.objects.count()) == before
    problems = client.get(reverse("roster_import_problems", args=[job.pk]))
    text = problems.content.decode("utf-8-sig")
    assert "2,手机号,手机号格式不正确" in text


def test_bad_files_from_the_web(client, cast, settings):
    client.force_login(cast.school_admin)
    post_file(client, cast.uni, b"\x89PNG\r\n\x1a\n" + bytes(100))
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.INVALID
    assert job.problems == [[0, "-", "这不是有效的表格文件：请上传 XLSX 或 CSV 格式的花名册"]]
    settings.FANZHA_MAX_UPLOAD_BYTES = 100
    response = post_file(client, cast.uni, xlsx([student("2023009")]))
    assert response.status_code == 200 and "文件过大" in response.content.decode()
    assert ImportJob.objects.count() == 1


def test_jobs_are_private_to_their_uploader(client, cast):
    client.force_login(cast.school_admin)
    post_file(client, cast.uni, xlsx([student("2023009")]))
    job = ImportJob.objects.get()
    for user in (cast.college_admin, cast.outsider, cast.student_user):
        client.force_login(user)
        assert client.get(reverse("roster_import_job", args=[job.pk])).status_code == 404
        assert client.get(reverse("roster_import_status", args=[job.pk])).status_code == 404
        assert client.post(reverse("roster_import_commit", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED


def test_template_download(client, cast):
    client.force_login(cast.student_user)
    response = client.get(reverse("roster_template"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book["花名册"]["A1"].value == "姓名*"


def test_export_in_scope_masked_and_audited(client, cast):
    client.force_login(cast.college_admin)
    assert client.get(reverse("roster_export")).status_code == 200
    response = client.get(reverse("roster_export"), {"unit": cast.cs.pk})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content)))["花名册"].values)
    numbers = {row[2] for row in rows[1:]}
    assert numbers == {"2023001", "2023002"}
    assert "13800138000" not in {row[8] for row in rows}
    assert AuditRecord.objects.filter(action="export", actor=cast.college_admin).count() == 1


def test_export_scope_and_reveal(client, cast):
    client.force_login(cast.outsider)
    assert client.get(reverse("roster_export"), {"unit": cast.uni.pk}).status_code == 404
    client.force_login(cast.auditor)  # may view, may not reveal
    assert client.get(reverse("roster_export"), {"unit": cast.uni.pk}).status_code == 200
    assert client.get(reverse("roster_export"), {"unit": cast.uni.pk, "reveal": "1"}).status_code == 403
    client.force_login(cast.counsellor)  # may reveal in CS2301 only
    assert client.get(reverse("roster_export"), {"unit": cast.ma2301.pk}).status_code == 404
    response = client.get(reverse("roster_export"), {"unit": cast.cs2301.pk, "reveal": "1"})
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content)))["花名册"].values)
    assert "13800138000" in {row[8] for row in rows}
    assert AuditRecord.objects.get(action="export", actor=cast.counsellor).detail.endswith("reveal")


@pytest.mark.django_db(transaction=True)
def test_big_files_run_in_the_background_with_progress(client, settings):
    from tests.conftest import build_cast

    cast = build_cast()
    settings.FANZHA_IMPORT_INLINE_BYTES = 0
    client.force_login(cast.school_admin)
    response = post_file(client, cast.uni, xlsx([student(f"2024{i:03d}", name="学生") for i in range(50)]))
    job = ImportJob.objects.get()
    page = client.get(response.url).content.decode()
    assert 'http-equiv="refresh"' in page or job.status != ImportJob.Status.QUEUED
    deadline = time.monotonic() + 30
    while client.get(reverse("roster_import_status", args=[job.pk])).json()["running"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED, job.problems
    client.post(reverse("roster_import_commit", args=[job.pk]))
    deadline = time.monotonic() + 30
    while client.get(reverse("roster_import_status", args=[job.pk])).json()["running"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert Person.objects.filter(external_number__startswith="2024").count() == 50
