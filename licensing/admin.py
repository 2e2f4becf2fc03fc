"""Staff back office for licensing: the catalogue is edited here; entitlements, devices,
tokens, PAKs and snapshots are only looked at (they change through the services)."""
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from lib.admin import ReadOnlyAdmin, ReadOnlyTabularInline, run_service_action, titled

from .models import (
    AlertPreferences,
    ClassicLicense,
    Device,
    DeviceUsage,
    Entitlement,
    Product,
    RegistrationToken,
    Shortage,
    UsageSnapshot,
)

# A Virtual Account's str names its Smart Account: fetch both in the same query.
VA = "virtual_account__smart_account"
FAMILY = ("product__family", titled("product family"))
LICENSE_KIND = ("product__license_kind", titled("license kind"))
ACCOUNT_KIND = ("virtual_account__smart_account__kind", titled("account kind"))


class ProductAdminForm(forms.ModelForm):
    """Validated by the catalogue service's rules (the same as the portal and the API): errors
    show on the form, nothing is saved."""

    class Meta:
        model = Product
        fields = "__all__"

    def clean(self):
        from licensing import services

        cleaned_data = super().clean()
        keys = ("sku", "name", "family", "license_kind", "term_months")
        if any(key in self.errors for key in keys) or not all(key in cleaned_data for key in keys):
            return cleaned_data  # a field already failed (or is not on the form): shown as is
        try:
            valid = services.product_validate(
                **{key: cleaned_data[key] for key in keys}, instance=self.instance if self.instance.pk else None
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict)
        cleaned_data.update(valid)  # e.g. the SKU, stripped and upper-case
        return cleaned_data


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Products are added and changed through the catalogue services."""

    form = ProductAdminForm
    list_display = ("sku", "name", "family", "license_kind", "term_months", "sa_required", "is_active")
    list_filter = ("family", "license_kind", "sa_required", "is_active")
    search_fields = ("sku", "name", "family")
    ordering = ("family", "sku")

    def has_delete_permission(self, request, obj=None) -> bool:
        # No service deletes a product (its history, snapshots and lines name it): retire it
        # with "is active" instead.
        return False

    def save_model(self, request, obj, form, change):
        from licensing import services

        fields = {key: form.cleaned_data[key] for key in services.PRODUCT_UPDATABLE if key in form.cleaned_data}
        if change:
            product = services.product_update(product=obj, actor=request.user, **fields)
        else:
            product = services.product_create(actor=request.user, **fields)
        obj.pk, obj._state = product.pk, product._state


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = (
        "product", "quantity", "virtual_account", "starts_on", "ends_on", "source", "source_ref", "created_at"
    )
    list_filter = ("source", FAMILY, LICENSE_KIND, ACCOUNT_KIND, "ends_on")
    list_select_related = ("product", VA)
    search_fields = ("product__sku", "source_ref", "virtual_account__name", "virtual_account__smart_account__name")
    date_hierarchy = "created_at"


class DeviceUsageInline(ReadOnlyTabularInline):
    model = DeviceUsage
    fields = ("product", "count", "updated_at")
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "device")


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ("serial_number", "hostname", "product_id", "virtual_account", "registered_at", "last_contact_at")
    list_filter = (ACCOUNT_KIND, "registered_at", "last_contact_at")
    list_select_related = (VA,)
    search_fields = ("serial_number", "hostname", "product_id", "virtual_account__smart_account__name")
    exclude = ("secret_hash",)
    inlines = (DeviceUsageInline,)
    date_hierarchy = "registered_at"
    show_full_result_count = False


@admin.register(RegistrationToken)
class RegistrationTokenAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "description", "virtual_account", "created_by", "created_at", "expires_at",
                    "use_count", "max_uses", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "expires_at", "created_at")
    list_select_related = (VA, "created_by")
    search_fields = ("prefix", "description", "virtual_account__smart_account__name")
    exclude = ("token_hash",)
    date_hierarchy = "created_at"
    actions = ("revoke_selected",)

    @admin.action(description="Revoke selected tokens")
    def revoke_selected(self, request, queryset):
        from licensing import services

        run_service_action(
            self, request, queryset, lambda t: services.token_revoke(token=t, actor=request.user), "revoked"
        )


@admin.register(ClassicLicense)
class ClassicLicenseAdmin(ReadOnlyAdmin):
    list_display = (
        "pak", "product", "quantity", "smart_account", "device_serial", "registered_at", "converted_at", "created_at"
    )
    list_filter = (
        ("registered_at", admin.EmptyFieldListFilter), ("converted_at", admin.EmptyFieldListFilter), FAMILY
    )
    list_select_related = ("product", "smart_account")
    search_fields = ("pak", "device_serial", "source_ref", "product__sku", "smart_account__name")
    date_hierarchy = "created_at"


@admin.register(UsageSnapshot)
class UsageSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("day", "product", "virtual_account", "purchased", "in_use", "shortage")
    list_filter = ("day", FAMILY)
    list_select_related = ("product", VA)
    search_fields = ("product__sku", "virtual_account__name", "virtual_account__smart_account__name")
    date_hierarchy = "day"
    show_full_result_count = False


@admin.register(Shortage)
class ShortageAdmin(ReadOnlyAdmin):
    list_display = ("product", "virtual_account", "quantity", "started_at", "cleared_at")
    list_filter = (("cleared_at", admin.EmptyFieldListFilter), FAMILY, "started_at")
    list_select_related = ("product", VA)
    search_fields = ("product__sku", "virtual_account__name", "virtual_account__smart_account__name")
    date_hierarchy = "started_at"


@admin.register(AlertPreferences)
class AlertPreferencesAdmin(ReadOnlyAdmin):
    """Customers set these themselves (SA admins, on the Alerts page); staff look only."""

    list_display = ("smart_account", "insufficient_licenses", "silent_devices", "expiring_subscriptions",
                    "holding_lines_waiting", "daily_summary", "updated_at")
    list_select_related = ("smart_account",)
    search_fields = ("smart_account__name", "smart_account__domain")
