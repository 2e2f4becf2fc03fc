"""`manage.py seed_demo`: the demo world a newcomer signs in to, loaded once however often it runs."""
from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import (
    AccessRequest,
    AccessRequestStatus,
    Event,
    HoldingMembership,
    Partner,
    PartnerKind,
    PartnerMembership,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    SmartAccountStatus,
    User,
    VirtualAccount,
    VirtualAccountRole,
)
from licensing.models import ClassicLicense, Device, DeviceUsage, Entitlement, EntitlementSource, LicenseKind, Product
from licensing.selectors import smart_account_license_summary
from orders.models import Order, OrderLine, OrderLineState
from portal.management.commands.seed_demo import DEMO_PASSWORD, PEOPLE, PRODUCTS, STAFF_EMAIL

pytestmark = pytest.mark.django_db

EVERY_MODEL = (
    User, Partner, PartnerMembership, SmartAccount, VirtualAccount, SmartAccountRole, VirtualAccountRole,
    HoldingMembership, AccessRequest, Event, Product, Entitlement, ClassicLicense, Device, DeviceUsage, Order, OrderLine,
)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in EVERY_MODEL}


@pytest.fixture
def demo() -> str:
    return seed()


def test_running_it_twice_creates_nothing_the_second_time(demo):
    loaded = row_counts()

    again = seed()

    assert row_counts() == loaded
    assert "already loaded" in again
    assert "already loaded" not in demo


