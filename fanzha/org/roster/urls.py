"""Roster import and export pages, mounted under ``/roster/``."""

from django.urls import path

from . import views as import_views

urlpatterns = [
    path("import/", import_views.import_start, name="roster_import"),
    path("import/<uuid:job_id>/", import_views.import_job, name="roster_import_job"),
    path("import/<uuid:job_id>/status/", import_views.import_job_status, name="roster_import_status"),
    path(
        "import/<uuid:job_id>/problems.csv", import_views.import_job_problems, name="roster_import_problems"
    ),
    path("import/<uuid:job_id>/commit/", import_views.import_commit, name="roster_import_commit"),
    path("template.xlsx", import_views.roster_template, name="roster_template"),
    path("export/", import_views.roster_export, name="roster_export"),
]
