"""Results pages, mounted at /cases/results/."""

from django.urls import path

from . import views

urlpatterns = [
    path("case/<int:pk>/", views.case_results, name="case_results"),
    path("gangs/new/", views.gang_new, name="gang_new"),
    path("bulletin/", views.bulletin_page, name="bulletin"),
    path("bulletin.docx", views.bulletin_docx, name="bulletin_docx"),
    path("bulletin/issue/", views.bulletin_issue, name="bulletin_issue"),
]
