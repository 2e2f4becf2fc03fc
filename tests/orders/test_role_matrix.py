"""DESIGN.md §3 for the orders app's pages and endpoints: the role matrix's rows for placing,
shipping and following orders, and moving held and delegated lines. How a row is read and run:
tests/role_matrix.py.
"""
from __future__ import annotations

import pytest

from accounts import selectors as account_selectors

from tests.role_matrix import (
    DISTRIBUTOR,
    EVERYONE,
    HOLDERS,
    NAMED_IN_THE_BODY,
    SIGNED_IN,
    STAFF,
    Row,
    api,
    check_row,
    fixed,
    page,
    params,
    pk,
    token,
)
from tests.worlds.matrix import World, world  # noqa: F401 (world: the module-scoped fixture)


def acme_found_by(w: World, caller: str) -> str:
    """Acme as the caller's own account search offers it in the order form and the move (a
    reference signed for them; anonymous callers: anyone's will do)."""
    return account_selectors.search_reference(smart_account=w.acme, user=w.users.get(caller, w.users["no_role"]))


def order_form(w: World, caller: str) -> dict:
    return {
        "end_customer_name": "Acme", "end_customer_email": "admin@acme.com", "reseller": "",
        "lines-TOTAL_FORMS": 1, "lines-INITIAL_FORMS": 0, "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 500,
        "lines-0-product": w.smart.sku, "lines-0-quantity": 1, "lines-0-assignment": "holding",
        "lines-0-holding_account": w.dist_stock.pk,
    }


def assign_form(w: World, caller: str) -> dict:
    return {"assign-smart_account": w.acme.pk, "assign-virtual_account": w.left_child.pk}


ORDER_PAGES = [
    page("orders:order_list", ok=SIGNED_IN),
    # Partner users place orders (staff have no partner to order for).
    page("orders:order_place", ok=DISTRIBUTOR, sees=SIGNED_IN),
    page("orders:order_place", "POST", ok=DISTRIBUTOR, sees=SIGNED_IN, status=302, body=order_form),
    page("orders:account_request_inline", "POST", ok=DISTRIBUTOR, sees=SIGNED_IN, status=302,
         body=lambda w, c: {"newsa-name": "Acme Inline", "newsa-domain": "acme.com",
                            "newsa-contact_email": w.newcomer.email, "line_prefix": "lines-0"}),
    page("orders:holding_account_create_inline", "POST", ok=DISTRIBUTOR, sees=SIGNED_IN, status=302,
         body=fixed({"newholding-name": "Inline stock"})),
    # Depositing needs no role in the customer's account: partner users (and staff) find it.
    page("orders:account_search", ok=DISTRIBUTOR | STAFF, sees=SIGNED_IN,
         query=lambda w: {"prefix": "lines-0", "lines-0-account_search": "acme.com"}),
    # Its Virtual Account names only for an account the caller's own search found: a bare id, or
    # someone else's reference (here holding_member's), shows nothing.
    page("orders:virtual_account_options", ok=DISTRIBUTOR | STAFF, sees=SIGNED_IN,
         caller_query=lambda w, c: {"prefix": "lines-0", "lines-0-smart_account": acme_found_by(w, c)}),
    page("orders:virtual_account_options", label="bare id", ok=frozenset(), sees=SIGNED_IN - DISTRIBUTOR - STAFF,
         query=lambda w: {"prefix": "lines-0", "lines-0-smart_account": w.acme.pk}),
    page("orders:virtual_account_options", label="another caller's reference", ok={"holding_member"},
         sees=SIGNED_IN - DISTRIBUTOR - STAFF,
         query=lambda w: {"prefix": "lines-0", "lines-0-smart_account": acme_found_by(w, "holding_member")}),
    # The end customer's choice: the Virtual Accounts they may operate in (none for most).
    page("orders:virtual_account_options", label="operate", ok=SIGNED_IN,
         query=lambda w: {"prefix": "assign", "assign-smart_account": w.acme.pk, "purpose": "operate"}),
    page("orders:order_detail", kwargs=pk("order"), ok=DISTRIBUTOR | STAFF),
    page("orders:order_ship", "POST", kwargs=pk("order_to_ship"), ok=STAFF, sees=DISTRIBUTOR, status=302),
    page("orders:held_line_list", ok=SIGNED_IN),
    page("orders:held_line_move", ok=SIGNED_IN, status=302),  # GET: back to the inbox
    page("orders:held_line_move", "POST", ok=HOLDERS, sees=SIGNED_IN, status=302,
         body=lambda w, c: {"move-lines": w.held_line.pk, "move-smart_account": acme_found_by(w, c),
                            "move-virtual_account": w.left_child.pk, "confirm": "1"}),
    # The account named by a bare id: back to the inbox with the error, nothing moves.
    page("orders:held_line_move", "POST", label="bare id", ok=frozenset(), sees=SIGNED_IN - HOLDERS,
         odd={c: 302 for c in HOLDERS},
         body=lambda w, c: {"move-lines": w.held_line.pk, "move-smart_account": w.acme.pk,
                            "move-virtual_account": w.left_child.pk, "confirm": "1"}),
    page("orders:delegated_line_list", ok=SIGNED_IN),
    # A delegated line is its end-customer contact's (sa_admin) to place.
    page("orders:delegated_line_choose", kwargs=pk("delegated_line"), ok={"sa_admin"}),
    page("orders:delegated_line_choose", "POST", kwargs=pk("delegated_line"), ok={"sa_admin"},
         status=302, body=assign_form),
    page("orders:delegated_line_assign", kwargs=token("delegated_token"), ok={"sa_admin"}, sees=SIGNED_IN),
    page("orders:delegated_line_assign", "POST", kwargs=token("delegated_token"), ok={"sa_admin"},
         sees=SIGNED_IN, status=302,
         body=assign_form),
]

