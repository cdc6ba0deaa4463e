"""The jurisdiction overview, mounted at /cases/jurisdiction/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.jurisdiction_overview, name="jurisdiction_overview"),
    path("export.xlsx", views.jurisdiction_overview_export, name="jurisdiction_overview_export"),
]
