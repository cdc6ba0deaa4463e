from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from .models import RoleGrant, Unit, User


@admin.register(Unit)
class UnitAdmin(TreeAdmin):
    form = movenodeform_factory(Unit, exclude=["parent_path"])
    list_display = ["name", "code", "kind", "is_active"]
    search_fields = ["name", "code", "initials"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's own user admin: the add form hashes the password (typed twice), the change form shows
    the hash read-only with a link to the set-password page. A plain ModelAdmin stored whatever was
    typed into ``password`` as the hash itself, so the new account could never sign in."""

    list_display = ["username", "first_name", "is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "first_name", "last_name", "email"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        """The username is read-only once the account exists: the accounts fanzha makes are named
        ``<organisation code>:<number>``, which Django's username rule (no ``:``) would refuse on every
        save of the change form; sign-in does not depend on it (number or phone)."""
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "username", "last_login", "date_joined") if obj is not None else fields


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "unit", "role", "granted_at"]
    raw_id_fields = ["user", "unit", "granted_by"]
