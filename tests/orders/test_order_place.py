"""Placing an order (flow 5): numbers, lines, assignments and who may assign what."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Event, Invitation, InvitationPurpose, SmartAccountStatus
from accounts.services import object_key
from lib.forms import line_errors
from orders import services
from orders.models import Order, OrderLine, OrderLineState

from ..factories import ProductFactory, VirtualAccountFactory


def test_orders_are_numbered_so_from_their_id(place, world, smart_product):
    first = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])
    second = place([{"sku": smart_product.sku, "quantity": 2, "smart_account": world.globex.pk}])

    assert first.number == f"SO-{100000 + first.pk}"
    assert second.number == f"SO-{100000 + second.pk}"
    assert first.number != second.number
    assert first.partner == world.reseller and first.placed_by == world.rita


def test_lines_are_numbered_and_keep_what_was_ordered(place, world, smart_product, classic_product):
    order = place([
        {"sku": smart_product.sku.lower(), "quantity": "3", "smart_account": world.globex, "virtual_account": world.globex_finance},
        {"product": classic_product, "quantity": 1, "smart_account": world.globex},
    ])

    first, second = order.lines.order_by("number")
    assert (first.number, first.product, first.quantity, first.virtual_account) == (1, smart_product, 3, world.globex_finance)
    assert (second.number, second.product, second.virtual_account, second.state) == (2, classic_product, None, OrderLineState.BOOKED)
    assert not first.delegated and not second.delegated


def test_sa_required_line_needs_an_assignment(place, world, smart_product, mandatory_product):
    with pytest.raises(ValidationError) as caught:
        place([
            {"product": smart_product, "quantity": 1},
            {"product": mandatory_product, "quantity": 5},
        ])

    assert list(caught.value.message_dict) == ["lines.1.smart_account"]
    assert "C9300-DNA-E requires a Smart Account" in caught.value.message_dict["lines.1.smart_account"][0]
    assert line_errors(caught.value) == {1: {"smart_account": caught.value.message_dict["lines.1.smart_account"]}}
    assert not Order.objects.exists()


@pytest.mark.parametrize("assignment", ["customer", "holding", "delegated"])
def test_sa_required_line_may_go_to_a_customer_account_a_holding_account_or_the_end_customer(
    place, world, mandatory_product, assignment
):
    spec = {
        "customer": {"smart_account": world.globex},
        "holding": {"smart_account": world.holding},
        "delegated": {"delegate_to_end_customer": True},
    }[assignment]

    order = place([{"product": mandatory_product, "quantity": 5, **spec}])

    line = order.lines.get()
    assert line.delegated == (assignment == "delegated")
    assert line.smart_account == {"customer": world.globex, "holding": world.holding, "delegated": None}[assignment]


def test_line_that_names_no_account_is_delegated_to_the_end_customer(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1}])

    line = order.lines.get()
    assert line.delegated and line.smart_account is None
    invitation = Invitation.objects.get(purpose=InvitationPurpose.ASSIGN_ORDER_LINE)
    assert (invitation.email, invitation.object_key) == ("it@globex.example", object_key(line))


def test_delegated_line_names_no_account(place, world, smart_product):
    with pytest.raises(ValidationError) as caught:
        place([{"product": smart_product, "quantity": 1, "delegate_to_end_customer": True, "smart_account": world.globex}])

    assert "lines.0.delegate_to_end_customer" in caught.value.message_dict


@pytest.mark.parametrize("quantity", [0, -1, "two", None, 1.5, True])
def test_quantity_must_be_a_whole_number_of_at_least_one(place, world, smart_product, quantity):
    with pytest.raises(ValidationError) as caught:
        place([{"product": smart_product, "quantity": quantity, "smart_account": world.globex}])

    assert list(caught.value.message_dict) == ["lines.0.quantity"]


def test_inactive_or_unknown_products_cannot_be_ordered(place, world):
    retired = ProductFactory(sku="OLD-1", is_active=False)

    with pytest.raises(ValidationError) as caught:
        place([
            {"sku": "OLD-1", "quantity": 1, "smart_account": world.globex},
            {"sku": "NOPE-9", "quantity": 1, "smart_account": world.globex},
        ])

    assert caught.value.message_dict == {
        "lines.0.sku": [f"{retired.sku} is no longer sold."],
        "lines.1.sku": ["No product has the SKU NOPE-9."],
    }


def test_a_line_that_is_not_an_object_is_named(place, world, smart_product):
    with pytest.raises(ValidationError) as caught:
        place([{"product": smart_product.sku, "quantity": 1, "smart_account": world.globex}, "ISR-SEC-K9"])

    assert list(caught.value.message_dict) == ["lines.1.non_field_errors"]


def test_every_error_is_reported_at_once(place, world, smart_product, mandatory_product):
    with pytest.raises(ValidationError) as caught:
        place(
            [{"product": smart_product, "quantity": 0, "smart_account": world.globex}, {"product": mandatory_product, "quantity": 1}],
            end_customer_name=" ", end_customer_email="not-an-email",
        )

    assert set(caught.value.message_dict) == {
        "end_customer_name", "end_customer_email", "lines.0.quantity", "lines.1.smart_account",
    }


def test_an_order_has_lines(place):
    with pytest.raises(ValidationError) as caught:
        place([])

    assert "lines" in caught.value.message_dict


def test_partner_needs_no_role_to_assign_any_new_or_active_customer_account(place, world, smart_product):
    # rita holds no role in Globex nor in Initech: depositing gives and never takes.
    order = place([
        {"product": smart_product, "quantity": 1, "smart_account": world.globex},
        {"product": smart_product, "quantity": 1, "smart_account": world.initech},
    ])

    assert [line.smart_account for line in order.lines.order_by("number")] == [world.globex, world.initech]


def test_suspended_account_cannot_be_assigned(place, world, smart_product):
    world.globex.status = SmartAccountStatus.SUSPENDED
    world.globex.save()

    with pytest.raises(ValidationError) as caught:
        place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])

    assert "suspended" in caught.value.message_dict["lines.0.smart_account"][0]


def test_virtual_account_must_belong_to_the_account(place, world, smart_product):
    elsewhere = VirtualAccountFactory(name="Elsewhere")

    with pytest.raises(ValidationError) as caught:
        place([{"product": smart_product, "quantity": 1, "smart_account": world.globex, "virtual_account": elsewhere}])

    assert list(caught.value.message_dict) == ["lines.0.virtual_account"]


def test_virtual_account_alone_names_its_account(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "virtual_account": world.globex_finance.pk}])

    line = order.lines.get()
    assert (line.smart_account, line.virtual_account, line.delegated) == (world.globex, world.globex_finance, False)


def test_only_partner_users_place_orders(place, world, smart_product):
    for actor in (world.gina, world.staff):
        with pytest.raises(PermissionDenied):
            place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}], actor=actor)


def test_reseller_assigns_only_its_own_holding_accounts(place, world, smart_product):
    place([{"product": smart_product, "quantity": 1, "smart_account": world.holding}])

    for foreign in (world.other_holding, world.distri_holding):
        with pytest.raises(ValidationError) as caught:
            place([{"product": smart_product, "quantity": 1, "smart_account": foreign}])
        assert "your own holding accounts" in caught.value.message_dict["lines.0.smart_account"][0]


def test_distributor_may_assign_a_linked_resellers_holding_account_but_not_another_partners(place, world, smart_product):
    order = place(
        [{"product": smart_product, "quantity": 1, "smart_account": world.holding},
         {"product": smart_product, "quantity": 1, "smart_account": world.distri_holding}],
        actor=world.dora,
    )
    assert [line.smart_account for line in order.lines.order_by("number")] == [world.holding, world.distri_holding]

    with pytest.raises(ValidationError) as caught:
        place([{"product": smart_product, "quantity": 1, "smart_account": world.other_holding}], actor=world.dora)
    assert "linked resellers'" in caught.value.message_dict["lines.0.smart_account"][0]


def test_distributor_may_name_a_linked_reseller(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}], actor=world.dora,
                  reseller=world.reseller.pk)

    assert (order.partner, order.reseller) == (world.distributor, world.reseller)

    with pytest.raises(ValidationError) as caught:
        place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}], actor=world.dora,
              reseller=world.other_partner)
    assert list(caught.value.message_dict) == ["reseller"]


def test_a_reseller_cannot_name_a_reseller(place, world, smart_product):
    with pytest.raises(ValidationError) as caught:
        place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}], reseller=world.other_partner)

    assert caught.value.message_dict == {"reseller": ["Only a distributor orders through a reseller."]}
    assert not Order.objects.exists()


def test_order_placed_is_an_event_on_each_assigned_account(place, world, smart_product, subscription_product):
    order = place([
        {"product": smart_product, "quantity": 2, "smart_account": world.globex, "virtual_account": world.globex_finance},
        {"product": subscription_product, "quantity": 3, "smart_account": world.globex, "virtual_account": world.globex_finance},
        {"product": smart_product, "quantity": 4, "smart_account": world.holding},
        {"product": smart_product, "quantity": 5, "delegate_to_end_customer": True},
    ])

    events = Event.objects.filter(action="order.placed")
    assert sorted(e.smart_account.name for e in events) == ["Globex", "Resale Holding"]
    globex_event = events.get(smart_account=world.globex)
    assert globex_event.virtual_account == world.globex_finance
    assert globex_event.detail["order"] == order.number
    assert [line["quantity"] for line in globex_event.detail["lines"]] == [2, 3]
    assert OrderLine.objects.filter(order=order, delegated=True).count() == 1
