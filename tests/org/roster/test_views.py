"""Roster pages: upload → dry-run report → confirm, scope (404 for the outsider), template, export."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from openpyxl import load_workbook

from fanzha.core.models import AuditRecord
from fanzha.org.models import ImportJob, Membership, Person
from fanzha.org.roster import tasks

from .files import student, xlsx

pytestmark = pytest.mark.django_db

IMMEDIATE = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "slow"]}
}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "slow"]}}


def upload(data: bytes, name: str = "roster.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def post(client, url: str, data: dict | None = None):
    """A POST whose on-commit work runs, as it does outside the test's transaction."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, data or {})


def post_file(client, root, data: bytes, name: str = "roster.xlsx", **extra):
    return post(client, reverse("roster_import"), {"root": root.pk, "file": upload(data, name), **extra})


def commit(client, job):
    return post(client, reverse("roster_import_commit", args=[job.pk]))


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
    response = commit(client, job)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and not job.file  # the uploaded file is gone
    assert Person.objects.count() == before + 2
    assert AuditRecord.objects.filter(action="import", actor=cast.school_admin).exists()
    # A second click does not import twice.
    commit(client, job)
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
    assert commit(client, job).status_code == 302
    assert (Person.objects.count(), Membership.objects.count()) == before
    assert not job.file  # a file with problems is not kept
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


def test_reveal_is_a_post_with_csrf_never_a_link(client, cast):
    """A link from another site (a GET with reveal=1) shows the form; only its POST reveals."""
    client.force_login(cast.counsellor)
    url = reverse("roster_export")
    page = client.get(url, {"unit": cast.cs2301.pk, "reveal": "1"})
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    text = page.content.decode()
    assert 'method="post"' in text and "csrfmiddlewaretoken" in text and "13800138000" not in text
    assert not AuditRecord.objects.filter(action="export").exists()

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cast.counsellor)
    assert strict.post(url, {"unit": cast.cs2301.pk, "reveal": "1"}).status_code == 403
    assert not AuditRecord.objects.filter(action="export").exists()
    token = strict.get(url).cookies["csrftoken"].value
    response = strict.post(url, {"unit": cast.cs2301.pk, "reveal": "1", "csrfmiddlewaretoken": token})
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content)))["花名册"].values)
    assert "13800138000" in {row[8] for row in rows}
    record = AuditRecord.objects.get(action="export", actor=cast.counsellor)
    assert record.detail == "roster;unit=CS2301;count=2;reveal"  # 张三 and the monitor 李四


def test_export_scope_and_reveal(client, cast):
    client.force_login(cast.outsider)
    assert client.get(reverse("roster_export"), {"unit": cast.uni.pk}).status_code == 404
    client.force_login(cast.auditor)  # may view, may not reveal
    assert client.get(reverse("roster_export"), {"unit": cast.uni.pk}).status_code == 200
    assert client.post(reverse("roster_export"), {"unit": cast.uni.pk, "reveal": "1"}).status_code == 403
    client.force_login(cast.counsellor)  # may reveal in CS2301 only
    assert client.get(reverse("roster_export"), {"unit": cast.ma2301.pk}).status_code == 404
    assert client.post(reverse("roster_export"), {"unit": cast.ma2301.pk, "reveal": "1"}).status_code == 404
    response = client.post(reverse("roster_export"), {"unit": cast.cs2301.pk, "reveal": "1"})
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content)))["花名册"].values)
    assert "13800138000" in {row[8] for row in rows}
    assert AuditRecord.objects.get(action="export", actor=cast.counsellor).detail.endswith("reveal")


# A real worker runs in this process and closes its connections when done: the test may not
# sit inside a transaction of its own (PostgreSQL would lose it).
@pytest.mark.django_db(transaction=True)
def test_every_check_and_commit_runs_on_the_task_queue(client, cast, settings):
    """Even a tiny file is checked by a worker, never in the request; the page shows it queued."""
    settings.TASKS = DATABASE
    client.force_login(cast.school_admin)
    response = post_file(client, cast.uni, xlsx([student(f"2024{i:03d}", name="学生") for i in range(5)]))
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.QUEUED and job.file
    queued = DBTaskResult.objects.filter(task_path=tasks.run_import.module_path, status="READY")
    assert queued.get().args_kwargs["args"] == [str(job.pk), False]
    page = client.get(response.url).content.decode()
    assert 'http-equiv="refresh"' in page and "已排队，等待后台处理" in page
    assert client.get(reverse("roster_import_status", args=[job.pk])).json()["running"] is True

    call_command("worker", "--burst", "--queue", "slow", verbosity=0)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED, job.problems
    commit(client, job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTING and not Person.objects.filter(name="学生").exists()
    assert "已排队，等待后台处理" in client.get(response.url).content.decode()
    call_command("worker", "--burst", "--queue", "slow", verbosity=0)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and not job.file
    assert Person.objects.filter(external_number__startswith="2024").count() == 5
    # A task run twice (a worker retried it) finds the job no longer waiting and does nothing.
    assert tasks.run_import.call(str(job.pk), True) == "done"


# A real worker runs in this process and closes its connections when done: the test may not
# sit inside a transaction of its own (PostgreSQL would lose it).
@pytest.mark.django_db(transaction=True)
def test_a_job_no_worker_takes_is_given_up_and_its_file_deleted(client, cast, settings):
    settings.TASKS = DATABASE
    client.force_login(cast.school_admin)
    post_file(client, cast.uni, xlsx([student("2023009")]))
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    page = client.get(reverse("roster_import_job", args=[job.pk])).content.decode()
    assert "后台任务进程" in page
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and not job.file
    call_command("worker", "--burst", "--queue", "slow", verbosity=0)  # the task comes too late
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED


def test_an_ambiguous_csv_asks_for_its_encoding(client, cast):
    client.force_login(cast.school_admin)
    data = "name,kind,number,college,class\nJosé,student,2023204,CS,CS2301\n".encode()
    response = post_file(client, cast.uni, data, name="名单.csv")
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.ENCODING and job.file
    page = client.get(response.url).content.decode()
    assert "José" in page and "Jos茅" in page and 'name="encoding"' in page
    assert 'http-equiv="refresh"' not in page
    post(client, reverse("roster_import_encoding", args=[job.pk]), {"encoding": "bogus"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.ENCODING
    post(client, reverse("roster_import_encoding", args=[job.pk]), {"encoding": "utf-8"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED and job.encoding == "utf-8", job.problems
    commit(client, job)
    assert Person.objects.get(external_number="2023204").name == "José"
