"""Roster import and export pages, mounted under ``/roster/``."""

from django.urls import path

from . import views

urlpatterns = [
    path("import/", views.import_start, name="roster_import"),
    path("import/<uuid:job_id>/", views.import_job, name="roster_import_job"),
    path("import/<uuid:job_id>/status/", views.import_job_status, name="roster_import_status"),
    path("import/<uuid:job_id>/problems.csv", views.import_job_problems, name="roster_import_problems"),
    path("import/<uuid:job_id>/commit/", views.import_commit, name="roster_import_commit"),
    path("import/<uuid:job_id>/encoding/", views.import_encoding, name="roster_import_encoding"),
    path("template.xlsx", views.roster_template, name="roster_template"),
    path("export/", views.roster_export, name="roster_export"),
]
