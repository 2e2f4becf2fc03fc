"""POST /api/v1/orders/ (flow 5): partner users place orders; every line error comes at once,
keyed `lines.<index>.<field>`; a distributor parks lines in its own or a linked reseller's
holding account, not in anyone else's."""
import pytest

from orders.models import Order, OrderLineState

from tests.worlds.api_orders import *  # noqa: F401,F403
from tests.worlds.api_orders import ORDERS

pytestmark = pytest.mark.django_db


def test_a_partner_user_places_an_order_and_gets_it_back_with_its_lines(
    world, api, smart_product, mandatory_product, subscription_product
):
    body = {
        "end_customer_name": "  Globex   Corp ", "end_customer_email": "IT@Globex.example",
        "lines": [
            {"sku": "isr-sec-k9", "quantity": 2, "smart_account": world.globex.pk,
             "virtual_account": world.globex_finance.pk},
            {"sku": mandatory_product.sku, "quantity": 1, "smart_account": world.holding.pk},
            {"sku": subscription_product.sku, "quantity": 3, "delegate_to_end_customer": True},
        ],
    }

    response = api(world.rita).post(ORDERS, body, format="json")

    assert response.status_code == 201, response.json()
    order = response.json()
    saved = Order.objects.get(pk=order["id"])
    assert order["number"] == saved.number and order["number"].startswith("SO-")
    assert (order["partner"], order["partner_name"], order["reseller"]) == (world.reseller.pk, "Resale Co", None)
    assert (order["end_customer_name"], order["end_customer_email"]) == ("Globex Corp", "it@globex.example")
    assert order["placed_by"] == "rita@resale.example" and order["placed_at"]
    assert order["status"] == "booked"
    first, second, third = order["lines"]
    assert first == {
        "id": first["id"], "number": 1, "sku": "ISR-SEC-K9", "product_name": "ISR Security", "quantity": 2,
        "state": "booked", "smart_account": world.globex.pk, "smart_account_name": "Globex",
        "smart_account_kind": "customer", "virtual_account": world.globex_finance.pk,
        "virtual_account_name": "Finance", "held_in": None, "delegated": False, "shipped_on": None,
        "starts_on": None, "ends_on": None, "provisioned_at": None,
    }
    assert (second["smart_account"], second["smart_account_kind"], second["virtual_account"]) == (
        world.holding.pk, "holding", None)
    assert (third["smart_account"], third["delegated"], third["state"]) == (None, True, OrderLineState.BOOKED)


