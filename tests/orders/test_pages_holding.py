"""/orders/holding/: the lines waiting in the user's holding accounts (age, subscription time
used, stale ones highlighted, filters) and the bulk move to a customer account, confirmed first,
all or nothing."""
import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import search_reference
from orders import services
from orders.models import OrderLineState

from ..factories import HoldingMembershipFactory
from tests.html import html

pytestmark = pytest.mark.django_db

INBOX = reverse("orders:held_line_list")
MOVE = reverse("orders:held_line_move")


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


@pytest.fixture
def held(place, world, smart_product):
    """`held(days_ago=…, product=…, n=1, holding=…)`: n lines of one order shipped into a holding account that long ago."""

    def _held(*, days: int = 1, product=None, n: int = 1, holding=None, **fields):
        order = place([{"product": product or smart_product, "quantity": 5, "smart_account": holding or world.holding}] * n,
                      **fields)
        return services.order_ship(order=order, actor=world.staff, shipped_on=days_ago(days))

    return _held


def row_of(page: str, line) -> str:
    """The table row of a line in the inbox."""
    match = re.search(rf'<tr class="([^"]*)">\s*<td><input[^>]*value="{line.pk}"(.*?)</tr>', page, re.S)
    assert match, f"line {line.pk} is not listed"
    return match.group(1) + match.group(2)


def test_inbox_shows_age_and_elapsed_subscription_and_highlights_stale_lines(client, world, held, subscription_product):
    (old,) = held(days=95, product=subscription_product)
    (recent,) = held(days=5, product=subscription_product)
    (perpetual,) = held(days=31)
    client.force_login(world.rita)

    page = html(client.get(INBOX))

    old_row, recent_row, perpetual_row = row_of(page, old), row_of(page, recent), row_of(page, perpetual)
    assert "95 days" in old_row and "3 of 12 months used" in old_row and 'aria-valuenow="26"' in old_row
    assert "5 days" in recent_row and "0 of 12 months used" in recent_row
    assert "Perpetual" in perpetual_row
    assert "table-warning" in old_row and "Stale" in old_row
    assert "table-warning" in perpetual_row  # 31 days: over the 30-day threshold
    assert "table-warning" not in recent_row and "Stale" not in recent_row
    assert "2 lines have waited more than 30 days" in page


def test_the_stale_threshold_is_a_setting(client, world, held, settings):
    settings.HOLDING_STALE_DAYS = 3
    (line,) = held(days=5)
    client.force_login(world.rita)

    page = html(client.get(INBOX))

    assert "table-warning" in row_of(page, line) and "waited more than 3 days" in page


def test_inbox_lists_only_the_holding_accounts_the_user_may_hold(client, world, held):
    (mine,) = held(days=2)
    held(days=2, holding=world.other_holding, actor=world.otto)
    client.force_login(world.rita)

    response = client.get(INBOX)

    assert [row.line for row in response.context["rows"]] == [mine]


def test_partner_colleague_who_did_not_join_is_told_to_join(client, world, held):
    held(days=2)
    client.force_login(world.rosa)

    page = html(client.get(INBOX))

    assert "You are not a member of a holding account" in page
    assert reverse("accounts:holding_account_list") in page


def test_inbox_filters_by_holding_account_product_and_age(client, world, held, subscription_product):
    HoldingMembershipFactory(smart_account=world.distri_holding, user=world.rita)
    (old,) = held(days=40)
    (dna,) = held(days=2, product=subscription_product)
    (distri,) = held(days=2, holding=world.distri_holding, actor=world.dora)
    client.force_login(world.rita)

    def listed(**params):
        return {row.line.pk for row in client.get(INBOX, params).context["rows"]}

    assert listed() == {old.pk, dna.pk, distri.pk}
    assert listed(holding_account=world.distri_holding.pk) == {distri.pk}
    assert listed(product="DNA-ADV") == {dna.pk}
    assert listed(product="security") == {old.pk, distri.pk}
    assert listed(age="stale") == {old.pk}
    assert listed(age="recent") == {dna.pk, distri.pk}
    assert "No held lines match these filters" in html(client.get(INBOX, {"product": "nothing"}))


