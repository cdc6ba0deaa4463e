"""Statistics and exports of the case ledger, mounted at /cases/stats/."""

from django.urls import path

from . import views as stats_views

urlpatterns = [
    path("", stats_views.case_stats, name="case_stats"),
    path("export.xlsx", stats_views.case_stats_export, name="case_stats_export"),
    path("ledger.xlsx", stats_views.case_export, name="case_export"),
]
