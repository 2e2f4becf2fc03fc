"""POST /api/v1/order-lines/move/ (flow 8): holding-account members move held lines, the
end-customer contact moves the lines delegated to them; only into an active customer account;
a line deposits once; a bulk move is all or nothing and names the lines that failed."""
import pytest

from licensing.models import Entitlement
from orders.models import OrderLine, OrderLineState

from tests.concurrency import run_at_once, unwrap
from tests.factories import SmartAccountFactory
from tests.markers import requires_postgres
from tests.worlds.api_orders import *  # noqa: F401,F403
from tests.worlds.api_orders import MOVE

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(world, placed, smart_product, subscription_product):
    """Two lines shipped into Resale Co's holding account."""
    order = placed([
        {"product": smart_product, "quantity": 2, "smart_account": world.holding},
        {"product": subscription_product, "quantity": 3, "smart_account": world.holding},
    ], ship=True)
    return list(order.lines.order_by("number"))


def test_a_holding_member_moves_held_lines_to_a_customer_account(world, api, held):
    body = {"lines": [line.pk for line in held], "smart_account": world.globex.pk,
            "virtual_account": world.globex_finance.pk}

    response = api(world.rita).post(MOVE, body, format="json")

    assert response.status_code == 200, response.json()
    moved = response.json()["lines"]
    assert [(line["id"], line["state"], line["smart_account"], line["virtual_account"], line["held_in"]) for line in moved] == [
        (held[0].pk, "provisioned", world.globex.pk, world.globex_finance.pk, world.holding.pk),
        (held[1].pk, "provisioned", world.globex.pk, world.globex_finance.pk, world.holding.pk),
    ]
    assert moved[0]["order_number"] == held[0].order.number
    pool = dict(Entitlement.objects.filter(virtual_account=world.globex_finance).values_list("product__sku", "quantity"))
    assert pool == {"ISR-SEC-K9": 2, "DNA-ADV-1Y": 3}


