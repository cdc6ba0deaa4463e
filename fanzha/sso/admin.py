from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ExternalIdentity


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    """Read only: rows are written by the sign-in itself (``sso.actions``)."""

    list_display = ["provider", "subject", "person", "user", "opened_account", "first_at", "last_at"]
    list_filter = ["provider", "opened_account"]
    search_fields = ["subject", "person__name"]
    raw_id_fields = ["person", "user"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
