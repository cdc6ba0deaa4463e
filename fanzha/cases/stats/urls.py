"""Case statistics and exports, mounted at /cases/stats/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.case_stats, name="case_stats"),
    path("export.xlsx", views.case_stats_export, name="case_stats_export"),
    path("ledger.xlsx", views.case_export, name="case_export"),
]
