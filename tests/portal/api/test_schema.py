"""The OpenAPI schema at /api/v1/schema/ and the Swagger UI at /api/v1/docs/, served without a CDN."""
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db

STAFF_PATHS = [
    "/api/v1/me/", "/api/v1/users/", "/api/v1/partners/", "/api/v1/partners/{id}/",
    "/api/v1/partners/{id}/members/", "/api/v1/products/", "/api/v1/products/{id}/",
]


def test_schema_lists_the_staff_endpoints(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    for path in STAFF_PATHS:
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": "A personal API key: `Authorization: Bearer slp_…`.",
    }


def test_schema_has_request_and_response_bodies(client):
    paths = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    create = paths["/api/v1/products/"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ProductCreate"}
    # 415: a body in a media type the API does not read, 413: one too large (lib.api_schema adds them
    # to every body); 409: a write that lost a race in the database.
    assert set(create["responses"]) == {"201", "400", "401", "403", "409", "413", "415"}
    listing = paths["/api/v1/products/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing == {"$ref": "#/components/schemas/PaginatedProductList"}


def test_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns any drf-spectacular warning (unresolvable serializer, authenticator, enum) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_docs_page_loads_swagger_ui_from_our_own_static_files(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html
    sources = re.findall(r"""<(?:script|link)[^>]+(?:src|href)=["']([^"']+)""", html)
    assert sources, html
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]


def test_docs_assets_are_static_files_of_the_project(client, settings):
    html = client.get("/api/v1/docs/").content.decode()
    assets = re.findall(r"""(?:src|href)=["']/static/([^"']+)""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert finders.find(asset), asset