def test_an_sa_required_line_without_an_assignment_is_a_400_keyed_by_its_line(world, api, smart_product, mandatory_product):
    body = {"end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example", "lines": [
        {"sku": mandatory_product.sku, "quantity": 1},
        {"sku": smart_product.sku, "quantity": 1},
    ]}

    response = api(world.rita).post(ORDERS, body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["lines.0.smart_account"]
    assert "C9300-DNA-E requires a Smart Account" in errors["lines.0.smart_account"][0]
    assert Order.objects.count() == 0


def test_every_line_error_is_reported_at_once_with_flat_keys(world, api, smart_product):
    body = {"end_customer_name": "", "end_customer_email": "not-an-email", "lines": [
        {"sku": "NOPE-1", "quantity": 1},
        {"sku": smart_product.sku, "quantity": 0},
        {"sku": smart_product.sku, "quantity": 1, "smart_account": world.globex.pk, "delegate_to_end_customer": True},
        {"sku": smart_product.sku, "quantity": 1, "smart_account": world.globex.pk,
         "virtual_account": world.holding.default_virtual_account.pk},
    ]}

    errors = api(world.rita).post(ORDERS, body, format="json").json()

    assert set(errors) == {
        "end_customer_name", "end_customer_email", "lines.0.sku", "lines.1.quantity",
        "lines.2.delegate_to_end_customer", "lines.3.virtual_account",
    }
    assert errors["lines.0.sku"] == ["No product has the SKU NOPE-1."]


def test_a_malformed_line_is_reported_with_the_same_flat_keys(world, api, smart_product):
    body = {"end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example", "lines": [
        {"sku": smart_product.sku, "quantity": 1},
        {"sku": smart_product.sku, "quantity": "many"},
        "ISR-SEC-K9",
    ]}

    response = api(world.rita).post(ORDERS, body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"lines.1.quantity", "lines.2.non_field_errors"}
    assert errors["lines.1.quantity"] == ["A valid integer is required."]


def test_lines_that_are_not_a_list_are_an_error_on_lines(world, api):
    response = api(world.rita).post(ORDERS, {"end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
                                              "lines": "ISR-SEC-K9"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"lines": ['Expected a list of items but got type "str".']}


def test_an_order_needs_lines(world, api):
    response = api(world.rita).post(ORDERS, {"end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
                                              "lines": []}, format="json")
    assert response.status_code == 400
    assert response.json() == {"lines": ["Add at least one line."]}
    assert api(world.rita).post(ORDERS, {"end_customer_name": "Globex Corp"}, format="json").json() == {
        "end_customer_email": ["This field is required."], "lines": ["This field is required."],
    }


def test_only_partner_users_place_orders(world, api, smart_product):
    body = {"end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
            "lines": [{"sku": smart_product.sku, "quantity": 1, "smart_account": world.globex.pk}]}

    assert api(world.gina).post(ORDERS, body, format="json").status_code == 403
    assert api(world.outsider).post(ORDERS, body, format="json").status_code == 403
    assert api(None).post(ORDERS, body, format="json").status_code == 401
    assert Order.objects.count() == 0


def test_a_distributor_may_park_lines_in_its_own_or_a_linked_resellers_holding_account(world, api, place_api, smart_product):
    order = place_api([
        {"sku": smart_product.sku, "quantity": 1, "smart_account": world.distri_holding.pk},
        {"sku": smart_product.sku, "quantity": 2, "smart_account": world.holding.pk},
    ], as_=world.dora, reseller=world.reseller.pk)

    assert (order["partner"], order["reseller"], order["reseller_name"]) == (
        world.distributor.pk, world.reseller.pk, "Resale Co")
    assert [line["smart_account"] for line in order["lines"]] == [world.distri_holding.pk, world.holding.pk]


def test_a_distributor_may_not_park_lines_in_another_partners_holding_account(world, api, smart_product):
    body = {"end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
            "lines": [{"sku": smart_product.sku, "quantity": 1, "smart_account": world.other_holding.pk}]}

    response = api(world.dora).post(ORDERS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["lines.0.smart_account"]
    assert "linked resellers'" in response.json()["lines.0.smart_account"][0]


def test_a_reseller_may_not_park_lines_in_its_distributors_holding_account(world, api, smart_product):
    body = {"end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
            "lines": [{"sku": smart_product.sku, "quantity": 1, "smart_account": world.distri_holding.pk}]}

    response = api(world.rita).post(ORDERS, body, format="json")

    assert response.status_code == 400 and list(response.json()) == ["lines.0.smart_account"]


def test_only_a_distributor_names_a_reseller_and_only_a_linked_one(world, api, smart_product):
    body = {"end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
            "lines": [{"sku": smart_product.sku, "quantity": 1, "smart_account": world.globex.pk}]}

    assert api(world.rita).post(ORDERS, {**body, "reseller": world.reseller.pk}, format="json").json() == {
        "reseller": ["Only a distributor orders through a reseller."]}
    assert list(api(world.dora).post(ORDERS, {**body, "reseller": world.other_partner.pk}, format="json").json()) == [
        "reseller"]


def test_a_line_may_go_to_a_customer_account_the_partner_has_no_role_in(world, place_api, smart_product):
    # Depositing gives and never takes: Globex is found by domain search; Resale Co holds no role in it.
    order = place_api([{"sku": smart_product.sku, "quantity": 1, "smart_account": world.globex.pk}])

    assert order["lines"][0]["smart_account"] == world.globex.pk


def test_placing_a_delegated_line_emails_the_end_customer_a_link(
    world, place_api, smart_product, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place_api([{"sku": smart_product.sku, "quantity": 1, "delegate_to_end_customer": True}],
                          end_customer_email="ceo@initech.example")

    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["ceo@initech.example"], f"Choose the Smart Account for your licenses (order {order['number']})")]
