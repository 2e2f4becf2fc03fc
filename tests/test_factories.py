"""The factories build valid rows of every model, and every model names itself meaningfully."""
import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth.hashers import check_password

from accounts.models import Role, SmartAccountKind, SmartAccountStatus, VirtualAccount
from licensing.models import Device, LicenseKind, RegistrationToken
from orders.models import OrderLineState

from . import factories as f

pytestmark = pytest.mark.django_db


def test_user_has_verified_primary_email_and_known_password():
    user = f.UserFactory(email="ada@acme.example", name="Ada")

    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("ada@acme.example", True, True)
    assert check_password(f.DEFAULT_PASSWORD, user.password)
    assert "ada@acme.example" in str(user)


def test_unverified_user_trait():
    user = f.UserFactory(unverified=True)

    assert not EmailAddress.objects.get(user=user).verified


def test_smart_account_comes_with_its_default_root_virtual_account():
    account = f.SmartAccountFactory(name="Acme", domain="ACME.example")

    root = account.default_virtual_account
    assert root.name == VirtualAccount.ROOT_NAME and root.parent is None
    assert list(account.virtual_accounts.all()) == [root]
    assert account.domain == "acme.example"
    assert (account.kind, account.status) == (SmartAccountKind.CUSTOMER, SmartAccountStatus.ACTIVE)
    assert str(account) == "Acme (acme.example)"


def test_holding_account_belongs_to_a_partner():
    holding = f.HoldingAccountFactory(name="Parking")

    assert holding.is_holding and holding.partner is not None
    assert holding.default_virtual_account.name == "DEFAULT"
    assert "Parking" in str(holding) and "holding" in str(holding)


def test_virtual_accounts_nest_below_their_parent_in_one_account():
    us = f.VirtualAccountFactory(name="US")
    finance = f.VirtualAccountFactory(parent=us, name="Finance")
    sacramento = f.VirtualAccountFactory(parent=finance, name="Sacramento")

    account = us.smart_account
    assert us.parent == account.default_virtual_account
    assert sacramento.smart_account == account
    assert [va.name for va in sacramento.get_ancestors(include_self=True)] == ["DEFAULT", "US", "Finance", "Sacramento"]
    assert str(sacramento) == f"{account.name} / Sacramento"


def test_product_traits():
    assert f.ProductFactory().term_months is None
    assert f.ProductFactory(subscription=True).is_subscription
    assert f.ProductFactory(classic=True).license_kind == LicenseKind.CLASSIC
    assert f.ProductFactory(sa_required=True).sa_required


def test_secrets_are_kept_on_the_object_and_stored_hashed():
    device = f.DeviceFactory()
    token = f.RegistrationTokenFactory()
    key = f.ApiKeyFactory()

    assert Device.objects.get(secret_hash=Device.hash(device.secret)) == device
    assert RegistrationToken.objects.get(token_hash=RegistrationToken.hash(token.token)) == token
    assert key.key.startswith(key.prefix)


def test_role_factories_grant_the_named_role():
    sa_role = f.SmartAccountRoleFactory(role=Role.SA_VIEWER)
    va_role = f.VirtualAccountRoleFactory(role=Role.VA_USER)

    assert sa_role.role == "sa_viewer" and "sa_viewer" in str(sa_role)
    assert va_role.role == "va_user" and va_role.content_object.name in str(va_role)


def test_order_lines_are_numbered_within_their_order():
    order = f.OrderFactory(number="SO-4242")
    first = f.OrderLineFactory(order=order)
    second = f.OrderLineFactory(order=order)

    assert (first.number, second.number) == (1, 2)
    assert first.state == OrderLineState.BOOKED
    assert str(second) == f"SO-4242/2: 5 × {second.product.sku}"


# What each model's __str__ must mention, given an instance made by its factory.
EXPECTED_IN_STR = {
    "User": (f.UserFactory, lambda o: o.email),
    "ApiKey": (f.ApiKeyFactory, lambda o: o.name),
    "Partner": (f.PartnerFactory, lambda o: o.name),
    "PartnerMembership": (f.PartnerMembershipFactory, lambda o: o.partner.name),
    "SmartAccount": (f.SmartAccountFactory, lambda o: o.name),
    "VirtualAccount": (f.VirtualAccountFactory, lambda o: o.name),
    "SmartAccountRole": (f.SmartAccountRoleFactory, lambda o: o.user.email),
    "VirtualAccountRole": (f.VirtualAccountRoleFactory, lambda o: o.user.email),
    "HoldingMembership": (f.HoldingMembershipFactory, lambda o: o.smart_account.name),
    "AccessRequest": (f.AccessRequestFactory, lambda o: o.requester.email),
    "SupportCase": (f.SupportCaseFactory, lambda o: o.subject),
    "SupportMessage": (f.SupportMessageFactory, lambda o: f"#{o.case_id}"),
    "Event": (f.EventFactory, lambda o: o.action),
    "Notification": (f.NotificationFactory, lambda o: o.recipient),
    "Invitation": (f.InvitationFactory, lambda o: o.email),
    "Product": (f.ProductFactory, lambda o: o.sku),
    "Entitlement": (f.EntitlementFactory, lambda o: o.product.sku),
    "RegistrationToken": (f.RegistrationTokenFactory, lambda o: o.prefix),
    "Device": (f.DeviceFactory, lambda o: o.hostname),
    "DeviceUsage": (f.DeviceUsageFactory, lambda o: o.product.sku),
    "ClassicLicense": (f.ClassicLicenseFactory, lambda o: o.pak),
    "UsageSnapshot": (f.UsageSnapshotFactory, lambda o: o.product.sku),
    "Shortage": (f.ShortageFactory, lambda o: o.product.sku),
    "AlertPreferences": (f.AlertPreferencesFactory, lambda o: o.smart_account.name),
    "Order": (f.OrderFactory, lambda o: o.number),
    "OrderLine": (f.OrderLineFactory, lambda o: o.order.number),
}


@pytest.mark.parametrize("model_name", sorted(EXPECTED_IN_STR))
def test_every_model_names_itself(model_name):
    factory_class, expected = EXPECTED_IN_STR[model_name]

    obj = factory_class()

    assert type(obj).__name__ == model_name
    assert obj.pk is not None
    obj.full_clean()  # the factory's defaults satisfy the model's validation and constraints
    assert expected(obj) and expected(obj) in str(obj)


def test_there_is_a_factory_for_every_model():
    models = {
        model.__name__
        for app in ("accounts", "licensing", "orders")
        for model in apps.get_app_config(app).get_models()
    }
    assert models == set(EXPECTED_IN_STR)