def test_without_a_virtual_account_lines_land_in_the_accounts_default(world, api, held):
    response = api(world.ralf).post(MOVE, {"lines": [held[0].pk], "smart_account": world.globex.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["lines"][0]["virtual_account_name"] == "DEFAULT"


def test_a_line_moves_once(world, api, held):
    body = {"lines": [held[0].pk], "smart_account": world.globex.pk}
    assert api(world.rita).post(MOVE, body, format="json").status_code == 200

    again = api(world.rita).post(MOVE, body, format="json")

    assert again.status_code == 400
    assert again.json() == {
        "lines": [f"Line {held[0].pk} ({held[0].reference}): already provisioned in Globex."],
        "failed_lines": {str(held[0].pk): "already provisioned in Globex"},
    }
    assert Entitlement.objects.filter(virtual_account__smart_account=world.globex).count() == 1


def test_a_bulk_move_is_all_or_nothing_and_names_the_failed_lines(world, api, held, placed, smart_product):
    booked = placed([{"product": smart_product, "quantity": 1, "smart_account": world.holding}]).lines.get()
    api(world.rita).post(MOVE, {"lines": [held[1].pk], "smart_account": world.globex.pk}, format="json")

    response = api(world.rita).post(
        MOVE, {"lines": [held[0].pk, held[1].pk, booked.pk], "smart_account": world.globex.pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["failed_lines"] == {
        str(held[1].pk): "already provisioned in Globex", str(booked.pk): "not shipped yet",
    }
    assert len(response.json()["lines"]) == 2
    held[0].refresh_from_db()
    assert (held[0].state, held[0].smart_account_id) == (OrderLineState.HELD, world.holding.pk)


def test_lines_move_only_into_an_active_customer_account(world, api, held):
    client = api(world.rita)
    line = [held[0].pk]

    new = client.post(MOVE, {"lines": line, "smart_account": world.initech.pk}, format="json")
    assert new.status_code == 400 and list(new.json()) == ["smart_account"]
    assert "active" in new.json()["smart_account"][0]
    holding = client.post(MOVE, {"lines": line, "smart_account": world.distri_holding.pk}, format="json")
    assert holding.status_code == 400 and list(holding.json()) == ["smart_account"]
    suspended = SmartAccountFactory(name="Hooli", status="suspended")
    assert client.post(MOVE, {"lines": line, "smart_account": suspended.pk}, format="json").status_code == 400
    foreign_va = client.post(MOVE, {"lines": line, "smart_account": world.globex.pk,
                                    "virtual_account": world.initech.default_virtual_account.pk}, format="json")
    assert foreign_va.status_code == 400 and list(foreign_va.json()) == ["virtual_account"]
    assert client.post(MOVE, {"lines": line, "smart_account": 999999}, format="json").json() == {
        "smart_account": ["No such Smart Account."]}
    held[0].refresh_from_db()
    assert held[0].state == OrderLineState.HELD


def test_only_holding_members_move_held_lines(world, api, held):
    body = {"lines": [held[0].pk], "smart_account": world.globex.pk}

    # Rosa (Resale Co, not a member) and Dora (the distributor) see the order but may not move its lines.
    for user in (world.rosa, world.dora):
        response = api(user).post(MOVE, body, format="json")
        assert response.status_code == 403, user.email
        assert "not a member of the holding account Resale Holding" in response.json()["detail"]
    # Otto and Gina do not even see it: to them it is no such line.
    for user in (world.otto, world.gina):
        response = api(user).post(MOVE, body, format="json")
        assert response.status_code == 400
        assert response.json()["failed_lines"] == {str(held[0].pk): "no such order line"}
    assert api(None).post(MOVE, body, format="json").status_code == 401
    held[0].refresh_from_db()
    assert held[0].state == OrderLineState.HELD


def test_a_distributor_member_moves_lines_held_in_its_own_holding_account(world, api, placed, smart_product):
    line = placed([{"product": smart_product, "quantity": 1, "smart_account": world.distri_holding}],
                  actor=world.dora, ship=True).lines.get()

    response = api(world.dora).post(MOVE, {"lines": [line.pk], "smart_account": world.globex.pk}, format="json")

    assert response.status_code == 200 and response.json()["lines"][0]["state"] == "provisioned"


def test_the_end_customer_contact_moves_a_line_delegated_to_them(world, api, placed, smart_product):
    # The contact is Gina, SA admin of Globex; the line was delegated and shipped.
    line = placed([{"product": smart_product, "quantity": 5}], end_customer_email="gina@globex.example",
                  ship=True).lines.get()
    assert line.state == OrderLineState.AWAITING_ACCOUNT

    assert api(world.rita).post(MOVE, {"lines": [line.pk], "smart_account": world.globex.pk},
                                format="json").status_code == 403
    response = api(world.gina).post(MOVE, {"lines": [line.pk], "smart_account": world.globex.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["lines"][0]["state"] == "provisioned"
    assert Entitlement.objects.get(virtual_account=world.globex.default_virtual_account).quantity == 5


def test_a_delegated_line_goes_only_where_the_contact_may_add_licenses(world, api, placed, smart_product):
    line = placed([{"product": smart_product, "quantity": 5}], end_customer_email="ivan@initech.example").lines.get()
    acme = SmartAccountFactory(name="Acme")

    response = api(world.ivan).post(MOVE, {"lines": [line.pk], "smart_account": acme.pk}, format="json")

    assert response.status_code == 400 and list(response.json()) == ["smart_account"]


def test_bad_bodies_are_field_keyed(world, api):
    client = api(world.rita)
    assert client.post(MOVE, {"lines": [], "smart_account": world.globex.pk}, format="json").json() == {
        "lines": ["Choose the lines to move."]}
    assert set(client.post(MOVE, {"lines": ["x"]}, format="json").json()) == {"lines", "smart_account"}


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_eight_members_moving_the_same_line_at_once_deposit_it_once(world, api, held):
    clients = [api(world.rita) for _ in range(4)] + [api(world.ralf) for _ in range(4)]

    def move(client):
        return lambda: client.post(MOVE, {"lines": [held[0].pk], "smart_account": world.globex.pk}, format="json").status_code

    statuses = unwrap(run_at_once(*(move(client) for client in clients), timeout=30))

    assert sorted(statuses) == [200] + [400] * 7
    assert Entitlement.objects.filter(virtual_account__smart_account=world.globex).count() == 1
    assert OrderLine.objects.get(pk=held[0].pk).state == OrderLineState.PROVISIONED
