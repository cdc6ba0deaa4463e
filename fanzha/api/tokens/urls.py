"""The tokens page, mounted at /account/tokens/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.token_list, name="account_tokens"),
    path("<int:pk>/revoke/", views.token_revoke, name="account_token_revoke"),
]
