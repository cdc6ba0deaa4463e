"""Counsellor tools, mounted at /reach/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="reach_index"),
    path("unit/<int:unit_pk>/", views.unit_page, name="reach_unit"),
    path("unit/<int:unit_pk>/link/", views.class_link, name="reach_link"),
    path("unit/<int:unit_pk>/slips/", views.slips, name="reach_slips"),
    path("unit/<int:unit_pk>/c/<int:campaign_pk>/", views.matrix, name="reach_matrix"),
    path("unit/<int:unit_pk>/c/<int:campaign_pk>/export.xlsx", views.export, name="reach_export"),
    path("unit/<int:unit_pk>/c/<int:campaign_pk>/confirm/", views.confirm, name="reach_confirm"),
    path("unit/<int:unit_pk>/c/<int:campaign_pk>/remind/", views.remind, name="reach_remind"),
    path("unit/<int:unit_pk>/c/<int:campaign_pk>/item/<str:item>/", views.item_page, name="reach_item"),
    path("attestation/<int:pk>/reject/", views.reject, name="reach_reject"),
    path("attestation/<int:pk>/<str:which>/", views.attestation_file, name="reach_file"),
]
