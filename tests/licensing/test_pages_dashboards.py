"""Flow 13: compliance at a glance. The account (and Virtual Account) dashboards, the portal
dashboard at `/` for each account the user sees, a partner's waiting lines, and the Smart
Account home's links to the licensing pages."""
import datetime
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import smart_account_create
from licensing.services import device_report_usage, usage_snapshot_take
from orders.models import OrderLineState

from ..factories import (
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    HoldingAccountFactory,
    HoldingMembershipFactory,
    OrderLineFactory,
    PartnerMembershipFactory,
    UsageSnapshotFactory,
)
from .pages_support import html

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def short(acme, product, subscription_product):
    """US holds 2 ISR and a device uses 5 (short 3, recorded by the service); Europe's DNA
    subscription ends in 20 days; a silent device in Finance; two days of snapshots."""
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=2)
    device = DeviceFactory(virtual_account=acme.us, serial_number="EDGE0001")
    device_report_usage(device=device, usage=[{"sku": product.sku, "count": 5}])
    EntitlementFactory(virtual_account=acme.europe, product=subscription_product, quantity=9, starts_on=TODAY - datetime.timedelta(days=345),
                       ends_on=TODAY + datetime.timedelta(days=20), source_ref="SO-7 line 1")
    quiet = DeviceFactory(virtual_account=acme.finance, serial_number="QUIET001",
                          last_contact_at=timezone.now() - datetime.timedelta(days=45))
    DeviceUsageFactory(device=quiet, product=subscription_product, count=0)
    UsageSnapshotFactory(virtual_account=acme.us, product=product, day=TODAY - datetime.timedelta(days=1), purchased=2, in_use=1)
    usage_snapshot_take()


def chart(page: str, element_id: str) -> dict:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page, re.S)
    assert match, element_id
    return json.loads(match.group(1))


def test_the_account_dashboard_shows_shortages_and_the_usage_chart(client, acme, short):
    client.force_login(acme.sa_viewer)
    page = html(client.get(reverse("licensing:dashboard", kwargs={"sa_pk": acme.account.pk})))
    shortages = page[page.index('class="list-group list-group-flush shortage-list"'):]
    assert "ISR-SEC-K9" in shortages[:2000] and "short by 3" in shortages[:2000] and "US" in shortages[:2000]
    data = chart(page, "usage-chart-data")
    yesterday, today = (TODAY - datetime.timedelta(days=1)).isoformat(), TODAY.isoformat()
    assert data["labels"] == [yesterday, today]
    isr = next(p for p in data["products"] if p["sku"] == "ISR-SEC-K9")
    assert isr["in_use"] == [1, 5] and isr["purchased"] == [2, 2] and isr["shortage"] == [0, 3]
    assert data["products"][0]["sku"] == "ISR-SEC-K9"  # short products first
    assert "vendor/chartjs/chart.umd.js" in page


def test_the_account_dashboard_lists_subscriptions_ending_and_silent_devices(client, acme, short):
    client.force_login(acme.admin)
    page = html(client.get(reverse("licensing:dashboard", kwargs={"sa_pk": acme.account.pk})))
    assert "9 × DNA-ADV-1Y" in page and "SO-7 line 1" in page
    assert "QUIET001" in page
    assert "1 product short" in page


def test_a_virtual_account_dashboard_covers_its_subtree_only(client, acme, short):
    client.force_login(acme.va_viewer)
    page = html(client.get(reverse("licensing:dashboard", kwargs={"va_pk": acme.us.pk})))
    assert "short by 3" in page and "QUIET001" in page  # Finance is below US
    assert "DNA-ADV-1Y" not in page.split('id="usage-chart-data"')[0]  # Europe's subscription
    europe = html(client.get(reverse("licensing:dashboard", kwargs={"sa_pk": acme.account.pk})))
    assert "9 × DNA-ADV-1Y" not in europe  # the account page shows only what the VA role sees


