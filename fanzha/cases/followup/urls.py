"""Follow-up pages, mounted at /cases/followups/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.followup_list, name="followup_list"),
    path("<int:case_pk>/", views.followup_detail, name="followup_detail"),
    path("<int:case_pk>/open/", views.followup_open, name="followup_open"),
    path("<int:case_pk>/plan/", views.followup_plan, name="followup_plan"),
    path("<int:case_pk>/sessions/", views.followup_session, name="followup_session"),
    path("<int:case_pk>/close/", views.followup_close, name="followup_close"),
]
