"""GET /api/v1/orders/ and /orders/{id}/: who sees which orders (the ordering partner, the
reseller it names, its distributor, holding-account members, staff; anyone else 404), the
filters, and a number of queries that does not grow with the orders."""
import datetime

import pytest
from django.utils import timezone

from orders.models import Order

from tests.factories import PartnerMembershipFactory, ProductFactory, UserFactory
from tests.worlds.api_orders import *  # noqa: F401,F403
from tests.worlds.api_orders import ORDERS

pytestmark = pytest.mark.django_db


def listed(client, query: str = "") -> list[str]:
    response = client.get(ORDERS + query)
    assert response.status_code == 200, response.json()
    return sorted(order["number"] for order in response.json()["results"])


@pytest.fixture
def orders(world, placed, smart_product):
    """Resale Co's order (rita), Big Distribution's order for Resale Co (dora), Big
    Distribution's own order, and Other Reseller's order (otto)."""
    line = {"product": smart_product, "quantity": 1, "smart_account": world.globex}
    return {
        "resale": placed([line, {"product": smart_product, "quantity": 1, "smart_account": world.holding}]),
        "for_resale": placed([line], actor=world.dora, reseller=world.reseller),
        "distri": placed([{"product": smart_product, "quantity": 1, "smart_account": world.distri_holding}],
                         actor=world.dora),
        "other": placed([{"product": smart_product, "quantity": 1, "smart_account": world.other_holding}],
                        actor=world.otto),
    }


def numbers(orders, *names) -> list[str]:
    return sorted(orders[name].number for name in names)


def test_partner_users_see_their_partners_orders_and_those_naming_it_as_reseller(world, api, orders):
    for user in (world.rita, world.ralf, world.rosa):
        assert listed(api(user)) == numbers(orders, "resale", "for_resale")


def test_a_distributor_sees_its_own_orders_and_its_linked_resellers(world, api, orders):
    assert listed(api(world.dora)) == numbers(orders, "resale", "for_resale", "distri")


def test_another_partner_sees_only_its_own_orders(world, api, orders):
    assert listed(api(world.otto)) == numbers(orders, "other")


def test_staff_see_every_order(world, api, orders):
    assert listed(api(world.staff)) == numbers(orders, "resale", "for_resale", "distri", "other")


def test_customers_and_outsiders_see_no_orders(world, api, orders):
    # Gina administers Globex, where lines go: she sees the licenses when they arrive, not the orders.
    assert listed(api(world.gina)) == []
    assert listed(api(world.outsider)) == []
    assert api(None).get(ORDERS).status_code == 401


def test_a_holding_account_member_of_another_partner_sees_the_orders_held_there(world, api, orders, placed, smart_product):
    # Other Reseller's admin is let into Resale Co's holding account as a member (e.g. a merger).
    from tests.factories import HoldingMembershipFactory

    HoldingMembershipFactory(smart_account=world.holding, user=world.otto)

    assert listed(api(world.otto)) == numbers(orders, "resale", "other")


def test_an_order_one_may_not_see_is_404(world, api, orders):
    url = f"{ORDERS}{orders['resale'].pk}/"
    assert api(world.rita).get(url).status_code == 200
    assert api(world.dora).get(url).status_code == 200
    assert api(world.staff).get(url).status_code == 200
    for user in (world.otto, world.gina, world.outsider):
        assert api(user).get(url).status_code == 404
    assert api(world.rita).get(f"{ORDERS}999999/").status_code == 404
    assert api(None).get(url).status_code == 401


def test_the_detail_has_the_order_and_its_lines(world, api, orders):
    order = orders["resale"]
    body = api(world.rita).get(f"{ORDERS}{order.pk}/").json()
    assert (body["id"], body["number"], body["status"]) == (order.pk, order.number, "booked")
    assert [(line["number"], line["smart_account_name"]) for line in body["lines"]] == [
        (1, "Globex"), (2, "Resale Holding")]


def test_filter_by_holding_account_and_state_lists_the_orders_waiting_there(world, api, placed, smart_product):
    held = placed([{"product": smart_product, "quantity": 1, "smart_account": world.holding}], ship=True)
    not_shipped = placed([{"product": smart_product, "quantity": 1, "smart_account": world.holding}])
    elsewhere = placed([{"product": smart_product, "quantity": 1, "smart_account": world.globex}], ship=True)

    query = f"?holding_account={world.holding.pk}&state=held"
    assert listed(api(world.rita), query) == [held.number]
    assert listed(api(world.rita), f"?holding_account={world.holding.pk}") == sorted([held.number, not_shipped.number])
    assert listed(api(world.rita), "?state=provisioned") == [elsewhere.number]
    # Filters narrow what the caller may see, never widen it.
    assert listed(api(world.otto), query) == []


