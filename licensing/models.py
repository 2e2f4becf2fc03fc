"""What is owned and what is used: the catalogue, entitlements (pools), devices and
their usage, registration tokens, classic (PAK) licenses and daily usage snapshots."""
import datetime
import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import SmartAccount, VirtualAccount


class LicenseKind(models.TextChoices):
    SMART = "smart", "Smart"
    CLASSIC = "classic", "Classic (PAK)"


class Product(models.Model):
    """A catalogue entry, managed by staff."""

    sku = models.CharField("SKU", max_length=60, unique=True)
    name = models.CharField(max_length=200)
    family = models.CharField(max_length=100, db_index=True)
    license_kind = models.CharField(max_length=10, choices=LicenseKind.choices, default=LicenseKind.SMART)
    term_months = models.PositiveIntegerField(
        null=True, blank=True, help_text="Subscription length in months; empty for a perpetual license."
    )
    sa_required = models.BooleanField(
        "Smart Account required", default=False, help_text="Order lines must be assigned to an account."
    )
    is_active = models.BooleanField(default=True, help_text="Inactive products cannot be ordered.")
    smart_equivalent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        limit_choices_to={"license_kind": LicenseKind.SMART},
        help_text="Classic products: the smart product a PAK of this product converts to (empty: not convertible).",
    )

    class Meta:
        ordering = ["family", "sku"]
        constraints = [
            models.CheckConstraint(condition=Q(term_months__isnull=True) | Q(term_months__gt=0), name="term_months_positive")
        ]

    def __str__(self) -> str:
        return f"{self.sku} — {self.name}"

    @property
    def is_subscription(self) -> bool:
        return self.term_months is not None


class EntitlementSource(models.TextChoices):
    ORDER = "order", "Order"
    TRANSFER = "transfer", "Transfer"
    CONVERSION = "conversion", "PAK conversion"
    MANUAL = "manual", "Manual (staff)"


class Entitlement(models.Model):
    """A quantity of one product in one Virtual Account: part of that VA's pool while active."""

    virtual_account = models.ForeignKey(VirtualAccount, on_delete=models.RESTRICT, related_name="entitlements")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="entitlements")
    quantity = models.PositiveIntegerField()
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True, help_text="Empty for perpetual licenses.")
    source = models.CharField(max_length=20, choices=EntitlementSource.choices)
    # Where it came from, in words (e.g. "SO-100012 line 2"); kept across transfers.
    source_ref = models.CharField(max_length=100, blank=True)
    transferred_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["virtual_account", "product", "ends_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(starts_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="entitlement_ends_after_start",
            )
        ]
        indexes = [models.Index(fields=["virtual_account", "product"])]

    def __str__(self) -> str:
        until = f" until {self.ends_on}" if self.ends_on else ""
        return f"{self.quantity} × {self.product.sku} in {self.virtual_account.name}{until}"


class TokenStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    USED_UP = "used_up", "Used up"
    REVOKED = "revoked", "Revoked"


class RegistrationToken(models.Model):
    """A secret a device presents to register into this Virtual Account. Only its hash is kept."""

    virtual_account = models.ForeignKey(VirtualAccount, on_delete=models.CASCADE, related_name="tokens")
    description = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Token {self.prefix}… in {self.virtual_account.name}"

    def status_at(self, when: datetime.datetime) -> str:
        if self.revoked_at is not None:
            return TokenStatus.REVOKED
        if self.expires_at <= when:
            return TokenStatus.EXPIRED
        if self.max_uses is not None and self.use_count >= self.max_uses:
            return TokenStatus.USED_UP
        return TokenStatus.ACTIVE

    @property
    def status(self) -> str:
        """active, expired, used up or revoked (revoked wins, then expired)."""
        return self.status_at(timezone.now())

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


class DeviceStatus(models.TextChoices):
    REPORTING = "reporting", "Reporting"
    SILENT = "silent", "Silent (30+ days)"


