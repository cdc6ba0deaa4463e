"""The account pages: administrators' under /accounts/, a person's own under /account/."""

from django.urls import path

from . import views

urlpatterns = [
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/export.xlsx", views.account_export, name="account_export"),
    path("accounts/people/<int:pk>/open/", views.open_account, name="account_open"),
    path("accounts/<int:pk>/invite/", views.invite, name="account_invite"),
    path("accounts/<int:pk>/deactivate/", views.deactivate, name="account_deactivate"),
    path("accounts/<int:pk>/reactivate/", views.reactivate, name="account_reactivate"),
    path("accounts/<int:pk>/reset/", views.reset, name="account_reset"),
    path("accounts/<int:pk>/temporary/", views.temporary, name="account_temporary"),
    path("accounts/units/<int:pk>/open/", views.bulk, name="account_bulk"),
    path("accounts/batches/<uuid:batch_id>/", views.batch_detail, name="account_batch"),
    path("accounts/units/<int:pk>/grant/", views.grant, name="account_grant"),
    path("accounts/grants/<int:pk>/revoke/", views.revoke, name="account_revoke"),
    path("account/welcome/", views.welcome, name="account_welcome"),
    path("account/reset/", views.reset_link, name="account_reset_link"),
    path("account/forgot/", views.forgot, name="account_forgot"),
    path("account/forgot/code/", views.forgot_code, name="account_forgot_code"),
    path("account/password/", views.password_change, name="account_password_change"),
]
