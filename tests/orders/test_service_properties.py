"""Properties of the orders services on bad input (tests/properties.py): end-customer names and
emails as people type them (overlong, control characters, NUL), quantities that are 0, negative,
huge, fractional, strings or infinite, account and line ids that do not exist or do not fit the
database's integer, ship days far in the past or future, or datetimes (naive or aware) where a
day is expected. Either the service succeeds and what it stored is normalised and consistent
(one line per line given, quantities as given, a moved line deposited once), or it raises a
ValidationError keyed by the field at fault and writes nothing."""
from __future__ import annotations

import datetime

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Event, Invitation, Notification
from licensing.models import Entitlement
from lib.dates import add_months
from orders import services
from orders.models import Order, OrderLine, OrderLineState
from tests.properties import (
    PROPERTY_SETTINGS,
    days,
    emails,
    is_clean,
    moments,
    names,
    normalised,
    outcome,
    quantities,
    rolled_back,
)

from .conftest import (  # noqa: F401 — fixtures
    mandatory_product,
    smart_product,
    subscription_product,
    world,
)

pytestmark = pytest.mark.django_db

ORDER_ROWS = (Order, OrderLine, Event, Notification, Invitation, Entitlement)
LINE_FIELDS = {"sku", "product", "quantity", "smart_account", "virtual_account", "delegate_to_end_customer",
               "non_field_errors"}
HUGE_IDS = [0, -1, 2**31, 2**63 - 1, 2**63, 2**70]


def ids(*real: int) -> st.SearchStrategy:
    """An account, Virtual Account or line id: a real one, one that names nothing, or junk."""
    return st.one_of(st.sampled_from(real), st.sampled_from(HUGE_IDS), st.none(), st.sampled_from(["", "x", " 7 "]))


def order_fields(lines: list) -> set[str]:
    return {"end_customer_name", "end_customer_email", "reseller", "lines"} | {
        f"lines.{index}.{field}" for index in range(len(lines)) for field in LINE_FIELDS
    }


@PROPERTY_SETTINGS
@given(data=st.data(), name=names)
def test_order_place_stores_what_was_ordered_or_says_what_is_wrong(world, smart_product, mandatory_product, data, name):
    email = data.draw(emails(["it@globex.example", "IT@Globex.example"]))
    line = st.fixed_dictionaries(
        {"sku": st.sampled_from([smart_product.sku, mandatory_product.sku.lower(), "NOPE", "", "NUL\x00"]),
         "quantity": quantities},
        optional={"smart_account": ids(world.globex.pk, world.holding.pk, world.other_holding.pk),
                  "virtual_account": ids(world.globex_finance.pk, world.globex.default_virtual_account_id)},
    )
    lines = data.draw(st.lists(line, max_size=3))
    with rolled_back():
        order = outcome(
            lambda: services.order_place(actor=world.rita, end_customer_name=name, end_customer_email=email, lines=lines),
            fields=order_fields(lines), models=ORDER_ROWS,
        )
        if order is None:
            return
        order = Order.objects.get(pk=order.pk)
        assert order.end_customer_name == normalised(name) and is_clean(order.end_customer_name)
        assert order.end_customer_email == email.strip().lower() and len(order.end_customer_email) <= 254
        stored = list(order.lines.order_by("number").values_list("quantity", flat=True))
        assert stored == [int(spec["quantity"]) for spec in lines]
        assert all(1 <= quantity <= services.MAX_LINE_QUANTITY for quantity in stored)


@pytest.fixture
def booked(world, subscription_product, smart_product) -> Order:
    """A subscription line for Globex (active) and a perpetual one for the holding account."""
    return services.order_place(
        actor=world.rita, end_customer_name="Globex Corp", end_customer_email="it@globex.example",
        lines=[{"sku": subscription_product.sku, "quantity": 2, "smart_account": world.globex},
               {"sku": smart_product.sku, "quantity": 3, "smart_account": world.holding}],
    )


@pytest.fixture
def held(world, smart_product) -> list[int]:
    """Two lines shipped into the holding account: their ids."""
    order = services.order_place(
        actor=world.rita, end_customer_name="Globex Corp", end_customer_email="it@globex.example",
        lines=[{"sku": smart_product.sku, "quantity": 3, "smart_account": world.holding},
               {"sku": smart_product.sku, "quantity": 4, "smart_account": world.holding}],
    )
    services.order_ship(order=order, actor=world.staff, shipped_on=datetime.date(2025, 1, 31))
    return list(order.lines.values_list("pk", flat=True))


@PROPERTY_SETTINGS
@given(shipped_on=st.one_of(st.none(), days, moments))
def test_order_ship_takes_a_day_not_in_the_future(world, booked, subscription_product, smart_product, shipped_on):
    order = booked
    with rolled_back():
        shipped = outcome(lambda: services.order_ship(order=order, actor=world.staff, shipped_on=shipped_on),
                          fields={"shipped_on", "lines"}, models=ORDER_ROWS)
        today = timezone.localdate()
        if shipped is None:
            assert not OrderLine.objects.filter(order=order).exclude(state=OrderLineState.BOOKED).exists()
            return
        subscription = OrderLine.objects.get(order=order, product=subscription_product)
        day = subscription.shipped_on
        assert isinstance(day, datetime.date) and day <= today
        if shipped_on is None:
            assert day == today
        assert (subscription.starts_on, subscription.ends_on) == (day, add_months(day, 12))
        assert subscription.state == OrderLineState.PROVISIONED
        assert Entitlement.objects.filter(product=subscription_product).aggregate(n=Sum("quantity"))["n"] == 2
        assert OrderLine.objects.get(order=order, product=smart_product).state == OrderLineState.HELD


@PROPERTY_SETTINGS
@given(data=st.data())
def test_moving_held_lines_deposits_each_once(world, held, data):
    lines = data.draw(st.lists(st.one_of(st.sampled_from(held), st.sampled_from(HUGE_IDS), st.just("x")), max_size=4))
    smart_account = data.draw(ids(world.globex.pk, world.holding.pk, world.initech.pk))
    virtual_account = data.draw(ids(world.globex_finance.pk, world.holding.default_virtual_account_id))
    with rolled_back():
        moved = outcome(
            lambda: services.order_line_move_to_account(lines=lines, smart_account=smart_account,
                                                        virtual_account=virtual_account, actor=world.rita),
            fields={"lines", "smart_account", "virtual_account", "failed_lines"}, models=ORDER_ROWS,
        )
        deposited = Entitlement.objects.filter(virtual_account__smart_account=world.globex).aggregate(n=Sum("quantity"))["n"]
        if moved is None:
            assert deposited is None
            assert set(OrderLine.objects.filter(pk__in=held).values_list("state", flat=True)) == {OrderLineState.HELD}
            return
        assert set(lines) <= set(held) and lines
        assert deposited == sum(line.quantity for line in OrderLine.objects.filter(pk__in=set(lines)))
        assert set(OrderLine.objects.filter(pk__in=set(lines)).values_list("state", flat=True)) == {OrderLineState.PROVISIONED}