class Device(models.Model):
    """A product instance registered into one Virtual Account; consumes from its pool."""

    SILENT_AFTER = datetime.timedelta(days=30)

    virtual_account = models.ForeignKey(VirtualAccount, on_delete=models.RESTRICT, related_name="devices")
    serial_number = models.CharField(max_length=100)
    product_id = models.CharField("product ID", max_length=100, blank=True)
    hostname = models.CharField(max_length=253, blank=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    registered_with = models.ForeignKey(RegistrationToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices")
    registered_at = models.DateTimeField(auto_now_add=True)
    last_contact_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["virtual_account", "serial_number"]
        constraints = [
            models.UniqueConstraint(fields=["virtual_account", "serial_number"], name="unique_device_serial_per_virtual_account")
        ]

    def __str__(self) -> str:
        return f"{self.hostname or self.serial_number} ({self.product_id})" if self.product_id else self.serial_number

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def status(self) -> str:
        """reporting, or silent when it has not reported for 30 days (`selectors.devices`
        annotates `is_silent`; otherwise it is worked out here)."""
        silent = getattr(self, "is_silent", None)
        if silent is None:
            silent = self.last_contact_at is None or self.last_contact_at < timezone.now() - self.SILENT_AFTER
        return DeviceStatus.SILENT if silent else DeviceStatus.REPORTING


class DeviceUsage(models.Model):
    """A device's current usage of one product (absolute; the latest report wins)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="usage")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="usage")
    count = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "product"], name="unique_usage_per_device_product")]
        indexes = [models.Index(fields=["product", "device"])]

    def __str__(self) -> str:
        return f"{self.device} uses {self.count} × {self.product.sku}"


class ClassicLicense(models.Model):
    """A PAK in an account's License Registration part; registered to one device serial."""

    account_wide = True  # the account's as a whole: SA roles only (accounts.permissions)

    smart_account = models.ForeignKey(SmartAccount, on_delete=models.RESTRICT, related_name="classic_licenses")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="classic_licenses")
    pak = models.CharField("PAK", max_length=40, unique=True)
    quantity = models.PositiveIntegerField()
    source_ref = models.CharField(max_length=100, blank=True)
    device_serial = models.CharField(max_length=100, blank=True)
    license_key = models.TextField(blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_to = models.ForeignKey(VirtualAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "classic license (PAK)"

    def __str__(self) -> str:
        return f"PAK {self.pak} ({self.quantity} × {self.product.sku})"


class Shortage(models.Model):
    """A period in which a Virtual Account's devices use more of a product than its pool holds
    (out of compliance). Open while `cleared_at` is empty; at most one open per VA and product,
    so that crossing into shortage is announced once however many reports race."""

    virtual_account = models.ForeignKey(VirtualAccount, on_delete=models.CASCADE, related_name="shortages")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    quantity = models.PositiveIntegerField(help_text="The shortage when it started.")

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["virtual_account", "product"], condition=Q(cleared_at__isnull=True),
                name="one_open_shortage_per_va_product",
            )
        ]

    def __str__(self) -> str:
        state = f"cleared {self.cleared_at:%Y-%m-%d}" if self.cleared_at else "open"
        return f"Shortage of {self.product.sku} in {self.virtual_account.name} since {self.started_at:%Y-%m-%d} ({state})"


class UsageSnapshot(models.Model):
    """One day's purchased and in-use counts per product per Virtual Account (charts, reconciliation)."""

    virtual_account = models.ForeignKey(VirtualAccount, on_delete=models.CASCADE, related_name="snapshots")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    purchased = models.PositiveIntegerField()
    in_use = models.PositiveIntegerField()

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["virtual_account", "product", "day"], name="one_snapshot_per_va_product_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.product.sku} in {self.virtual_account.name}: {self.in_use}/{self.purchased}"

    @property
    def shortage(self) -> int:
        return max(self.in_use - self.purchased, 0)


def default_expiry_windows() -> list[int]:
    """Days before a subscription ends at which its account is reminded, unless the account
    chose its own windows (DESIGN.md §4 flow 7)."""
    return [90, 30, 7]


class AlertPreferences(models.Model):
    """Which alert emails a Smart Account's admins get, and who else gets them (extra
    recipients within the account's domain). An account without a row has the defaults."""

    account_wide = True  # an account setting: SA roles only (accounts.permissions)

    smart_account = models.OneToOneField(SmartAccount, on_delete=models.CASCADE, related_name="alert_preferences")
    insufficient_licenses = models.BooleanField(default=True, help_text="A product crosses into or out of shortage.")
    silent_devices = models.BooleanField(default=True, help_text="A device has not reported for 30 days.")
    expiring_subscriptions = models.BooleanField(default=True)
    expiry_windows = models.JSONField(
        default=default_expiry_windows, help_text="Days before a subscription ends at which to remind; default [90, 30, 7]."
    )
    holding_lines_waiting = models.BooleanField(default=True, help_text="Holding accounts: lines waiting to be moved.")
    daily_summary = models.BooleanField(default=False, help_text="A daily email: shortages, silent devices, renewals.")
    extra_recipients = models.JSONField(default=list, blank=True, help_text="Email addresses within the account's domain.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name_plural = "alert preferences"

    def __str__(self) -> str:
        return f"Alert preferences of {self.smart_account.name}"
