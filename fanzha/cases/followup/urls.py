"""Follow-up, trace-back and accountability pages, mounted at /cases/followups/."""

from django.urls import path

from ..traceback import views as traceback_views
from . import views as followup_views

urlpatterns = [
    path("", followup_views.followup_list, name="followup_list"),
    path("<int:case_pk>/", followup_views.followup_detail, name="followup_detail"),
    path("<int:case_pk>/open/", followup_views.followup_open, name="followup_open"),
    path("<int:case_pk>/plan/", followup_views.followup_plan, name="followup_plan"),
    path("<int:case_pk>/sessions/", followup_views.followup_session, name="followup_session"),
    path("<int:case_pk>/close/", followup_views.followup_close, name="followup_close"),
    path("traceback/<int:case_pk>/", traceback_views.traceback_detail, name="traceback_detail"),
    path("traceback/<int:case_pk>/lessons/", traceback_views.traceback_lessons, name="traceback_lessons"),
    path(
        "traceback/<int:case_pk>/regenerate/",
        traceback_views.traceback_regenerate,
        name="traceback_regenerate",
    ),
    path("accountability/", traceback_views.accountability_list, name="accountability_list"),
    path("accountability/<int:pk>/issue/", traceback_views.accountability_issue, name="accountability_issue"),
    path(
        "accountability/<int:pk>/acknowledge/",
        traceback_views.accountability_acknowledge,
        name="accountability_acknowledge",
    ),
]
