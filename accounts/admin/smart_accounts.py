"""Smart Accounts, their Virtual Account trees, holding-account members and access requests."""
from django.contrib import admin
from django.utils.html import format_html
from mptt.admin import MPTTModelAdmin

from lib.admin import ReadOnlyAdmin, ReadOnlyTabularInline, call_service, run_service_action, titled

from ..models import AccessRequest, HoldingMembership, SmartAccount, VirtualAccount


class HoldingMembershipInline(ReadOnlyTabularInline):
    model = HoldingMembership
    fields = ("user", "notify", "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "smart_account")


@admin.register(SmartAccount)
class SmartAccountAdmin(ReadOnlyAdmin):
    """Accounts are created in the portal (with their DEFAULT Virtual Account); staff changes
    their status with the actions, which go through the services."""

    list_display = ("name", "domain", "kind", "status", "partner", "contact", "created_at", "activated_at")
    list_filter = ("kind", "status", "partner")
    list_select_related = ("partner", "contact")
    search_fields = ("name", "domain")
    date_hierarchy = "created_at"
    actions = ("activate_selected", "suspend_selected", "reinstate_selected")

    def get_inlines(self, request, obj):
        return (HoldingMembershipInline,) if obj is not None and obj.is_holding else ()

    @admin.action(description="Activate selected accounts")
    def activate_selected(self, request, queryset):
        from accounts import services

        run_service_action(
            self, request, queryset,
            lambda sa: services.smart_account_activate(smart_account=sa, actor=request.user), "activated",
        )

    @admin.action(description="Suspend selected accounts")
    def suspend_selected(self, request, queryset):
        from accounts import services

        run_service_action(
            self, request, queryset,
            lambda sa: services.smart_account_suspend(smart_account=sa, actor=request.user), "suspended",
        )

    @admin.action(description="Reinstate selected accounts")
    def reinstate_selected(self, request, queryset):
        from accounts import services

        run_service_action(
            self, request, queryset,
            lambda sa: services.smart_account_reinstate(smart_account=sa, actor=request.user), "reinstated",
        )


@admin.register(VirtualAccount)
class VirtualAccountAdmin(MPTTModelAdmin):
    """The tree, indented. Creating, moving and deleting Virtual Accounts happen in the portal
    (services check emptiness and siblings); here staff may only rename."""

    list_display = ("indented_name", "smart_account", "description", "created_at")
    list_display_links = ("indented_name",)
    list_filter = (("smart_account__kind", titled("account kind")), "smart_account")
    list_select_related = ("smart_account",)
    search_fields = ("name", "smart_account__name", "smart_account__domain")
    fields = ("name", "description", "smart_account", "parent", "created_at")
    readonly_fields = ("smart_account", "parent", "created_at")
    # Django's changelist, not mptt's: mptt indents rows with style attributes, which the CSP refuses.
    change_list_template = None

    class Media:
        css = {"all": ["css/admin_tree.css"]}

    @admin.display(description="name")
    def indented_name(self, obj: VirtualAccount) -> str:
        return format_html('<span class="tree-level-{}">{}</span>', min(obj.level, 20), obj.name)

    def get_queryset(self, request):
        # The change page shows the parent, whose name needs its account.
        return super().get_queryset(request).select_related("smart_account", "parent__smart_account")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        from accounts import services

        if not {"name", "description"} & set(form.changed_data):
            return
        current = VirtualAccount.objects.get(pk=obj.pk)
        call_service(
            self, request,
            lambda: services.virtual_account_rename(
                virtual_account=current, name=obj.name, description=obj.description, actor=request.user
            ),
            str(current),
        )


@admin.register(HoldingMembership)
class HoldingMembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "smart_account", "notify", "created_at")
    list_filter = ("notify", ("smart_account__partner", titled("partner")))
    list_select_related = ("user", "smart_account")
    search_fields = ("user__email", "smart_account__name")
    date_hierarchy = "created_at"


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ("requester", "smart_account", "scope_wanted", "status", "granted_role", "decided_by", "created_at",
                    "decided_at")
    list_filter = ("status", "granted_role")
    list_select_related = ("requester", "smart_account", "decided_by")
    search_fields = ("requester__email", "smart_account__name", "smart_account__domain")
    date_hierarchy = "created_at"
