"""Campaign pages: templates, campaigns and compliance, activities and letters."""

from django.urls import include, path

urlpatterns = [
    path("templates/", include("fanzha.campaigns.plan_templates.urls")),
    path("activities/", include("fanzha.campaigns.activities.urls")),
    path("letters/", include("fanzha.campaigns.letters.urls")),
    path("", include("fanzha.campaigns.campaign_urls")),
]
