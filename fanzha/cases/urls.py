"""The case ledger's pages, mounted at /cases/: each part has its own url module."""

from django.urls import include, path

urlpatterns = [
    path("alerts/", include("fanzha.cases.alerts.urls")),
    path("followups/", include("fanzha.cases.followup.urls")),
    path("stats/", include("fanzha.cases.stats.urls")),
    path("", include("fanzha.cases.case_urls")),
]
