"""Shapes of the licensing API: what comes in (checked for types only; the rules are the
services') and what goes out."""
from rest_framework import serializers

from accounts.validators import validate_day_in_range

from licensing.models import (
    AlertPreferences,
    ClassicLicense,
    Device,
    DeviceStatus,
    Entitlement,
    LicenseKind,
    Product,
    RegistrationToken,
    TokenStatus,
)
from lib.api import BoundedListField
from licensing.services import MAX_COUNT, MAX_REPORT_ITEMS, MAX_TRANSFER_LINES, TOKEN_DEFAULT_DAYS

# The most lines one transfer moves (license_transfer merges and checks each: bounded work).
MAX_EXPIRY_WINDOWS = 5  # licensing.services.alerts: 1 to 5 windows
MAX_EXTRA_RECIPIENTS = 20  # licensing.services.alerts: at most 20 extra recipients

# --- the catalogue ----------------------------------------------------------------------------


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name", "family", "license_kind", "term_months", "sa_required", "is_active"]


class ProductCreateSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=60)
    name = serializers.CharField(max_length=200)
    family = serializers.CharField(max_length=100)
    license_kind = serializers.ChoiceField(choices=LicenseKind.choices, default=LicenseKind.SMART)
    term_months = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Subscription length; empty for a perpetual license."
    )
    sa_required = serializers.BooleanField(required=False, default=False)


# --- pools ------------------------------------------------------------------------------------


class LicenseLineSerializer(serializers.Serializer):
    """One product's position in a pool (a VA, its subtree, or the account)."""

    product = serializers.IntegerField(source="product.pk")
    sku = serializers.CharField()
    name = serializers.CharField(source="product.name")
    family = serializers.CharField(source="product.family")
    purchased = serializers.IntegerField()
    in_use = serializers.IntegerField()
    available = serializers.IntegerField()
    shortage = serializers.IntegerField()
    status = serializers.CharField(help_text="in_compliance | shortage")


class LicenseFilterSerializer(serializers.Serializer):
    subtree = serializers.BooleanField(required=False, default=False, help_text="VA endpoint: include its subtree.")
    family = serializers.CharField(required=False, help_text="Only this product family (case-insensitive).")
    status = serializers.ChoiceField(choices=["in_compliance", "shortage"], required=False)


class EntitlementSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")

    class Meta:
        model = Entitlement
        fields = ["id", "sku", "quantity", "virtual_account", "starts_on", "ends_on", "source", "source_ref"]


class TransferLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=60)
    quantity = serializers.IntegerField()


class LicenseTransferSerializer(serializers.Serializer):
    from_virtual_account = serializers.IntegerField()
    to_virtual_account = serializers.IntegerField()
    lines = TransferLineSerializer(many=True, allow_empty=True, max_length=MAX_TRANSFER_LINES)


class LicenseTransferResultSerializer(serializers.Serializer):
    from_virtual_account = serializers.IntegerField()
    to_virtual_account = serializers.IntegerField()
    lines = TransferLineSerializer(many=True)
    entitlements = EntitlementSerializer(many=True, help_text="The target's new entitlements (dates kept).")


# --- tokens -------------------------------------------------------------------------------------


class TokenCreateSerializer(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    expires_in_days = serializers.IntegerField(required=False, default=TOKEN_DEFAULT_DAYS, help_text="1 to 365.")
    max_uses = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Empty: unlimited.")


class TokenSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    created_by = serializers.EmailField(source="created_by.email", allow_null=True, default=None)

    class Meta:
        model = RegistrationToken
        fields = ["id", "prefix", "description", "virtual_account", "created_by", "created_at", "expires_at",
                  "max_uses", "use_count", "revoked_at", "status"]

    def get_status(self, token: RegistrationToken) -> str:
        """active | expired | used_up | revoked"""
        return getattr(token, "current_status", None) or token.status


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The token itself: shown this once only.")

    class Meta(TokenSerializer.Meta):
        fields = ["id", "token", *TokenSerializer.Meta.fields[1:]]


# --- devices ------------------------------------------------------------------------------------


class DeviceRegisterSerializer(serializers.Serializer):
    # One of the two is the credential (the service says which is missing or too many).
    token = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="A registration token of the Virtual Account: each registration, a re-registration too, uses it once.",
    )
    device_secret = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="Instead of `token`, to register again: the device's current secret (with its serial number). "
                  "No token use is counted; the secret is rotated all the same.",
    )
    serial_number = serializers.CharField(max_length=100)
    product_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    hostname = serializers.CharField(max_length=253, required=False, allow_blank=True, default="")


class DeviceRegisteredSerializer(serializers.Serializer):
    device_id = serializers.IntegerField()
    device_secret = serializers.CharField(help_text="Shown this once; sent as `Authorization: Bearer` on usage reports.")
    virtual_account = serializers.IntegerField()
    virtual_account_name = serializers.CharField()
    created = serializers.BooleanField(help_text="False: the serial was registered already (same device, new secret).")


class UsageItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=60)
    count = serializers.IntegerField(min_value=0, max_value=MAX_COUNT)


class UsageReportSerializer(serializers.Serializer):
    usage = UsageItemSerializer(many=True, allow_empty=True, max_length=MAX_REPORT_ITEMS,
                                help_text="Absolute counts; they replace the last report.")


class UsageStatusSerializer(serializers.Serializer):
    sku = serializers.CharField()
    status = serializers.CharField(help_text="in_compliance | shortage: the product's state in the device's pool.")


