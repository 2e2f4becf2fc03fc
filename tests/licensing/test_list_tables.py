"""The device, token and PAK lists are django-tables2 tables (licensing/tables.py): each sorts by
every sortable column through `?sort=` (and `?sort=-…`), ignores a column it does not know, keeps
the filters in its sort and page links, downloads the filtered, sorted rows as CSV with the
columns it shows, and runs the same number of queries sorted as unsorted, at two data sizes."""
import csv
import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from licensing.models import ClassicLicense, Device, RegistrationToken
from licensing.tables import ClassicLicenseTable, DeviceTable, LicenseTable, TokenTable

from ..factories import (
    ClassicLicenseFactory,
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    ProductFactory,
    RegistrationTokenFactory,
)
from .pages_support import csv_rows, grow, html, queries

pytestmark = pytest.mark.django_db


def _sortable(table_class) -> set[str]:
    return {name for name, column in table_class.base_columns.items() if column.orderable is not False and column.visible}


@pytest.fixture
def devices(acme):
    now = timezone.now()
    ago = datetime.timedelta
    made = [
        DeviceFactory(virtual_account=va, serial_number=serial, hostname=host, last_contact_at=now - since)
        for va, serial, host, since in ((acme.us, "FTX-B", "b.example", ago(days=2)),
                                        (acme.europe, "FTX-C", "c.example", ago(days=40)),
                                        (acme.finance, "FTX-A", "a.example", ago(hours=1)))
    ]
    for days, device in zip((3, 1, 2), made):
        Device.objects.filter(pk=device.pk).update(registered_at=now - datetime.timedelta(days=days))
    return made


@pytest.fixture
def tokens(acme):
    now = timezone.now()
    made = [
        RegistrationTokenFactory(virtual_account=acme.us, description="b routers", use_count=2, max_uses=5,
                                 expires_at=now + datetime.timedelta(days=9)),
        RegistrationTokenFactory(virtual_account=acme.europe, description="c routers", use_count=0,
                                 expires_at=now + datetime.timedelta(days=3)),
        RegistrationTokenFactory(virtual_account=acme.finance, description="a routers", use_count=1,
                                 expires_at=now + datetime.timedelta(days=5), revoked_at=now),
    ]
    for days, token in zip((1, 3, 2), made):
        RegistrationToken.objects.filter(pk=token.pk).update(created_at=now - datetime.timedelta(days=days))
    return made


@pytest.fixture
def paks(acme):
    products = [ProductFactory(sku=f"PAK-{c}", classic=True) for c in "BCA"]
    return [
        ClassicLicenseFactory(smart_account=acme.account, product=products[0], pak="PAK-2", quantity=5, source_ref="SO-2"),
        ClassicLicenseFactory(smart_account=acme.account, product=products[1], pak="PAK-3", quantity=1, source_ref="SO-3"),
        ClassicLicenseFactory(smart_account=acme.account, product=products[2], pak="PAK-1", quantity=9, source_ref="SO-1"),
    ]


# What each sortable column sorts by, read from the objects (a new sortable column must be added here).
DEVICE_KEYS = {
    "device": lambda d: d.serial_number,
    "virtual_account": lambda d: d.virtual_account.name,
    "last_contact": lambda d: d.last_contact_at,
    "registered_at": lambda d: d.registered_at,
}
TOKEN_KEYS = {
    "token": lambda t: t.description,
    "virtual_account": lambda t: t.virtual_account.name,
    "created": lambda t: t.created_at,
    "expires": lambda t: t.expires_at,
    "uses": lambda t: t.use_count,
    "status": lambda t: t.current_status,
}
PAK_KEYS = {
    "pak": lambda p: p.pak,
    "product": lambda p: p.product.sku,
    "quantity": lambda p: p.quantity,
    "origin": lambda p: p.source_ref,
}
PAGES = {
    "devices": ("device_list", DeviceTable, DEVICE_KEYS, "devices"),
    "tokens": ("token_list", TokenTable, TOKEN_KEYS, "tokens"),
    "paks": ("classic_license_list", ClassicLicenseTable, PAK_KEYS, "paks"),
}


def _url(acme, name: str) -> str:
    return reverse(f"licensing:{name}", kwargs={"sa_pk": acme.account.pk})


def _listed(response) -> list:
    return list(response.context["page_obj"].object_list)


