"""Bad input is refused before work is done on it (issue 21, findings 8 and 9): a body nested too
deeply, a body over the upload limit and a list over its cap are 400s (413 for the size) in the
API's error format, answered before any item is looked at; error bodies name the first few
problems and the count, never all of them."""
from __future__ import annotations

import json
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.api.serializers_smart_accounts import (
    MAX_VIRTUAL_ACCOUNTS_PER_GRANT,
    AccessRequestApproveSerializer,
)
from accounts.models import Role, VirtualAccount
from lib.api import MAX_ERRORS_SHOWN, MAX_JSON_DEPTH
from licensing.api.serializers import (
    MAX_TRANSFER_LINES,
    AlertPreferencesUpdateSerializer,
    TransferLineSerializer,
    UsageItemSerializer,
)
from licensing.services import MAX_REPORT_ITEMS
from orders.api.serializers import OrderLineMoveSerializer, OrderShipSerializer
from orders.services import MAX_LINES_PER_ORDER

from tests.factories import (
    DeviceFactory,
    EntitlementFactory,
    ProductFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountFactory,
)

SMALL = 2_000  # bytes: an error body that names a few problems, not every one


def post_raw(client: APIClient, url: str, body: str):
    return client.post(url, body, content_type="application/json")


@pytest.fixture
def device(db):
    return DeviceFactory()


@pytest.fixture
def device_api(device) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {device.secret}")
    return client


@pytest.fixture
def pools(db):
    """An SA admin (API key) of an account with two Virtual Accounts; the first holds 10 of a product."""
    sa = SmartAccountFactory(name="Acme", domain="acme.com")
    admin = UserFactory(email="admin@acme.com")
    SmartAccountRoleFactory(user=admin, content_object=sa, role=Role.SA_ADMIN)
    source, target = sa.default_virtual_account, VirtualAccountFactory(parent=sa.default_virtual_account, name="EU")
    EntitlementFactory(virtual_account=source, product=ProductFactory(sku="ISR-SEC-K9"), quantity=10)
    client = APIClient()
    client.force_login(admin)
    return source, target, client


def transfer_body(source, target, lines) -> dict:
    return {"from_virtual_account": source.pk, "to_virtual_account": target.pk, "lines": lines}


# --- nesting -----------------------------------------------------------------------------------


