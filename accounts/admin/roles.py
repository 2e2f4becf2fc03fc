"""Roles (guardian object permissions) on Smart and Virtual Accounts."""
from django.contrib import admin

from lib.admin import ReadOnlyAdmin, ServiceDeleteMixin, titled

from ..models import SmartAccountRole, VirtualAccountRole


class RoleAdmin(ServiceDeleteMixin, ReadOnlyAdmin):
    """Roles are granted in the portal; staff may look at them and revoke them (through the service)."""

    list_display = ("user", "role", "content_object", "granted_by", "granted_at")
    list_filter = (("permission__codename", titled("role")), "granted_at")
    search_fields = ("user__email", "content_object__name")
    fields = ("user", "role", "content_object", "granted_by", "granted_at")
    readonly_fields = fields
    date_hierarchy = "granted_at"
    list_select_related: tuple[str, ...] = ()
    delete_verb = "revoked"
    delete_description = "Revoke selected roles"

    def get_queryset(self, request):
        # The view page shows the same columns as the list.
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(ordering="permission__codename")
    def role(self, obj) -> str:
        return obj.permission.codename

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a role is revoking it, through the service (ServiceDeleteMixin).
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_through_service(self, request, obj) -> None:
        from accounts import services

        services.role_revoke(role=obj, actor=request.user)


@admin.register(SmartAccountRole)
class SmartAccountRoleAdmin(RoleAdmin):
    list_filter = (
        ("permission__codename", titled("role")), ("content_object__kind", titled("account kind")), "granted_at"
    )
    list_select_related = ("user", "permission", "content_object", "granted_by")


@admin.register(VirtualAccountRole)
class VirtualAccountRoleAdmin(RoleAdmin):
    list_select_related = ("user", "permission", "content_object__smart_account", "granted_by")
    search_fields = ("user__email", "content_object__name", "content_object__smart_account__name")
