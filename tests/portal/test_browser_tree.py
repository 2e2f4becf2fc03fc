"""The account home's Virtual Account tree in a real browser: it opens at the top, a node's
expand control loads its children (htmx), collapsing hides them, and the search box reaches a
VA six levels down without clicking through the levels."""
import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import (
    DeviceFactory,
    EntitlementFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

# DEFAULT > Region 2 > Country A > State X > City Y > Site Z > Lab Deep; each with an annex below it.
PATH = ["Region 2", "Country A", "State X", "City Y", "Site Z", "Lab Deep"]


def _account():
    sa = SmartAccountFactory(name="Globex", domain="globex.example")
    root = sa.default_virtual_account
    for name in ("Region 1", "Region 3"):
        VirtualAccountFactory(parent=root, name=name)
    parent = root
    for level, name in enumerate(PATH, start=1):
        parent = VirtualAccountFactory(parent=type(parent).objects.get(pk=parent.pk), name=name)
        VirtualAccountFactory(parent=parent, name=f"Annex {level}")
    deep = type(parent).objects.get(pk=parent.pk)
    EntitlementFactory(virtual_account=deep, quantity=7)
    DeviceFactory(virtual_account=deep)
    return sa, deep


def _row(page, name):
    return page.locator("#va-tree tbody tr").filter(has=page.get_by_text(name, exact=True))


def test_expand_a_node_then_find_a_deep_virtual_account_with_the_search(page, browser_login, screenshot):
    sa, deep = _account()
    admin = UserFactory(email="gina@globex.example")
    SmartAccountRoleFactory(user=admin, content_object=sa, role=Role.SA_ADMIN)
    browser_login(admin)

    page.goto(f"/sa/{sa.pk}/")
    rows = page.locator("#va-tree tbody tr")
    expect(rows).to_have_count(4)  # DEFAULT and its three children
    assert _row(page, "DEFAULT").locator("td").nth(2).inner_text().strip() == "7"  # licenses in the subtree
    screenshot("tree-top")

    page.get_by_role("button", name="Expand Region 2").click()
    expect(_row(page, "Country A")).to_be_visible()
    expect(_row(page, "Annex 1")).to_be_visible()
    assert _row(page, "Country A").locator("td").nth(2).inner_text().strip() == "7"
    expect(rows).to_have_count(6)
    screenshot("tree-expanded")
    page.get_by_role("button", name="Collapse Region 2").click()
    expect(_row(page, "Country A")).to_be_hidden()
    page.get_by_role("button", name="Expand Region 2").click()
    expect(_row(page, "Country A")).to_be_visible()
    expect(rows).to_have_count(6)  # shown again, not fetched twice

    page.get_by_role("searchbox", name="Find a Virtual Account").fill("lab")
    result = page.locator("#va-search-results").get_by_role("link")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("Site Z")
    screenshot("search-results")
    result.click()
    found = page.locator("#va-tree tr.va-found")
    expect(found).to_be_visible()
    expect(found).to_contain_text("Lab Deep")
    assert found.locator("td").nth(1).inner_text().strip() == "7"
    for name in PATH:
        expect(_row(page, name)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/sa/{sa.pk}/\?open={deep.pk}$"))
    screenshot("search-opened")

    page.reload()  # the address opens the same tree
    expect(page.locator("#va-tree tr.va-found")).to_contain_text("Lab Deep")
