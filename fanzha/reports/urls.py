"""Dashboard pages, mounted at /dashboards/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard_index, name="dashboard_index"),
    path("<int:pk>/", views.dashboard_campaign, name="dashboard_campaign"),
    path("<int:pk>/export.xlsx", views.dashboard_export, name="dashboard_campaign_export"),
    path("<int:pk>/<int:unit_pk>/", views.dashboard_unit, name="dashboard_unit"),
    path("<int:pk>/goals/<int:goal_pk>/record/", views.dashboard_goal_record, name="dashboard_goal_record"),
    path("<int:pk>/<int:unit_pk>/export.xlsx", views.dashboard_export, name="dashboard_unit_export"),
]