def test_a_line_moved_out_of_a_holding_account_still_counts_for_it(world, api, placed, smart_product):
    from orders import services

    order = placed([{"product": smart_product, "quantity": 1, "smart_account": world.holding}], ship=True)
    services.order_line_move_to_account(lines=[order.lines.get()], smart_account=world.globex, actor=world.rita)

    assert listed(api(world.rita), f"?holding_account={world.holding.pk}") == [order.number]
    assert listed(api(world.rita), f"?holding_account={world.holding.pk}&state=held") == []


def test_filter_by_smart_account_sku_and_dates(world, api, placed, smart_product, subscription_product):
    to_globex = placed([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])
    dna = placed([{"product": subscription_product, "quantity": 1, "smart_account": world.holding}])
    Order.objects.filter(pk=to_globex.pk).update(placed_at=timezone.now() - datetime.timedelta(days=10))
    today = timezone.localdate()

    assert listed(api(world.rita), f"?smart_account={world.globex.pk}") == [to_globex.number]
    assert listed(api(world.rita), "?sku=dna-adv-1y") == [dna.number]
    assert listed(api(world.rita), f"?placed_after={today - datetime.timedelta(days=1)}") == [dna.number]
    assert listed(api(world.rita), f"?placed_before={today - datetime.timedelta(days=5)}") == [to_globex.number]
    assert listed(api(world.rita), f"?number={dna.number.lower()}") == [dna.number]


def test_bad_filters_are_a_field_keyed_400(world, api):
    response = api(world.rita).get(ORDERS + "?state=lost&placed_after=yesterday&holding_account=x")
    assert response.status_code == 400
    assert set(response.json()) == {"state", "placed_after", "holding_account"}
    response = api(world.rita).get(ORDERS + "?placed_after=2025-02-01&placed_before=2025-01-01")
    assert list(response.json()) == ["placed_before"]


@pytest.mark.parametrize("value", ["-345486554927929915080704", "99999999999999999999", "9223372036854775808", "0",
                                   "-1", "1.5", "1e3"])
@pytest.mark.parametrize("name", ["holding_account", "smart_account"])
def test_orders_list_refuses_an_out_of_range_holding_account_with_a_field_keyed_400(world, api, orders, name, value):
    # Beyond the database's integers the lookup overflowed (an OverflowError on SQLite: a 500).
    response = api(world.rita).get(ORDERS, {name: value, "state": "held"})

    assert response.status_code == 400
    assert list(response.json()) == [name]


def test_the_largest_id_the_database_holds_is_a_filter_that_finds_nothing(world, api, orders):
    assert listed(api(world.rita), "?holding_account=9223372036854775807") == []
    assert listed(api(world.rita), f"?holding_account={world.holding.pk}") == numbers(orders, "resale")


def test_the_list_is_paginated_newest_first(world, api, placed, smart_product):
    made = [placed([{"product": smart_product, "quantity": 1, "smart_account": world.globex}]) for _ in range(3)]

    page = api(world.rita).get(ORDERS + "?page_size=2").json()

    assert page["count"] == 3 and page["next"] and page["previous"] is None
    assert [order["number"] for order in page["results"]] == [made[2].number, made[1].number]


def _orders(world, count: int) -> None:
    """`count` orders of Resale Co, each with lines to a customer account, a holding account and a
    delegation, placed by different colleagues, half of them shipped."""
    from orders import services

    for n in range(count):
        user = PartnerMembershipFactory(partner=world.reseller, user=UserFactory()).user
        product = ProductFactory()
        order = services.order_place(actor=user, end_customer_name=f"Customer {n}", end_customer_email="it@globex.example",
                                     lines=[
                                         {"product": product, "quantity": 1, "smart_account": world.globex,
                                          "virtual_account": world.globex_finance},
                                         {"product": product, "quantity": 2, "smart_account": world.holding},
                                         {"product": product, "quantity": 3},
                                     ])
        if n % 2:
            services.order_ship(order=order, actor=world.staff)


@pytest.mark.parametrize("count", [2, 8])
def test_the_list_takes_the_same_queries_for_few_and_many_orders(world, api, count, django_assert_num_queries):
    _orders(world, count)
    client = api(world.rita)
    # 2 the API key (with its user) and its last-use update; 1 the count; 1 the page of orders
    # (partner, reseller, placer); 1 their lines (product, accounts, Virtual Account).
    with django_assert_num_queries(5):
        assert client.get(ORDERS).json()["count"] == count
    with django_assert_num_queries(5):
        assert client.get(ORDERS + f"?holding_account={world.holding.pk}&state=held&sku=").json()["count"] == count // 2


@pytest.mark.parametrize("count", [2, 8])
def test_the_list_for_staff_takes_the_same_queries(world, api, count, django_assert_num_queries):
    _orders(world, count)
    client = api(world.staff)
    with django_assert_num_queries(5):
        assert client.get(ORDERS).json()["count"] == count
