"""Callbacks to victims (回访), mounted at /cases/callbacks/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.callback_list, name="callback_list"),
    path("<int:pk>/", views.callback_record, name="callback_record"),
]
