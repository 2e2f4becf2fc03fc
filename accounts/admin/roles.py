"""Roles (guardian object permissions) on Smart and Virtual Accounts."""
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse

from lib.admin import ReadOnlyAdmin, call_service, run_service_action, titled

from ..models import SmartAccountRole, VirtualAccountRole


class RoleAdmin(ReadOnlyAdmin):
    """Roles are granted in the portal; staff may look at them and revoke them (through the service)."""

    list_display = ("user", "role", "content_object", "granted_by", "granted_at")
    list_filter = (("permission__codename", titled("role")), "granted_at")
    search_fields = ("user__email", "content_object__name")
    fields = ("user", "role", "content_object", "granted_by", "granted_at")
    readonly_fields = fields
    date_hierarchy = "granted_at"
    list_select_related: tuple[str, ...] = ()

    def get_queryset(self, request):
        # The view page shows the same columns as the list.
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(ordering="permission__codename")
    def role(self, obj) -> str:
        return obj.permission.codename

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a role is revoking it: delete_model and delete_queryset call the service.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_model(self, request, obj):
        from accounts import services

        revoked = call_service(
            self, request, lambda: services.role_revoke(role=obj, actor=request.user) or True, str(obj)
        )
        if not revoked:
            request._role_revoke_failed = True

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_role_revoke_failed", False):
            # Not "deleted successfully": back to the list, where the reason is shown.
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        return super().response_delete(request, obj_display, obj_id)

    def delete_queryset(self, request, queryset):
        from accounts import services

        run_service_action(
            self, request, queryset, lambda role: services.role_revoke(role=role, actor=request.user), "revoked"
        )


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