def test_fifty_thousand_nested_objects_sent_to_device_registration_are_a_400_not_a_500(db):
    body = '{"a":' * 50_000 + "1" + "}" * 50_000

    response = post_raw(APIClient(), "/api/v1/devices/register/", body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."}


def test_a_hundred_thousand_open_brackets_in_a_usage_report_are_a_400_not_a_500(device, device_api):
    response = post_raw(device_api, f"/api/v1/devices/{device.pk}/usage/", "[" * 100_000)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_brackets_inside_strings_do_not_count_as_nesting(device, device_api):
    sku = "[" * 50 + '\\"' + "{" * 50  # one string: a SKU no product has
    response = post_raw(device_api, f"/api/v1/devices/{device.pk}/usage/",
                        json.dumps({"usage": [{"sku": sku[:60], "count": 1}]}))

    assert response.status_code == 400
    assert "detail" not in response.json()  # parsed; refused for what it says, not for its shape


def test_a_body_nested_up_to_the_limit_is_parsed(db):
    body = '{"a":' * (MAX_JSON_DEPTH - 1) + "[]" + "}" * (MAX_JSON_DEPTH - 1)

    response = post_raw(APIClient(), "/api/v1/devices/register/", body)

    assert response.status_code == 400 and "serial_number" in response.json()  # the fields' errors


# --- size ----------------------------------------------------------------------------------------


def test_a_body_over_the_upload_limit_is_a_413_in_the_api_error_format(db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    response = post_raw(APIClient(), "/api/v1/devices/register/", json.dumps({"serial_number": "x" * 2_000}))

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request body is larger than the server accepts."}


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_form_body_over_the_limits_is_answered_in_the_api_error_format(db, settings, content_type):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = {f"field{n}": "x" for n in range(20)}

    if content_type.startswith("multipart"):
        response = APIClient().post("/api/v1/devices/register/", fields, format="multipart")
    else:
        response = APIClient().post("/api/v1/devices/register/", urlencode(fields), content_type=content_type)

    assert response.status_code in {400, 413} and response["Content-Type"] == "application/json"
    assert "detail" in response.json()


# --- list caps: refused before any item is validated ---------------------------------------------


def test_a_70000_item_usage_report_is_refused_before_any_item_is_validated(device, device_api):
    items = [{"sku": f"SKU-{n}", "count": 1} for n in range(70_000)]

    with mock.patch.object(UsageItemSerializer, "run_validation") as item_checked:
        response = device_api.post(f"/api/v1/devices/{device.pk}/usage/", {"usage": items}, format="json")

    assert response.status_code == 400
    assert len(response.content) < SMALL
    assert response.json() == {"usage": {"non_field_errors": [
        f"Ensure this field has no more than {MAX_REPORT_ITEMS} elements."]}}
    item_checked.assert_not_called()


def test_a_45000_line_transfer_is_refused_small_and_without_a_query_per_line(pools):
    source, target, client = pools
    lines = [{"sku": f"UNKNOWN-{n}", "quantity": 1} for n in range(45_000)]

    with mock.patch.object(TransferLineSerializer, "run_validation") as line_checked, \
            CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/license-transfers/", transfer_body(source, target, lines), format="json")

    assert response.status_code == 400
    assert len(response.content) < SMALL
    assert response.json() == {"lines": {"non_field_errors": [
        f"Ensure this field has no more than {MAX_TRANSFER_LINES} elements."]}}
    line_checked.assert_not_called()
    assert not [q for q in queries.captured_queries if "licensing_product" in q["sql"]]


@pytest.mark.parametrize("serializer, field, cap", [
    (OrderShipSerializer, "lines", MAX_LINES_PER_ORDER),
    (OrderLineMoveSerializer, "lines", MAX_LINES_PER_ORDER),
    (AlertPreferencesUpdateSerializer, "expiry_windows", 5),
    (AlertPreferencesUpdateSerializer, "extra_recipients", 20),
])
def test_a_list_of_ids_or_values_over_its_cap_is_refused_before_any_item_is_read(serializer, field, cap):
    data = {"smart_account": 1, field: [["not", "a", "value"]] * 70_000}

    checked = serializer(data=data)

    assert not checked.is_valid()
    assert checked.errors[field] == [f"Ensure this field has no more than {cap} elements."]
    assert len(json.dumps(checked.errors)) < SMALL


def test_too_many_virtual_accounts_in_an_approval_are_refused_before_any_is_looked_up(db):
    ids = list(range(1, MAX_VIRTUAL_ACCOUNTS_PER_GRANT + 2))
    checked = AccessRequestApproveSerializer(data={"role": Role.VA_USER, "virtual_accounts": ids},
                                             context={"virtual_accounts": VirtualAccount.objects.all()})

    with CaptureQueriesContext(connection) as queries:
        assert not checked.is_valid()

    assert checked.errors["virtual_accounts"] == [
        f"Ensure this field has no more than {MAX_VIRTUAL_ACCOUNTS_PER_GRANT} elements."]
    assert len(queries) == 0


# --- error bodies name the first few problems and the count --------------------------------------


def test_a_transfer_naming_many_unknown_skus_names_the_first_few_and_the_count(pools):
    source, target, client = pools
    lines = [{"sku": f"UNKNOWN-{n}", "quantity": 1} for n in range(MAX_TRANSFER_LINES)]

    response = client.post("/api/v1/license-transfers/", transfer_body(source, target, lines), format="json")

    assert response.status_code == 400
    body = response.json()
    assert sorted(k for k in body if k != "lines") == [f"lines.{n}.sku" for n in range(MAX_ERRORS_SHOWN)]
    assert body["lines"] == [f"{MAX_TRANSFER_LINES} items have problems; the first {MAX_ERRORS_SHOWN} are shown."]
    assert len(response.content) < SMALL


def test_a_usage_report_with_every_item_wrong_names_the_first_few(device, device_api):
    items = [{"sku": "ISR-SEC-K9", "count": -1}] * MAX_REPORT_ITEMS

    response = device_api.post(f"/api/v1/devices/{device.pk}/usage/", {"usage": items}, format="json")

    assert response.status_code == 400
    assert response.json()["usage"] == {
        **{str(n): {"count": ["Ensure this value is greater than or equal to 0."]} for n in range(MAX_ERRORS_SHOWN)},
        "non_field_errors": [f"{MAX_REPORT_ITEMS} items have problems; the first {MAX_ERRORS_SHOWN} are shown."],
    }
    assert len(response.content) < SMALL

