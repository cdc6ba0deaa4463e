"""Pages of the organisation grid, the sign-in pages and the home page."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .forms import LoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("units/", views.unit_list, name="unit_list"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path("units/<int:pk>/add-child/", views.unit_add_child, name="unit_add_child"),
    path("units/<int:pk>/rename/", views.unit_rename, name="unit_rename"),
    path("units/<int:pk>/move/", views.unit_move, name="unit_move"),
    path("units/<int:pk>/active/", views.unit_set_active, name="unit_set_active"),
    path("units/<int:pk>/jurisdiction/", views.unit_jurisdiction, name="unit_jurisdiction"),
    path("jurisdiction/<int:pk>/remove/", views.jurisdiction_remove, name="jurisdiction_remove"),
    path("people/", views.person_list, name="person_list"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
    path("people/<int:pk>/reveal/", views.person_reveal, name="person_reveal"),
    path("people/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("people/<int:pk>/memberships/", views.person_add_membership, name="person_add_membership"),
    path(
        "people/<int:pk>/memberships/<int:membership_pk>/remove/",
        views.person_remove_membership,
        name="person_remove_membership",
    ),
    path("", include("fanzha.org.credentials.urls")),
    path("", include("fanzha.org.accounts.urls")),
]
