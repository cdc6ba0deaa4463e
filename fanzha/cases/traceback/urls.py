"""Trace-back pages, mounted at /cases/followups/traceback/."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:case_pk>/", views.traceback_detail, name="traceback_detail"),
    path("<int:case_pk>/lessons/", views.traceback_lessons, name="traceback_lessons"),
    path("<int:case_pk>/regenerate/", views.traceback_regenerate, name="traceback_regenerate"),
]
