"""Every day a caller gives, on every page and endpoint, is checked by one validator
(accounts.validators.validate_day_in_range): out of range it is a field-keyed 400 or a form
error, never a 500 (the second audit: `usage-history?end=0001-01-01`, `reconciliation?end=0001-01-10`,
`events?until=9999-12-31` and the event log page and CSV overflowed in date arithmetic)."""
from __future__ import annotations

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Role
from accounts.validators import DAY_OUT_OF_RANGE
from orders.models import OrderLineState

from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

EXTREMES = ["0001-01-01", "0001-01-10", "1969-12-31", "9999-12-31", "9999-12-30"]

# (operation, parameter): every date parameter the schema documents, each tried below.
API_DATE_PARAMETERS = {
    ("GET /api/v1/smart-accounts/{id}/events/", "since"),
    ("GET /api/v1/smart-accounts/{id}/events/", "until"),
    ("GET /api/v1/smart-accounts/{id}/reconciliation/", "start"),
    ("GET /api/v1/smart-accounts/{id}/reconciliation/", "end"),
    ("GET /api/v1/smart-accounts/{id}/usage-history/", "start"),
    ("GET /api/v1/smart-accounts/{id}/usage-history/", "end"),
    ("GET /api/v1/orders/", "placed_after"),
    ("GET /api/v1/orders/", "placed_before"),
    ("POST /api/v1/orders/{id}/ship/", "shipped_on"),
}


def date_parameters_in_the_schema() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter.get("schema", {}).get("format") == "date":
                    found.add((name, parameter["name"]))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                ref = content["schema"].get("$ref", "")
                body = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
                for field, spec in body.get("properties", {}).items():
                    if spec.get("format") == "date" and not spec.get("readOnly"):
                        found.add((name, field))
    return found


def test_every_date_parameter_of_the_api_is_tried_here():
    assert date_parameters_in_the_schema() == API_DATE_PARAMETERS


@pytest.fixture
def world(client):
    staff = UserFactory(is_staff=True, powers="all")
    admin = UserFactory(email="admin@acme.example")
    acme = SmartAccountFactory(name="Acme", domain="acme.example")
    SmartAccountRoleFactory(user=admin, content_object=acme, role=Role.SA_ADMIN)
    order = OrderFactory()
    OrderLineFactory(order=order, state=OrderLineState.BOOKED)
    PartnerMembershipFactory(partner=order.partner, user=UserFactory(email="seller@partner.example"))
    return {"staff": staff, "admin": admin, "acme": acme, "order": order}


def api_url(operation: str, world) -> str:
    path = operation.split(" ", 1)[1]
    return path.replace("{id}", str(world["order"].pk if "/orders/" in path else world["acme"].pk))


@pytest.mark.parametrize("day", EXTREMES)
@pytest.mark.parametrize("operation, parameter", sorted(API_DATE_PARAMETERS))
def test_an_out_of_range_day_is_a_field_keyed_400_on_every_endpoint(client, world, operation, parameter, day):
    client.force_login(world["staff"])
    url = api_url(operation, world)
    if operation.startswith("GET"):
        response = client.get(url, {parameter: day})
    else:
        response = client.post(url, {parameter: day}, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()[parameter] == [DAY_OUT_OF_RANGE]


@pytest.mark.parametrize("day", ["1970-01-01", "9998-12-31"])
def test_the_first_and_last_day_in_range_are_taken(client, world, day):
    client.force_login(world["admin"])
    for operation in ("events", "usage-history"):
        url = f"/api/v1/smart-accounts/{world['acme'].pk}/{operation}/"
        response = client.get(url, {"since" if operation == "events" else "end": day})
        assert response.status_code in (200, 400), response.content
        assert DAY_OUT_OF_RANGE not in response.content.decode()


PAGES = [
    ("licensing:event_list", "until"),
    ("licensing:event_list", "since"),
    ("licensing:event_export", "until"),
    ("licensing:reconciliation", "end"),
    ("licensing:reconciliation", "start"),
    ("licensing:reconciliation_export", "end"),
]


@pytest.mark.parametrize("day", EXTREMES)
@pytest.mark.parametrize("name, parameter", PAGES)
def test_an_out_of_range_day_on_a_page_is_a_form_error_not_a_500(client, world, name, parameter, day):
    client.force_login(world["admin"])

    response = client.get(reverse(name, kwargs={"sa_pk": world["acme"].pk}), {parameter: day})

    assert response.status_code in (200, 400)
    if response.get("Content-Type", "").startswith("text/html"):
        assert DAY_OUT_OF_RANGE in response.content.decode()


@pytest.mark.parametrize("day", EXTREMES)
@pytest.mark.parametrize("parameter", ["placed_from", "placed_to"])
def test_an_out_of_range_day_on_the_order_list_is_a_form_error(client, world, parameter, day):
    client.force_login(world["staff"])

    response = client.get(reverse("orders:order_list"), {parameter: day})

    assert response.status_code == 200 and DAY_OUT_OF_RANGE in response.content.decode()
