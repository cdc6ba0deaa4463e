"""The reach page and summary report of a campaign, mounted at /campaigns/<id>/outreach/ (``summary``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.outreach_page, name="campaign_outreach"),
    path("report.<slug:fmt>", views.outreach_report, name="campaign_outreach_report"),
]
