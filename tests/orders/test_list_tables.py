"""The order list and the holding-account inbox are django-tables2 tables (orders/tables.py): each
sorts by every sortable column through `?sort=`, ignores a column it does not know, keeps the
filters in its sort and page links, downloads the filtered, sorted rows as CSV with the columns it
shows, and runs the same number of queries sorted as unsorted, at two data sizes. The inbox stays
grouped by holding account whatever the sort. The list of delegated lines waiting for the end
customer's choice is one too (unpaginated, no filters)."""
import csv
import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from orders import services
from orders.models import Order, OrderLineState
from orders.tables import DelegatedLineTable, HeldLineTable, OrderTable

from ..factories import HoldingMembershipFactory, OrderFactory, OrderLineFactory, PartnerFactory, ProductFactory
from ..querycount import count_queries

pytestmark = pytest.mark.django_db

LIST = reverse("orders:order_list")
INBOX = reverse("orders:held_line_list")
DELEGATED = reverse("orders:delegated_line_list")


def _sortable(table_class) -> set[str]:
    return {name for name, column in table_class.base_columns.items() if column.orderable is not False and column.visible}


def _csv(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def orders(world):
    """Three orders of two partners, placed on different days, for end customers B, C, A."""
    now = timezone.now()
    made = []
    for number, days, customer, partner in (
        ("SO-2", 3, "B Corp", world.reseller), ("SO-3", 1, "C Corp", world.distributor), ("SO-1", 2, "A Corp", world.reseller),
    ):
        order = OrderFactory(number=number, partner=partner, end_customer_name=customer)
        OrderLineFactory(order=order, product=ProductFactory(sku=f"SKU-{number}"))
        Order.objects.filter(pk=order.pk).update(placed_at=now - datetime.timedelta(days=days))
        made.append(order)
    return made


ORDER_KEYS = {
    "number": lambda o: o.number,
    "placed_at": lambda o: o.placed_at,
    "end_customer": lambda o: o.end_customer_name,
    "partner": lambda o: o.partner.name,
}


def test_every_sortable_order_column_sorts_the_list_both_ways(client, world, orders):
    assert set(ORDER_KEYS) == _sortable(OrderTable)
    client.force_login(world.staff)  # staff see the partner column
    for column, key in ORDER_KEYS.items():
        ascending = list(client.get(LIST, {"sort": column}).context["orders"])
        assert len(ascending) == 3
        assert [key(o) for o in ascending] == sorted(key(o) for o in ascending), column
        descending = list(client.get(LIST, {"sort": f"-{column}"}).context["orders"])
        assert [o.pk for o in descending] == [o.pk for o in reversed(ascending)], column


def test_an_unknown_sort_column_or_a_hidden_one_is_ignored(client, world, orders):
    client.force_login(world.rita)  # a reseller's user: no partner column
    unsorted = [o.number for o in client.get(LIST).context["orders"]]
    for bad in ("nope", "partner", "-lines", "status", "", "placed_at__year"):
        response = client.get(LIST, {"sort": bad})
        assert response.status_code == 200
        assert [o.number for o in response.context["orders"]] == unsorted, bad


def test_order_sort_and_page_links_keep_the_filters(client, world):
    for i in range(30):
        OrderLineFactory(order=OrderFactory(partner=world.reseller, end_customer_name=f"Acme {i:02d}"))
    client.force_login(world.rita)

    page = client.get(LIST, {"customer": "acme", "sort": "end_customer"}).content.decode()

    sort_links = re.findall(r'class="sort-link[^"]*" href="\?([^"]+)"', page)
    assert sort_links and all("customer=acme" in link and "page=" not in link for link in sort_links)
    assert 'href="?customer=acme&amp;sort=-end_customer"' in page  # the sorted column flips
    page_links = re.findall(r'class="page-link" href="\?([^"]+)"', page)
    assert page_links and all("customer=acme" in link and "sort=end_customer" in link for link in page_links)
    assert 'aria-sort="ascending"' in page


def test_order_csv_has_the_shown_columns_and_the_filtered_rows_in_the_sort_order(client, world, orders):
    client.force_login(world.staff)

    rows = _csv(client.get(LIST, {"customer": "corp", "placed_from": (timezone.localdate() - datetime.timedelta(days=2)).isoformat(),
                                  "sort": "-number", "_export": "csv"}))

    assert list(rows[0]) == ["Order", "Placed", "End customer", "Partner", "Lines", "Status"]
    assert [row["Order"] for row in rows] == ["SO-3", "SO-1"]  # SO-2 was placed 3 days ago
    assert rows[0]["Partner"] == "Big Distribution" and "SKU-SO-3" in rows[0]["Lines"] and rows[0]["Status"] == "booked"


def test_order_csv_leaves_out_the_partner_column_where_the_page_does(client, world, orders):
    client.force_login(world.rita)

    rows = _csv(client.get(LIST, {"_export": "csv"}))

    assert "Partner" not in rows[0] and {row["Order"] for row in rows} == {"SO-1", "SO-2"}


@pytest.mark.parametrize("sort", ["", "number", "-placed_at", "end_customer"])
def test_the_sorted_order_list_and_its_csv_run_a_fixed_number_of_queries(client, world, sort):
    products = [ProductFactory() for _ in range(3)]
    client.force_login(world.rita)

    def grow(count):
        for _ in range(count):
            order = OrderFactory(partner=world.reseller, placed_by=world.rita)
            for n in range(1, 4):
                OrderLineFactory(order=order, number=n, product=products[n - 1])

    counts = []
    for size in (2, 18):
        grow(size)
        page, response = count_queries(client, f"{LIST}?sort={sort}")
        export, _ = count_queries(client, f"{LIST}?sort={sort}&_export=csv")
        counts.append((page, export))
    assert counts[0] == counts[1]
    assert counts[0][0] == count_queries(client, LIST)[0]  # sorting adds no query


# --- the holding-account inbox ------------------------------------------------------------------


@pytest.fixture
def held(world, place, smart_product):
    """Lines held in two holding accounts rita is a member of."""
    HoldingMembershipFactory(smart_account=world.distri_holding, user=world.rita)
    made = []
    for days, qty, sku, holding in ((5, 3, "B-SKU", world.holding), (9, 1, "C-SKU", world.distri_holding),
                                    (2, 7, "A-SKU", world.holding), (7, 2, "D-SKU", world.holding)):
        order = place([{"product": ProductFactory(sku=sku), "quantity": qty, "smart_account": holding}],
                      actor=world.rita if holding == world.holding else world.dora)
        made += services.order_ship(order=order, actor=world.staff, shipped_on=timezone.localdate() - datetime.timedelta(days=days))
    return made


HELD_KEYS = {
    "order": lambda line: line.order.number,
    "end_customer": lambda line: line.order.end_customer_name,
    "product": lambda line: line.product.sku,
    "quantity": lambda line: line.quantity,
    "shipped": lambda line: line.shipped_on,
    "age": lambda line: -line.shipped_on.toordinal(),
    "subscription": lambda line: line.ends_on or datetime.date.max,  # perpetual last
}


def test_every_sortable_held_line_column_sorts_within_each_holding_account(client, world, held):
    assert set(HELD_KEYS) == _sortable(HeldLineTable)
    client.force_login(world.rita)
    for column, key in HELD_KEYS.items():
        for sort in (column, f"-{column}"):
            lines = [row.line for row in client.get(INBOX, {"sort": sort}).context["rows"]]
            assert len(lines) == 4
            accounts = [line.smart_account.name for line in lines]
            assert accounts == sorted(accounts), sort  # still grouped
            for name in set(accounts):
                group = [key(line) for line in lines if line.smart_account.name == name]
                assert group == sorted(group, reverse=sort.startswith("-")), sort


def test_held_lines_sorted_by_age_put_the_oldest_first(client, world, held):
    client.force_login(world.rita)

    lines = [row.line for row in client.get(INBOX, {"sort": "-age"}).context["rows"]]

    assert [line.product.sku for line in lines] == ["C-SKU", "D-SKU", "B-SKU", "A-SKU"]  # Distri Holding, then Resale


def test_held_line_csv_has_the_shown_columns_and_the_filtered_rows(client, world, held):
    client.force_login(world.rita)

    rows = _csv(client.get(INBOX, {"holding_account": world.holding.pk, "sort": "quantity", "_export": "csv"}))

    assert list(rows[0]) == ["Order", "Holding account", "End customer", "Product", "Qty", "Shipped", "Age", "Subscription"]
    assert [row["Product"] for row in rows] == ["D-SKU", "B-SKU", "A-SKU"]
    assert rows[0]["Holding account"] == "Resale Holding" and rows[0]["Age"] == "7 days"


def test_the_sorted_inbox_runs_a_fixed_number_of_queries(client, world, place, smart_product):
    client.force_login(world.rita)

    def grow(count):
        order = place([{"product": smart_product, "quantity": 1, "smart_account": world.holding}] * count)
        services.order_ship(order=order, actor=world.staff)

    counts = []
    for size in (2, 18):
        grow(size)
        counts.append((count_queries(client, f"{INBOX}?sort=-product")[0],
                       count_queries(client, f"{INBOX}?sort=age&_export=csv")[0]))
    assert counts[0] == counts[1]
    assert counts[0][0] == count_queries(client, INBOX)[0]


# --- the delegated lines waiting for the end customer's choice ----------------------------------


@pytest.fixture
def delegated(world):
    """Three lines delegated to gina, from two partners; one not shipped yet. Plus one of someone else's."""
    today = timezone.localdate()
    made = []
    for number, partner, sku, qty, shipped in (("SO-2", world.reseller, "B-SKU", 3, today - datetime.timedelta(days=4)),
                                               ("SO-3", world.distributor, "C-SKU", 1, None),
                                               ("SO-1", world.reseller, "A-SKU", 7, today - datetime.timedelta(days=1))):
        order = OrderFactory(number=number, partner=partner, end_customer_email=world.gina.email)
        Order.objects.filter(pk=order.pk).update(placed_at=timezone.now() - datetime.timedelta(days=int(number[-1])))
        made.append(OrderLineFactory(order=order, delegated=True, product=ProductFactory(sku=sku), quantity=qty, shipped_on=shipped,
                                     state=OrderLineState.AWAITING_ACCOUNT if shipped else OrderLineState.BOOKED))
    OrderLineFactory(order=OrderFactory(number="SO-9", partner=world.reseller), delegated=True)  # not gina's
    return made


DELEGATED_KEYS = {
    "order": lambda line: line.order.number,
    "partner": lambda line: line.order.partner.name,
    "product": lambda line: line.product.sku,
    "quantity": lambda line: line.quantity,
    "shipped": lambda line: line.shipped_on or datetime.date.min,  # not shipped yet first
}


def test_every_sortable_delegated_line_column_sorts_the_list_both_ways(client, world, delegated):
    assert set(DELEGATED_KEYS) == _sortable(DelegatedLineTable)
    client.force_login(world.gina)
    for column, key in DELEGATED_KEYS.items():
        ascending = client.get(DELEGATED, {"sort": column}).context["lines"]
        assert len(ascending) == 3
        assert [key(line) for line in ascending] == sorted(key(line) for line in ascending), column
        descending = client.get(DELEGATED, {"sort": f"-{column}"}).context["lines"]
        assert [line.pk for line in descending] == [line.pk for line in reversed(ascending)], column


def test_delegated_lines_ignore_an_unknown_sort_and_keep_the_newest_order_first(client, world, delegated):
    client.force_login(world.gina)
    unsorted = [line.order.number for line in client.get(DELEGATED).context["lines"]]

    assert unsorted == ["SO-1", "SO-2", "SO-3"]  # the newest order first (SO-n was placed n days ago)
    for bad in ("nope", "actions", "placed", "-order__end_customer_email", ""):
        response = client.get(DELEGATED, {"sort": bad})
        assert response.status_code == 200
        assert [line.order.number for line in response.context["lines"]] == unsorted, bad


def test_delegated_line_sort_links_and_csv_link_keep_the_sort(client, world, delegated):
    client.force_login(world.gina)

    page = client.get(DELEGATED, {"sort": "-quantity"}).content.decode()

    assert 'href="?sort=quantity"' in page and 'aria-sort="descending"' in page
    assert 'href="?sort=-quantity&amp;_export=csv"' in page
    assert reverse("orders:delegated_line_choose", args=[delegated[0].pk]) in page


def test_delegated_line_csv_has_the_shown_columns_and_her_rows_in_the_sort_order(client, world, delegated):
    client.force_login(world.gina)

    rows = _csv(client.get(DELEGATED, {"sort": "shipped", "_export": "csv"}))

    assert list(rows[0]) == ["Order", "Placed", "From", "Product", "Qty", "Shipped"]  # not the button
    assert [row["Order"] for row in rows] == ["SO-3 line 1", "SO-2 line 1", "SO-1 line 1"]
    assert rows[0]["From"] == "Big Distribution" and rows[0]["Shipped"] == "not yet" and rows[0]["Product"].startswith("C-SKU")
    assert rows[1]["Qty"] == "3" and rows[1]["Shipped"] == (timezone.localdate() - datetime.timedelta(days=4)).isoformat()


@pytest.mark.parametrize("sort", ["", "partner", "-shipped", "product"])
def test_the_sorted_delegated_line_list_and_its_csv_run_a_fixed_number_of_queries(client, world, sort):
    client.force_login(world.gina)

    def grow(count):
        for i in range(count):
            order = OrderFactory(partner=world.reseller if i % 2 else world.distributor, end_customer_email=world.gina.email)
            OrderLineFactory(order=order, delegated=True, shipped_on=timezone.localdate() if i % 2 else None)

    counts = []
    for size in (2, 18):
        grow(size)
        counts.append((count_queries(client, f"{DELEGATED}?sort={sort}")[0],
                       count_queries(client, f"{DELEGATED}?sort={sort}&_export=csv")[0]))
    assert counts[0] == counts[1]
    assert counts[0][0] == count_queries(client, DELEGATED)[0]  # sorting adds no query
