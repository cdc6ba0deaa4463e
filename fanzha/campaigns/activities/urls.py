"""Activity pages, mounted at /campaigns/activities/; the check-in page needs no login."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.activity_list, name="activity_list"),
    path("record/", views.activity_record, name="activity_record"),
    path("<int:pk>/", views.activity_detail, name="activity_detail"),
    path("<int:pk>/edit/", views.activity_edit, name="activity_edit"),
    path("<int:pk>/delete/", views.activity_delete, name="activity_delete"),
    path("<int:pk>/evidence/", views.activity_add_evidence, name="activity_add_evidence"),
    path("<int:pk>/attendees/", views.activity_add_attendee, name="activity_add_attendee"),
    path(
        "<int:pk>/attendees/<int:person>/remove/",
        views.activity_remove_attendee,
        name="activity_remove_attendee",
    ),
    path("evidence/<int:pk>/", views.evidence_file, name="evidence_file"),
    path("checkin/<str:token>/", views.activity_checkin, name="activity_checkin"),
]
