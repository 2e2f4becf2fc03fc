"""/orders/ and /orders/<id>/: who sees which orders, the list's filters and its query count,
an order's lines, provisioning and history, and shipping from the page (staff only)."""
import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from lib.dates import add_months
from orders import services
from orders.models import Order, OrderLineState

from accounts.models import Role

from ..factories import (
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    SmartAccountRoleFactory,
    VirtualAccountRoleFactory,
)
from tests.html import html

pytestmark = pytest.mark.django_db

LIST = reverse("orders:order_list")


def detail(order) -> str:
    return reverse("orders:order_detail", args=[order.pk])


def numbers(response) -> set[str]:
    return {order.number for order in response.context["orders"]}


def test_list_shows_the_partners_orders_with_status_and_entry_points(client, world, place, smart_product):
    order = place([{"product": smart_product, "quantity": 3, "smart_account": world.holding}])
    place([{"product": smart_product, "quantity": 1, "smart_account": world.other_holding}], actor=world.otto)
    client.force_login(world.rita)

    response = client.get(LIST)

    assert numbers(response) == {order.number}
    page = html(response)
    assert "Booked" in page and "3 × ISR-SEC-K9" in page
    assert reverse("orders:held_line_list") in page and reverse("orders:order_place") in page


def test_empty_list_says_what_to_do_next(client, world):
    client.force_login(world.rita)

    page = html(client.get(LIST))

    assert "No orders yet" in page and "Place an order" in page


def test_customer_without_orders_is_pointed_to_delegated_lines(client, world):
    client.force_login(world.gina)

    page = html(client.get(LIST))

    assert "No orders to show" in page and reverse("orders:delegated_line_list") in page
    assert reverse("orders:order_place") not in page


def test_list_filters_by_status_customer_holding_account_product_and_date(client, world, place, smart_product,
                                                                         subscription_product):
    to_holding = place([{"product": smart_product, "quantity": 1, "smart_account": world.holding}],
                       end_customer_name="Acme Widgets", end_customer_email="it@acme.example")
    to_globex = place([{"product": subscription_product, "quantity": 2, "smart_account": world.globex}])
    services.order_ship(order=to_holding, actor=world.staff)
    Order.objects.filter(pk=to_globex.pk).update(placed_at=timezone.now() - datetime.timedelta(days=40))
    client.force_login(world.rita)

    def filtered(**params):
        return numbers(client.get(LIST, params))

    assert filtered() == {to_holding.number, to_globex.number}
    assert filtered(status="held") == {to_holding.number}
    assert filtered(status="booked") == {to_globex.number}
    assert filtered(status="provisioned") == set()
    assert filtered(customer="acme") == {to_holding.number}
    assert filtered(customer="globex.example") == {to_globex.number}  # the customer account's domain
    assert filtered(holding_account=world.holding.pk) == {to_holding.number}
    assert filtered(product="DNA-ADV") == {to_globex.number}
    assert filtered(product="ISR Security") == {to_holding.number}
    since = (timezone.localdate() - datetime.timedelta(days=7)).isoformat()
    assert filtered(placed_from=since) == {to_holding.number}
    assert filtered(placed_to=since) == {to_globex.number}
    assert "No orders match these filters" in html(client.get(LIST, {"customer": "nobody"}))


def test_holding_account_filter_offers_only_the_users_holding_accounts(client, world):
    client.force_login(world.rita)

    page = html(client.get(LIST, {"status": "booked"}))

    assert "Resale Holding" in page and "Other Holding" not in page


def _orders(partner, user, count: int) -> None:
    products = [ProductFactory() for _ in range(3)]
    for i in range(count):
        order = OrderFactory(partner=partner, placed_by=user)
        for n in range(1, 4):
            OrderLineFactory(order=order, number=n, product=products[n - 1])


@pytest.mark.parametrize("count", [2, 20])
def test_list_runs_a_constant_number_of_queries(client, world, count):
    _orders(world.reseller, world.rita, count)
    client.force_login(world.rita)

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST, {"status": "booked"})

    assert response.status_code == 200 and len(response.context["orders"]) == count
    # 1 session, 2 user, 3 partner membership, 4 its partner, 5 count of orders, 6 count of
    # delegated lines waiting, 7 the account switcher, 8 the page of orders, 9 their lines
    # (products, accounts), 10 the holding accounts of the filter.
    assert len(ctx.captured_queries) == 10


