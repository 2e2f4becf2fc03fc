"""Flow 9: moving licenses between Virtual Accounts of one Smart Account (`license_transfer`)."""
import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Event, VirtualAccount
from accounts.services import smart_account_suspend, virtual_account_delete
from licensing.models import Entitlement, EntitlementSource
from licensing.selectors import pool_position
from licensing.services import entitlement_deposit, license_transfer, pool_lock

from ..factories import (
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    HoldingAccountFactory,
    ProductFactory,
    SmartAccountFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


def available(va, product) -> int:
    return pool_position(VirtualAccount.objects.get(pk=va.pk), product).available


def use(va, product, count):
    DeviceUsageFactory(device=DeviceFactory(virtual_account=va), product=product, count=count)


# --- what moves --------------------------------------------------------------------------


def test_transfer_moves_licenses_from_one_pool_to_another(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    moved = license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                             lines=[(product, 4)], actor=acme.sa_user)

    assert [(e.virtual_account, e.product, e.quantity, e.source) for e in moved] == [
        (acme.europe, product, 4, EntitlementSource.TRANSFER)
    ]
    assert (available(acme.us, product), available(acme.europe, product)) == (6, 4)


def test_transfer_never_moves_more_than_available(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)
    use(acme.us, product, 4)  # 10 purchased − 4 in use = 6 available

    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                         lines=[(product, 7)], actor=acme.sa_user)
    assert exc.value.message_dict == {"lines.0.quantity": ["7 requested, 6 available in US."]}

    license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe, lines=[(product, 6)], actor=acme.sa_user)
    assert (available(acme.us, product), available(acme.europe, product)) == (0, 6)


def test_nothing_is_available_to_move_from_a_pool_in_shortage(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=2)
    use(acme.us, product, 5)

    with pytest.raises(ValidationError):
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe, lines=[(product, 1)], actor=None)


def test_licenses_of_the_parent_or_children_are_not_available_to_a_virtual_account(acme, product):
    EntitlementFactory(virtual_account=acme.root, product=product, quantity=10)
    EntitlementFactory(virtual_account=acme.finance, product=product, quantity=10)

    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe, lines=[(product, 1)], actor=None)
    assert "0 available in US" in exc.value.message_dict["lines.0.quantity"][0]


def test_transfer_is_all_or_nothing(acme, product):
    other = ProductFactory(sku="ASA-FW")
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)
    EntitlementFactory(virtual_account=acme.us, product=other, quantity=1)
    before = sorted(Entitlement.objects.values_list("virtual_account", "product", "quantity"))

    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                         lines=[{"sku": "ISR-SEC-K9", "quantity": 5}, {"sku": "ASA-FW", "quantity": 2}], actor=acme.sa_user)

    assert exc.value.message_dict == {"lines.1.quantity": ["2 requested, 1 available in US."]}
    assert sorted(Entitlement.objects.values_list("virtual_account", "product", "quantity")) == before
    assert not Event.objects.filter(action="licenses.transferred").exists()


def test_subscriptions_keep_their_dates_when_transferred(acme, subscription_product):
    product = subscription_product
    late = EntitlementFactory(virtual_account=acme.us, product=product, quantity=5, starts_on=days(-30),
                              ends_on=days(335), source_ref="SO-2 line 1")
    soon = EntitlementFactory(virtual_account=acme.us, product=product, quantity=3, starts_on=days(-300),
                              ends_on=days(65), source_ref="SO-1 line 1")
    perpetual = EntitlementFactory(virtual_account=acme.us, product=product, quantity=4, source_ref="SO-0 line 9")

    moved = license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                             lines=[(product, 5)], actor=acme.sa_user)

    # The soonest to end goes first, split where needed; the source keeps its longest-lasting licenses.
    assert [(e.quantity, e.starts_on, e.ends_on, e.source_ref) for e in moved] == [
        (3, days(-300), days(65), "SO-1 line 1"),
        (2, days(-30), days(335), "SO-2 line 1"),
    ]
    assert not Entitlement.objects.filter(pk=soon.pk).exists()  # emptied rows go
    late.refresh_from_db()
    perpetual.refresh_from_db()
    assert (late.quantity, perpetual.quantity) == (3, 4)
    assert moved[1].transferred_from == late
    # The emptied row is gone, and with it (Entitlement.transferred_from is SET_NULL) the link to it.
    assert moved[0].transferred_from is None
    assert all(e.source == EntitlementSource.TRANSFER for e in moved)


