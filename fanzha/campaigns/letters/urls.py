"""Responsibility letter pages, mounted at /campaigns/letters/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.letter_index, name="letter_index"),
    path("campaign/<int:pk>/", views.letter_status, name="letter_status"),
    path("campaign/<int:pk>/generate/", views.letter_generate, name="letter_generate"),
    path("<int:pk>/", views.letter_detail, name="letter_detail"),
    path("<int:pk>/sign/", views.letter_sign, name="letter_sign"),
    path("<int:pk>/signature/<str:side>.png", views.letter_signature, name="letter_signature"),
]
