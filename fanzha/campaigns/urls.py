"""Campaign pages under /campaigns/: the campaign's own (list, start, detail, plan document, dashboard,
periods, calendar, school calendar) here, each feature's from its package."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("templates/", include("fanzha.campaigns.plan_templates.urls")),
    path("activities/", include("fanzha.campaigns.activities.urls")),
    path("letters/", include("fanzha.campaigns.letters.urls")),
    path("consultations/", include("fanzha.campaigns.consultations.urls")),
    path("duties/", include("fanzha.campaigns.duties.urls")),
    path("", views.campaign_list, name="campaign_list"),
    path("start/", views.campaign_start_choose, name="campaign_start_choose"),
    path("start/<int:template_pk>/", views.campaign_start, name="campaign_start"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/plan.<slug:fmt>", views.campaign_plan, name="campaign_plan"),
    path("<int:pk>/sections/", views.campaign_sections, name="campaign_sections"),
    path("<int:pk>/close/", views.campaign_close, name="campaign_close"),
    path("<int:pk>/sync/", views.campaign_sync, name="campaign_sync"),
    path("<int:pk>/dashboard/", views.campaign_dashboard, name="campaign_dashboard"),
    path("<int:pk>/obligations/<int:obligation_pk>/", views.campaign_obligation, name="campaign_obligation"),
    path(
        "<int:pk>/obligations/<int:obligation_pk>/accept/",
        views.campaign_obligation_accept,
        name="campaign_obligation_accept",
    ),
    path(
        "<int:pk>/obligations/<int:obligation_pk>/withdraw/",
        views.campaign_obligation_withdraw,
        name="campaign_obligation_withdraw",
    ),
    path("<int:pk>/periods/", views.campaign_periods, name="campaign_periods"),
    path("<int:pk>/calendar/", views.campaign_calendar, name="campaign_calendar"),
    path("<int:pk>/outreach/", include("fanzha.campaigns.summary.urls")),
    path("school-calendar/<int:unit_pk>/", views.school_calendar, name="school_calendar"),
]
