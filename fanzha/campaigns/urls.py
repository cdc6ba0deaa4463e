"""Campaign pages: templates, campaigns and compliance, activities and letters."""

from django.urls import include, path

urlpatterns = [
    path("templates/", include("fanzha.campaigns.template_urls")),
    path("activities/", include("fanzha.campaigns.activity_urls")),
    path("letters/", include("fanzha.campaigns.letter_urls")),
    path("", include("fanzha.campaigns.campaign_urls")),
]
