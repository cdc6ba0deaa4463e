from django.contrib import admin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from .models import RoleGrant, Unit, User


@admin.register(Unit)
class UnitAdmin(TreeAdmin):
    form = movenodeform_factory(Unit, exclude=["parent_path"])
    list_display = ["name", "code", "kind", "is_active"]
    search_fields = ["name", "code", "initials"]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["username", "first_name", "is_active", "is_superuser"]
    search_fields = ["username", "first_name"]


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "unit", "role", "granted_at"]
    raw_id_fields = ["user", "unit", "granted_by"]
