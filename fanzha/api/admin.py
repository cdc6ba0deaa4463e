"""API tokens in the admin site: who holds which, until when, last used; revoke, never see a key.

Keys are not stored (only their hash), so nobody, a superuser neither, can read one here. DRF's own
token admin is taken away: its table is no longer used, and it showed keys in clear.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.authtoken.models import TokenProxy

from .models import ApiToken
from .tokens import actions

if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["prefix", "name", "user__username", "user__first_name"]
    list_select_related = ["user"]
    fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key is made by its owner, on the tokens page or through the API

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("撤销所选令牌"), permissions=["delete"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = actions.revoke_tokens(queryset)
        self.message_user(request, _("已撤销 %(count)d 个令牌。") % {"count": count}, messages.SUCCESS)
