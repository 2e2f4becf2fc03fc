"""The reads the licensing pages are built on: the license tree with subtree roll-ups, a
product's entitlements and devices, device status, tokens, dashboards and the event log."""
import datetime

import pytest
from django.utils import timezone

from accounts.models import VirtualAccount
from accounts import event_log
from licensing import selectors
from licensing.models import DeviceStatus, TokenStatus
from licensing.services import device_report_usage, license_transfer, token_create, token_revoke

from ..factories import (
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    EventFactory,
    ProductFactory,
    RegistrationTokenFactory,
    VirtualAccountFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
NOW = timezone.now()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


def use(va, product, count, **device):
    DeviceUsageFactory(device=DeviceFactory(virtual_account=va, **device), product=product, count=count)


def positions(lines) -> dict:
    return {line.sku: (line.purchased, line.in_use, line.available, line.shortage) for line in lines}


def test_license_tree_gives_each_va_its_own_pool_and_its_subtree_roll_up(acme, product):
    EntitlementFactory(virtual_account=acme.root, product=product, quantity=1)
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)
    use(acme.us, product, 4)
    use(acme.finance, product, 2)  # Finance has no pool of its own: short 2
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=5)

    rows = {row.virtual_account.name: row for row in selectors.license_tree(VirtualAccount.objects.filter(smart_account=acme.account))}

    assert [row.virtual_account.name for row in selectors.license_tree(VirtualAccount.objects.filter(smart_account=acme.account))] == [
        "DEFAULT", "Europe", "US", "Finance"]
    assert positions(rows["Finance"].own) == positions(rows["Finance"].subtree) == {"ISR-SEC-K9": (0, 2, 0, 2)}
    assert positions(rows["US"].own) == {"ISR-SEC-K9": (10, 4, 6, 0)}
    assert positions(rows["US"].subtree) == {"ISR-SEC-K9": (10, 6, 6, 2)}
    assert positions(rows["DEFAULT"].subtree) == {"ISR-SEC-K9": (16, 6, 12, 2)}
    assert rows["DEFAULT"].shortage == 2 and rows["Europe"].shortage == 0


def test_license_tree_for_a_va_role_rolls_up_what_it_sees(acme, product):
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=5)
    use(acme.finance, product, 2)

    rows = selectors.license_tree(selectors.virtual_accounts_in_scope(acme.va_viewer, smart_account=acme.account))

    assert [(row.virtual_account.name, positions(row.subtree)) for row in rows] == [
        ("US", {"ISR-SEC-K9": (0, 2, 0, 2)}), ("Finance", {"ISR-SEC-K9": (0, 2, 0, 2)})]


@pytest.mark.parametrize("size", [2, 10])
def test_license_tree_runs_constant_queries(django_assert_num_queries, acme, size):
    products = [ProductFactory() for _ in range(size)]
    for _ in range(size):
        va = VirtualAccountFactory(parent=acme.us)
        for product in products:
            EntitlementFactory(virtual_account=va, product=product, quantity=2)
            use(va, product, 1)

    with django_assert_num_queries(4):  # the VAs; purchased; in use; the products
        rows = selectors.license_tree(VirtualAccount.objects.filter(smart_account=acme.account))
    assert len(rows) == 4 + size


def test_smart_account_summary_for_a_va_role_covers_its_subtree(acme, product):
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=5)
    use(acme.us, product, 1)

    assert positions(selectors.smart_account_license_summary(acme.account, user=acme.va_viewer)) == {"ISR-SEC-K9": (0, 1, 0, 1)}
    assert positions(selectors.smart_account_license_summary(acme.account, user=acme.sa_viewer)) == {"ISR-SEC-K9": (5, 1, 5, 1)}


def test_product_entitlements_show_their_source_and_whether_they_count(acme, subscription_product):
    product = subscription_product
    active = EntitlementFactory(virtual_account=acme.us, product=product, quantity=2, starts_on=days(-5), ends_on=days(5),
                                source_ref="SO-1 line 1")
    upcoming = EntitlementFactory(virtual_account=acme.finance, product=product, quantity=1, starts_on=days(3), ends_on=days(30))
    ended = EntitlementFactory(virtual_account=acme.us, product=product, quantity=1, starts_on=days(-50), ends_on=days(-1))
    EntitlementFactory(virtual_account=acme.europe, product=product)

    scope = VirtualAccount.objects.filter(pk__in=[acme.us.pk, acme.finance.pk])
    rows = list(selectors.product_entitlements(scope, product))
    assert [(e.pk, e.is_active, e.source_ref) for e in rows] == [(active.pk, True, "SO-1 line 1"), (upcoming.pk, False, upcoming.source_ref)]
    assert ended.pk in [e.pk for e in selectors.product_entitlements(scope, product, include_ended=True)]


def test_product_devices_are_those_using_it(acme, product):
    use(acme.us, product, 3, serial_number="B")
    use(acme.finance, product, 1, serial_number="A")
    use(acme.us, ProductFactory(), 5, serial_number="C")
    DeviceFactory(virtual_account=acme.us, serial_number="D")

    rows = selectors.product_devices(selectors.virtual_accounts_in_scope(None, virtual_account=acme.us), product)

    assert [(d.serial_number, d.product_count) for d in rows] == [("A", 1), ("B", 3)]