class UsageResultSerializer(serializers.Serializer):
    licenses = UsageStatusSerializer(many=True)


class DeviceUsageSerializer(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    count = serializers.IntegerField()


class DeviceSerializer(serializers.ModelSerializer):
    virtual_account_name = serializers.CharField(source="virtual_account.name")
    status = serializers.CharField(help_text="reporting | silent (no report for 30 days)")
    usage = DeviceUsageSerializer(many=True)

    class Meta:
        model = Device
        fields = ["id", "serial_number", "product_id", "hostname", "virtual_account", "virtual_account_name",
                  "registered_at", "last_contact_at", "status", "usage"]


class DeviceFilterSerializer(serializers.Serializer):
    subtree = serializers.BooleanField(required=False, default=False, help_text="Include the VA's subtree.")
    status = serializers.ChoiceField(choices=DeviceStatus.choices, required=False)
    search = serializers.CharField(required=False, help_text="Serial number, hostname or product id contains.")
    sku = serializers.CharField(required=False, help_text="Only devices using this product.")


class DeviceMoveSerializer(serializers.Serializer):
    virtual_account = serializers.IntegerField(help_text="Move the device (and its usage) to this Virtual Account.")


# --- classic licenses -------------------------------------------------------------------------


class ClassicLicenseSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")
    status = serializers.SerializerMethodField()

    class Meta:
        model = ClassicLicense
        fields = ["id", "pak", "sku", "name", "quantity", "source_ref", "status", "device_serial", "license_key",
                  "registered_at", "converted_at", "converted_to", "created_at"]

    def get_status(self, pak: ClassicLicense) -> str:
        if pak.registered_at:
            return "registered"
        return "converted" if pak.converted_at else "available"


class ClassicLicenseFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["available", "registered", "converted"], required=False)


class ClassicRegisterSerializer(serializers.Serializer):
    serial_number = serializers.CharField(max_length=100)


class ClassicRegisteredSerializer(serializers.Serializer):
    pak = serializers.CharField()
    serial_number = serializers.CharField()
    license_key = serializers.CharField(help_text="Node-locked, signed by the portal; check it at /classic-licenses/verify/.")


class ClassicConvertSerializer(serializers.Serializer):
    virtual_account = serializers.IntegerField()


class LicenseKeyVerifySerializer(serializers.Serializer):
    license_key = serializers.CharField()
    serial_number = serializers.CharField(required=False, help_text="Also check that the key is for this device.")


class LicenseKeyContentSerializer(serializers.Serializer):
    pak = serializers.CharField()
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    serial_number = serializers.CharField()
    account = serializers.IntegerField()
    issued = serializers.DateField()


# --- history, reconciliation ------------------------------------------------------------


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField(required=False, validators=[validate_day_in_range],
                                  help_text="Default: 30 days before `end`.")
    end = serializers.DateField(required=False, validators=[validate_day_in_range], help_text="Default: today.")
    virtual_account = serializers.IntegerField(required=False, help_text="Only that Virtual Account and its subtree.")

    def validate(self, data: dict) -> dict:
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise serializers.ValidationError({"end": "The end comes on or after the start."})
        return data


class ReconciliationLineSerializer(serializers.Serializer):
    product = serializers.IntegerField(source="product.pk")
    sku = serializers.CharField()
    name = serializers.CharField(source="product.name")
    family = serializers.CharField(source="product.family")
    peak_shortage = serializers.IntegerField(help_text="The largest daily shortage in the period (per-VA pools added up).")
    peak_day = serializers.DateField(allow_null=True)
    days_in_shortage = serializers.IntegerField()
    peak_in_use = serializers.IntegerField()
    purchased_at_peak = serializers.IntegerField()
    days_reported = serializers.IntegerField(help_text="Days of the period with a snapshot of this product.")


class UsagePointSerializer(serializers.Serializer):
    day = serializers.DateField()
    purchased = serializers.IntegerField()
    in_use = serializers.IntegerField()
    shortage = serializers.IntegerField()


class UsageSeriesSerializer(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")
    points = serializers.SerializerMethodField()

    def get_points(self, series) -> list[dict]:
        return [
            {"day": day, "purchased": p, "in_use": u, "shortage": s}
            for day, p, u, s in zip(series.days, series.purchased, series.in_use, series.shortage)
        ]


# --- alerts -------------------------------------------------------------------------------------


class AlertPreferencesSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertPreferences
        fields = ["insufficient_licenses", "silent_devices", "expiring_subscriptions", "expiry_windows",
                  "holding_lines_waiting", "daily_summary", "extra_recipients"]


class AlertPreferencesUpdateSerializer(serializers.Serializer):
    insufficient_licenses = serializers.BooleanField(required=False)
    silent_devices = serializers.BooleanField(required=False)
    expiring_subscriptions = serializers.BooleanField(required=False)
    expiry_windows = BoundedListField(child=serializers.IntegerField(), required=False, max_length=MAX_EXPIRY_WINDOWS)
    holding_lines_waiting = serializers.BooleanField(required=False)
    daily_summary = serializers.BooleanField(required=False)
    extra_recipients = BoundedListField(child=serializers.CharField(), required=False, max_length=MAX_EXTRA_RECIPIENTS)


TOKEN_STATUSES = TokenStatus.choices


class TokenFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TOKEN_STATUSES, required=False)
