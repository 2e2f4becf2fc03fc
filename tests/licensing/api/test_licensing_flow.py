"""Flows 10 and 11 end to end through the API: a customer admin creates a token, a device
registers and reports usage above the pool, the licenses show the shortage, the admin
transfers licenses from a sibling Virtual Account, and the shortage clears."""
import pytest
from rest_framework.test import APIClient

from accounts.models import Notification

from tests.factories import EntitlementFactory
from tests.licensing.conftest import acme, product, subscription_product  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db


def test_token_device_shortage_transfer_compliance(acme, product, api_as):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=2)
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=10)
    admin = api_as(acme.admin, key=True)

    token = admin.post(f"/api/v1/virtual-accounts/{acme.us.pk}/tokens/", {"description": "lab"}, format="json").json()["token"]
    device = APIClient()
    registered = device.post("/api/v1/devices/register/", {"token": token, "serial_number": "FTX1", "product_id": "ISR4451",
                                                           "hostname": "lab-1"}, format="json").json()
    device.credentials(HTTP_AUTHORIZATION=f"Bearer {registered['device_secret']}")
    reported = device.post(f"/api/v1/devices/{registered['device_id']}/usage/",
                           {"usage": [{"sku": "ISR-SEC-K9", "count": 5}]}, format="json")
    assert reported.json() == {"licenses": [{"sku": "ISR-SEC-K9", "status": "shortage"}]}

    [line] = admin.get(f"/api/v1/virtual-accounts/{acme.us.pk}/licenses/").json()["results"]
    assert (line["purchased"], line["in_use"], line["shortage"], line["status"]) == (2, 5, 3, "shortage")

    moved = admin.post("/api/v1/license-transfers/", {"from_virtual_account": acme.europe.pk, "to_virtual_account": acme.us.pk,
                                                      "lines": [{"sku": "ISR-SEC-K9", "quantity": 3}]}, format="json")
    assert moved.status_code == 201

    [line] = admin.get(f"/api/v1/virtual-accounts/{acme.us.pk}/licenses/").json()["results"]
    assert (line["purchased"], line["in_use"], line["shortage"], line["status"]) == (5, 5, 0, "in_compliance")
    events = admin.get(f"/api/v1/smart-accounts/{acme.account.pk}/events/?action=compliance.").json()["results"]
    assert [e["action"] for e in events] == ["compliance.shortage_cleared", "compliance.shortage_started"]
    assert sorted(Notification.objects.values_list("kind", flat=True)) == ["insufficient_licenses", "licenses_sufficient"]