def test_the_chart_period_can_be_chosen(client, acme, short, product):
    client.force_login(acme.admin)
    url = reverse("licensing:dashboard", kwargs={"sa_pk": acme.account.pk})
    UsageSnapshotFactory(virtual_account=acme.us, product=product, day=TODAY - datetime.timedelta(days=60), purchased=2, in_use=2)
    assert len(chart(html(client.get(url)), "usage-chart-data")["labels"]) == 2
    assert len(chart(html(client.get(url, {"days": 90})), "usage-chart-data")["labels"]) == 3
    assert len(chart(html(client.get(url, {"days": "12345"})), "usage-chart-data")["labels"]) == 2


def test_the_portal_dashboard_shows_each_accounts_compliance_shortages_first(client, acme, short):
    calm = smart_account_create(name="Aardvark Ltd", domain="example.com", actor=acme.admin)
    client.force_login(acme.admin)
    page = html(client.get("/"))
    glance = page[page.index('id="compliance-glance"'):]
    assert glance.index(">Acme</a>") < glance.index(">Aardvark Ltd</a>")  # the one in shortage first
    acme_row = glance[glance.index(">Acme</a>"):glance.index("</tr>", glance.index(">Acme</a>"))]
    assert "1 product in shortage" in acme_row and "ISR-SEC-K9" in acme_row
    panel = page[page.index(f'id="panel-{acme.account.pk}"'):]
    assert "short by 3" in panel and "QUIET001" in panel and "9 × DNA-ADV-1Y" in panel
    assert chart(page, f"usage-chart-{acme.account.pk}-data")["labels"][-1] == TODAY.isoformat()
    assert f'id="panel-{calm.pk}"' in page


def test_the_portal_dashboard_without_accounts_invites_to_find_one(client, user):
    client.force_login(user)
    page = html(client.get("/"))
    assert "No accounts yet" in page and "compliance-glance" not in page


def test_the_portal_dashboard_shows_a_partner_the_lines_waiting_in_its_holding_accounts(client, acme):
    membership = PartnerMembershipFactory()
    holding = HoldingAccountFactory(partner=membership.partner)
    HoldingMembershipFactory(smart_account=holding, user=membership.user)
    for _ in range(3):
        OrderLineFactory(smart_account=holding, held_in=holding, state=OrderLineState.HELD)
    client.force_login(membership.user)
    page = html(client.get("/"))
    assert re.search(r'id="held-lines-count">3<', page)
    assert "order lines waiting in your holding accounts" in page


def test_the_account_home_links_the_licensing_pages_and_shows_compliance(client, acme, short):
    client.force_login(acme.sa_viewer)
    page = html(client.get(f"/sa/{acme.account.pk}/"))
    links = page[page.index('aria-label="Licensing of Acme"'):]
    links = links[:links.index("</nav>")]
    for name in ("dashboard", "license_list", "device_list", "event_list", "reconciliation"):
        assert reverse(f"licensing:{name}", kwargs={"sa_pk": acme.account.pk}) in links, name
    assert reverse("licensing:classic_license_list", kwargs={"sa_pk": acme.account.pk}) in links
    # A viewer: no transfers, no tokens (users up), no alert settings.
    assert "licenses/transfer/" not in links and "/tokens/" not in links and "/alerts/" not in links
    assert "1 product in shortage" in page
    tree = page[page.index('id="va-tree"'):]
    assert f'href="/licensing/va/{acme.us.pk}/licenses/"' in tree
    us_row = tree[tree.index(f'data-id="{acme.us.pk}"'):]
    assert "1 short" in us_row[:us_row.index("</tr>")]
    client.force_login(acme.admin)
    admin_page = html(client.get(f"/sa/{acme.account.pk}/"))
    assert "/licenses/transfer/" in admin_page and f"/licensing/sa/{acme.account.pk}/alerts/" in admin_page
    assert reverse("licensing:token_list", kwargs={"sa_pk": acme.account.pk}) in admin_page
