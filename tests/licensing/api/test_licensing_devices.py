"""The device API: tokens (GET/POST /virtual-accounts/{id}/tokens/, DELETE /tokens/{id}/),
registration (POST /devices/register/, the token is the credential), usage reports
(POST /devices/{id}/usage/ with the device secret), and the device list, move and removal."""
import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Event
from licensing.models import Device, DeviceUsage, RegistrationToken
from licensing.selectors import pool_position

from tests.factories import (
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    HoldingAccountFactory,
    ProductFactory,
    RegistrationTokenFactory,
)
from tests.licensing.conftest import acme, product, subscription_product  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db


# --- tokens -----------------------------------------------------------------------------------


def test_a_user_creates_a_token_shown_once(acme, api_as):
    client = api_as(acme.va_user, key=True)
    response = client.post(f"/api/v1/virtual-accounts/{acme.us.pk}/tokens/",
                           {"description": "Branch routers", "expires_in_days": 7, "max_uses": 5}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    token = RegistrationToken.objects.get()
    assert body["id"] == token.pk and token.token_hash == RegistrationToken.hash(body["token"])
    assert (body["description"], body["max_uses"], body["use_count"], body["status"], body["virtual_account"],
            body["created_by"]) == ("Branch routers", 5, 0, "active", acme.us.pk, acme.va_user.email)
    assert body["expires_at"].startswith((timezone.now() + datetime.timedelta(days=7)).date().isoformat())

    listed = client.get(f"/api/v1/virtual-accounts/{acme.us.pk}/tokens/").json()["results"]
    assert [t["id"] for t in listed] == [token.pk] and "token" not in listed[0]


def test_token_defaults_and_bounds(acme, api_as):
    client = api_as(acme.admin)
    url = f"/api/v1/virtual-accounts/{acme.us.pk}/tokens/"
    assert client.post(url, {}, format="json").json()["max_uses"] is None
    assert client.post(url, {"expires_in_days": 366}, format="json").json() == {
        "expires_in_days": ["The expiry in days is a whole number from 1 to 365."]}
    assert client.post(url, {"expires_in_days": "x"}, format="json").status_code == 400
    assert client.post(url, {"max_uses": 0}, format="json").json().keys() == {"max_uses"}


def test_viewers_may_not_see_or_create_tokens(acme, api_as):
    url = f"/api/v1/virtual-accounts/{acme.us.pk}/tokens/"
    for user in (acme.va_viewer, acme.sa_viewer):
        assert api_as(user).get(url).status_code == 403
        assert api_as(user).post(url, {}, format="json").status_code == 403
    assert api_as(acme.outsider).get(url).status_code == 404
    assert api_as(acme.va_user).post(f"/api/v1/virtual-accounts/{acme.europe.pk}/tokens/", {}, format="json").status_code == 404


def test_no_tokens_in_a_holding_account(api_as, staff_user):
    holding = HoldingAccountFactory()
    response = api_as(staff_user).post(f"/api/v1/virtual-accounts/{holding.default_virtual_account.pk}/tokens/", {},
                                       format="json")
    assert response.status_code == 400 and "virtual_account" in response.json()


def test_revoking_a_token(acme, api_as):
    token = RegistrationTokenFactory(virtual_account=acme.us)

    assert api_as(acme.va_viewer).delete(f"/api/v1/tokens/{token.pk}/").status_code == 403
    assert api_as(acme.outsider).delete(f"/api/v1/tokens/{token.pk}/").status_code == 404
    assert api_as(acme.va_user).delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert api_as(acme.va_user).delete(f"/api/v1/tokens/{token.pk}/").status_code == 400  # revoked already
    assert api_as(acme.va_user).get(f"/api/v1/tokens/{token.pk}/").json()["status"] == "revoked"


@pytest.mark.parametrize("size", [2, 15])
def test_token_list_takes_the_same_queries_for_few_and_many(acme, api_as, size, django_assert_num_queries):
    for _ in range(size):
        RegistrationTokenFactory(virtual_account=acme.us, created_by=acme.admin)
    client = api_as(acme.va_user, key=True)

    # 2 API key; 1 the VA, visible; 1 may operate; 1 count; 1 the page with VA and creator.
    with django_assert_num_queries(6):
        assert client.get(f"/api/v1/virtual-accounts/{acme.us.pk}/tokens/").json()["count"] == size


# --- registration -----------------------------------------------------------------------------


def register(client, token, serial="FTX0001", **extra):
    body = {"token": token if isinstance(token, str) else token.token, "serial_number": serial,
            "product_id": "ISR4451-X", "hostname": "edge-1", **extra}
    return client.post("/api/v1/devices/register/", body, format="json")


@pytest.fixture
def token(acme):
    return RegistrationTokenFactory(virtual_account=acme.us, max_uses=3)


def test_a_device_registers_with_a_token_and_no_user(acme, anon, token):
    response = register(anon, token)

    assert response.status_code == 201, response.content
    body = response.json()
    device = Device.objects.get()
    assert body == {"device_id": device.pk, "device_secret": body["device_secret"], "virtual_account": acme.us.pk,
                    "virtual_account_name": "US", "created": True}
    assert device.secret_hash == Device.hash(body["device_secret"])


def test_registration_needs_no_csrf_token_even_with_a_session(acme, token):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(acme.admin)
    assert register(client, token).status_code == 201


def test_reregistering_returns_the_same_device_and_counts_a_token_use(acme, anon, token):
    first = register(anon, token).json()
    again = register(anon, token)

    assert again.status_code == 200
    assert (again.json()["device_id"], again.json()["created"]) == (first["device_id"], False)
    assert again.json()["device_secret"] != first["device_secret"]
    assert RegistrationToken.objects.get(pk=token.pk).use_count == 2


def test_reregistering_needs_an_active_token_with_a_use_left(acme, anon, token):
    first = register(anon, token, hostname="real-device").json()
    spent = RegistrationTokenFactory(virtual_account=acme.us, max_uses=1, use_count=1)

    response = register(anon, spent, hostname="taken-over")

    assert response.status_code == 400
    assert response.json() == {"token": ["This registration token has been used as many times as it allows."]}
    device = Device.objects.get(pk=first["device_id"])
    assert device.hostname == "real-device" and device.secret_hash == Device.hash(first["device_secret"])
    assert not Event.objects.filter(action="device.reregistered").exists()


def test_a_device_with_its_current_secret_reregisters_without_a_token_use(acme, anon, token):
    first = register(anon, token).json()
    body = {"device_secret": first["device_secret"], "serial_number": "FTX0001", "hostname": "edge-1b"}

    response = anon.post("/api/v1/devices/register/", body, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["device_id"], response.json()["created"]) == (first["device_id"], False)
    assert response.json()["device_secret"] != first["device_secret"]
    assert RegistrationToken.objects.get(pk=token.pk).use_count == 1
    assert Device.objects.get(pk=first["device_id"]).hostname == "edge-1b"
    # The secret it sent is spent: sent again, it is refused, field-keyed.
    again = anon.post("/api/v1/devices/register/", body, format="json")
    assert again.status_code == 400 and list(again.json()) == ["device_secret"]
    both = anon.post("/api/v1/devices/register/", {**body, "token": token.token}, format="json")
    assert both.status_code == 400 and list(both.json()) == ["device_secret"]


def test_the_schema_documents_reregistering_with_the_device_secret(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/devices/register/"]["post"]
    body = schema["components"]["schemas"][
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]

    assert {"token", "device_secret", "serial_number"} <= set(body["properties"])
    assert body["required"] == ["serial_number"]  # a token, or the device's secret: the description says
    assert "device_secret" in operation["description"] and "uses the token once" in operation["description"]
    assert {"200", "201", "400"} <= set(operation["responses"])


def test_reregistering_records_a_secret_rotation_event_admins_see(acme, anon, token, api_as):
    register(anon, token, hostname="edge-1")
    register(anon, token, hostname="edge-1-new")

    listed = api_as(acme.admin).get(f"/api/v1/smart-accounts/{acme.account.pk}/events/",
                                    {"action": "device.reregistered"}).json()["results"]

    assert [(e["action"], e["virtual_account"], e["detail"]["serial_number"], e["detail"]["hostname"],
             e["detail"]["token"]) for e in listed] == [("device.reregistered", acme.us.pk, "FTX0001", "edge-1-new",
                                                         token.prefix)]


def test_registration_needs_an_active_token(acme, anon):
    expired = RegistrationTokenFactory(virtual_account=acme.us, expires_at=timezone.now() - datetime.timedelta(days=1))
    assert register(anon, expired).json() == {"token": ["This registration token has expired."]}
    assert register(anon, "slrt_nope").json() == {"token": ["Unknown registration token."]}
    assert register(anon, RegistrationTokenFactory(virtual_account=acme.us, max_uses=1, use_count=1)).status_code == 400
    response = anon.post("/api/v1/devices/register/", {"serial_number": "X"}, format="json")
    assert response.status_code == 400 and "token" in response.json()
    assert not Device.objects.exists()


def test_registration_in_a_holding_account_is_impossible(anon):
    token = RegistrationTokenFactory(virtual_account=HoldingAccountFactory().default_virtual_account)

    response = register(anon, token)

    assert response.status_code == 400 and "holding account" in response.json()["token"][0]


# --- usage reports --------------------------------------------------------------------------


@pytest.fixture
def device(acme, anon, token):
    body = register(anon, token).json()
    device = Device.objects.get(pk=body["device_id"])
    device.secret = body["device_secret"]
    return device


def as_device(device, secret=None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret or device.secret}")
    return client


def report(client, device, usage):
    return client.post(f"/api/v1/devices/{device.pk}/usage/", {"usage": usage}, format="json")


def test_a_device_reports_usage_with_its_secret(acme, device, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=2)

    response = report(as_device(device), device, [{"sku": "isr-sec-k9", "count": 2}])

    assert response.status_code == 200, response.content
    assert response.json() == {"licenses": [{"sku": "ISR-SEC-K9", "status": "in_compliance"}]}
    assert pool_position(acme.us, product).in_use == 2


def test_usage_above_the_pool_is_accepted_as_shortage_with_an_event(acme, device, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=2)

    response = report(as_device(device), device, [{"sku": "ISR-SEC-K9", "count": 5}])

    assert response.json() == {"licenses": [{"sku": "ISR-SEC-K9", "status": "shortage"}]}
    assert Event.objects.filter(action="compliance.shortage_started", virtual_account=acme.us).count() == 1


def test_usage_counts_replace_the_last_report(acme, device, product):
    other = ProductFactory(sku="DNA-ESS")
    client = as_device(device)
    report(client, device, [{"sku": "ISR-SEC-K9", "count": 3}, {"sku": "DNA-ESS", "count": 1}])
    report(client, device, [{"sku": "ISR-SEC-K9", "count": 1}])

    assert dict(DeviceUsage.objects.values_list("product__sku", "count")) == {"ISR-SEC-K9": 1}
    assert pool_position(acme.us, other).in_use == 0


def test_unknown_skus_are_a_400_naming_them(device, product):
    response = report(as_device(device), device, [{"sku": "ISR-SEC-K9", "count": 1}, {"sku": "BOGUS-9", "count": 1}])

    assert response.status_code == 400
    assert response.json() == {"usage": ["Unknown SKU: BOGUS-9."]}
    assert not DeviceUsage.objects.exists()


def test_usage_shape_is_checked(device, product):
    client = as_device(device)
    assert report(client, device, [{"sku": "ISR-SEC-K9", "count": -1}]).status_code == 400
    assert client.post(f"/api/v1/devices/{device.pk}/usage/", {}, format="json").json().keys() == {"usage"}


def test_usage_needs_the_devices_own_secret(acme, device, product, anon, api_as):
    url = f"/api/v1/devices/{device.pk}/usage/"
    body = {"usage": [{"sku": "ISR-SEC-K9", "count": 1}]}
    other = DeviceFactory(virtual_account=acme.us)

    assert anon.post(url, body, format="json").status_code == 401
    assert as_device(device, "sld_wrong").post(url, body, format="json").status_code == 401
    assert as_device(other).post(url, body, format="json").status_code == 401  # another device's secret
    assert as_device(device).post(f"/api/v1/devices/{other.pk}/usage/", body, format="json").status_code == 401
    assert api_as(acme.admin, key=True).post(url, body, format="json").status_code == 401  # a user is not the device
    response = anon.post(url, body, format="json")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not DeviceUsage.objects.exists()


def test_a_re_registered_device_reports_with_its_new_secret(acme, anon, device, token, product):
    new_secret = register(anon, token).json()["device_secret"]

    assert report(as_device(device), device, [{"sku": "ISR-SEC-K9", "count": 1}]).status_code == 401
    assert report(as_device(device, new_secret), device, [{"sku": "ISR-SEC-K9", "count": 1}]).status_code == 200


# --- device list, move, removal ------------------------------------------------------------


def test_device_list_with_usage_and_status(acme, api_as, product):
    silent = DeviceFactory(virtual_account=acme.finance, serial_number="B", last_contact_at=timezone.now() - datetime.timedelta(days=40))
    DeviceUsageFactory(device=silent, product=product, count=2)
    DeviceFactory(virtual_account=acme.us, serial_number="A")
    client = api_as(acme.va_viewer)

    own = client.get(f"/api/v1/virtual-accounts/{acme.us.pk}/devices/").json()["results"]
    assert [d["serial_number"] for d in own] == ["A"]
    everything = client.get(f"/api/v1/virtual-accounts/{acme.us.pk}/devices/?subtree=1").json()["results"]
    assert [(d["serial_number"], d["status"], d["virtual_account_name"], d["usage"]) for d in everything] == [
        ("A", "reporting", "US", []), ("B", "silent", "Finance", [{"sku": "ISR-SEC-K9", "count": 2}])]
    assert [d["serial_number"] for d in client.get(
        f"/api/v1/virtual-accounts/{acme.us.pk}/devices/?subtree=1&status=silent").json()["results"]] == ["B"]
    assert [d["serial_number"] for d in client.get(
        f"/api/v1/virtual-accounts/{acme.us.pk}/devices/?subtree=1&sku=isr-sec-k9").json()["results"]] == ["B"]
    assert client.get(f"/api/v1/virtual-accounts/{acme.us.pk}/devices/?sku=NOPE").status_code == 400
    assert client.get(f"/api/v1/virtual-accounts/{acme.europe.pk}/devices/").status_code == 404
    assert client.get(f"/api/v1/devices/{silent.pk}/").json()["serial_number"] == "B"


@pytest.mark.parametrize("size", [2, 15])
def test_device_list_takes_the_same_queries_for_few_and_many(acme, api_as, size, django_assert_num_queries):
    products = [ProductFactory() for _ in range(3)]
    for _ in range(size):
        device = DeviceFactory(virtual_account=acme.finance)
        for p in products:
            DeviceUsageFactory(device=device, product=p, count=1)
    client = api_as(acme.va_viewer, key=True)

    # 2 API key; 1 the VA, visible; 1 count; 1 the page with VAs; 1 usage with products.
    with django_assert_num_queries(6):
        response = client.get(f"/api/v1/virtual-accounts/{acme.us.pk}/devices/?subtree=1")
    assert response.json()["count"] == size


def test_moving_a_device(acme, api_as, product):
    EntitlementFactory(virtual_account=acme.finance, product=product, quantity=5)
    device = DeviceFactory(virtual_account=acme.us)
    DeviceUsageFactory(device=device, product=product, count=2)

    assert api_as(acme.va_viewer).patch(f"/api/v1/devices/{device.pk}/", {"virtual_account": acme.finance.pk},
                                        format="json").status_code == 403
    response = api_as(acme.va_user).patch(f"/api/v1/devices/{device.pk}/", {"virtual_account": acme.finance.pk},
                                          format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["virtual_account"], response.json()["usage"]) == (acme.finance.pk, [{"sku": "ISR-SEC-K9", "count": 2}])
    assert pool_position(acme.finance, product).in_use == 2
    # Into a VA the caller cannot see: as unknown.
    response = api_as(acme.va_user).patch(f"/api/v1/devices/{device.pk}/", {"virtual_account": acme.europe.pk}, format="json")
    assert response.status_code == 400 and "virtual_account" in response.json()


def test_removing_a_device_frees_its_usage(acme, api_as, product):
    device = DeviceFactory(virtual_account=acme.us)
    DeviceUsageFactory(device=device, product=product, count=2)

    assert api_as(acme.sa_viewer).delete(f"/api/v1/devices/{device.pk}/").status_code == 403
    assert api_as(acme.outsider).delete(f"/api/v1/devices/{device.pk}/").status_code == 404
    assert api_as(acme.sa_user).delete(f"/api/v1/devices/{device.pk}/").status_code == 204
    assert pool_position(acme.us, product).in_use == 0 and not Device.objects.exists()


def test_a_device_secret_is_no_user_credential(acme, device, anon):
    # The device's bearer secret does not open user endpoints.
    assert as_device(device).get(f"/api/v1/virtual-accounts/{acme.us.pk}/devices/").status_code == 401
