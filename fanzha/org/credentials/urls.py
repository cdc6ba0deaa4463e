"""The sign-in code of a person, under the person's pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("people/<int:pk>/signin-code/", views.issue, name="person_code_issue"),
    path("people/<int:pk>/signin-code/revoke/", views.revoke, name="person_code_revoke"),
]
