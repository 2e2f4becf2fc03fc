"""Flow 10 on the devices page: devices with their last contact, status and usage per product;
filters (silent for 30 days, product, search, Virtual Account); remove (frees the usage); move."""
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from licensing import selectors
from licensing.models import Device, Shortage
from licensing.services import device_report_usage

from ..factories import DeviceFactory, DeviceUsageFactory, EntitlementFactory, ProductFactory
from .pages_support import html

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def fleet(acme, product):
    other = ProductFactory(sku="DNA-ESS", name="DNA Essentials")
    fresh = DeviceFactory(virtual_account=acme.us, serial_number="FRESH001", hostname="edge-1.example.com",
                          last_contact_at=NOW - datetime.timedelta(days=2))
    DeviceUsageFactory(device=fresh, product=product, count=3)
    DeviceUsageFactory(device=fresh, product=other, count=1)
    quiet = DeviceFactory(virtual_account=acme.finance, serial_number="QUIET001", hostname="old-router.example.com",
                          last_contact_at=NOW - datetime.timedelta(days=31))
    DeviceUsageFactory(device=quiet, product=product, count=2)
    never = DeviceFactory(virtual_account=acme.europe, serial_number="NEVER001", last_contact_at=None)
    return {"fresh": fresh, "quiet": quiet, "never": never, "other": other}


def serials(page: str) -> set[str]:
    table = page[page.index('id="device-table"'):] if 'id="device-table"' in page else ""
    return {s for s in ("FRESH001", "QUIET001", "NEVER001") if s in table}


def test_devices_show_their_usage_per_product_and_last_contact(client, acme, fleet):
    client.force_login(acme.sa_viewer)
    page = html(client.get(reverse("licensing:device_list", kwargs={"sa_pk": acme.account.pk})))
    assert serials(page) == {"FRESH001", "QUIET001", "NEVER001"}
    row = page[page.index("FRESH001"):]
    row = row[:row.index("</tr>")].replace("\xa0", " ")
    assert "ISR-SEC-K9 × 3" in row and "DNA-ESS × 1" in row and "Reporting" in row and "2 days ago" in row


def test_the_silent_filter_lists_devices_without_a_report_for_30_days(client, acme, fleet):
    client.force_login(acme.admin)
    url = reverse("licensing:device_list", kwargs={"sa_pk": acme.account.pk})
    assert serials(html(client.get(url, {"status": "silent"}))) == {"QUIET001", "NEVER001"}
    assert serials(html(client.get(url, {"status": "reporting"}))) == {"FRESH001"}
    silent_ids = set(selectors.silent_devices(selectors.virtual_accounts_in_scope(None, smart_account=acme.account))
                     .values_list("serial_number", flat=True))
    assert silent_ids == {"QUIET001", "NEVER001"}


def test_devices_filter_by_product_search_and_virtual_account(client, acme, fleet):
    client.force_login(acme.admin)
    url = reverse("licensing:device_list", kwargs={"sa_pk": acme.account.pk})
    assert serials(html(client.get(url, {"product": fleet["other"].pk}))) == {"FRESH001"}
    assert serials(html(client.get(url, {"q": "old-router"}))) == {"QUIET001"}
    assert serials(html(client.get(url, {"virtual_account": acme.us.pk}))) == {"FRESH001", "QUIET001"}  # US and Finance
    assert serials(html(client.get(reverse("licensing:device_list", kwargs={"va_pk": acme.europe.pk})))) == {"NEVER001"}
    assert "No devices match these filters" in html(client.get(url, {"q": "nothing-like-this"}))


def test_the_device_list_pages(client, acme, product):
    for n in range(30):
        DeviceFactory(virtual_account=acme.us, serial_number=f"PAGE{n:04d}")
    client.force_login(acme.admin)
    url = reverse("licensing:device_list", kwargs={"sa_pk": acme.account.pk})
    first, second = html(client.get(url)), html(client.get(url, {"page": 2}))
    assert "PAGE0000" in first and "PAGE0029" not in first
    assert "PAGE0029" in second and "1–25 of 30" in first


