"""Shipping (flows 6 and 7): where a shipped line goes, when subscriptions start, and that a line
ships once."""
import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Event
from accounts.services import smart_account_activate, smart_account_suspend
from licensing.models import ClassicLicense, Entitlement, EntitlementSource
from licensing.selectors import active_entitlements
from lib.dates import add_months
from orders import services
from orders.models import OrderLineState

from .conftest import SHIP_DAY


def ship(line, world, **kwargs):
    return services.order_line_ship(line=line, actor=world.staff, **kwargs)


def test_shipping_into_an_active_account_provisions_at_once_into_the_chosen_virtual_account(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 7, "smart_account": world.globex, "virtual_account": world.globex_finance}])

    line = ship(order.lines.get(), world, shipped_on=SHIP_DAY)

    line.refresh_from_db()
    entitlement = Entitlement.objects.get()
    assert (line.state, line.shipped_on) == (OrderLineState.PROVISIONED, SHIP_DAY)
    assert line.provisioned_at is not None
    assert (entitlement.virtual_account, entitlement.product, entitlement.quantity) == (world.globex_finance, smart_product, 7)
    assert (entitlement.source, entitlement.source_ref) == (EntitlementSource.ORDER, f"{order.number} line 1")
    assert list(line.entitlements.all()) == [entitlement]
    assert (entitlement.starts_on, entitlement.ends_on) == (None, None)  # perpetual
    actions = set(Event.objects.filter(smart_account=world.globex).values_list("action", flat=True))
    assert {"order.placed", "order_line.shipped", "licenses.deposited", "order_line.provisioned"} <= actions


def test_line_without_virtual_account_lands_in_the_accounts_default(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])

    line = ship(order.lines.get(), world)

    assert Entitlement.objects.get().virtual_account == world.globex.default_virtual_account
    assert line.virtual_account == world.globex.default_virtual_account
    assert line.shipped_on == timezone.localdate()


def test_shipping_into_a_new_account_waits_then_provisions_on_activation(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 3, "smart_account": world.initech}])

    line = ship(order.lines.get(), world)

    assert line.state == OrderLineState.AWAITING_ACCOUNT
    assert not Entitlement.objects.exists()

    smart_account_activate(smart_account=world.initech, actor=world.ivan)

    line.refresh_from_db()
    assert line.state == OrderLineState.PROVISIONED
    entitlement = Entitlement.objects.get()
    assert (entitlement.virtual_account, entitlement.quantity) == (world.initech.default_virtual_account, 3)
    assert list(line.entitlements.all()) == [entitlement]


def test_activation_leaves_unshipped_lines_booked(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 3, "smart_account": world.initech}])

    smart_account_activate(smart_account=world.initech, actor=world.ivan)

    assert order.lines.get().state == OrderLineState.BOOKED
    assert not Entitlement.objects.exists()
    assert ship(order.lines.get(), world).state == OrderLineState.PROVISIONED  # now active: at once


def test_shipping_into_a_holding_account_holds_it_and_nothing_can_be_consumed(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 10, "smart_account": world.holding}])

    line = ship(order.lines.get(), world)

    assert (line.state, line.held_in, line.smart_account) == (OrderLineState.HELD, world.holding, world.holding)
    # The holding account has no pool: not an entitlement anywhere, so no device can use one.
    assert not Entitlement.objects.exists()
    assert not active_entitlements().filter(virtual_account__smart_account=world.holding).exists()
    assert Event.objects.filter(smart_account=world.holding, action="order_line.shipped").count() == 1


def test_classic_lines_create_paks_not_entitlements(place, world, classic_product):
    order = place([{"product": classic_product, "quantity": 2, "smart_account": world.globex}])

    line = ship(order.lines.get(), world)

    pak = ClassicLicense.objects.get()
    assert (pak.smart_account, pak.product, pak.quantity, pak.source_ref) == (world.globex, classic_product, 2, f"{order.number} line 1")
    assert list(line.classic_licenses.all()) == [pak]
    assert not Entitlement.objects.exists()
    assert line.state == OrderLineState.PROVISIONED


def test_subscription_starts_at_ship_date_and_ends_a_term_later_even_while_held(place, world, subscription_product):
    order = place([{"product": subscription_product, "quantity": 1, "smart_account": world.holding}])

    line = ship(order.lines.get(), world, shipped_on=SHIP_DAY)

    assert (line.state, line.starts_on, line.ends_on) == (OrderLineState.HELD, SHIP_DAY, datetime.date(2026, 1, 31))
    event = Event.objects.get(action="subscription.started")
    assert event.smart_account == world.holding
    assert (event.detail["starts_on"], event.detail["ends_on"]) == ("2025-01-31", "2026-01-31")


