"""Freeze-request pages, mounted at /cases/freeze/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.freeze_list, name="freeze_list"),
    path("<int:pk>/", views.freeze_detail, name="freeze_detail"),
    path("<int:pk>/answer/", views.freeze_answer, name="freeze_answer"),
    path("<int:pk>/reveal/", views.freeze_reveal, name="freeze_reveal"),
    path("case/<int:case_pk>/send/", views.freeze_send, name="freeze_send"),
    path("case/<int:case_pk>/send-all/", views.freeze_send_all, name="freeze_send_all"),
]
