"""Accountability pages, mounted at /cases/followups/accountability/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.accountability_list, name="accountability_list"),
    path("<int:pk>/issue/", views.accountability_issue, name="accountability_issue"),
    path("<int:pk>/acknowledge/", views.accountability_acknowledge, name="accountability_acknowledge"),
]
