"""The case pages of the member self-service (phone) site, mounted at /m/ before reach's own."""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>/report/", views.report, name="member_report"),
    path("<str:token>/reports/", views.reports, name="member_reports"),
    path("<str:token>/reports/<int:pk>/", views.report_done, name="member_report_done"),
]
