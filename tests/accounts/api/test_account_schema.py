"""The account endpoints are documented in the OpenAPI schema, with their enums named after their models."""
import pytest

pytestmark = pytest.mark.django_db

ACCOUNT_PATHS = {
    "/api/v1/smart-accounts/": {"get", "post"},
    "/api/v1/smart-accounts/{id}/": {"get"},
    "/api/v1/smart-accounts/{id}/activate/": {"post"},
    "/api/v1/smart-accounts/{id}/access-requests/": {"get", "post"},
    "/api/v1/access-requests/{id}/approve/": {"post"},
    "/api/v1/access-requests/{id}/deny/": {"post"},
    "/api/v1/smart-accounts/{id}/roles/": {"get", "post"},
    "/api/v1/roles/{id}/": {"delete"},
    "/api/v1/smart-accounts/{id}/holding-members/": {"get", "post"},
    "/api/v1/smart-accounts/{id}/virtual-accounts/": {"get", "post"},
    "/api/v1/virtual-accounts/{id}/": {"get", "patch", "delete"},
}


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_schema_lists_the_account_endpoints(schema):
    for path, methods in ACCOUNT_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_role_ids_are_uuids_in_the_schema(schema):
    (param,) = schema["paths"]["/api/v1/roles/{id}/"]["delete"]["parameters"]
    assert param["schema"] == {"type": "string", "format": "uuid"}


def test_choice_sets_are_named_after_their_models(schema):
    names = set(schema["components"]["schemas"])
    assert {"SmartAccountKindEnum", "SmartAccountStatusEnum", "PartnerKindEnum", "RoleEnum",
            "AccessRequestStatusEnum"} <= names
