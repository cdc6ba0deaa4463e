"""Department duty pages, mounted at /campaigns/duties/."""

from django.urls import path

from . import views

urlpatterns = [
    path("campaign/<int:pk>/", views.duty_standing, name="duty_standing"),
    path("campaign/<int:pk>/unit/<int:unit_pk>/", views.duty_list, name="duty_list"),
    path("<int:obligation_pk>/assign/", views.duty_assign, name="duty_assign"),
]