def test_a_subscription_provisioned_at_once_carries_its_term(place, world, subscription_product):
    order = place([{"product": subscription_product, "quantity": 4, "smart_account": world.globex}])

    ship(order.lines.get(), world, shipped_on=SHIP_DAY)

    entitlement = Entitlement.objects.get()
    assert (entitlement.starts_on, entitlement.ends_on) == (SHIP_DAY, datetime.date(2026, 1, 31))


@pytest.mark.parametrize("day, months, expected", [
    (datetime.date(2025, 1, 31), 1, datetime.date(2025, 2, 28)),
    (datetime.date(2024, 1, 31), 1, datetime.date(2024, 2, 29)),
    (datetime.date(2025, 11, 15), 3, datetime.date(2026, 2, 15)),
    (datetime.date(2025, 3, 1), 36, datetime.date(2028, 3, 1)),
])
def test_a_term_of_months_ends_on_the_same_day_or_the_months_last(day, months, expected):
    assert add_months(day, months) == expected


def test_shipping_twice_ships_once(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 5, "smart_account": world.globex}])
    line = order.lines.get()
    ship(line, world, shipped_on=SHIP_DAY)

    with pytest.raises(ValidationError) as caught:
        ship(line, world)

    assert "shipped already on 2025-01-31" in caught.value.messages[0]
    assert Entitlement.objects.count() == 1
    line.refresh_from_db()
    assert line.shipped_on == SHIP_DAY
    assert Event.objects.filter(action="order_line.shipped").count() == 1


def test_order_ship_ships_every_booked_line_then_has_nothing_left(place, world, smart_product, classic_product):
    order = place([
        {"product": smart_product, "quantity": 1, "smart_account": world.globex},
        {"product": classic_product, "quantity": 1, "smart_account": world.initech},
        {"product": smart_product, "quantity": 1, "smart_account": world.holding},
        {"product": smart_product, "quantity": 1, "delegate_to_end_customer": True},
    ])

    lines = services.order_ship(order=order, actor=world.staff)

    assert [line.state for line in lines] == [
        OrderLineState.PROVISIONED, OrderLineState.AWAITING_ACCOUNT, OrderLineState.HELD, OrderLineState.AWAITING_ACCOUNT,
    ]
    with pytest.raises(ValidationError):
        services.order_ship(order=order, actor=world.staff)
    assert Entitlement.objects.count() == 1


def test_order_ship_ships_only_the_chosen_lines_of_that_order(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}] * 2)
    other = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])
    first, second = order.lines.order_by("number")

    with pytest.raises(ValidationError):
        services.order_ship(order=order, actor=world.staff, lines=[first, other.lines.get()])
    services.order_ship(order=order, actor=world.staff, lines=[first.pk])

    assert list(order.lines.order_by("number").values_list("state", flat=True)) == [OrderLineState.PROVISIONED, OrderLineState.BOOKED]


def test_only_staff_ship(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])

    with pytest.raises(PermissionDenied):
        services.order_line_ship(line=order.lines.get(), actor=world.rita)
    with pytest.raises(PermissionDenied):
        services.order_ship(order=order, actor=world.gina)

    assert order.lines.get().state == OrderLineState.BOOKED
    assert services.order_line_ship(line=order.lines.get(), actor=None).state == OrderLineState.PROVISIONED  # the system


def test_an_order_ships_all_or_nothing(place, world, smart_product):
    order = place([
        {"product": smart_product, "quantity": 1, "smart_account": world.holding},
        {"product": smart_product, "quantity": 1, "smart_account": world.globex},
    ])
    smart_account_suspend(smart_account=world.globex, actor=world.staff)

    with pytest.raises(ValidationError) as caught:
        services.order_ship(order=order, actor=world.staff)

    assert f"{order.number} line 2 goes to Globex, which is suspended" in caught.value.messages[0]
    assert set(order.lines.values_list("state", flat=True)) == {OrderLineState.BOOKED}


def test_ship_date_cannot_be_in_the_future(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])

    with pytest.raises(ValidationError) as caught:
        ship(order.lines.get(), world, shipped_on=timezone.localdate() + datetime.timedelta(days=1))

    assert "shipped_on" in caught.value.message_dict


def test_delegated_line_waits_for_the_end_customers_choice(place, world, subscription_product):
    order = place([{"product": subscription_product, "quantity": 1, "delegate_to_end_customer": True}])

    line = ship(order.lines.get(), world, shipped_on=SHIP_DAY)

    assert (line.state, line.smart_account, line.starts_on) == (OrderLineState.AWAITING_ACCOUNT, None, SHIP_DAY)
    assert not Entitlement.objects.exists()

