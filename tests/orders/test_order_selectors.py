"""Who sees which orders and lines (§5: the ordering partner, its distributor, staff; holding
members see what waits in their holding accounts), in a constant number of queries."""
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from orders import services
from orders.selectors import delegated_lines_for, held_lines_for, order_lines_visible_to, orders_visible_to

from ..factories import PartnerMembershipFactory, UserFactory


def numbers(user) -> set[str]:
    return set(orders_visible_to(user).values_list("number", flat=True))


def test_the_ordering_partners_users_see_its_orders_and_others_do_not(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])

    assert numbers(world.rita) == numbers(world.rosa) == {order.number}
    # Its distributor sees its linked reseller's orders; an unrelated partner, the customer and strangers do not.
    assert numbers(world.dora) == {order.number}
    assert numbers(world.otto) == numbers(world.gina) == numbers(world.outsider) == set()
    assert numbers(world.staff) == {order.number}


def test_a_distributors_order_is_seen_by_the_reseller_it_names(place, world, smart_product):
    named = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}], actor=world.dora,
                  reseller=world.reseller)
    unnamed = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}], actor=world.dora)

    assert numbers(world.dora) == {named.number, unnamed.number}
    assert numbers(world.rosa) == {named.number}


def test_holding_members_see_orders_parked_in_their_holding_account(place, world, smart_product):
    # The distributor parks a line in its linked reseller's holding account without naming it.
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.holding}], actor=world.dora)
    external = UserFactory(email="member@elsewhere.example")

    assert order.number in numbers(world.rita)  # a member of Resale Holding
    assert numbers(world.rosa) == set()  # Resale Co's user, but not a member and not named
    assert numbers(external) == set()


def test_held_lines_are_listed_for_the_members_of_their_holding_account(place, world, smart_product):
    order = place([
        {"product": smart_product, "quantity": 1, "smart_account": world.holding},
        {"product": smart_product, "quantity": 2, "smart_account": world.holding},
        {"product": smart_product, "quantity": 3, "smart_account": world.globex},
    ])
    assert not held_lines_for(world.rita).exists()  # booked lines are not held yet
    services.order_ship(order=order, actor=world.staff)

    assert [line.quantity for line in held_lines_for(world.rita)] == [1, 2]
    assert [line.quantity for line in held_lines_for(world.rita, holding_account=world.holding.pk)] == [1, 2]
    assert not held_lines_for(world.rosa).exists()
    assert not held_lines_for(world.otto).exists()
    assert held_lines_for(world.staff).count() == 2


def test_delegated_lines_are_listed_for_the_orders_contact(place, world, smart_product):
    place([{"product": smart_product, "quantity": 1, "delegate_to_end_customer": True},
           {"product": smart_product, "quantity": 1, "smart_account": world.globex}],
          end_customer_email="IT@Globex.Example")
    contact = UserFactory(email="it@globex.example")

    assert [line.number for line in delegated_lines_for(contact)] == [1]
    assert not delegated_lines_for(world.rita).exists()


def _orders_query_count(user_pk: int) -> int:
    user = User.objects.get(pk=user_pk)
    with CaptureQueriesContext(connection) as queries:
        for order in orders_visible_to(user):
            for line in order.lines.all():
                (line.product.sku, line.smart_account and line.smart_account.name, line.virtual_account, line.held_in)
            (order.partner.name, order.reseller, order.placed_by)
    return len(queries)


def test_listing_orders_takes_the_same_queries_for_one_order_or_many(place, world, smart_product):
    place([{"product": smart_product, "quantity": 1, "smart_account": world.holding}])
    one = _orders_query_count(world.rita.pk)
    for _ in range(5):
        place([{"product": smart_product, "quantity": 1, "smart_account": world.globex,
                "virtual_account": world.globex_finance}] * 3)

    many = _orders_query_count(world.rita.pk)

    # the orders (with partner, reseller, placed_by), their lines (with product and accounts)
    assert one == many == 2


def test_order_lines_visible_to_follows_the_orders(place, world, smart_product):
    place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}] * 2)
    PartnerMembershipFactory(partner=world.other_partner, user=UserFactory(email="oscar@other.example"))

    assert order_lines_visible_to(world.rita).count() == 2
    assert order_lines_visible_to(world.otto).count() == 0
