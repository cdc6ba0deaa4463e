"""Channel pages, mounted at /notifications/channels/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("new/", views.channel_create, name="channel_create"),
    path("<int:pk>/", views.channel_edit, name="channel_edit"),
    path("<int:pk>/disable/", views.channel_disable, name="channel_disable"),
    path("<int:pk>/enable/", views.channel_enable, name="channel_enable"),
    path("<int:pk>/test/", views.channel_test, name="channel_test"),
]
