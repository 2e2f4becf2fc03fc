"""factory-boy factories for every model of accounts, licensing and orders.

They write rows directly (tests of a service call the service, not a factory). Defaults make a
consistent little world: a Smart Account comes with its root Virtual Account `DEFAULT`, a Virtual
Account hangs below a parent (a fresh account's root unless given), things that live in a
Virtual Account default to a fresh account's root. Secrets that only exist hashed in the
database are kept on the built object: `DeviceFactory().secret`, `RegistrationTokenFactory().token`,
`ApiKeyFactory().key`.
"""
from __future__ import annotations

import datetime
import secrets

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import (
    AccessRequest,
    ApiKey,
    Event,
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    Notification,
    Partner,
    PartnerKind,
    PartnerMembership,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    SmartAccountStatus,
    SupportCase,
    SupportMessage,
    User,
    VirtualAccount,
    VirtualAccountRole,
)
from licensing.models import (
    AlertPreferences,
    ClassicLicense,
    Device,
    DeviceUsage,
    Entitlement,
    EntitlementSource,
    LicenseKind,
    Product,
    RegistrationToken,
    Shortage,
    UsageSnapshot,
)
from orders.models import Order, OrderLine, OrderLineState

DEFAULT_PASSWORD = "correct horse battery staple"


class SecretKeepingFactory(DjangoModelFactory):
    """Generates a raw secret (`_secret_field`), stores only its hash, keeps the raw value on the object."""

    _secret_field = ""

    class Meta:
        abstract = True

    @classmethod
    def _keep_secret(cls, model_class, kwargs: dict, make) -> object:
        raw = kwargs.pop(cls._secret_field)
        obj = make(model_class, **kwargs)
        setattr(obj, cls._secret_field, raw)
        return obj

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return cls._keep_secret(model_class, kwargs, lambda m, **kw: super(SecretKeepingFactory, cls)._create(m, *args, **kw))

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        return cls._keep_secret(model_class, kwargs, lambda m, **kw: super(SecretKeepingFactory, cls)._build(m, *args, **kw))


def _root_of_new_account():
    return SmartAccountFactory().default_virtual_account


# --- accounts ---------------------------------------------------------------------------------

class UserFactory(DjangoModelFactory):
    """A registered user whose email is verified (allauth EmailAddress); `unverified=True` for one who is not."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        unverified = factory.Trait(email_address__verified=False)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    password = factory.django.Password(DEFAULT_PASSWORD)
    is_active = True

    @factory.post_generation
    def email_address(obj, create, extracted, verified=True, **kwargs):
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=verified, primary=True)

    @factory.post_generation
    def powers(obj, create, extracted, **kwargs):
        """`powers="all"` or a list of `Power`s: staff holding those vendor powers' permissions
        (accounts.permissions_vendor), as a member of the admin's groups would."""
        if not create or not extracted:
            return
        from accounts.permissions import POWER_GROUP_PERMISSIONS, Power

        for power in (list(Power) if extracted == "all" else extracted):
            for label in POWER_GROUP_PERMISSIONS[power]:
                app_label, codename = label.split(".")
                obj.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


class ApiKeyFactory(SecretKeepingFactory):
    _secret_field = "key"

    class Meta:
        model = ApiKey

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"API key {n}")
    key = factory.LazyFunction(lambda: f"slp_{secrets.token_urlsafe(32)}")
    prefix = factory.LazyAttribute(lambda o: o.key[:12])
    key_hash = factory.LazyAttribute(lambda o: ApiKey.hash(o.key))


class PartnerFactory(DjangoModelFactory):
    class Meta:
        model = Partner

    class Params:
        distributor = factory.Trait(kind=PartnerKind.DISTRIBUTOR)

    name = factory.Sequence(lambda n: f"Partner {n} Networks")
    kind = PartnerKind.RESELLER


class PartnerMembershipFactory(DjangoModelFactory):
    class Meta:
        model = PartnerMembership

    partner = factory.SubFactory(PartnerFactory)
    user = factory.SubFactory(UserFactory)
    is_admin = False


