"""The license pages: per product what is purchased, in use, available and short, rolled up over
a Virtual Account's subtree, filtered, exported, and a product's detail."""
import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import smart_account_create
from licensing.services import compliance_reconcile, license_transfer

from ..factories import DeviceFactory, DeviceUsageFactory, EntitlementFactory, ProductFactory
from .pages_support import csv_rows, html

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def use(va, product, count, **device):
    return DeviceUsageFactory(device=DeviceFactory(virtual_account=va, **device), product=product, count=count).device


@pytest.fixture
def stocked(acme, product, subscription_product):
    """US: 10 ISR (4 used), Finance: none (2 used: short 2), Europe: 5 ISR and 20 DNA."""
    switching = ProductFactory(sku="C9300-DNA-E", name="Catalyst DNA Essentials", family="Switching")
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10, source_ref="SO-100100 line 1")
    use(acme.us, product, 4)
    use(acme.finance, product, 2, serial_number="FIN0001")
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=5)
    EntitlementFactory(virtual_account=acme.europe, product=subscription_product, quantity=20, starts_on=TODAY,
                       ends_on=TODAY + datetime.timedelta(days=365), source_ref="SO-100200 line 3")
    EntitlementFactory(virtual_account=acme.europe, product=switching, quantity=3)
    return {"isr": product, "dna": subscription_product, "switching": switching}


def row(page: str, sku: str) -> str:
    start = page.index(f">{sku}</a>")
    return page[start:page.index("</tr>", start)]


def numbers(page: str, sku: str) -> list[str]:
    return re.findall(r'<td class="text-end">(?:<span[^>]*>)?([\d,]+)', row(page, sku))


def test_the_account_page_lists_each_product_with_its_roll_up(client, acme, stocked):
    client.force_login(acme.sa_viewer)
    page = html(client.get(reverse("licensing:license_list", kwargs={"sa_pk": acme.account.pk})))
    # purchased, in use, available, shortage: Finance's shortage is not covered by US's surplus.
    assert numbers(page, "ISR-SEC-K9") == ["15", "6", "11", "2"]
    assert "Shortage</span>" in row(page, "ISR-SEC-K9")
    assert numbers(page, "DNA-ADV-1Y") == ["20", "0", "20", "0"]
    assert "1 product in shortage" in page


def test_the_account_page_shows_the_tree_with_each_virtual_accounts_subtree(client, acme, stocked):
    client.force_login(acme.admin)
    page = html(client.get(reverse("licensing:license_list", kwargs={"sa_pk": acme.account.pk})))
    tree = page[page.index('id="license-tree"'):]
    for va in (acme.root, acme.us, acme.finance, acme.europe):
        assert f'href="/licensing/va/{va.pk}/licenses/"' in tree


def test_a_virtual_account_page_rolls_up_its_subtree_only(client, acme, stocked):
    client.force_login(acme.admin)
    page = html(client.get(reverse("licensing:license_list", kwargs={"va_pk": acme.us.pk})))
    assert numbers(page, "ISR-SEC-K9") == ["10", "6", "6", "2"]
    assert "DNA-ADV-1Y" not in page  # Europe's


def test_licenses_filter_by_family_and_status(client, acme, stocked):
    client.force_login(acme.admin)
    url = reverse("licensing:license_list", kwargs={"sa_pk": acme.account.pk})
    switching = html(client.get(url, {"family": "Switching"}))
    assert "C9300-DNA-E" in switching and ">ISR-SEC-K9</a>" not in switching
    short = html(client.get(url, {"status": "shortage"}))
    assert ">ISR-SEC-K9</a>" in short and ">DNA-ADV-1Y</a>" not in short and ">C9300-DNA-E</a>" not in short
    nothing = html(client.get(url, {"family": "Switching", "status": "shortage"}))
    assert "No products match these filters" in nothing


def test_the_csv_export_contains_the_rows_shown(client, acme, stocked):
    client.force_login(acme.sa_viewer)
    url = reverse("licensing:license_export", kwargs={"sa_pk": acme.account.pk})
    response = client.get(url)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = {r["sku"]: r for r in csv_rows(response)}
    assert set(rows) == {"ISR-SEC-K9", "DNA-ADV-1Y", "C9300-DNA-E"}
    assert rows["ISR-SEC-K9"] == {"sku": "ISR-SEC-K9", "name": "ISR Security", "family": "Routing", "purchased": "15",
                                  "in_use": "6", "available": "11", "shortage": "2", "status": "shortage"}
    assert [r["sku"] for r in csv_rows(client.get(url, {"status": "shortage"}))] == ["ISR-SEC-K9"]


def test_the_csv_export_does_not_let_a_spreadsheet_run_a_product_name(client, acme):
    EntitlementFactory(virtual_account=acme.us, product=ProductFactory(sku="EVIL-1", name='=HYPERLINK("http://evil")'))
    client.force_login(acme.admin)
    rows = {r["sku"]: r for r in csv_rows(client.get(reverse("licensing:license_export", kwargs={"sa_pk": acme.account.pk})))}
    assert rows["EVIL-1"]["name"].startswith("'=")


def test_a_product_detail_shows_its_entitlements_devices_and_events(client, acme, stocked, product):
    client.force_login(acme.admin)
    license_transfer(from_virtual_account=acme.europe, to_virtual_account=acme.us, lines=[(product, 1)], actor=acme.admin)
    page = html(client.get(reverse("licensing:license_detail", kwargs={"sa_pk": acme.account.pk, "product_pk": product.pk})))
    entitlements = page[page.index('id="entitlements"'):]
    assert "SO-100100 line 1" in entitlements  # where it came from
    devices = page[page.index('id="product-devices"'):]
    assert "FIN0001" in devices
    assert "1 × ISR-SEC-K9 moved from Europe to US" in page  # its events
    assert "DNA-ADV-1Y" not in entitlements


def test_a_product_detail_of_a_subscription_shows_its_dates(client, acme, stocked):
    client.force_login(acme.admin)
    page = html(client.get(reverse("licensing:license_detail", kwargs={"va_pk": acme.europe.pk, "product_pk": stocked["dna"].pk})))
    assert TODAY.isoformat() in page and (TODAY + datetime.timedelta(days=365)).isoformat() in page
    assert "SO-100200 line 3" in page


def test_the_licenses_navbar_entry_lists_accounts_or_goes_to_the_only_one(client, acme, stocked):
    client.force_login(acme.sa_viewer)
    response = client.get("/licensing/")
    assert response.status_code == 302 and response["Location"] == f"/licensing/sa/{acme.account.pk}/licenses/"
    other = smart_account_create(name="Acme Labs", domain="example.com", actor=acme.admin)
    compliance_reconcile()  # the shortage record of Finance's overage
    client.force_login(acme.admin)
    page = html(client.get("/licensing/"))
    table = page[page.index('id="account-compliance"'):]
    acme_row = table[table.index(">Acme</span></a>"):table.index(">Acme Labs</span></a>")]
    assert "1 product in shortage" in acme_row and "ISR-SEC-K9" in acme_row
    assert f"/licensing/sa/{other.pk}/dashboard/" in table and "In compliance" in table[table.index(">Acme Labs</span></a>"):]
