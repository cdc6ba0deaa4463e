"""The demo SMS page, mounted at /notifications/sms-demo/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.sms_demo, name="sms_demo"),
]