def test_nothing_held_says_what_happens_next(client, world):
    client.force_login(world.rita)

    assert "Nothing is waiting in your holding accounts" in html(client.get(INBOX))


@pytest.mark.parametrize("count", [2, 20])
def test_inbox_runs_a_constant_number_of_queries(client, world, held, subscription_product, count):
    held(days=10, product=subscription_product, n=count)
    client.force_login(world.rita)

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(INBOX)

    assert len(response.context["rows"]) == count
    # 1 session, 2 user, 3 count, 4 the page of lines (orders, products, accounts), 5 the filter's
    # holding accounts, 6 partner membership, 7 its partner, 8 the account switcher.
    assert len(ctx.captured_queries) == 8


def test_bulk_move_with_a_confirmation_step_moves_exactly_the_chosen_lines(client, world, held):
    first, second, third = held(days=3, n=3)
    client.force_login(world.rita)
    chosen = {"move-lines": [first.pk, third.pk], "move-smart_account": search_reference(smart_account=world.globex, user=world.rita),
              "move-virtual_account": world.globex_finance.pk}

    review = client.post(MOVE, chosen)

    assert review.status_code == 200
    page = html(review)
    assert "What will land where" in page and "Globex / Finance" in page and "Move 2 lines to Globex" in page
    assert {row["id"] for row in review.context["rows"]} == {first.pk, third.pk}
    for line in (first, second, third):
        line.refresh_from_db()
        assert line.state == OrderLineState.HELD  # nothing moves before it is confirmed

    response = client.post(MOVE, {**chosen, "confirm": "1"}, follow=True)

    assert "Moved 2 lines to Globex / Finance." in html(response)
    for line in (first, second, third):
        line.refresh_from_db()
    assert (first.state, third.state) == (OrderLineState.PROVISIONED, OrderLineState.PROVISIONED)
    assert (first.smart_account, first.virtual_account) == (world.globex, world.globex_finance)
    assert second.state == OrderLineState.HELD and second.smart_account == world.holding


def test_bulk_move_failures_are_listed_per_line_and_nothing_moves(client, world, held):
    first, second = held(days=3, n=2)
    services.order_line_move_to_account(lines=[second], smart_account=world.globex, actor=world.ralf)
    client.force_login(world.rita)

    response = client.post(MOVE, {"move-lines": [first.pk, second.pk], "move-smart_account": search_reference(smart_account=world.globex, user=world.rita), "confirm": "1"})

    page = html(response)
    assert "Nothing was moved" in page
    rows = {row["id"]: row["failure"] for row in response.context["rows"]}
    assert rows == {first.pk: "", second.pk: "already provisioned in Globex"}
    assert "Already provisioned in Globex" in page
    assert "Review again without the lines that cannot move" in page
    first.refresh_from_db()
    assert first.state == OrderLineState.HELD


def test_bulk_move_only_into_an_active_customer_account(client, world, held):
    (line,) = held(days=3)
    client.force_login(world.rita)

    response = client.post(MOVE, {"move-lines": [line.pk], "move-smart_account": search_reference(smart_account=world.initech, user=world.rita), "confirm": "1"})

    assert "Nothing was moved" in html(response) and "lines move only into an active account" in html(response)
    line.refresh_from_db()
    assert line.state == OrderLineState.HELD


def test_bulk_move_needs_ticked_lines_and_an_account(client, world, held):
    held(days=3)
    client.force_login(world.rita)

    response = client.post(MOVE, {"move-smart_account": search_reference(smart_account=world.globex, user=world.rita)}, follow=True)
    assert "Tick the lines to move." in html(response)
    response = client.post(MOVE, {"move-lines": ["1"]}, follow=True)
    assert "choose it" in html(response)


def test_moving_another_holding_accounts_lines_is_refused(client, world, held):
    (theirs,) = held(days=3, holding=world.other_holding, actor=world.otto)
    client.force_login(world.rita)

    response = client.post(MOVE, {"move-lines": [theirs.pk], "move-smart_account": search_reference(smart_account=world.globex, user=world.rita), "confirm": "1"})

    assert "no such order line" in html(response).lower()
    theirs.refresh_from_db()
    assert theirs.state == OrderLineState.HELD