API_ORDERS = [
    api("api:order_list", ok=SIGNED_IN),
    # Depositing gives and never takes: the partner needs no role in Acme to order into it.
    api("api:order_list", "POST", ok=DISTRIBUTOR, sees=SIGNED_IN, status=201,
        body=lambda w, c: {"end_customer_name": "Acme", "end_customer_email": "admin@acme.com",
                           "lines": [{"sku": w.smart.sku, "quantity": 1, "smart_account": w.acme.pk,
                                      "virtual_account": w.left_child.pk}]}),
    api("api:order_detail", kwargs=pk("order"), ok=DISTRIBUTOR | STAFF),
    api("api:order_ship", "POST", kwargs=pk("order_to_ship"), ok=STAFF, sees=DISTRIBUTOR),
    api("api:order_line_delegated_list", ok=SIGNED_IN),
    # Lines the caller cannot see are answered like unknown ones (400 naming them, no leak).
    # The order's end-customer contact (sa_admin) knows its lines: refused (403), not hidden.
    api("api:order_line_move", "POST", label="held", ok=HOLDERS, sees={"sa_admin"}, others=NAMED_IN_THE_BODY,
        body=lambda w, c: {"lines": [w.held_line.pk], "smart_account": w.acme.pk,
                           "virtual_account": w.left_child.pk}),
    # Only the end-customer contact chooses where a delegated line goes; those who see the order may not.
    api("api:order_line_move", "POST", label="delegated", ok={"sa_admin"}, sees=DISTRIBUTOR | STAFF,
        others=NAMED_IN_THE_BODY,
        body=lambda w, c: {"lines": [w.delegated_line.pk], "smart_account": w.acme.pk,
                           "virtual_account": w.left_child.pk}),
    # The contract is public (DESIGN.md §5): schema and browsable docs.
    # Generated from the code, the same for every caller, and a second's work: three columns.
    api("api:schema", ok=EVERYONE, callers=("anonymous", "no_role", "staff")),
    api("api:docs", ok=EVERYONE),
]

ROWS: list[Row] = [*ORDER_PAGES, *API_ORDERS]


# The cells run in the module's world (each in a savepoint of its own, see tests/role_matrix.py);
# the mark makes pytest-django create the test database.
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("row", params(ROWS))
def test_role_matrix(world, row):
    """One row: every caller's cell, each failure named by URL, method and caller."""
    check_row(world, row)