def test_perpetual_licenses_are_moved_last(acme, product):
    perpetual = EntitlementFactory(virtual_account=acme.us, product=product, quantity=4)
    dated = EntitlementFactory(virtual_account=acme.us, product=product, quantity=4, starts_on=days(-1), ends_on=days(900))

    moved = license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe, lines=[(product, 6)], actor=None)

    assert [(e.quantity, e.ends_on) for e in moved] == [(4, dated.ends_on), (2, None)]
    perpetual.refresh_from_db()
    assert perpetual.quantity == 2


def test_expired_subscriptions_are_not_transferred(acme, subscription_product):
    EntitlementFactory(virtual_account=acme.us, product=subscription_product, quantity=10, starts_on=days(-400),
                       ends_on=days(-35))

    with pytest.raises(ValidationError):
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                         lines=[(subscription_product, 1)], actor=None)


def test_a_virtual_account_emptied_by_transfers_can_be_deleted(acme, product):
    EntitlementFactory(virtual_account=acme.finance, product=product, quantity=3)

    license_transfer(from_virtual_account=acme.finance, to_virtual_account=acme.us, lines=[(product, 3)], actor=acme.admin)
    virtual_account_delete(virtual_account=acme.finance, actor=acme.admin)

    assert not VirtualAccount.objects.filter(pk=acme.finance.pk).exists()
    assert available(acme.us, product) == 3


def test_transfer_records_one_event_with_its_lines(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe, lines=[(product, 4)], actor=acme.sa_user)

    event = Event.objects.get(action="licenses.transferred")
    assert (event.smart_account, event.virtual_account, event.actor) == (acme.account, acme.us, acme.sa_user)
    assert event.detail == {
        "from": "US", "from_virtual_account": acme.us.pk, "to": "Europe", "to_virtual_account": acme.europe.pk,
        "lines": [{"sku": "ISR-SEC-K9", "quantity": 4}],
    }


# --- lines -------------------------------------------------------------------------------


def test_lines_name_products_by_sku_in_any_case(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    moved = license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                             lines=[{"sku": " isr-sec-k9 ", "quantity": "3"}], actor=None)

    assert [(e.product, e.quantity) for e in moved] == [(product, 3)]


def test_lines_naming_a_product_twice_are_merged(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=5)

    moved = license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                             lines=[(product, 2), {"sku": "ISR-SEC-K9", "quantity": 3}], actor=None)
    assert sum(e.quantity for e in moved) == 5
    assert Event.objects.get(action="licenses.transferred").detail["lines"] == [{"sku": "ISR-SEC-K9", "quantity": 5}]

    EntitlementFactory(virtual_account=acme.us, product=product, quantity=5)
    with pytest.raises(ValidationError) as exc:  # merged lines are checked against availability together
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                         lines=[(product, 3), (product, 3)], actor=None)
    assert exc.value.message_dict == {  # on each line naming the product
        "lines.0.quantity": ["6 requested, 5 available in US."], "lines.1.quantity": ["6 requested, 5 available in US."]}


@pytest.mark.parametrize("quantity", [0, -1, None, "two", 1.5, True])
def test_quantities_are_whole_numbers_of_at_least_one(acme, product, quantity):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                         lines=[{"sku": product.sku, "quantity": quantity}], actor=None)
    assert exc.value.message_dict == {
        "lines.0.quantity": ["The quantity of ISR-SEC-K9 must be a whole number of at least 1."]
    }


def test_unknown_skus_are_refused(acme, product):
    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                         lines=[{"sku": "NOPE", "quantity": 1}, {"quantity": 1}], actor=None)
    assert exc.value.message_dict == {"lines.0.sku": ["No product has the SKU NOPE."], "lines.1.sku": ["A SKU is required."]}


def test_an_empty_transfer_is_refused(acme):
    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe, lines=[], actor=None)
    assert set(exc.value.message_dict) == {"lines"}


def test_classic_products_are_not_transferred(acme):
    classic = ProductFactory(sku="PAK-ONLY", classic=True)

    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe, lines=[(classic, 1)], actor=None)
    assert "classic" in exc.value.message_dict["lines.0.sku"][0]


# --- where to ----------------------------------------------------------------------------


def test_transfer_to_the_same_virtual_account_is_refused(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.us, lines=[(product, 1)], actor=None)
    assert set(exc.value.message_dict) == {"to_virtual_account"}


def test_transfer_between_smart_accounts_is_refused(acme, product, staff_user):
    other = SmartAccountFactory(name="Other", domain="example.com")
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=other.default_virtual_account,
                         lines=[(product, 1)], actor=staff_user)
    assert set(exc.value.message_dict) == {"to_virtual_account"}
    assert available(acme.us, product) == 10


