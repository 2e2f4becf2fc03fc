"""Moving held lines into a customer account that is not the order's end customer (neither the
contact's email domain nor the end customer's name matches the account) asks first: the page
names both sides next to each such line and moves nothing until "Move anyway". The API client
has already chosen, so it is not asked."""
import re

import pytest
from django.urls import reverse

from accounts.selectors import search_reference
from orders import services
from orders.models import OrderLineState
from orders.selectors import customer_mismatches

from tests.factories import SmartAccountFactory
from tests.html import html
from tests.worlds.api_cast import api_as  # noqa: F401  (fixture)
from tests.worlds.api_orders import MOVE as API_MOVE
from tests.worlds.api_orders import api  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

MOVE = reverse("orders:held_line_move")
WARNING = "Ordered for Wingtip Toys (wingtip.example); you chose Acme Corp (acme.example)"


@pytest.fixture
def acme(db):
    return SmartAccountFactory(name="Acme Corp", domain="acme.example")


@pytest.fixture
def held_for(place, world, smart_product):
    """`held_for(name, email)`: one line of an order for that end customer, shipped into Resale Holding."""

    def _held(name: str, email: str):
        order = place([{"product": smart_product, "quantity": 5, "smart_account": world.holding}],
                      end_customer_name=name, end_customer_email=email)
        (line,) = services.order_ship(order=order, actor=world.staff)
        return line

    return _held


def move_body(world, lines, account, **extra) -> dict:
    return {"move-lines": [line.pk for line in lines],
            "move-smart_account": search_reference(smart_account=account, user=world.rita), **extra}


def row_of(page: str, line) -> str:
    """The row of a line on the move page (from its order number to the row's end)."""
    match = re.search(rf"<tr[^>]*>\s*<td><a [^>]*>{line.order.number}</a>.*?</tr>", page, re.S)
    assert match, f"line {line.pk} is not on the page"
    return match.group(0)


def form_with_button(page: str, label: str) -> dict:
    """The fields a form posts when its button named `label` is pressed."""
    for form in re.findall(r"<form .*?</form>", page, re.S):
        if re.search(rf"<button[^>]*>(?:<[^>]*>|\s)*{re.escape(label)}\s*</button>", form):
            data: dict[str, list[str]] = {}
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
                data.setdefault(name, []).append(value)
            return data
    raise AssertionError(f"no form with a {label!r} button")


def state_of(line):
    line.refresh_from_db()
    return line.state


def test_a_line_for_another_customer_asks_and_moves_nothing(client, world, held_for, acme):
    line = held_for("Wingtip Toys", "buyer@wingtip.example")
    client.force_login(world.rita)

    review = html(client.post(MOVE, move_body(world, [line], acme)))

    assert "Ready" not in row_of(review, line)
    assert "Move anyway" in review and "Move 1 line to Acme Corp</button>" not in review
    assert "now Acme Corp" not in review  # the account switcher does not take the target for rita's own
    # Pressing Move without confirming (a stale page, a hand-made post) moves nothing either.
    response = client.post(MOVE, move_body(world, [line], acme, confirm="1"))

    assert response.status_code == 200
    page = html(response)
    assert "Nothing was moved" in page and WARNING in row_of(page, line) and "Move anyway" in page
    assert state_of(line) == OrderLineState.HELD


def test_confirming_moves_the_line_into_the_chosen_account(client, world, held_for, acme):
    line = held_for("Wingtip Toys", "buyer@wingtip.example")
    client.force_login(world.rita)
    review = html(client.post(MOVE, move_body(world, [line], acme)))

    response = client.post(MOVE, form_with_button(review, "Move anyway"), follow=True)

    assert "Moved 1 line to Acme Corp" in html(response)
    line.refresh_from_db()
    assert (line.state, line.smart_account) == (OrderLineState.PROVISIONED, acme)


@pytest.mark.parametrize("email", ["it@acme.example", "it@EU.Acme.example"])
def test_a_matching_domain_needs_no_confirmation(client, world, held_for, acme, email):
    line = held_for("Wingtip Toys", email)  # the contact's domain is the account's (or under it)
    client.force_login(world.rita)

    review = html(client.post(MOVE, move_body(world, [line], acme)))
    assert "Ready" in row_of(review, line) and "Move anyway" not in review
    client.post(MOVE, move_body(world, [line], acme, confirm="1"))

    assert state_of(line) == OrderLineState.PROVISIONED


@pytest.mark.parametrize("name", ["  ACME   corp ", "Acme", "Acme Corp. (Berlin)"])
def test_a_matching_name_needs_no_confirmation(client, world, held_for, acme, name):
    line = held_for(name, "purchasing@gmail.example")
    client.force_login(world.rita)

    review = html(client.post(MOVE, move_body(world, [line], acme)))
    assert "Ready" in row_of(review, line) and "Move anyway" not in review
    client.post(MOVE, move_body(world, [line], acme, confirm="1"))

    assert state_of(line) == OrderLineState.PROVISIONED


def test_the_warning_names_both_sides_next_to_the_line_for_another_customer_only(client, world, held_for, acme):
    theirs = held_for("Wingtip Toys", "buyer@wingtip.example")
    ours = held_for("Acme Corp", "it@acme.example")
    client.force_login(world.rita)

    review = html(client.post(MOVE, move_body(world, [theirs, ours], acme)))

    assert WARNING in row_of(review, theirs) and "Ready" not in row_of(review, theirs)
    assert "Ordered for" not in row_of(review, ours) and "Ready" in row_of(review, ours)
    assert "1 of 2 lines was ordered for another customer" in review
    # The line for Acme alone can still be moved without the other one.
    without = form_with_button(review, "Review again without the line for another customer")
    assert without["move-lines"] == [str(ours.pk)]


def test_a_short_account_name_inside_a_word_is_not_a_match(world, held_for):
    line = held_for("Wingtip Toys", "buyer@wingtip.example")
    it = SmartAccountFactory(name="IT", domain="it.example")
    no_domain = SmartAccountFactory(name="Toys R Us", domain="")

    assert [m.line for m in customer_mismatches([line], it)] == [line]
    (mismatch,) = customer_mismatches([line], no_domain)
    assert (mismatch.customer_name, mismatch.customer_domain, mismatch.account_name, mismatch.account_domain) == (
        "Wingtip Toys", "wingtip.example", "Toys R Us", "")


def test_the_api_client_has_chosen_and_is_not_asked(world, api, held_for, acme):  # noqa: F811
    line = held_for("Wingtip Toys", "buyer@wingtip.example")

    response = api(world.rita).post(API_MOVE, {"lines": [line.pk], "smart_account": acme.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert state_of(line) == OrderLineState.PROVISIONED
