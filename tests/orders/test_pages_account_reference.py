"""The account pickers of the order form and of the held-line move (flows 5 and 8): a partner is
offered a customer account's Virtual Account names only for an account their own search found.
The search result carries a reference signed for the searcher (not the account's id); the
Virtual Account options, the order form and the move take only that, so trying ids, or using an
altered, expired or someone else's reference, shows nothing of the account."""
import re
import time
from html import unescape
from unittest import mock

import pytest
from django.urls import reverse

from orders import services
from orders.models import Order, OrderLineState

from tests.html import field_error, html
from .test_pages_place import order_data

pytestmark = pytest.mark.django_db

SEARCH = reverse("orders:account_search")
VA_OPTIONS = reverse("orders:virtual_account_options")
PLACE = reverse("orders:order_place")
MOVE = reverse("orders:held_line_move")


def found(client, prefix: str, query: str, *, purpose: str = "order") -> dict[str, str]:
    """What the signed-in user's search offers: {option label: option value}."""
    page = html(client.get(SEARCH, {"prefix": prefix, "purpose": purpose, f"{prefix}-account_search": query}))
    return {unescape(label): value for value, label in re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', page)}


def reference_of(client, user, world, prefix: str = "lines-0", *, purpose: str = "order") -> str:
    """The value the search of `user` offers for Globex."""
    client.force_login(user)
    (value,) = [v for label, v in found(client, prefix, "globex.example", purpose=purpose).items() if label.startswith("Globex")]
    return value


def va_options(client, prefix: str, value) -> object:
    return client.get(VA_OPTIONS, {"prefix": prefix, "purpose": "deposit", f"{prefix}-smart_account": value})


def test_virtual_account_names_are_offered_only_for_an_account_the_partner_found(client, world):
    value = reference_of(client, world.rita, world)

    response = va_options(client, "lines-0", value)

    assert value != str(world.globex.pk)  # the search hands out a reference, not the id
    page = html(response)
    assert response.status_code == 200 and "Virtual Account in Globex" in page
    assert f'<option value="{world.globex_finance.pk}">' in page and "Finance" in page


def test_a_bare_account_id_reveals_no_virtual_account_names(client, world):
    client.force_login(world.rita)

    response = va_options(client, "lines-0", world.globex.pk)

    assert response.status_code == 404
    assert "Globex" not in html(response) and "Finance" not in html(response)


def test_a_search_reference_of_another_user_reveals_nothing(client, world):
    colleagues = reference_of(client, world.rosa, world)  # same partner, another user
    client.force_login(world.rita)

    response = va_options(client, "lines-0", colleagues)

    assert response.status_code == 404
    assert "Globex" not in html(response) and "Finance" not in html(response)


def test_an_altered_or_expired_search_reference_reveals_nothing(client, world):
    value = reference_of(client, world.rita, world)
    altered = value[:-1] + ("A" if value[-1] != "A" else "B")
    two_days_later = time.time() + 2 * 24 * 3600

    assert va_options(client, "lines-0", altered).status_code == 404
    with mock.patch("django.core.signing.time.time", return_value=two_days_later):
        expired = va_options(client, "lines-0", value)
    assert expired.status_code == 404 and "Finance" not in html(expired)


def test_choosing_no_account_yet_shows_no_virtual_accounts(client, world):
    client.force_login(world.rita)

    response = va_options(client, "lines-0", "")

    assert response.status_code == 200 and "Choose an account first." in html(response)


def test_a_partner_places_an_order_into_an_account_found_by_search(client, world, mandatory_product):
    value = reference_of(client, world.rita, world, "lines-0")
    assert "Finance" in html(va_options(client, "lines-0", value))

    response = client.post(PLACE, order_data({"product": mandatory_product.sku, "quantity": "4", "assignment": "customer",
                                              "smart_account": value, "virtual_account": world.globex_finance.pk}))

    line = Order.objects.get().lines.get()
    assert response.status_code == 302
    assert (line.smart_account, line.virtual_account, line.quantity) == (world.globex, world.globex_finance, 4)


def test_an_order_line_naming_a_bare_account_id_is_refused_next_to_the_field_and_reveals_nothing(
    client, world, mandatory_product
):
    client.force_login(world.rita)

    response = client.post(PLACE, order_data({"product": mandatory_product.sku, "quantity": "4", "assignment": "customer",
                                              "smart_account": world.globex.pk, "virtual_account": world.globex_finance.pk},
                                             name="Someone"))

    assert response.status_code == 200 and not Order.objects.exists()
    assert "choose it from the search results" in unescape(field_error(response, "id_lines-0-smart_account"))
    assert "Globex" not in html(response) and "Finance" not in html(response)


def test_an_order_line_with_another_users_search_reference_is_refused(client, world, mandatory_product):
    colleagues = reference_of(client, world.rosa, world)
    client.force_login(world.rita)

    response = client.post(PLACE, order_data({"product": mandatory_product.sku, "quantity": "4", "assignment": "customer",
                                              "smart_account": colleagues}, name="Someone"))

    assert not Order.objects.exists()
    assert "choose it from the search results" in unescape(field_error(response, "id_lines-0-smart_account"))
    assert "Globex" not in html(response)


def test_a_redisplayed_order_form_still_shows_the_chosen_account_and_its_virtual_accounts(client, world, mandatory_product):
    value = reference_of(client, world.rita, world, "lines-0")

    response = client.post(PLACE, order_data({"product": "NO-SUCH-SKU", "quantity": "4", "assignment": "customer",
                                              "smart_account": value, "virtual_account": world.globex_finance.pk}))

    assert not Order.objects.exists()
    page = html(response)
    chosen = re.search(r'<select name="lines-0-smart_account"[^>]*>\s*<option value="([^"]+)" selected>([^<]+)<', page)
    assert chosen and unescape(chosen.group(2)).startswith("Globex · globex.example")
    assert f'<option value="{world.globex_finance.pk}" selected>' in page  # the Virtual Account chosen
    # What the form shows again can be posted again as it is.
    client.post(PLACE, order_data({"product": mandatory_product.sku, "quantity": "4", "assignment": "customer",
                                   "smart_account": chosen.group(1), "virtual_account": world.globex_finance.pk}))
    assert Order.objects.get().lines.get().virtual_account == world.globex_finance


def test_a_line_for_a_holding_account_ignores_a_stale_customer_choice(client, world, smart_product):
    client.force_login(world.rita)

    client.post(PLACE, order_data({"product": smart_product.sku, "quantity": "1", "assignment": "holding",
                                   "holding_account": world.holding.pk, "smart_account": "stale"}))

    assert Order.objects.get().lines.get().smart_account == world.holding


@pytest.fixture
def held_line(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 5, "smart_account": world.holding}], end_customer_name="Someone")
    (line,) = services.order_ship(order=order, actor=world.staff)
    return line