class SmartAccountFactory(DjangoModelFactory):
    """An active customer Smart Account with its root Virtual Account DEFAULT (normally made by
    `accounts.services.smart_account_create`)."""

    class Meta:
        model = SmartAccount
        skip_postgeneration_save = True

    class Params:
        new = factory.Trait(status=SmartAccountStatus.NEW, activated_at=None)

    name = factory.Sequence(lambda n: f"Customer {n} Inc")
    domain = factory.Sequence(lambda n: f"customer{n}.example")
    kind = SmartAccountKind.CUSTOMER
    status = SmartAccountStatus.ACTIVE
    activated_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def root_virtual_account(obj, create, extracted, **kwargs):
        if not create:
            return
        obj.default_virtual_account = VirtualAccount.objects.create(smart_account=obj, name=VirtualAccount.ROOT_NAME)
        obj.save(update_fields=["default_virtual_account"])


class HoldingAccountFactory(SmartAccountFactory):
    """A Partner Holding Account (its licenses are never consumed)."""

    name = factory.Sequence(lambda n: f"Holding {n}")
    domain = ""
    kind = SmartAccountKind.HOLDING
    partner = factory.SubFactory(PartnerFactory)


class VirtualAccountFactory(DjangoModelFactory):
    """A Virtual Account below `parent` (default: the root of a fresh Smart Account)."""

    class Meta:
        model = VirtualAccount

    parent = factory.LazyFunction(_root_of_new_account)
    smart_account = factory.SelfAttribute("parent.smart_account")
    name = factory.Sequence(lambda n: f"VA {n}")

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        # A tree never spans accounts: `smart_account=` alone would hang the node under another account's root.
        if kwargs["parent"].smart_account_id != kwargs["smart_account"].pk:
            raise ValueError("VirtualAccountFactory: pass parent= (e.g. account.default_virtual_account), not smart_account=")
        return kwargs


def _permission(model, codename: str) -> Permission:
    return Permission.objects.get(content_type=ContentType.objects.get_for_model(model), codename=codename)


class SmartAccountRoleFactory(DjangoModelFactory):
    """An SA role row (guardian object permission); `role=Role.SA_USER` etc."""

    class Meta:
        model = SmartAccountRole

    class Params:
        role = Role.SA_ADMIN

    user = factory.SubFactory(UserFactory)
    content_object = factory.SubFactory(SmartAccountFactory)
    permission = factory.LazyAttribute(lambda o: _permission(SmartAccount, o.role))


class VirtualAccountRoleFactory(DjangoModelFactory):
    """A VA role row on a Virtual Account subtree; `role=Role.VA_VIEWER` etc."""

    class Meta:
        model = VirtualAccountRole

    class Params:
        role = Role.VA_ADMIN

    user = factory.SubFactory(UserFactory)
    content_object = factory.SubFactory(VirtualAccountFactory)
    permission = factory.LazyAttribute(lambda o: _permission(VirtualAccount, o.role))


class HoldingMembershipFactory(DjangoModelFactory):
    class Meta:
        model = HoldingMembership

    smart_account = factory.SubFactory(HoldingAccountFactory)
    user = factory.SubFactory(UserFactory)
    notify = True


class AccessRequestFactory(DjangoModelFactory):
    class Meta:
        model = AccessRequest

    smart_account = factory.SubFactory(SmartAccountFactory)
    requester = factory.SubFactory(UserFactory)
    message = "Please give me access to manage our licenses."


class SupportCaseFactory(DjangoModelFactory):
    class Meta:
        model = SupportCase

    user = factory.SubFactory(UserFactory)
    subject = factory.Sequence(lambda n: f"Licenses missing after order {n}")


class SupportMessageFactory(DjangoModelFactory):
    class Meta:
        model = SupportMessage

    case = factory.SubFactory(SupportCaseFactory)
    author = factory.SelfAttribute("case.user")
    from_staff = False
    body = "The licenses of my order do not show in my account."


class EventFactory(DjangoModelFactory):
    class Meta:
        model = Event

    smart_account = factory.SubFactory(SmartAccountFactory)
    action = "license.deposited"
    object_type = "licensing.entitlement"
    object_id = factory.Sequence(str)
    object_repr = factory.Sequence(lambda n: f"10 × SKU-{n}")


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = Notification

    kind = "licenses_arrived"
    object_key = factory.Sequence(lambda n: f"orders.orderline:{n}")
    recipient = factory.Sequence(lambda n: f"admin{n}@customer.example")
    subject = "Licenses arrived in your Smart Account"
    body_text = "New licenses were deposited."


