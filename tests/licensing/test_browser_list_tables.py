"""The list tables in a real browser: a customer admin sorts the device list from the keyboard
(Tab to a column header, Enter), the header says how it is sorted (aria-sort), a filter keeps the
sort, and the CSV download holds the rows shown. Screenshots of the sorted list."""
import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.services import smart_account_create, virtual_account_create
from tests.factories import DeviceFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    ada = UserFactory(email="ada@acme.example", name="Ada")
    account = smart_account_create(name="Acme", domain="acme.example", actor=ada)
    us = virtual_account_create(parent=account.default_virtual_account, name="US", actor=ada)
    now = timezone.now()
    for serial, days in (("FTX-B", 1), ("FTX-C", 40), ("FTX-A", 2)):
        DeviceFactory(virtual_account=us, serial_number=serial, last_contact_at=now - datetime.timedelta(days=days))
    return {"ada": ada, "account": account}


def _serials(page) -> list[str]:
    return [text.split()[0] for text in page.locator("#device-table tbody tr td:nth-child(2)").all_inner_texts()]


def test_admin_sorts_the_device_list_from_the_keyboard_and_downloads_it(page, screenshot, browser_login, world):
    browser_login(world["ada"])
    page.goto(f"/licensing/sa/{world['account'].pk}/devices/")
    assert _serials(page) == ["FTX-A", "FTX-B", "FTX-C"]

    # The list comes sorted by serial number: its header says so, and Enter sorts it the other way.
    header = page.locator("#device-table thead th", has=page.get_by_role("link", name="Device"))
    expect(header).to_have_attribute("aria-sort", "ascending")
    page.locator("#device-table thead").get_by_role("link", name="Device").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**sort=-device")
    expect(header).to_have_attribute("aria-sort", "descending")
    assert _serials(page) == ["FTX-C", "FTX-B", "FTX-A"]
    page.locator("#device-table thead").get_by_role("link", name="Last contact").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**sort=last_contact")
    assert _serials(page) == ["FTX-C", "FTX-A", "FTX-B"]
    page.locator("#device-table thead").get_by_role("link", name="Device").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**sort=device")
    page.locator("#device-table thead").get_by_role("link", name="Device").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**sort=-device")
    screenshot("devices-sorted-descending")

    page.get_by_label("Status").select_option("reporting")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**status=reporting**")
    assert "sort=-device" in page.url and _serials(page) == ["FTX-B", "FTX-A"]

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    body = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert body[0].startswith("Device,") and [line.split(",")[0] for line in body[1:]] == ["FTX-B", "FTX-A"]
    screenshot("devices-filtered")