@pytest.mark.parametrize("page", PAGES)
def test_every_sortable_column_sorts_the_list_both_ways(client, acme, devices, tokens, paks, page):
    name, table_class, keys, _ = PAGES[page]
    assert set(keys) == _sortable(table_class)
    client.force_login(acme.admin)
    for column, key in keys.items():
        ascending = _listed(client.get(_url(acme, name), {"sort": column}))
        assert len(ascending) == 3
        assert [key(row) for row in ascending] == sorted(key(row) for row in ascending), column
        descending = _listed(client.get(_url(acme, name), {"sort": f"-{column}"}))
        assert [row.pk for row in descending] == [row.pk for row in reversed(ascending)], column


def test_a_device_never_heard_from_sorts_as_the_least_recent_contact_on_any_database(client, acme, devices):
    never = DeviceFactory(virtual_account=acme.us, serial_number="FTX-N", last_contact_at=None)
    client.force_login(acme.admin)

    ascending = _listed(client.get(_url(acme, "device_list"), {"sort": "last_contact"}))
    descending = _listed(client.get(_url(acme, "device_list"), {"sort": "-last_contact"}))

    assert ascending[0] == never and descending[-1] == never
    assert [d.serial_number for d in ascending[1:]] == ["FTX-C", "FTX-B", "FTX-A"]


@pytest.mark.parametrize("page", PAGES)
def test_an_unknown_or_unsortable_sort_column_is_ignored(client, acme, devices, tokens, paks, page):
    name = PAGES[page][0]
    client.force_login(acme.admin)
    unsorted = [row.pk for row in _listed(client.get(_url(acme, name)))]
    for bad in ("nope", "-secret_hash", "actions", "usage", "", "-", "pk;drop"):
        response = client.get(_url(acme, name), {"sort": bad})
        assert response.status_code == 200
        assert [row.pk for row in _listed(response)] == unsorted, bad


def test_sort_links_keep_the_filters_and_page_links_keep_the_filters_and_the_sort(client, acme):
    for i in range(30):
        DeviceFactory(virtual_account=acme.us, serial_number=f"FTX{i:03d}", last_contact_at=None)
    client.force_login(acme.admin)

    page = html(client.get(_url(acme, "device_list"), {"status": "silent", "q": "FTX", "sort": "-device"}))

    sort_links = set(re.findall(r'class="sort-link[^"]*" href="\?([^"]+)"', page))
    assert sort_links and all("status=silent" in link and "q=FTX" in link for link in sort_links)
    assert any("sort=device" in link for link in sort_links)  # the sorted column flips
    page_links = set(re.findall(r'class="page-link" href="\?([^"]+)"', page))
    assert page_links and all("status=silent" in link and "sort=-device" in link for link in page_links)
    assert 'aria-sort="descending"' in page and '<th scope="col"' in page and "<caption" in page
    assert '<input type="hidden" name="sort" value="-device">' in page  # a new filter keeps the sort


def test_a_page_size_from_the_offered_sizes_is_honoured_and_any_other_is_not(client, acme):
    for i in range(60):
        DeviceFactory(virtual_account=acme.us, serial_number=f"FTX{i:03d}")
    client.force_login(acme.admin)

    assert len(_listed(client.get(_url(acme, "device_list"), {"per_page": 50}))) == 50
    assert len(_listed(client.get(_url(acme, "device_list"), {"per_page": 100000}))) == 25
    assert len(_listed(client.get(_url(acme, "device_list"), {"per_page": "x"}))) == 25


def test_device_csv_has_the_shown_columns_and_the_filtered_rows_only_in_the_sort_order(client, acme, devices):
    client.force_login(acme.admin)

    response = client.get(_url(acme, "device_list"), {"status": "reporting", "sort": "-device", "_export": "csv"})

    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert [row["Device"] for row in rows] == ["FTX-B", "FTX-A"]  # FTX-C is silent: filtered out
    assert set(rows[0]) >= {"Device", "Virtual Account", "Last contact", "Usage per product", "Registered"}
    assert "Actions" not in rows[0] and "Choose" not in rows[0]
    assert rows[0]["Virtual Account"] == "US" and rows[0]["Hostname"] == "b.example"


