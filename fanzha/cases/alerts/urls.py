"""The stop-payment alert pages, mounted at /cases/alerts/."""

from django.urls import path

from . import views as alert_views

urlpatterns = [
    path("", alert_views.alert_list, name="alert_list"),
    path("<int:pk>/", alert_views.alert_detail, name="alert_detail"),
    path("<int:pk>/ack/", alert_views.alert_ack, name="alert_ack"),
    path("<int:pk>/outcome/", alert_views.alert_outcome, name="alert_outcome"),
]
