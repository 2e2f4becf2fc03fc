"""DESIGN.md §3 for the licensing app's pages and endpoints: the role matrix's rows for licenses,
tokens, devices, PAKs, events and alerts, and the device's own endpoints. How a row is read and
run: tests/role_matrix.py.
"""
from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from licensing.models import Product

from tests.role_matrix import (
    ACCOUNT,
    EVERYONE,
    LEFT_OPERATORS,
    LEFT_READERS,
    NAMED_IN_THE_BODY,
    NOT_AMONG_THE_CHOICES,
    OPERATORS_ANYWHERE,
    SA_ADMINS,
    SA_OPERATORS,
    SA_READERS,
    SIBLING_OPERATORS,
    SIGNED_IN,
    STAFF,
    Row,
    acme,
    acme_sa,
    api,
    check_row,
    fixed,
    left_child_va,
    page,
    params,
    pk,
)
from tests.worlds.matrix import World, world  # noqa: F401 (world: the module-scoped fixture)


def transfer_form(w: World, caller: str) -> dict:
    return {
        "from_virtual_account": w.left_child.pk, "to_virtual_account": w.left.pk,
        "lines-TOTAL_FORMS": 1, "lines-INITIAL_FORMS": 0, "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 50,
        "lines-0-product": w.smart.pk, "lines-0-quantity": 1,
    }


def token_form(w: World, caller: str) -> dict:
    return {"virtual_account": w.left_child.pk, "description": "Matrix", "expires_in_days": 30, "max_uses": ""}


def device_move_form(w: World, caller: str) -> dict:
    return {"devices": w.left_device.pk, "virtual_account": w.left.pk}


def alert_form(w: World, caller: str) -> dict:
    return {"insufficient_licenses": "on", "expiring_subscriptions": "on", "expiry_windows": "90, 30, 7",
            "extra_recipients": ""}


# Pages per Smart Account (`sa/<Acme>/…`: every role holder sees their part) and per Virtual
# Account (`va/<Left child>/…`: the right subtree only).
SCOPED_READS = ["dashboard", "license_list", "license_export", "device_list", "event_list",
                "event_export", "virtual_account_search", "reconciliation", "reconciliation_export"]