def test_another_partners_order_is_404(client, world, place, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.other_holding}], actor=world.otto)
    client.force_login(world.rita)

    assert client.get(detail(order)).status_code == 404
    assert client.post(reverse("orders:order_ship", args=[order.pk])).status_code == 404


def test_distributor_sees_its_linked_resellers_orders(client, world, place, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.holding}])
    client.force_login(world.dora)

    assert client.get(detail(order)).status_code == 200


def test_non_staff_cannot_ship(client, world, place, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.holding}])
    client.force_login(world.rita)

    assert "unshipped line" not in html(client.get(detail(order)))
    assert client.post(reverse("orders:order_ship", args=[order.pk])).status_code == 403
    assert order.lines.get().state == OrderLineState.BOOKED


def test_staff_ships_an_order_from_its_page(client, world, place, smart_product):
    order = place([
        {"product": smart_product, "quantity": 2, "smart_account": world.holding},
        {"product": smart_product, "quantity": 3, "smart_account": world.globex, "virtual_account": world.globex_finance},
    ])
    client.force_login(world.staff)
    assert "Ship 2 unshipped lines" in html(client.get(detail(order)))

    response = client.post(reverse("orders:order_ship", args=[order.pk]), follow=True)

    held, provisioned = order.lines.order_by("number")
    assert (held.state, provisioned.state) == (OrderLineState.HELD, OrderLineState.PROVISIONED)
    assert f"Shipped 2 lines of {order.number}" in html(response)
    response = client.post(reverse("orders:order_ship", args=[order.pk]), follow=True)
    assert "Nothing was shipped" in html(response)


def test_detail_shows_each_lines_state_assignment_dates_provisioning_and_history(
    client, world, place, subscription_product, classic_product
):
    order = place([
        {"product": subscription_product, "quantity": 2, "smart_account": world.globex, "virtual_account": world.globex_finance},
        {"product": classic_product, "quantity": 1, "smart_account": world.globex},
        {"product": subscription_product, "quantity": 1, "smart_account": world.holding},
        {"product": subscription_product, "quantity": 1, "delegate_to_end_customer": True},
    ])
    shipped_on = timezone.localdate() - datetime.timedelta(days=3)
    services.order_ship(order=order, actor=world.staff, shipped_on=shipped_on)
    client.force_login(world.rita)

    page = html(client.get(detail(order)))

    assert page.count("Provisioned") >= 2 and "Held" in page and "Awaiting account" in page
    assert "Globex" in page and "Finance" in page and "Resale Holding" in page and "The end customer chooses" in page
    assert shipped_on.isoformat() in page
    ends_on = add_months(shipped_on, 12)
    assert f"{shipped_on.isoformat()} – {ends_on.isoformat()}" in page
    assert "2 in Finance" in page  # the entitlement it created
    assert "PAK issued (1)" in page  # rita has no role in Globex: the code is not hers to see
    assert "Order placed" in page and "Line 1: Licenses deposited" in page and "Line 3: Shipped" in page
    assert "Line 1: Subscription started" in page

    client.force_login(world.gina)  # Globex's admin sees the order? No: it is the partner's.
    assert client.get(detail(order)).status_code == 404
    client.force_login(world.staff)
    pak = order.lines.get(number=2).classic_licenses.get()
    assert pak.pak in html(client.get(detail(order)))


def test_an_orders_pak_codes_are_shown_to_account_wide_roles_only(client, world, place, classic_product):
    order = place([{"product": classic_product, "quantity": 1, "smart_account": world.globex}])
    services.order_ship(order=order, actor=world.staff)
    code = order.lines.get().classic_licenses.get().pak
    client.force_login(world.rita)

    # A role on one Virtual Account of Globex: the account's PAKs are not hers to see.
    VirtualAccountRoleFactory(user=world.rita, content_object=world.globex_finance, role=Role.VA_ADMIN)
    page = html(client.get(detail(order)))
    assert code not in page and "PAK issued (1)" in page

    SmartAccountRoleFactory(user=world.rita, content_object=world.globex, role=Role.SA_VIEWER)
    assert code in html(client.get(detail(order)))


def test_detail_runs_a_constant_number_of_queries(client, world, place, smart_product):
    def queries(lines: int) -> int:
        order = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}] * lines)
        services.order_ship(order=order, actor=world.staff)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(detail(order)).status_code == 200
        return len(ctx.captured_queries)

    client.force_login(world.rita)
    assert queries(2) == queries(20)
