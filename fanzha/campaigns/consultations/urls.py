"""Consultation pages, mounted at /campaigns/consultations/."""

from django.urls import path

from . import views

urlpatterns = [
    path("campaign/<int:pk>/", views.consultation_list, name="consultation_list"),
    path("campaign/<int:pk>/new/", views.consultation_new, name="consultation_new"),
    path("<int:pk>/", views.consultation_detail, name="consultation_detail"),
    path("<int:pk>/decisions/", views.decision_add, name="consultation_decision_add"),
    path("decisions/<int:pk>/close/", views.decision_close, name="consultation_decision_close"),
]
