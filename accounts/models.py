"""Who owns what and who may do what: users, partners, Smart and Virtual Accounts,
roles (guardian object permissions), invitations; and, re-exported from models_activity, the two
things every app writes to: the event log and the notification outbox."""
import hashlib
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from guardian.models import UserObjectPermissionBase
from mptt.models import MPTTModel, TreeForeignKey


def normalise_domain(value: str) -> str:
    """Domains are stored lower-case, without surrounding dots or spaces."""
    return (value or "").strip().strip(".").lower()


def email_domain(email: str) -> str:
    return normalise_domain(email.rpartition("@")[2])


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person. The email address is the login."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Set when the user closed their account.")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email.partition("@")[0]

    @property
    def email_domain(self) -> str:
        return email_domain(self.email)


class ApiKey(models.Model):
    """A personal API key; only its SHA-256 hash is stored, the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="The first characters of the key, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until revoked.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Why it stopped working, shown on the profile: revoked by hand, or with the password or MFA.
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


class PartnerKind(models.TextChoices):
    RESELLER = "reseller", "Reseller"
    DISTRIBUTOR = "distributor", "Distributor"


class Partner(models.Model):
    """A partner organisation. A distributor has linked resellers (2-tier)."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=PartnerKind.choices, default=PartnerKind.RESELLER)
    linked_resellers = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="distributors",
        help_text="Resellers this distributor sells through (2-tier).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # partner_create checks names case-blind; this refuses the twin of a race the same way.
            models.UniqueConstraint(Lower("name"), name="unique_partner_name_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display().lower()})"


class PartnerMembership(models.Model):
    """A user belongs to at most one partner; partner admins manage its members."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_membership")
    is_admin = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner", "user__email"]

    def __str__(self) -> str:
        return f"{self.user.email} @ {self.partner.name}{' (admin)' if self.is_admin else ''}"


class SmartAccountKind(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    HOLDING = "holding", "Partner Holding Account"


class SmartAccountStatus(models.TextChoices):
    NEW = "new", "New (awaiting activation)"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class SmartAccount(models.Model):
    """A company's account (customer) or a partner's parking place for orders (holding)."""

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True, help_text="Account Domain Identifier, e.g. acme.com")
    kind = models.CharField(max_length=20, choices=SmartAccountKind.choices, default=SmartAccountKind.CUSTOMER)
    status = models.CharField(max_length=20, choices=SmartAccountStatus.choices, default=SmartAccountStatus.ACTIVE)
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="smart_accounts",
        help_text="Holding accounts: the owning partner. Customer accounts: the partner that requested it, if any.",
    )
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The customer contact who activates an account requested on their behalf.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_virtual_account = models.ForeignKey(
        "VirtualAccount", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where order lines without a Virtual Account land (the root DEFAULT unless changed).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("sa_admin", "Smart Account admin"),
            ("sa_user", "Smart Account user"),
            ("sa_viewer", "Smart Account viewer"),
        ]
        constraints = [
            models.UniqueConstraint(
                "domain", Lower("name"), condition=Q(kind="customer"), name="unique_customer_account_name_per_domain"
            ),
            models.UniqueConstraint(
                "partner", Lower("name"), condition=Q(kind="holding"), name="unique_holding_account_name_per_partner"
            ),
            models.CheckConstraint(
                condition=Q(kind="customer") | Q(partner__isnull=False), name="holding_account_has_partner"
            ),
        ]
        indexes = [models.Index(fields=["domain"])]

    def __str__(self) -> str:
        if self.kind == SmartAccountKind.HOLDING:
            return f"{self.name} (holding account)"
        return f"{self.name} ({self.domain})"

    @property
    def is_holding(self) -> bool:
        return self.kind == SmartAccountKind.HOLDING

    @property
    def is_active(self) -> bool:
        return self.status == SmartAccountStatus.ACTIVE

    def save(self, *args, **kwargs):
        self.domain = normalise_domain(self.domain)
        super().save(*args, **kwargs)


class VirtualAccount(MPTTModel):
    """A node of a Smart Account's tree; the root is DEFAULT. Licenses and devices live here."""

    ROOT_NAME = "DEFAULT"

    smart_account = models.ForeignKey(SmartAccount, on_delete=models.CASCADE, related_name="virtual_accounts")
    parent = TreeForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class MPTTMeta:
        order_insertion_by = ["name"]

    class Meta:
        permissions = [
            ("va_admin", "Virtual Account admin"),
            ("va_user", "Virtual Account user"),
            ("va_viewer", "Virtual Account viewer"),
        ]
        constraints = [
            models.UniqueConstraint("parent", Lower("name"), name="unique_virtual_account_name_among_siblings"),
            models.UniqueConstraint(
                fields=["smart_account"], condition=Q(parent__isnull=True), name="one_root_virtual_account_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.smart_account.name} / {self.name}"


class Role(models.TextChoices):
    SA_ADMIN = "sa_admin", "Smart Account admin"
    SA_USER = "sa_user", "Smart Account user"
    SA_VIEWER = "sa_viewer", "Smart Account viewer"
    VA_ADMIN = "va_admin", "Virtual Account admin"
    VA_USER = "va_user", "Virtual Account user"
    VA_VIEWER = "va_viewer", "Virtual Account viewer"


SA_ROLES = (Role.SA_ADMIN, Role.SA_USER, Role.SA_VIEWER)
VA_ROLES = (Role.VA_ADMIN, Role.VA_USER, Role.VA_VIEWER)


class RoleGrant(models.Model):
    """Fields every role row carries besides guardian's (user, permission, object)."""

    # UUIDs so that one /roles/{id}/ address space spans both role tables.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def role(self) -> str:
        return self.permission.codename


class SmartAccountRole(RoleGrant, UserObjectPermissionBase):
    """An SA role: a guardian object permission (sa_admin/sa_user/sa_viewer) on a Smart Account."""

    content_object = models.ForeignKey(SmartAccount, on_delete=models.CASCADE, related_name="role_rows")

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "Smart Account role"

    def __str__(self) -> str:
        return f"{self.user.email}: {self.permission.codename} on {self.content_object.name}"


class VirtualAccountRole(RoleGrant, UserObjectPermissionBase):
    """A VA role: a guardian object permission (va_admin/va_user/va_viewer) on a Virtual Account subtree."""

    content_object = models.ForeignKey(VirtualAccount, on_delete=models.CASCADE, related_name="role_rows")

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "Virtual Account role"

    def __str__(self) -> str:
        return f"{self.user.email}: {self.permission.codename} on {self.content_object}"


class HoldingMembership(models.Model):
    """A partner user who joined a holding account; `notify` = wants its order emails."""

    smart_account = models.ForeignKey(SmartAccount, on_delete=models.CASCADE, related_name="holding_memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="holding_memberships")
    notify = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["smart_account", "user"], name="unique_holding_member")]

    def __str__(self) -> str:
        return f"{self.user.email} in {self.smart_account.name}"


class AccessRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"


class AccessRequest(models.Model):
    """A user asks for a role in an existing Smart Account; its admins decide."""

    smart_account = models.ForeignKey(SmartAccount, on_delete=models.CASCADE, related_name="access_requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests")
    message = models.TextField(blank=True)
    # What the requester asks for, in their own words ("Finance, EMEA" or "whole account"): a
    # requester without a role never sees the tree, so the admin picks the real scope on approval.
    scope_wanted = models.CharField(max_length=200, blank=True)
    requested_virtual_accounts = models.ManyToManyField(
        VirtualAccount, blank=True, related_name="+", help_text="Empty means the whole account."
    )
    status = models.CharField(max_length=20, choices=AccessRequestStatus.choices, default=AccessRequestStatus.PENDING)
    granted_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["smart_account", "requester"], condition=Q(status="pending"), name="one_pending_request_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.requester.email} → {self.smart_account.name} ({self.status})"


class SupportCaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    WAITING_ON_CUSTOMER = "waiting", "Waiting on customer"
    RESOLVED = "resolved", "Resolved"


class SupportCase(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_cases")
    smart_account = models.ForeignKey(SmartAccount, null=True, blank=True, on_delete=models.SET_NULL)
    order_number = models.CharField(max_length=40, blank=True)
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=SupportCaseStatus.choices, default=SupportCaseStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Case #{self.pk}: {self.subject}"


class SupportMessage(models.Model):
    case = models.ForeignKey(SupportCase, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_staff = models.BooleanField(default=False)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Message on case #{self.case_id} by {'staff' if self.from_staff else 'user'}"


class InvitationPurpose(models.TextChoices):
    ACTIVATE_ACCOUNT = "activate_account", "Activate a Smart Account"
    ASSIGN_ORDER_LINE = "assign_order_line", "Assign a Smart Account to an order line"
    JOIN_PARTNER = "join_partner", "Join a partner organisation"


class Invitation(models.Model):
    """A single-use, expiring link for a customer contact; the URL carries a signed key."""

    key = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=30, choices=InvitationPurpose.choices)
    email = models.EmailField()
    smart_account = models.ForeignKey(SmartAccount, null=True, blank=True, on_delete=models.CASCADE)
    object_key = models.CharField(max_length=100, blank=True, help_text="e.g. orders.orderline:12")
    # Partner membership invitations: which partner, and whether the member would be its admin.
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations")
    partner_admin = models.BooleanField(default=False, db_default=False)  # bench_seed COPYs rows
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.email}"


# Defined in their own module to keep this one short; imported here so that Django registers
# them with this app and callers keep writing `accounts.models.Event`.
from .models_activity import Event, EventAction, Notification, NotificationStatus  # noqa: E402, F401