def test_removing_a_device_frees_its_usage(client, acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=2)
    device = DeviceFactory(virtual_account=acme.us, serial_number="GONE001")
    device_report_usage(device=device, usage=[{"sku": product.sku, "count": 5}])
    assert Shortage.objects.filter(virtual_account=acme.us, cleared_at__isnull=True).exists()
    client.force_login(acme.va_user)
    back = f"/licensing/va/{acme.us.pk}/devices/"
    response = client.post(reverse("licensing:device_remove", kwargs={"pk": device.pk}), {"next": back})
    assert response["Location"] == back
    assert not Device.objects.filter(pk=device.pk).exists()
    assert selectors.pool_position(acme.us, product).in_use == 0
    assert not Shortage.objects.filter(virtual_account=acme.us, cleared_at__isnull=True).exists()
    assert "Device GONE001 removed from US; its license usage is freed." in html(client.get(back))


def test_devices_move_to_another_virtual_account_with_their_usage(client, acme, fleet, product):
    client.force_login(acme.admin)
    url = reverse("licensing:device_move", kwargs={"sa_pk": acme.account.pk})
    page = html(client.get(url, {"device": [fleet["fresh"].pk, fleet["quiet"].pk]}))
    assert "Move 2 devices" in page and "FRESH001" in page and "QUIET001" in page
    response = client.post(url, {"devices": [fleet["fresh"].pk, fleet["quiet"].pk], "virtual_account": acme.europe.pk})
    assert response["Location"] == f"/licensing/sa/{acme.account.pk}/devices/"
    assert set(Device.objects.filter(virtual_account=acme.europe).values_list("serial_number", flat=True)) == {
        "FRESH001", "QUIET001", "NEVER001"}
    assert selectors.pool_position(acme.europe, product).in_use == 5
    assert "Moved 2 devices (FRESH001, QUIET001) to Europe" in html(client.get(response["Location"]))


def test_a_device_move_is_all_or_nothing(client, acme, fleet):
    DeviceFactory(virtual_account=acme.europe, serial_number="QUIET001")  # Europe has that serial already
    client.force_login(acme.admin)
    url = reverse("licensing:device_move", kwargs={"sa_pk": acme.account.pk})
    response = client.post(url, {"devices": [fleet["fresh"].pk, fleet["quiet"].pk], "virtual_account": acme.europe.pk})
    assert response.status_code == 200
    assert "Europe already has a device with serial number QUIET001." in html(response)
    fleet["fresh"].refresh_from_db()
    assert fleet["fresh"].virtual_account_id == acme.us.pk


def test_device_ids_that_no_row_can_have_name_no_device_to_move(client, acme, fleet):
    client.force_login(acme.admin)
    url = reverse("licensing:device_move", kwargs={"sa_pk": acme.account.pk})
    # Beyond the database's integers the lookup overflowed (an OverflowError on SQLite: a 500).
    assert client.get(url, {"device": [2**63, 2**70]}).status_code == 404
    page = html(client.get(url, {"device": [fleet["fresh"].pk, 2**70, "²"]}))
    assert "FRESH001" in page and "QUIET001" not in page


def test_a_va_user_moves_only_its_own_devices_within_its_subtree(client, acme, fleet):
    client.force_login(acme.va_user)
    url = reverse("licensing:device_move", kwargs={"va_pk": acme.us.pk})
    assert client.get(url, {"device": fleet["never"].pk}).status_code == 404  # Europe's device
    response = client.post(url, {"devices": [fleet["fresh"].pk], "virtual_account": acme.europe.pk})
    assert response.status_code == 200 and "Select a valid choice" in html(response)
    response = client.post(url, {"devices": [fleet["fresh"].pk], "virtual_account": acme.finance.pk})
    assert response.status_code == 302
    fleet["fresh"].refresh_from_db()
    assert fleet["fresh"].virtual_account_id == acme.finance.pk