def test_held_lines_move_into_an_account_found_by_search(client, world, held_line):
    value = reference_of(client, world.rita, world, "move", purpose="move")
    chosen = {"move-lines": [held_line.pk], "move-smart_account": value, "move-virtual_account": world.globex_finance.pk}

    review = html(client.post(MOVE, chosen))

    assert "Move 1 line to Globex" in review
    confirm = re.search(r'name="move-smart_account" value="([^"]+)"', review).group(1)
    client.post(MOVE, {**chosen, "move-smart_account": confirm, "confirm": "1"})
    held_line.refresh_from_db()
    assert (held_line.state, held_line.smart_account, held_line.virtual_account) == (
        OrderLineState.PROVISIONED, world.globex, world.globex_finance)


def test_a_move_naming_a_bare_account_id_is_refused_and_reveals_nothing(client, world, held_line):
    client.force_login(world.rita)

    response = client.post(MOVE, {"move-lines": [held_line.pk], "move-smart_account": world.globex.pk,
                                  "move-virtual_account": world.globex_finance.pk, "confirm": "1"}, follow=True)

    page = html(response)
    assert "choose it from the search results" in unescape(page)
    assert "Globex" not in page and "Finance" not in page
    held_line.refresh_from_db()
    assert held_line.state == OrderLineState.HELD
