"""Campaign template pages: list, detail, upload or edit, and downloads (TOML, plan DOCX/PDF)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.template_list, name="template_list"),
    path("new/", views.template_create, name="template_create"),
    path("<slug:code>/", views.template_detail, name="template_detail"),
    path("<slug:code>/edit/", views.template_edit, name="template_edit"),
    path("<slug:code>/download/", views.template_download, name="template_download"),
    path("<slug:code>/plan/", views.template_plan, name="template_plan"),
]
