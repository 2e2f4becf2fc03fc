"""Flows 9–11 and 13 in a real browser: a customer admin creates a registration token, a device
registers with it and reports usage above its Virtual Account's pool through the API, the
dashboard shows the shortage and the usage chart, the admin moves licenses from a sibling
Virtual Account and the shortage clears. Screenshots of every licensing page on the way."""
import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from accounts.services import role_grant, smart_account_create, virtual_account_create
from licensing.models import Shortage
from licensing.services import classic_license_create, entitlement_deposit, usage_snapshot_take
from tests.factories import DeviceFactory, DeviceUsageFactory, ProductFactory, UsageSnapshotFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    """Acme: DEFAULT > US (2 × ISR-SEC-K9) and Europe (10 × ISR-SEC-K9, a DNA subscription),
    a PAK, some usage history; Ada is its SA admin and also admin of a second account."""
    ada = UserFactory(email="ada@acme.example", name="Ada")
    account = smart_account_create(name="Acme", domain="acme.example", actor=ada)
    us = virtual_account_create(parent=account.default_virtual_account, name="US", actor=ada)
    europe = virtual_account_create(parent=account.default_virtual_account, name="Europe", actor=ada)
    virtual_account_create(parent=us, name="Finance", actor=ada)
    isr = ProductFactory(sku="ISR-SEC-K9", name="ISR Security", family="Routing")
    dna = ProductFactory(sku="DNA-ADV-1Y", name="DNA Advantage", family="Switching", term_months=12)
    classic = ProductFactory(sku="ASA-5506-K9", name="ASA 5506 Firewall", family="Security", license_kind="classic",
                             smart_equivalent=isr)
    today = timezone.localdate()
    entitlement_deposit(virtual_account=us, product=isr, quantity=2, source="order", source_ref="SO-100001 line 1")
    entitlement_deposit(virtual_account=europe, product=isr, quantity=10, source="order", source_ref="SO-100002 line 1")
    entitlement_deposit(virtual_account=europe, product=dna, quantity=20, source="order", source_ref="SO-100003 line 2",
                        starts_on=today - datetime.timedelta(days=320), ends_on=today + datetime.timedelta(days=45))
    classic_license_create(smart_account=account, product=classic, quantity=1, source_ref="SO-100004 line 1")
    # A switch in Europe that stopped reporting six weeks ago, still counted as using 13 DNA.
    switch = DeviceFactory(virtual_account=europe, serial_number="FOC1922X0QZ", hostname="sw-core-1.acme.example",
                           product_id="C9300-48P", last_contact_at=timezone.now() - datetime.timedelta(days=42))
    DeviceUsageFactory(device=switch, product=dna, count=13)
    for back in range(1, 15):  # two weeks of history, so the chart has a line to draw
        day = today - datetime.timedelta(days=back)
        UsageSnapshotFactory(virtual_account=us, product=isr, day=day, purchased=2, in_use=min(back // 4, 2))
        UsageSnapshotFactory(virtual_account=europe, product=isr, day=day, purchased=10, in_use=0)
        UsageSnapshotFactory(virtual_account=europe, product=dna, day=day, purchased=20, in_use=13)
    other = smart_account_create(name="Acme Labs", domain="acme.example", actor=ada)
    viewer = UserFactory(email="vic@acme.example", name="Vic")
    role_grant(smart_account=account, email=viewer.email, role=Role.SA_VIEWER, virtual_account=None, actor=ada)
    return {"ada": ada, "account": account, "us": us, "europe": europe, "isr": isr, "other": other, "viewer": viewer}


def test_admin_registers_a_device_sees_the_shortage_and_clears_it_with_a_transfer(page, screenshot, browser_login, live_server, world):
    account, us, europe = world["account"], world["us"], world["europe"]
    browser_login(world["ada"])

    # Licenses: both accounts listed, then Acme's licenses, with the tree.
    page.goto("/licensing/")
    assert page.get_by_role("link", name="Acme Labs").is_visible()
    screenshot("index")
    page.goto(f"/licensing/sa/{account.pk}/licenses/")
    assert page.locator("#license-tree").get_by_role("link", name="Europe").is_visible()
    screenshot("licenses")

    # A registration token for US, shown once, with a copy button.
    page.goto(f"/licensing/va/{us.pk}/tokens/")
    page.get_by_label("Description").fill("Branch routers")
    page.get_by_label("Maximum uses").fill("5")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_url(f"**/licensing/va/{us.pk}/tokens/")
    token = page.locator("#new-token-value").input_value()
    assert token.startswith("slrt_")
    assert page.get_by_role("button", name="Copy the token to the clipboard").is_visible()
    screenshot("token-created")
    page.reload()
    assert page.locator("#new-token-value").count() == 0 and token not in page.content()

    # A device registers with it and reports 5 in use: the US pool holds 2 (a shortage of 3).
    registered = page.request.post(f"{live_server.url}/api/v1/devices/register/", data={
        "token": token, "serial_number": "FTX2231A0BC", "product_id": "ISR4451-X", "hostname": "edge-1.acme.example",
    })
    assert registered.status == 201, registered.text()
    device = registered.json()
    report = page.request.post(
        f"{live_server.url}/api/v1/devices/{device['device_id']}/usage/",
        data={"usage": [{"sku": "ISR-SEC-K9", "count": 5}]},
        headers={"Authorization": f"Bearer {device['device_secret']}"},
    )
    assert report.status == 200, report.text()
    assert report.json()["licenses"] == [{"sku": "ISR-SEC-K9", "status": "shortage"}]
    usage_snapshot_take()

    # The dashboard shows the shortage and draws the chart.
    page.goto("/")
    panel = page.locator(f"section[aria-labelledby='panel-{account.pk}']")
    assert panel.get_by_text("1 product in shortage").first.is_visible()
    assert panel.locator(".shortage-list").get_by_text("short by 3").is_visible()
    assert page.evaluate(f"() => !!Chart.getChart(document.getElementById('usage-chart-{account.pk}'))")
    screenshot("portal-dashboard-shortage")
    page.goto(f"/licensing/sa/{account.pk}/dashboard/")
    assert page.locator(".shortage-list").get_by_text("ISR-SEC-K9").is_visible()
    assert page.evaluate("() => Chart.getChart(document.getElementById('usage-chart')).data.datasets.length") >= 2
    screenshot("account-dashboard-shortage")
    page.goto(f"/licensing/va/{us.pk}/dashboard/")
    screenshot("va-dashboard")

    page.goto(f"/licensing/sa/{account.pk}/devices/")
    assert page.locator("#device-table").get_by_text("FTX2231A0BC").is_visible()
    screenshot("devices")
    page.goto(f"/licensing/sa/{account.pk}/licenses/{world['isr'].pk}/")
    assert page.locator("#product-devices").get_by_text("FTX2231A0BC").is_visible()
    screenshot("license-detail")

    # Transfer from the sibling Europe: asking too much is refused next to the line, then 3 move.
    page.goto(f"/licensing/sa/{account.pk}/dashboard/")
    page.get_by_role("link", name="Move licenses from another Virtual Account").click()
    page.wait_for_url("**/licenses/transfer/")
    page.get_by_label("From Virtual Account").select_option(label="\u2003Europe")
    page.locator("#transfer-available").get_by_text("Available in Europe").wait_for()
    page.get_by_label("To Virtual Account").select_option(label="\u2003US")
    page.get_by_label("Product (line 1)").select_option(label="ISR-SEC-K9 — ISR Security")
    page.get_by_label("Quantity (line 1)").fill("30")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.get_by_text("30 requested, 10 available in Europe.")).to_be_visible()
    screenshot("transfer-refused")
    page.get_by_label("Quantity (line 1)").fill("3")
    page.get_by_role("button", name="Transfer", exact=True).click()
    page.wait_for_url(f"**/licensing/sa/{account.pk}/licenses/")
    assert page.get_by_text("Moved 3 × ISR-SEC-K9 from Europe to US.").is_visible()
    assert not Shortage.objects.filter(virtual_account=us, cleared_at__isnull=True).exists()

    page.goto("/")
    panel = page.locator(f"section[aria-labelledby='panel-{account.pk}']")
    assert panel.get_by_text("In compliance").first.is_visible()
    screenshot("portal-dashboard-cleared")

    # The other pages, as they look after all that.
    page.goto(f"/sa/{account.pk}/")
    assert page.get_by_role("navigation", name="Licensing of Acme").get_by_role("link", name="Tokens").is_visible()
    screenshot("account-home")
    page.goto(f"/licensing/sa/{account.pk}/events/")
    assert page.locator("#event-table").get_by_text("back in compliance in US").is_visible()
    screenshot("events")
    page.goto(f"/licensing/sa/{account.pk}/reconciliation/")
    assert page.locator("#reconciliation-table tr[data-sku='ISR-SEC-K9']").is_visible()
    screenshot("reconciliation")
    page.goto(f"/licensing/sa/{account.pk}/alerts/")
    page.get_by_label("Extra recipients").fill("noc@acme.example\nceo@gmail.example")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("ceo@gmail.example is not within the account's domain acme.example.")).to_be_visible()
    screenshot("alerts-error")

    # Devices: choose one and move it to Finance.
    page.goto(f"/licensing/sa/{account.pk}/devices/")
    page.get_by_label("Choose FTX2231A0BC").check()
    page.get_by_role("button", name="Move the chosen devices").click()
    page.wait_for_url("**/devices/move/**")
    page.get_by_label("Move to Virtual Account").select_option(label="\u2003\u2003Finance")
    screenshot("device-move")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_text("Moved 1 device (FTX2231A0BC) to Finance")).to_be_visible()

    # PAKs: register one and get its key.
    page.goto(f"/licensing/sa/{account.pk}/classic-licenses/")
    screenshot("paks")
    page.get_by_role("link", name="Register").click()
    page.wait_for_url("**/register/")
    page.get_by_label("Device serial number").fill("JMX1234X0AB")
    page.get_by_role("button", name="Register and get the license key").click()
    expect(page.get_by_role("heading", name="Node-locked license key")).to_be_visible()
    assert page.locator("#license-key").input_value()
    screenshot("pak-key")


def test_a_viewer_sees_the_pages_without_their_actions(page, screenshot, browser_login, world):
    account = world["account"]
    browser_login(world["viewer"])
    page.goto(f"/licensing/sa/{account.pk}/licenses/")
    assert page.get_by_role("link", name="Transfer licenses").count() == 0
    assert page.get_by_role("link", name="Tokens").count() == 0  # tokens are for users up
    response = page.goto(f"/licensing/sa/{account.pk}/tokens/")
    assert response.status == 403 and page.get_by_role("button", name="Create token").count() == 0
    screenshot("tokens-viewer")
    response = page.goto(f"/licensing/sa/{account.pk}/licenses/transfer/")
    assert response.status == 403
    assert re.search("403|not allowed|permission", page.content(), re.I)
