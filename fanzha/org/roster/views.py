"""Roster pages: upload → dry-run report → confirm, the empty template, and export to XLSX.

Thin: reading, checking and writing live in ``roster``; scope comes from ``scope``. Importing
needs ``Cap.IMPORT`` on the chosen unit, exporting ``Cap.VIEW``; a unit or job outside the
user's scope answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fanzha.core import sheets

from ..models import ImportJob, Unit, UnitKind, User
from ..scope import Cap, in_scope, units_for
from . import actions, charset, columns, export, jobs, tasks

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_PROBLEMS = 1000
_LEAF_KINDS = (UnitKind.CLASS, UnitKind.DORM_ROOM, UnitKind.DORM_BUILDING)


class UploadForm(forms.Form):
    """The file and options; the unit comes from the URL or the select, checked against scope."""

    file = forms.FileField(label=gettext_lazy("花名册文件（XLSX 或 CSV）"))
    create_units = forms.BooleanField(
        label=gettext_lazy("自动创建缺少的班级和宿舍"),
        required=False,
        help_text=gettext_lazy("学院必须已经存在；新班级建在所填学院下，新宿舍楼建在导入单位下。"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.FANZHA_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise ValidationError(
                _("文件过大（%(size).1f MB），上限为 %(limit).1f MB")
                % {"size": upload.size / 2**20, "limit": limit / 2**20}
            )
        return upload


def _user(request: HttpRequest) -> User:
    """The signed-in account (every view here is behind ``login_required``)."""
    assert isinstance(request.user, User)
    return request.user


def _import_units(user: Any) -> QuerySet[Unit]:
    """Units the user may import into, without classes and rooms (a roster covers more than one)."""
    return units_for(user, Cap.IMPORT).exclude(kind__in=_LEAF_KINDS).order_by("path")


def _job_for(request: HttpRequest, job_id: Any) -> ImportJob:
    """The user's own job, while they still may import into its unit; anything else is 404."""
    job = get_object_or_404(ImportJob.objects.select_related("root"), pk=job_id, user=_user(request))
    if not in_scope(request.user, job.root, Cap.IMPORT):
        raise Http404
    jobs.expire_if_stale(job)
    return job


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    """Upload form. The check (dry run) starts at once; the report page follows its progress."""
    units = _import_units(request.user)
    if not units.exists():
        raise Http404
    root_id = request.POST.get("root") or request.GET.get("root")
    root = None
    if root_id:
        if not str(root_id).isdigit():
            raise Http404
        root = get_object_or_404(units_for(request.user, Cap.IMPORT), pk=root_id)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and root is None:
        form.add_error(None, _("请选择导入到哪个单位"))
    if request.method == "POST" and root is not None and form.is_valid():
        upload = form.cleaned_data["file"]
        job = ImportJob(
            user=_user(request),
            root=root,
            filename=Path(upload.name).name[:255],
            size=upload.size,
            create_units=form.cleaned_data["create_units"],
        )
        suffix = Path(upload.name).suffix.lower()[:8]
        job.file.save(f"{job.pk}{suffix}", upload, save=False)
        job.save()
        tasks.start_job(job, commit=False)  # the check runs on the task queue, never in the request
        return redirect("roster_import_job", job_id=job.pk)
    recent = ImportJob.objects.filter(user=_user(request)).select_related("root")[:10]
    context = {
        "form": form,
        "units": units[:500],
        "root": root,
        "jobs": recent,
        "columns": columns.COLUMNS,
        "max_mb": settings.FANZHA_MAX_UPLOAD_BYTES / 2**20,
    }
    return render(request, "org/import.html", context)


@login_required
@require_GET
def import_job(request: HttpRequest, job_id: Any) -> HttpResponse:
    """Progress while running; then the problems, or the counts and a button to commit."""
    job = _job_for(request, job_id)
    keys = actions.SUMMARY_KEYS + (actions.ACCOUNT_KEYS if "accounts_created" in job.summary else ())
    summary = [(key, job.summary.get(key, 0)) for key in keys] if job.summary else []
    context = {
        "job": job,
        "queued": job.is_running and not job.stage,
        "encodings": _encoding_preview(job) if job.status == ImportJob.Status.ENCODING else [],
        "problems": job.problems[:SHOWN_PROBLEMS],
        "more": max(0, len(job.problems) - SHOWN_PROBLEMS),
        "summary": summary,
        "summary_text": actions.summary_text(job.summary, job.status == ImportJob.Status.DONE)
        if job.summary
        else "",
    }
    return render(request, "org/import_job.html", context)