def test_licenses_cannot_be_deposited_into_a_holding_account(acme, product, staff_user):
    holding = HoldingAccountFactory().default_virtual_account
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    with pytest.raises(ValidationError) as exc:
        entitlement_deposit(virtual_account=holding, product=product, quantity=1, source=EntitlementSource.ORDER)
    assert set(exc.value.message_dict) == {"virtual_account"}
    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=holding, lines=[(product, 1)], actor=staff_user)
    assert set(exc.value.message_dict) == {"to_virtual_account"}
    assert not Entitlement.objects.filter(virtual_account=holding).exists()


def test_licenses_are_not_transferred_out_of_a_holding_account(product, staff_user):
    holding = HoldingAccountFactory()
    parked = VirtualAccount.objects.create(smart_account=holding, parent=holding.default_virtual_account, name="Parked")
    EntitlementFactory(virtual_account=holding.default_virtual_account, product=product, quantity=10)  # never normally

    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=holding.default_virtual_account, to_virtual_account=parked,
                         lines=[(product, 1)], actor=staff_user)
    assert set(exc.value.message_dict) == {"from_virtual_account"}


def test_licenses_of_a_suspended_account_cannot_be_moved(acme, product, staff_user):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)
    smart_account_suspend(smart_account=acme.account, actor=staff_user)
    acme.us.refresh_from_db()

    with pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe, lines=[(product, 1)], actor=staff_user)
    assert "suspended" in exc.value.message_dict["from_virtual_account"][0]


# --- who ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "sa_user"])
def test_sa_admins_and_users_can_transfer_anywhere_in_the_account(acme, product, who):
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=10)

    license_transfer(from_virtual_account=acme.europe, to_virtual_account=acme.finance, lines=[(product, 1)],
                     actor=getattr(acme, who))

    assert available(acme.finance, product) == 1


def test_sa_viewer_cannot_transfer(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    with pytest.raises(PermissionDenied):
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe, lines=[(product, 1)],
                         actor=acme.sa_viewer)
    assert available(acme.us, product) == 10


def test_va_user_can_transfer_within_their_subtree(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.finance, lines=[(product, 2)], actor=acme.va_user)

    assert available(acme.finance, product) == 2


def test_va_user_cannot_transfer_out_of_another_subtree(acme, product):
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=10)

    with pytest.raises(PermissionDenied):
        license_transfer(from_virtual_account=acme.europe, to_virtual_account=acme.us, lines=[(product, 1)],
                         actor=acme.va_user)
    assert available(acme.europe, product) == 10


def test_va_user_cannot_transfer_into_another_subtree(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    for outside in (acme.europe, acme.root):  # nor up into the parent of the VA they hold a role on
        with pytest.raises(PermissionDenied):
            license_transfer(from_virtual_account=acme.us, to_virtual_account=outside, lines=[(product, 1)],
                             actor=acme.va_user)
    assert available(acme.us, product) == 10


@pytest.mark.parametrize("who", ["va_viewer", "outsider"])
def test_viewers_and_outsiders_cannot_transfer(acme, product, who):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)

    with pytest.raises(PermissionDenied):
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.finance, lines=[(product, 1)],
                         actor=getattr(acme, who))


# --- locking -----------------------------------------------------------------------------


def test_pool_lock_returns_the_locked_virtual_accounts_fresh(acme):
    VirtualAccount.objects.filter(pk=acme.us.pk).update(description="changed meanwhile")

    locked = pool_lock([acme.us, acme.europe.pk])

    assert set(locked) == {acme.us.pk, acme.europe.pk}
    assert locked[acme.us.pk].description == "changed meanwhile"


@pytest.mark.django_db(transaction=True)
def test_pool_lock_refuses_to_run_outside_a_transaction(db):
    with pytest.raises(transaction.TransactionManagementError):
        pool_lock([])


def test_a_transfer_of_more_than_100_lines_is_refused_before_any_line_is_looked_at(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=500)

    with CaptureQueriesContext(connection) as ctx, pytest.raises(ValidationError) as exc:
        license_transfer(from_virtual_account=acme.us, to_virtual_account=acme.europe,
                         lines=[(product.sku, 1)] * 101, actor=acme.sa_user)

    # The actor's right is checked; no product, pool or entitlement is read.
    assert not [q["sql"] for q in ctx.captured_queries if "licensing_" in q["sql"]]
    assert exc.value.message_dict == {"lines": ["A transfer has at most 100 lines; this one has 101."]}
    assert available(acme.europe, product) == 0
