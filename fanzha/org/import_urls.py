"""Roster import and export pages."""

urlpatterns: list = []
