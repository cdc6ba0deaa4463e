"""The case ledger's pages, mounted at /cases/: each part has its own url module."""

from django.urls import include, path

urlpatterns = [
    path("alerts/", include("fanzha.cases.alert_urls")),
    path("followups/", include("fanzha.cases.followup_urls")),
    path("stats/", include("fanzha.cases.stats_urls")),
    path("", include("fanzha.cases.case_urls")),
]