def test_it_prints_every_demo_login_and_the_url_each_time(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"  # the default, whatever the environment says
    for output in (seed(), seed()):
        for person in PEOPLE:
            assert f" — {person.email} / {DEMO_PASSWORD}" in output
        assert "http://127.0.0.1:8000/" in output


def test_every_demo_user_can_sign_in_and_staff_runs_the_admin(demo, client):
    for person in PEOPLE:
        assert client.login(email=person.email, password=DEMO_PASSWORD), person.email
    staff = User.objects.get(email=STAFF_EMAIL)
    assert staff.is_staff and staff.is_superuser
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_each_vendor_power_has_a_group_and_a_demo_staff_member_holding_that_power_only(demo):
    from accounts import permissions
    from portal.management.commands.seed_demo import POWER_STAFF

    for power, person in POWER_STAFF.items():
        member = User.objects.get(email=person.email)
        assert member.is_staff and not member.is_superuser, person.email
        assert list(member.groups.values_list("name", flat=True)) == [permissions.POWER_GROUP_NAME[power]]
        held = {other for other in permissions.Power if permissions.has_power(member, other)}
        assert held == {power}, person.email
    staff = User.objects.get(email=STAFF_EMAIL)
    assert all(permissions.has_power(staff, power) for power in permissions.Power)


def test_partners_are_a_distributor_with_two_linked_resellers_each_with_an_admin_and_a_user(demo):
    northwind = Partner.objects.get(name="Northwind Distribution", kind=PartnerKind.DISTRIBUTOR)
    assert set(northwind.linked_resellers.values_list("name", flat=True)) == {"Contoso Networks", "Fabrikam IT"}
    for partner in Partner.objects.all():
        members = partner.memberships.all()
        assert sorted(m.is_admin for m in members) == [False, True], partner.name


def test_three_active_customer_accounts_each_with_its_admin(demo):
    customers = SmartAccount.objects.filter(kind=SmartAccountKind.CUSTOMER)
    assert {(sa.name, sa.domain, sa.status) for sa in customers} == {
        ("Acme Corp", "acme.example", SmartAccountStatus.ACTIVE),
        ("Globex", "globex.example", SmartAccountStatus.ACTIVE),
        ("Initech", "initech.example", SmartAccountStatus.ACTIVE),
    }
    admins = SmartAccountRole.objects.filter(permission__codename=Role.SA_ADMIN)
    assert {(r.content_object.name, r.user.email) for r in admins} == {
        ("Acme Corp", "alice@acme.example"), ("Globex", "gina@globex.example"), ("Initech", "ian@initech.example"),
    }


def test_acme_was_requested_by_a_partner_and_the_contact_granted_that_partner_user_sa_user(demo):
    acme = SmartAccount.objects.get(name="Acme Corp")
    assert acme.requested_by.email == "anna@contoso-networks.example"
    assert acme.contact.email == "alice@acme.example"
    assert SmartAccountRole.objects.filter(
        content_object=acme, user__email="anna@contoso-networks.example", permission__codename=Role.SA_USER
    ).exists()
    assert VirtualAccountRole.objects.filter(
        content_object__smart_account=acme, content_object__name="EMEA", user__email="fiona@fabrikam-it.example",
        permission__codename=Role.VA_ADMIN,
    ).exists()


def test_acme_virtual_accounts_nest_three_levels_below_default(demo):
    acme = SmartAccount.objects.get(name="Acme Corp")
    paths = {
        " > ".join(a.name for a in va.get_ancestors(include_self=True)[1:])
        for va in VirtualAccount.objects.filter(smart_account=acme, level__gt=0)
    }
    assert {"US > Finance > Sacramento", "US > Engineering", "EMEA > Berlin"} <= paths
    assert VirtualAccount.objects.get(smart_account=acme, name="Sacramento").level == 3


def test_the_catalogue_has_about_twenty_smart_and_classic_products_of_every_term(demo):
    products = Product.objects.all()
    assert products.count() == len(PRODUCTS)
    assert 18 <= products.count() <= 25
    assert {p.license_kind for p in products} == {LicenseKind.SMART, LicenseKind.CLASSIC}
    assert {p.term_months for p in products} >= {None, 12, 36, 60}
    assert products.filter(sa_required=True).exists() and products.filter(sa_required=False).exists()


def test_contoso_holding_account_has_held_lines(demo):
    holding = SmartAccount.objects.get(kind=SmartAccountKind.HOLDING, name="Contoso Holding")
    held = OrderLine.objects.filter(smart_account=holding, state=OrderLineState.HELD)
    assert held.count() >= 2
    assert all(line.shipped_on for line in held)
    assert HoldingMembership.objects.filter(smart_account=holding).count() == 2


def test_orders_cover_provisioned_held_booked_classic_and_expiring_lines(demo):
    today = timezone.localdate()
    states = set(OrderLine.objects.values_list("state", flat=True))
    assert {OrderLineState.PROVISIONED, OrderLineState.HELD, OrderLineState.BOOKED} <= states
    provisioned_into = set(
        OrderLine.objects.filter(state=OrderLineState.PROVISIONED).values_list("smart_account__name", flat=True)
    )
    assert {"Acme Corp", "Globex"} <= provisioned_into
    assert ClassicLicense.objects.filter(smart_account__name="Acme Corp").exists()
    expiring = Entitlement.objects.filter(ends_on__gte=today, ends_on__lte=today + datetime.timedelta(days=30))
    assert expiring.exists()
    assert Order.objects.filter(reseller__name="Contoso Networks", partner__name="Northwind Distribution").exists()


def test_acme_devices_use_licenses_and_one_product_is_in_shortage(demo):
    acme = SmartAccount.objects.get(name="Acme Corp")
    assert Device.objects.filter(virtual_account__smart_account=acme).count() >= 10
    summary = smart_account_license_summary(acme)
    short = [line for line in summary if line.status == "shortage"]
    assert short, "expected a product in shortage"
    assert all(line.in_use > line.purchased for line in short)
    assert any(line.in_use and line.status == "in_compliance" for line in summary)


def test_acme_moved_licenses_between_virtual_accounts_and_globex_has_an_access_request_to_decide(demo):
    assert Entitlement.objects.filter(
        source=EntitlementSource.TRANSFER, virtual_account__name="EMEA", virtual_account__smart_account__name="Acme Corp"
    ).exists()
    assert AccessRequest.objects.filter(
        smart_account__name="Globex", requester__email="frank@fabrikam-it.example", status=AccessRequestStatus.PENDING
    ).exists()