def test_token_csv_has_the_shown_columns_the_filtered_rows_and_no_secret(client, acme, tokens):
    client.force_login(acme.admin)

    response = client.get(_url(acme, "token_list"), {"status": "active", "_export": "csv"})

    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["Token", "Virtual Account", "Created", "Expires", "Uses", "Status"]
    assert sorted(row["Status"] for row in rows) == ["active", "active"]
    assert {row["Virtual Account"] for row in rows} == {"US", "Europe"}
    assert all(token.token_hash not in text for token in tokens)


def test_pak_csv_has_the_shown_columns_and_the_filtered_rows(client, acme, paks):
    ClassicLicense.objects.filter(pk=paks[1].pk).update(registered_at=timezone.now(), device_serial="FOC1")
    client.force_login(acme.admin)

    rows = csv_rows(client.get(_url(acme, "classic_license_list"), {"status": "available", "sort": "pak", "_export": "csv"}))

    assert list(rows[0]) == ["PAK", "Product", "Quantity", "Origin", "Status"]
    assert [row["PAK"] for row in rows] == ["PAK-1", "PAK-2"]
    assert rows[0]["Quantity"] == "9" and rows[0]["Status"] == "available"


def test_csv_export_is_for_who_sees_the_list_only(client, acme, paks):
    client.force_login(acme.va_user)  # a VA role: no PAKs, so no PAK export either

    assert client.get(_url(acme, "classic_license_list"), {"_export": "csv"}).status_code == 403


@pytest.mark.parametrize("who", ["admin", "va_user"])
def test_sorted_lists_and_their_csv_run_a_fixed_number_of_queries(client, acme, who):
    user = getattr(acme, who)
    client.force_login(user)
    scope = {"sa_pk": acme.account.pk} if who == "admin" else {"va_pk": acme.us.pk}
    urls = []
    for name, table_class, keys, _ in PAGES.values():
        if name == "classic_license_list" and who != "admin":
            continue
        url = reverse(f"licensing:{name}", kwargs=scope)
        urls += [f"{url}?sort={column}" for column in keys] + [f"{url}?sort=-{column}&_export=csv" for column in keys]
    grow(acme, 1)
    small = {url: queries(client, url) for url in urls}
    grow(acme, 3, start=1)
    large = {url: queries(client, url) for url in urls}
    assert large == small
    unsorted = {url.split("?")[0]: queries(client, url.split("?")[0]) for url in urls}
    for url, count in large.items():
        if "_export" not in url:
            assert count == unsorted[url.split("?")[0]], url  # sorting adds no query


# --- the license list: lines summed in memory, sorted in memory; its CSV is the license export ---


LICENSE_KEYS = {
    "product": lambda line: line.product.sku,
    "family": lambda line: (line.product.family, line.product.sku),
    "purchased": lambda line: line.purchased,
    "in_use": lambda line: line.in_use,
    "available": lambda line: line.available,
    "shortage": lambda line: line.shortage,
    "status": lambda line: line.status,
}


@pytest.fixture
def licensed(acme):
    for sku, family, quantity, used in (("LIC-B", "Routing", 10, 2), ("LIC-C", "Security", 1, 4), ("LIC-A", "Switching", 5, 5)):
        product = ProductFactory(sku=sku, family=family)
        EntitlementFactory(virtual_account=acme.us, product=product, quantity=quantity)
        DeviceUsageFactory(device=DeviceFactory(virtual_account=acme.us), product=product, count=used)


def test_the_license_list_sorts_by_every_sortable_column_and_its_export_follows(client, acme, licensed):
    assert set(LICENSE_KEYS) == _sortable(LicenseTable)
    client.force_login(acme.admin)
    url = _url(acme, "license_list")
    for column, key in LICENSE_KEYS.items():
        ascending = [row.record for row in client.get(url, {"sort": column}).context["table"].rows]
        assert [key(line) for line in ascending] == sorted(key(line) for line in ascending), column
        descending = [row.record for row in client.get(url, {"sort": f"-{column}"}).context["table"].rows]
        assert [key(line) for line in descending] == sorted((key(line) for line in ascending), reverse=True), column
    assert client.get(url, {"sort": "nope"}).status_code == 200

    rows = csv_rows(client.get(_url(acme, "license_export"), {"sort": "-in_use"}))

    assert list(rows[0]) == ["sku", "name", "family", "purchased", "in_use", "available", "shortage", "status"]
    assert [row["sku"] for row in rows] == ["LIC-A", "LIC-C", "LIC-B"]
