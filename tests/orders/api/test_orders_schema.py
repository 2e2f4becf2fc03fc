"""The order endpoints in the OpenAPI schema: paths, bodies, answers, and the per-line error format."""
import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def paths(client) -> dict:
    return client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]


def test_the_order_endpoints_are_documented_with_their_bodies_and_answers(paths):
    place = paths["/api/v1/orders/"]["post"]
    assert place["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OrderCreate"}
    assert set(place["responses"]) == {"201", "400", "401", "403", "409", "413", "415"}
    listing = paths["/api/v1/orders/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "holding_account", "state", "smart_account", "sku", "placed_after", "placed_before", "page", "page_size"}
    assert set(paths["/api/v1/orders/{id}/"]["get"]["responses"]) == {"200", "401", "404"}
    assert set(paths["/api/v1/orders/{id}/ship/"]["post"]["responses"]) == {
        "200", "400", "401", "403", "404", "409", "413", "415"}
    move = paths["/api/v1/order-lines/move/"]["post"]
    assert set(move["responses"]) == {"200", "400", "401", "403", "409", "413", "415"}
    assert "failed_lines" in move["responses"]["400"]["description"]


def test_placing_documents_the_flat_per_line_error_keys(paths):
    description = paths["/api/v1/orders/"]["post"]["description"]
    assert "`lines.<index>.<field>`" in description and "lines.1.smart_account" in description
