"""GET /api/v1/devices/{id}/ping/: a device checks its credentials; nothing is written."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from licensing.models import Device

from tests.factories import ApiKeyFactory, DeviceFactory

pytestmark = pytest.mark.django_db


def as_device(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_device_with_its_own_secret_gets_204_and_nothing_is_written():
    device = DeviceFactory(last_contact_at=None)

    with CaptureQueriesContext(connection) as queries:
        response = as_device(device.secret).get(f"/api/v1/devices/{device.pk}/ping/")

    assert response.status_code == 204 and response.content == b""
    # 1 the device by id and secret hash: no write, not even last contact.
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert Device.objects.get(pk=device.pk).last_contact_at is None


def test_bad_credentials_are_401():
    device, other = DeviceFactory(), DeviceFactory()
    url = f"/api/v1/devices/{device.pk}/ping/"

    assert APIClient().get(url).status_code == 401
    assert as_device("sld_wrong").get(url).status_code == 401
    assert as_device(other.secret).get(url).status_code == 401  # another device's secret
    assert as_device(device.secret).get(f"/api/v1/devices/{other.pk}/ping/").status_code == 401
    assert as_device(ApiKeyFactory().key).get(url).status_code == 401  # a user's API key is not the device
    response = APIClient().get(url)
    assert response["WWW-Authenticate"].startswith("Bearer")
