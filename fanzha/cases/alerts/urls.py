"""Stop-payment alert pages, mounted at /cases/alerts/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.alert_list, name="alert_list"),
    path("<int:pk>/", views.alert_detail, name="alert_detail"),
    path("<int:pk>/ack/", views.alert_ack, name="alert_ack"),
    path("<int:pk>/outcome/", views.alert_outcome, name="alert_outcome"),
]