LICENSING_PAGES = [
    # Straight to the account's licenses for whoever sees exactly one customer account (Acme).
    page("licensing:index", ok=SIGNED_IN, odd={c: 302 for c in ACCOUNT - STAFF}),
    *[page(f"licensing:{name}", label="account", kwargs=acme_sa, ok=ACCOUNT) for name in SCOPED_READS],
    *[page(f"licensing:{name}", label="virtual account", kwargs=left_child_va, ok=LEFT_READERS)
      for name in SCOPED_READS],
    page("licensing:license_detail", label="account", kwargs=lambda w: {"sa_pk": w.acme.pk, "product_pk": w.smart.pk},
         ok=ACCOUNT),
    page("licensing:license_detail", label="virtual account",
         kwargs=lambda w: {"va_pk": w.left_child.pk, "product_pk": w.smart.pk}, ok=LEFT_READERS),
    # Tokens are secrets of the pool: users up list them, within their subtree, as in the API
    # (viewers see the account: 403).
    page("licensing:token_list", label="account", kwargs=acme_sa, ok=OPERATORS_ANYWHERE, sees=ACCOUNT),
    page("licensing:token_list", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS,
         sees=LEFT_READERS),
    # Moving licenses, devices and making tokens: users up, within their subtree.
    page("licensing:license_transfer", label="account", kwargs=acme_sa, ok=OPERATORS_ANYWHERE, sees=ACCOUNT),
    page("licensing:license_transfer", "POST", label="account", kwargs=acme_sa, ok=LEFT_OPERATORS, sees=ACCOUNT,
         status=302, body=transfer_form, odd=dict.fromkeys(SIBLING_OPERATORS, NOT_AMONG_THE_CHOICES)),
    page("licensing:license_transfer", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS,
         sees=LEFT_READERS),
    page("licensing:license_transfer", "POST", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS,
         sees=LEFT_READERS, status=302, body=transfer_form),
    page("licensing:license_transfer_available", kwargs=acme_sa, ok=ACCOUNT,
         query=lambda w: {"from_virtual_account": w.left_child.pk}),
    page("licensing:token_create", "POST", label="account", kwargs=acme_sa, ok=LEFT_OPERATORS, sees=ACCOUNT,
         status=302, body=token_form, odd=dict.fromkeys(SIBLING_OPERATORS, NOT_AMONG_THE_CHOICES)),
    page("licensing:token_create", "POST", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS,
         sees=LEFT_READERS, status=302, body=token_form),
    # The device chosen on the list is in Left child: a sibling operator cannot see it (404).
    page("licensing:device_move", label="account", kwargs=acme_sa, ok=LEFT_OPERATORS, sees=ACCOUNT,
         query=lambda w: {"device": w.left_device.pk}, odd=dict.fromkeys(SIBLING_OPERATORS, 404)),
    page("licensing:device_move", "POST", label="account", kwargs=acme_sa, ok=LEFT_OPERATORS, sees=ACCOUNT,
         status=302, body=device_move_form, odd=dict.fromkeys(SIBLING_OPERATORS, NOT_AMONG_THE_CHOICES)),
    page("licensing:device_move", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS, sees=LEFT_READERS,
         query=lambda w: {"device": w.left_device.pk}),
    page("licensing:device_move", "POST", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS,
         sees=LEFT_READERS, status=302, body=device_move_form),
    page("licensing:token_revoke", "POST", kwargs=pk("left_token"), ok=LEFT_OPERATORS,
         sees=LEFT_READERS, status=302),
    page("licensing:device_remove", "POST", kwargs=pk("left_device"), ok=LEFT_OPERATORS,
         sees=LEFT_READERS, status=302),
    # PAKs belong to the account as a whole (a project decision): SA roles see them, SA users up
    # register or convert one; a VA role sees the account but not its PAK list (403), nor a PAK (404).
    page("licensing:classic_license_list", kwargs=acme_sa, ok=SA_READERS, sees=ACCOUNT),
    page("licensing:classic_license_detail", kwargs=pk("pak"), ok=SA_READERS),
    page("licensing:classic_license_register", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS),
    page("licensing:classic_license_register", "POST", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS,
         status=302, body=fixed({"serial_number": "FTXMATRIX1"})),
    page("licensing:classic_license_convert", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS),
    page("licensing:classic_license_convert", "POST", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS,
         status=302, body=lambda w, c: {"virtual_account": w.left_child.pk}),
    # Alerts and their recipients are account settings: SA admins.
    page("licensing:alert_preferences", kwargs=acme_sa, ok=SA_ADMINS, sees=ACCOUNT),
    page("licensing:alert_preferences", "POST", kwargs=acme_sa, ok=SA_ADMINS, sees=ACCOUNT, status=302,
         body=alert_form),
]