def _encoding_preview(job: ImportJob) -> list[tuple[str, str, list[str]]]:
    """(choice, label, first lines read that way) for a CSV whose encoding the uploader must choose."""
    if not job.file:
        return []
    with job.file.open("rb") as handle:
        head = handle.read(16 * 1024)
    shown = charset.preview(head)
    return [(name, charset.CHOICE_LABELS[name], shown[name]) for name in charset.CHOICES]


@login_required
@require_POST
def import_encoding(request: HttpRequest, job_id: Any) -> HttpResponse:
    """The uploader's answer for a CSV that reads as text in both encodings: check it again that way."""
    job = _job_for(request, job_id)
    choice = request.POST.get("encoding", "")
    if job.status == ImportJob.Status.ENCODING and choice in charset.CHOICES:
        jobs.choose_encoding(job, choice)
        tasks.start_job(job, commit=False)
    return redirect("roster_import_job", job_id=job.pk)


@login_required
@require_GET
def import_job_status(request: HttpRequest, job_id: Any) -> JsonResponse:
    """What the report page polls: status, stage and percent (no personal data)."""
    job = _job_for(request, job_id)
    return JsonResponse(
        {
            "status": job.status,
            "stage": job.stage,
            "done": job.done,
            "total": job.total,
            "percent": job.percent,
            "running": job.is_running,
            "problem_count": job.problem_count,
        }
    )


@login_required
@require_GET
def import_job_problems(request: HttpRequest, job_id: Any) -> HttpResponse:
    """Every problem of a job as CSV (UTF-8 with BOM, so that Excel opens it right)."""
    job = _job_for(request, job_id)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([_("行"), _("列"), _("问题")])
    writer.writerows(sheets.csv_row(problem) for problem in job.problems)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="roster-problems.csv"'
    return response


@login_required
@require_POST
def import_commit(request: HttpRequest, job_id: Any) -> HttpResponse:
    """Write a checked file: all or nothing. A second click finds the job no longer checked."""
    job = _job_for(request, job_id)
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.CHECKED).update(
        status=ImportJob.Status.COMMITTING, stage="", done=0, total=None, updated_at=timezone.now()
    )
    if claimed:
        tasks.start_job(job, commit=True)
    return redirect("roster_import_job", job_id=job.pk)


@login_required
@require_GET
def roster_template(request: HttpRequest) -> FileResponse:
    """The empty template with Chinese headers."""
    buffer = io.BytesIO()
    export.write_template(buffer)
    buffer.seek(0)
    return FileResponse(buffer, as_attachment=True, filename="花名册模板.xlsx", content_type=XLSX)


@login_required
@require_http_methods(["GET", "POST"])
def roster_export(request: HttpRequest) -> HttpResponseBase:
    """Choose a unit, then download the roster of its subtree (phone and ID masked unless revealed).

    The form posts (with its CSRF token); a GET with ``unit`` downloads the masked roster, for links.
    Full numbers come only from the POST: a GET with ``reveal=1`` (a link from anywhere) shows the
    form with the choice made, for the user to confirm. Every download is audited.
    """
    visible = units_for(request.user, Cap.VIEW)
    data = request.POST if request.method == "POST" else request.GET
    unit_id = data.get("unit", "")
    asked_reveal = data.get("reveal") == "1"
    if not unit_id or (request.method == "GET" and asked_reveal):
        if not visible.exists():
            raise Http404
        units = visible.exclude(kind=UnitKind.DORM_ROOM).order_by("path")[:500]
        can_reveal = bool(units_for(request.user, Cap.REVEAL).exists())
        context = {
            "units": units,
            "can_reveal": can_reveal,
            "selected": str(unit_id),
            "reveal_checked": asked_reveal and can_reveal,
        }
        return render(request, "org/roster_export.html", context)
    if not unit_id.isdigit():
        raise Http404
    unit = get_object_or_404(visible, pk=unit_id)
    reveal = request.method == "POST" and asked_reveal
    spool = tempfile.TemporaryFile()  # big rosters: keep the workbook out of memory
    actions.export_for(_user(request), unit, spool, reveal=reveal)  # PermissionDenied: 403
    spool.seek(0)
    filename = f"花名册-{unit.code}-{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(spool, as_attachment=True, filename=filename, content_type=XLSX)