def test_a_device_silent_for_30_days_shows_as_silent(acme, product):
    DeviceFactory(virtual_account=acme.us, serial_number="NOW", last_contact_at=NOW)
    DeviceFactory(virtual_account=acme.us, serial_number="OLD", last_contact_at=NOW - datetime.timedelta(days=31))
    DeviceFactory(virtual_account=acme.us, serial_number="NEVER", last_contact_at=None)
    scope = VirtualAccount.objects.filter(pk=acme.us.pk)

    assert {d.serial_number: d.status for d in selectors.devices(scope)} == {
        "NOW": DeviceStatus.REPORTING, "OLD": DeviceStatus.SILENT, "NEVER": DeviceStatus.SILENT}
    assert [d.serial_number for d in selectors.devices(scope, status="silent")] == ["NEVER", "OLD"]
    assert [d.serial_number for d in selectors.silent_devices(scope)] == ["NEVER", "OLD"]
    assert [d.serial_number for d in selectors.devices(scope, status="reporting")] == ["NOW"]
    assert [d.serial_number for d in selectors.devices(scope, search="ol")] == ["OLD"]


@pytest.mark.parametrize("size", [2, 15])
def test_device_list_runs_constant_queries(django_assert_num_queries, acme, size):
    products = [ProductFactory() for _ in range(3)]
    for _ in range(size):
        device = DeviceFactory(virtual_account=acme.finance)
        for product in products:
            DeviceUsageFactory(device=device, product=product, count=2)

    with django_assert_num_queries(2):  # the devices with their VA; their usage with its products
        rows = list(selectors.devices(selectors.virtual_accounts_in_scope(acme.va_viewer, virtual_account=acme.us)))
        assert sum(len(d.usage.all()) for d in rows) == 3 * size
        assert {d.status for d in rows} == {"reporting"}


def test_token_list_shows_each_status(acme):
    token_create(virtual_account=acme.us, description="active", actor=None)
    revoked, _ = token_create(virtual_account=acme.us, description="revoked", actor=None)
    token_revoke(token=revoked, actor=None)
    RegistrationTokenFactory(virtual_account=acme.us, description="expired", expires_at=NOW - datetime.timedelta(days=1))
    RegistrationTokenFactory(virtual_account=acme.us, description="used up", max_uses=1, use_count=1)
    scope = VirtualAccount.objects.filter(pk=acme.us.pk)

    assert {t.description: t.current_status for t in selectors.tokens(scope)} == {
        "active": TokenStatus.ACTIVE, "revoked": TokenStatus.REVOKED, "expired": TokenStatus.EXPIRED,
        "used up": TokenStatus.USED_UP}
    assert [t.description for t in selectors.tokens(scope, status="used_up")] == ["used up"]


def test_dashboard_reads_shortages_and_subscriptions_ending(acme, product, subscription_product):
    device = DeviceFactory(virtual_account=acme.finance)
    device_report_usage(device=device, usage=[{"sku": product.sku, "count": 2}])
    soon = EntitlementFactory(virtual_account=acme.us, product=subscription_product, starts_on=days(-300), ends_on=days(20))
    EntitlementFactory(virtual_account=acme.us, product=subscription_product, starts_on=days(-10), ends_on=days(200))
    scope = selectors.virtual_accounts_in_scope(acme.va_viewer, smart_account=acme.account)

    assert [(s.virtual_account.name, s.product.sku) for s in selectors.open_shortages(scope)] == [("Finance", "ISR-SEC-K9")]
    assert list(selectors.subscriptions_ending(scope, within_days=90)) == [soon]


def test_events_filter_by_type_virtual_account_actor_and_date(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=5)
    license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.finance, lines=[(product, 1)], actor=acme.va_user)
    token_create(virtual_account=acme.europe, actor=acme.admin)
    old = EventFactory(smart_account=acme.account, action="device.registered", virtual_account=acme.us)
    old.created_at = NOW - datetime.timedelta(days=10)
    old.save()

    def actions(**filters):
        return [e.action for e in event_log.events(acme.account, **filters)]

    assert actions(action="token.created") == ["token.created"]
    assert actions(action="licenses.") == ["licenses.transferred"]
    in_us = set(actions(virtual_account=acme.us))
    assert {"licenses.transferred", "device.registered"} <= in_us and "token.created" not in in_us  # Europe's
    assert actions(actor="ada@example.com", action="token.") == ["token.created"]
    assert actions(until=days(-5)) == ["device.registered"]
    assert "device.registered" not in actions(since=days(-1))
    # A VA role sees its subtree's events only (and nothing account-wide).
    assert "token.created" not in [e.action for e in event_log.events(acme.account, user=acme.va_viewer)]


def test_product_events_find_deposits_transfers_and_shortages_of_that_product(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=5)
    other = ProductFactory(sku="ISR-SEC-K9-X")
    EntitlementFactory(virtual_account=acme.us, product=other, quantity=5)
    license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.finance, lines=[(product, 1)], actor=None)
    license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.finance, lines=[(other, 1)], actor=None)
    device_report_usage(device=DeviceFactory(virtual_account=acme.europe), usage=[{"sku": product.sku, "count": 1}])

    found = list(selectors.product_events(acme.account, product))

    assert [e.action for e in found] == ["compliance.shortage_started", "licenses.transferred"]
    assert found[1].detail["lines"] == [{"sku": "ISR-SEC-K9", "quantity": 1}]
