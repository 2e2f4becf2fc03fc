"""Flow 9 on the transfer page: licenses move between Virtual Accounts of one account, several
products at once, all or nothing, never more than the source has to spare; a refusal is shown
next to the line it is about and changes nothing."""
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from licensing.models import Entitlement, EntitlementSource

from ..factories import DeviceFactory, DeviceUsageFactory, EntitlementFactory
from .pages_support import html

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def pools(acme, product, subscription_product):
    """Europe: 10 ISR (3 in use) and 8 DNA (a subscription); US: nothing."""
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=10, source_ref="SO-1 line 1")
    DeviceUsageFactory(device=DeviceFactory(virtual_account=acme.europe), product=product, count=3)
    EntitlementFactory(virtual_account=acme.europe, product=subscription_product, quantity=8, source_ref="SO-2 line 1",
                       starts_on=TODAY - datetime.timedelta(days=10), ends_on=TODAY + datetime.timedelta(days=355))
    return {"isr": product, "dna": subscription_product}


def post(client, acme, source, target, *lines, scope=None):
    data = {"from_virtual_account": source.pk, "to_virtual_account": target.pk,
            "lines-TOTAL_FORMS": len(lines), "lines-INITIAL_FORMS": 0, "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 50}
    for i, (product, quantity) in enumerate(lines):
        data[f"lines-{i}-product"] = product.pk if product else ""
        data[f"lines-{i}-quantity"] = quantity
    return client.post(reverse("licensing:license_transfer", kwargs=scope or {"sa_pk": acme.account.pk}), data)


def held(va) -> dict:
    return {
        (e.product.sku, e.quantity, e.starts_on, e.ends_on)
        for e in Entitlement.objects.filter(virtual_account=va).select_related("product")
    }


def line_errors(page: str, index: int) -> str:
    """The error text shown under line `index`'s quantity."""
    start = page.index(f'id="id_lines-{index}-quantity"')
    end = page.find("data-line>", start)
    segment = page[start:end if end != -1 else None]
    return " ".join(part.split("</div>")[0] for part in segment.split("data-line-error>")[1:])


def test_a_transfer_moves_several_products_at_once_and_subscriptions_keep_their_dates(client, acme, pools):
    client.force_login(acme.sa_user)
    response = post(client, acme, acme.europe, acme.us, (pools["isr"], 7), (pools["dna"], 5))
    assert response.status_code == 302 and response["Location"] == f"/licensing/sa/{acme.account.pk}/licenses/"
    assert held(acme.us) == {
        ("ISR-SEC-K9", 7, None, None),
        ("DNA-ADV-1Y", 5, TODAY - datetime.timedelta(days=10), TODAY + datetime.timedelta(days=355)),
    }
    page = html(client.get(response["Location"]))
    assert "Moved 7 × ISR-SEC-K9, 5 × DNA-ADV-1Y from Europe to US." in page
    assert Entitlement.objects.get(virtual_account=acme.us, product=pools["isr"]).source == EntitlementSource.TRANSFER


def test_a_refused_transfer_shows_the_error_next_to_its_line_and_changes_nothing(client, acme, pools):
    client.force_login(acme.admin)
    before_europe, before_us = held(acme.europe), held(acme.us)
    # 7 of ISR are available (3 are in use), so 8 is refused; DNA on line 1 would have been fine.
    response = post(client, acme, acme.europe, acme.us, (pools["dna"], 2), (pools["isr"], 8))
    assert response.status_code == 200
    page = html(response)
    assert line_errors(page, 1) == "8 requested, 7 available in Europe."
    assert line_errors(page, 0) == ""
    assert held(acme.europe) == before_europe and held(acme.us) == before_us


def test_a_product_named_on_two_lines_counts_once_with_both_quantities(client, acme, pools):
    client.force_login(acme.admin)
    page = html(post(client, acme, acme.europe, acme.us, (pools["isr"], 4), (pools["isr"], 4)))
    assert line_errors(page, 0) == line_errors(page, 1) == "8 requested, 7 available in Europe."
    assert held(acme.us) == set()


def test_a_transfer_needs_a_line_and_two_different_virtual_accounts(client, acme, pools):
    client.force_login(acme.admin)
    page = html(post(client, acme, acme.europe, acme.us, (None, "")))
    assert "Choose at least one product and quantity to transfer." in page
    page = html(post(client, acme, acme.europe, acme.europe, (pools["isr"], 1)))
    assert "Choose a Virtual Account other than the one the licenses are in." in page
    page = html(post(client, acme, acme.europe, acme.us, (pools["isr"], "")))
    assert "How many?" in page
    assert held(acme.us) == set()


def test_a_va_user_moves_licenses_only_between_virtual_accounts_it_may_act_on(client, acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=5)
    client.force_login(acme.va_user)
    page = html(client.get(reverse("licensing:license_transfer", kwargs={"va_pk": acme.us.pk})))
    assert f'<option value="{acme.finance.pk}"' in page and f'<option value="{acme.europe.pk}"' not in page
    response = post(client, acme, acme.us, acme.europe, (product, 1), scope={"va_pk": acme.us.pk})
    assert response.status_code == 200 and "Select a valid choice" in html(response)
    assert held(acme.europe) == set()
    response = post(client, acme, acme.us, acme.finance, (product, 2), scope={"va_pk": acme.us.pk})
    assert response["Location"] == f"/licensing/va/{acme.us.pk}/licenses/"
    assert held(acme.finance) == {("ISR-SEC-K9", 2, None, None)}


def test_the_page_opened_from_a_virtual_account_starts_from_it_and_shows_what_it_can_spare(client, acme, pools):
    client.force_login(acme.admin)
    page = html(client.get(reverse("licensing:license_transfer", kwargs={"va_pk": acme.europe.pk})))
    assert f'<option value="{acme.europe.pk}" selected>' in page
    assert "Available in Europe" in page and "<strong>7</strong> of 10" in page
    fragment = html(client.get(reverse("licensing:license_transfer_available", kwargs={"sa_pk": acme.account.pk}),
                               {"from_virtual_account": acme.us.pk}))
    assert "Nothing to spare in US" in fragment