class InvitationFactory(DjangoModelFactory):
    class Meta:
        model = Invitation

    key = factory.LazyFunction(lambda: secrets.token_hex(32))
    purpose = InvitationPurpose.ACTIVATE_ACCOUNT
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")
    smart_account = factory.SubFactory(SmartAccountFactory, new=True)
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=14))


# --- licensing --------------------------------------------------------------------------------

class ProductFactory(DjangoModelFactory):
    """A perpetual smart-license product; traits `subscription=True`, `classic=True`; and the
    field `sa_required=True` for a Smart-Account-mandatory product."""

    class Meta:
        model = Product

    class Params:
        subscription = factory.Trait(term_months=12)
        classic = factory.Trait(license_kind=LicenseKind.CLASSIC)

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Router Feature Pack {n}")
    family = "Routing"
    license_kind = LicenseKind.SMART
    term_months = None
    sa_required = False


class EntitlementFactory(DjangoModelFactory):
    class Meta:
        model = Entitlement

    virtual_account = factory.LazyFunction(_root_of_new_account)
    product = factory.SubFactory(ProductFactory)
    quantity = 10
    source = EntitlementSource.ORDER
    source_ref = factory.Sequence(lambda n: f"SO-{100000 + n} line 1")


class RegistrationTokenFactory(SecretKeepingFactory):
    _secret_field = "token"

    class Meta:
        model = RegistrationToken

    virtual_account = factory.LazyFunction(_root_of_new_account)
    description = "Branch routers"
    token = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    prefix = factory.LazyAttribute(lambda o: o.token[:8])
    token_hash = factory.LazyAttribute(lambda o: RegistrationToken.hash(o.token))
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=30))


class DeviceFactory(SecretKeepingFactory):
    _secret_field = "secret"

    class Meta:
        model = Device

    virtual_account = factory.LazyFunction(_root_of_new_account)
    serial_number = factory.Sequence(lambda n: f"FTX{n:08d}")
    product_id = "ISR4451-X"
    hostname = factory.Sequence(lambda n: f"router-{n}.example")
    secret = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    secret_hash = factory.LazyAttribute(lambda o: Device.hash(o.secret))
    last_contact_at = factory.LazyFunction(timezone.now)


class DeviceUsageFactory(DjangoModelFactory):
    class Meta:
        model = DeviceUsage

    device = factory.SubFactory(DeviceFactory)
    product = factory.SubFactory(ProductFactory)
    count = 1


class ClassicLicenseFactory(DjangoModelFactory):
    class Meta:
        model = ClassicLicense

    smart_account = factory.SubFactory(SmartAccountFactory)
    product = factory.SubFactory(ProductFactory, classic=True)
    pak = factory.Sequence(lambda n: f"PAK{n:012d}")
    quantity = 1


class UsageSnapshotFactory(DjangoModelFactory):
    class Meta:
        model = UsageSnapshot

    virtual_account = factory.LazyFunction(_root_of_new_account)
    product = factory.SubFactory(ProductFactory)
    day = factory.Sequence(lambda n: datetime.date(2025, 1, 1) + datetime.timedelta(days=n))
    purchased = 10
    in_use = 4


class ShortageFactory(DjangoModelFactory):
    """An open shortage (out of compliance) of a product in a Virtual Account."""

    class Meta:
        model = Shortage

    virtual_account = factory.LazyFunction(_root_of_new_account)
    product = factory.SubFactory(ProductFactory)
    started_at = factory.LazyFunction(timezone.now)
    quantity = 2


class AlertPreferencesFactory(DjangoModelFactory):
    class Meta:
        model = AlertPreferences

    smart_account = factory.SubFactory(SmartAccountFactory)


# --- orders -----------------------------------------------------------------------------------

class OrderFactory(DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"SO-{100000 + n}")
    partner = factory.SubFactory(PartnerFactory)
    placed_by = factory.SubFactory(UserFactory)
    end_customer_name = factory.Sequence(lambda n: f"End Customer {n} GmbH")
    end_customer_email = factory.Sequence(lambda n: f"it{n}@endcustomer.example")


def _next_line_number(line) -> int:
    order = line.order
    return order.lines.count() + 1 if order.pk else 1


class OrderLineFactory(DjangoModelFactory):
    """A booked, unassigned line; pass smart_account/virtual_account (or delegated=True) to assign it."""

    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    number = factory.LazyAttribute(_next_line_number)
    product = factory.SubFactory(ProductFactory)
    quantity = 5
    state = OrderLineState.BOOKED
