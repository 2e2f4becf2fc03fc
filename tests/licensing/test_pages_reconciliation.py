"""The reconciliation page: per product over a period, the peak shortage and the days in
shortage from the daily snapshots, exactly as `selectors.reconciliation` computes them; CSV."""
import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import VirtualAccount
from licensing import selectors

from ..factories import ProductFactory, UsageSnapshotFactory
from .pages_support import csv_rows, html

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def day(n: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=n)


@pytest.fixture
def history(acme, product):
    other = ProductFactory(sku="DNA-ADV", name="DNA Advantage")
    # ISR: US short 3 ten days ago, 5 five days ago; Finance short 2 five days ago (peak 7 then).
    for n, (us_in_use, finance_in_use) in {10: (13, 0), 5: (15, 2), 1: (9, 0)}.items():
        UsageSnapshotFactory(virtual_account=acme.us, product=product, day=day(n), purchased=10, in_use=us_in_use)
        UsageSnapshotFactory(virtual_account=acme.finance, product=product, day=day(n), purchased=0, in_use=finance_in_use)
    UsageSnapshotFactory(virtual_account=acme.europe, product=other, day=day(3), purchased=5, in_use=4)
    # Outside the default period (the last 30 days): a bigger shortage.
    UsageSnapshotFactory(virtual_account=acme.us, product=product, day=day(45), purchased=10, in_use=40)
    return {"isr": product, "dna": other}


def cells(page: str, sku: str) -> list[str]:
    row = page[page.index(f'data-sku="{sku}"'):]
    row = row[:row.index("</tr>")]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)][1:]


def test_the_page_shows_the_selectors_numbers_for_the_last_30_days(client, acme, history):
    client.force_login(acme.sa_viewer)
    page = html(client.get(reverse("licensing:reconciliation", kwargs={"sa_pk": acme.account.pk})))
    lines = {line.sku: line for line in selectors.reconciliation(
        VirtualAccount.objects.filter(smart_account=acme.account), start=day(29), end=TODAY)}
    isr = lines["ISR-SEC-K9"]
    assert (isr.peak_shortage, isr.peak_day, isr.days_in_shortage) == (7, day(5), 2)
    assert cells(page, "ISR-SEC-K9") == [str(isr.peak_shortage), isr.peak_day.isoformat(), str(isr.purchased_at_peak),
                                         str(isr.peak_in_use), str(isr.days_in_shortage), str(isr.days_reported)]
    assert cells(page, "DNA-ADV") == ["0", "—", "—", "4", "0", "1"]


def test_a_chosen_period_and_virtual_account_change_the_numbers(client, acme, history):
    client.force_login(acme.admin)
    url = reverse("licensing:reconciliation", kwargs={"sa_pk": acme.account.pk})
    page = html(client.get(url, {"start": day(60).isoformat(), "end": TODAY.isoformat()}))
    assert cells(page, "ISR-SEC-K9")[:2] == ["30", day(45).isoformat()]
    page = html(client.get(url, {"start": day(29).isoformat(), "end": TODAY.isoformat(), "virtual_account": acme.finance.pk}))
    assert cells(page, "ISR-SEC-K9")[:2] == ["2", day(5).isoformat()]
    assert 'data-sku="DNA-ADV"' not in page
    page = html(client.get(url, {"start": TODAY.isoformat(), "end": day(3).isoformat()}))
    assert "The start comes on or before the end." in page


def test_the_csv_export_contains_the_rows(client, acme, history):
    client.force_login(acme.sa_viewer)
    rows = csv_rows(client.get(reverse("licensing:reconciliation_export", kwargs={"sa_pk": acme.account.pk}),
                               {"start": day(29).isoformat(), "end": TODAY.isoformat()}))
    assert [r["sku"] for r in rows] == ["ISR-SEC-K9", "DNA-ADV"]
    assert rows[0]["peak_shortage"] == "7" and rows[0]["peak_day"] == day(5).isoformat() and rows[0]["days_in_shortage"] == "2"
    assert rows[0]["period_start"] == day(29).isoformat() and rows[0]["period_end"] == TODAY.isoformat()


def test_a_va_page_reconciles_its_subtree(client, acme, history):
    client.force_login(acme.va_viewer)
    page = html(client.get(reverse("licensing:reconciliation", kwargs={"va_pk": acme.us.pk})))
    assert cells(page, "ISR-SEC-K9")[0] == "7" and 'data-sku="DNA-ADV"' not in page
