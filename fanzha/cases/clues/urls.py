"""Clues and dissuasion tasks (篇五), mounted at /cases/clues/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.clue_list, name="clue_list"),
    path("new/", views.clue_new, name="clue_new"),
    path("<int:pk>/", views.clue_detail, name="clue_detail"),
    path("<int:pk>/dispatch/", views.clue_dispatch, name="clue_dispatch"),
    path("<int:pk>/answer/", views.clue_answer, name="clue_answer"),
    path("<int:pk>/close/", views.clue_close, name="clue_close"),
    path("dissuasion/", views.dissuasion_list, name="dissuasion_list"),
    path("dissuasion/import/", views.warnlist_import, name="warnlist_import"),
    path("dissuasion/<int:pk>/", views.dissuasion_detail, name="dissuasion_detail"),
    path("dissuasion/<int:pk>/reveal/", views.dissuasion_reveal, name="dissuasion_reveal"),
    path("dissuasion/<int:pk>/close/", views.dissuasion_close, name="dissuasion_close"),
]