API_LICENSING = [
    api("api:product_list", ok=SIGNED_IN),
    api("api:product_list", "POST", ok=STAFF, sees=SIGNED_IN, status=201,
        body=fixed({"sku": "MX-NEW", "name": "New", "family": "Routing"}), effect=Product.objects.count),
    api("api:product_detail", kwargs=pk("smart"), ok=SIGNED_IN),
    api("api:virtual_account_licenses", kwargs=pk("left_child"), ok=LEFT_READERS),
    api("api:smart_account_licenses", kwargs=acme, ok=ACCOUNT),
    api("api:license_transfer", "POST", ok=LEFT_OPERATORS, sees=LEFT_READERS, status=201, others=NAMED_IN_THE_BODY,
        body=lambda w, c: {"from_virtual_account": w.left_child.pk, "to_virtual_account": w.left.pk,
                           "lines": [{"sku": w.smart.sku, "quantity": 1}]}),
    # Tokens are secrets of the pool: users up list and make them (DESIGN.md §5).
    api("api:virtual_account_tokens", kwargs=pk("left_child"), ok=LEFT_OPERATORS, sees=LEFT_READERS),
    api("api:virtual_account_tokens", "POST", kwargs=pk("left_child"), ok=LEFT_OPERATORS,
        sees=LEFT_READERS, status=201, body=fixed({"description": "Matrix", "expires_in_days": 30})),
    api("api:token_detail", kwargs=pk("left_token"), ok=LEFT_OPERATORS, sees=LEFT_READERS),
    api("api:token_detail", "DELETE", kwargs=pk("left_token"), ok=LEFT_OPERATORS, sees=LEFT_READERS,
        status=204),
    # A device's own endpoints: the token in the body, or the device's secret, is the credential;
    # no user is the device (401), whatever their roles (test_the_device_itself_gets_in).
    api("api:device_register", "POST", ok=EVERYONE, status=201,
        body=lambda w, c: {"token": w.left_token_secret, "serial_number": "FTXMATRIX9", "hostname": "m.acme.com"}),
    api("api:device_usage", "POST", kwargs=pk("left_device"), ok=frozenset(), others=401,
        body=lambda w, c: {"usage": [{"sku": w.smart.sku, "count": 1}]}),
    api("api:device_ping", kwargs=pk("left_device"), ok=frozenset(), others=401),
    api("api:device_detail", kwargs=pk("left_device"), ok=LEFT_READERS),
    api("api:device_detail", "PATCH", kwargs=pk("left_device"), ok=LEFT_OPERATORS, sees=LEFT_READERS,
        body=lambda w, c: {"virtual_account": w.left.pk}),
    api("api:device_detail", "DELETE", kwargs=pk("left_device"), ok=LEFT_OPERATORS,
        sees=LEFT_READERS, status=204),
    api("api:virtual_account_devices", kwargs=pk("left_child"), ok=LEFT_READERS),
    # As on the pages: the account's PAKs are for SA roles (a VA role: 403 on the list, 404 on one).
    api("api:smart_account_classic_licenses", kwargs=acme, ok=SA_READERS, sees=ACCOUNT),
    api("api:license_key_verify", "POST", ok=EVERYONE, body=lambda w, c: {"license_key": w.license_key},
        records=False),  # reads only
    api("api:classic_license_register", "POST", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS,
        body=fixed({"serial_number": "FTXMATRIX1"})),
    api("api:classic_license_convert", "POST", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS,
        status=201, body=lambda w, c: {"virtual_account": w.left_child.pk}),
    api("api:smart_account_events", kwargs=acme, ok=ACCOUNT),
    api("api:smart_account_reconciliation", kwargs=acme, ok=ACCOUNT),
    api("api:smart_account_usage_history", kwargs=acme, ok=ACCOUNT),
    # Alert settings and their recipients are account settings: SA admins, as on the page.
    api("api:alert_preferences", kwargs=acme, ok=SA_ADMINS, sees=ACCOUNT),
    api("api:alert_preferences", "PATCH", kwargs=acme, ok=SA_ADMINS, sees=ACCOUNT,
        body=fixed({"daily_summary": True})),
]

ROWS: list[Row] = [*LICENSING_PAGES, *API_LICENSING]


# The cells run in the module's world (each in a savepoint of its own, see tests/role_matrix.py);
# the mark makes pytest-django create the test database.
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("row", params(ROWS))
def test_role_matrix(world, row):
    """One row: every caller's cell, each failure named by URL, method and caller."""
    check_row(world, row)


@pytest.mark.parametrize("url", [
    lambda w: reverse("licensing:classic_license_list", kwargs={"sa_pk": w.acme.pk}),
    lambda w: reverse("licensing:license_export", kwargs={"sa_pk": w.acme.pk}),
    lambda w: reverse("licensing:classic_license_detail", kwargs={"pk": w.pak.pk}),
    lambda w: reverse("licensing:dashboard", kwargs={"sa_pk": w.acme.pk}),
    lambda w: reverse("api:smart_account_classic_licenses", kwargs={"pk": w.acme.pk}),
], ids=["paks page", "licenses csv", "pak", "account page", "paks api"])
def test_pages_and_answers_with_paks_or_license_keys_are_never_stored(world, url):
    response = world.clients["sa_admin"].get(url(world))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


# --- the device itself -----------------------------------------------------------------------


@pytest.mark.parametrize("name, method, status", [("api:device_usage", "post", 200), ("api:device_ping", "get", 204)])
def test_the_device_itself_gets_in(world, name, method, status):
    """The one caller the device endpoints let in (401 for every column of the table)."""
    url = reverse(name, kwargs={"pk": world.left_device.pk})
    body = json.dumps({"usage": [{"sku": world.smart.sku, "count": 1}]}) if method == "post" else None
    with transaction.atomic():
        kwargs = {"content_type": "application/json"} if body else {}
        response = getattr(Client(), method)(
            url, body, HTTP_AUTHORIZATION=f"Bearer {world.left_device_secret}", **kwargs)
        transaction.set_rollback(True)
    assert response.status_code == status, response.content
