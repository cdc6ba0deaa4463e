"""Single sign-on: a start and a callback per provider, under /sso/."""

from django.urls import path

from . import views

urlpatterns = [
    path("cas/login/", views.cas_login, name="sso_cas_login"),
    path("cas/callback/", views.cas_callback, name="sso_cas_callback"),
    path("oidc/login/", views.oidc_login, name="sso_oidc_login"),
    path("oidc/callback/", views.oidc_callback, name="sso_oidc_callback"),
    path("wecom/login/", views.wecom_login, name="sso_wecom_login"),
    path("wecom/callback/", views.wecom_callback, name="sso_wecom_callback"),
    path("dingtalk/login/", views.dingtalk_login, name="sso_dingtalk_login"),
    path("dingtalk/callback/", views.dingtalk_callback, name="sso_dingtalk_callback"),
]
