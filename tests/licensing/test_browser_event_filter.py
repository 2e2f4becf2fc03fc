"""The event log's Virtual Account filter in a real browser, as a search box (an account with
more Virtual Accounts than a select lists): type part of a name, pick a suggestion (htmx), filter;
the URL carries the id as before and the box shows the name."""
import re

import pytest
from playwright.sync_api import expect

from accounts.models import Event
from accounts import filtersets
from licensing.services import license_transfer, token_create

from ..factories import EntitlementFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def log(acme, product, monkeypatch):
    monkeypatch.setattr(filtersets, "VIRTUAL_ACCOUNT_SELECT_LIMIT", 1)  # Acme's four VAs are "many"
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=5)
    license_transfer(from_virtual_account=acme.europe, to_virtual_account=acme.finance, lines=[(product, 2)], actor=acme.admin)
    token_create(virtual_account=acme.us, description="Lab", actor=acme.va_user)
    assert Event.objects.filter(smart_account=acme.account).exists()
    return acme


def test_pick_a_virtual_account_by_name_and_filter_the_log(page, screenshot, browser_login, log):
    acme = log
    browser_login(acme.admin)
    page.goto(f"/licensing/sa/{acme.account.pk}/events/")
    box = page.get_by_role("combobox", name="Virtual Account")
    suggestions = page.locator("#id_virtual_account_options")
    table = page.locator("#event-table")
    expect(table).to_contain_text("Registration token")

    box.press_sequentially("eur")
    expect(suggestions.get_by_role("option", name=re.compile("^Europe"))).to_be_visible()
    screenshot("suggestions")
    suggestions.get_by_role("option", name=re.compile("^Europe")).click()
    expect(box).to_have_value("Europe")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(rf"virtual_account={acme.europe.pk}(&|$)"))
    expect(table).to_contain_text("moved from Europe")
    expect(table).not_to_contain_text("Registration token")
    expect(box).to_have_value("Europe")

    # The keyboard: Enter takes the first name suggested, a second Enter filters.
    box.fill("")
    box.press_sequentially("fin")
    expect(suggestions.get_by_role("option", name=re.compile("^Finance"))).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value("Finance")
    expect(suggestions.get_by_role("option")).to_have_count(0)
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"virtual_account={acme.finance.pk}(&|$)"))

    # Emptying the box is "all Virtual Accounts" again.
    box.fill("")
    page.get_by_role("button", name="Filter").click()
    expect(table).to_contain_text("Registration token")
    screenshot("all-again")
