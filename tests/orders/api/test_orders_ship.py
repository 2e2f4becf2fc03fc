"""POST /api/v1/orders/{id}/ship/ (flow 6): staff ship every unshipped line, or some; others who
see the order may not (403), others do not see it (404); a line ships once."""
import datetime

import pytest
from django.utils import timezone

from licensing.models import ClassicLicense, Entitlement
from orders.models import OrderLine, OrderLineState

from tests.worlds.api_orders import *  # noqa: F401,F403
from tests.worlds.api_orders import ORDERS, SHIP_DAY

pytestmark = pytest.mark.django_db


def ship_url(order) -> str:
    return f"{ORDERS}{order.pk}/ship/"


@pytest.fixture
def order(world, placed, smart_product, subscription_product, classic_product):
    return placed([
        {"product": smart_product, "quantity": 2, "smart_account": world.globex, "virtual_account": world.globex_finance},
        {"product": subscription_product, "quantity": 1, "smart_account": world.holding},
        {"product": smart_product, "quantity": 1, "smart_account": world.initech},
        {"product": classic_product, "quantity": 1, "smart_account": world.globex},
        {"product": smart_product, "quantity": 4},
    ])


def test_staff_ship_every_line_and_each_lands_where_the_rules_say(world, api, order):
    response = api(world.staff).post(ship_url(order), {"shipped_on": SHIP_DAY.isoformat()}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "awaiting_account"
    states = [(line["number"], line["state"], line["shipped_on"]) for line in body["lines"]]
    assert states == [
        (1, "provisioned", "2025-01-31"), (2, "held", "2025-01-31"), (3, "awaiting_account", "2025-01-31"),
        (4, "provisioned", "2025-01-31"), (5, "awaiting_account", "2025-01-31"),
    ]
    # Subscriptions start at shipping, wherever the line is.
    assert (body["lines"][1]["starts_on"], body["lines"][1]["ends_on"]) == ("2025-01-31", "2026-01-31")
    assert body["lines"][1]["held_in"] == world.holding.pk
    assert Entitlement.objects.get(virtual_account=world.globex_finance).quantity == 2
    assert ClassicLicense.objects.filter(smart_account=world.globex).count() == 1


def test_staff_ship_chosen_lines_only(world, api, order):
    first = order.lines.get(number=1)

    body = api(world.staff).post(ship_url(order), {"lines": [first.pk]}, format="json").json()

    assert [line["state"] for line in body["lines"]] == ["provisioned", "booked", "booked", "booked", "booked"]
    assert body["lines"][0]["shipped_on"] == timezone.localdate().isoformat()


def test_a_line_ships_once(world, api, order):
    client = api(world.staff)
    assert client.post(ship_url(order), {}, format="json").status_code == 200

    again = client.post(ship_url(order), {}, format="json")
    assert again.status_code == 400
    assert again.json() == {"lines": [f"Every line of {order.number} has shipped already."]}
    first = order.lines.get(number=1)
    named = client.post(ship_url(order), {"lines": [first.pk]}, format="json")
    assert named.status_code == 400 and "shipped already" in named.json()["lines"][0]
    assert Entitlement.objects.filter(virtual_account=world.globex_finance).count() == 1


def test_lines_of_another_order_are_refused_and_nothing_ships(world, api, order, placed, smart_product):
    other = placed([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])
    stranger = other.lines.get()
    mine = order.lines.get(number=1)

    response = api(world.staff).post(ship_url(order), {"lines": [mine.pk, stranger.pk]}, format="json")

    assert response.status_code == 400
    assert response.json() == {"lines": [f"Not lines of {order.number}: {stranger.pk}."]}
    assert set(OrderLine.objects.values_list("state", flat=True)) == {OrderLineState.BOOKED}


def test_the_ship_date_cannot_be_in_the_future(world, api, order):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = api(world.staff).post(ship_url(order), {"shipped_on": tomorrow.isoformat()}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["shipped_on"]


def test_only_staff_ship_those_who_see_the_order_get_403_others_404(world, api, order):
    for user in (world.rita, world.rosa, world.dora):
        response = api(user).post(ship_url(order), {}, format="json")
        assert response.status_code == 403, user.email
    for user in (world.otto, world.gina, world.outsider):
        assert api(user).post(ship_url(order), {}, format="json").status_code == 404, user.email
    assert api(None).post(ship_url(order), {}, format="json").status_code == 401
    assert api(world.staff).post(f"{ORDERS}999999/ship/", {}, format="json").status_code == 404
    assert set(OrderLine.objects.values_list("state", flat=True)) == {OrderLineState.BOOKED}


def test_shipping_owes_the_emails_of_the_rules(world, api, order, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api(world.staff).post(ship_url(order), {"shipped_on": SHIP_DAY.isoformat()}, format="json")

    assert sorted((m.to[0], m.subject) for m in mailoutbox) == [
        ("gina@globex.example", f"Licenses arrived in Globex (order {order.number})"),
        ("rita@resale.example", f"Order {order.number} shipped into your holding account Resale Holding"),
        ("rita@resale.example", f"Subscription started: order {order.number}"),
    ]
