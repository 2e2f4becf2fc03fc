"""The Content-Security-Policy in a real browser: the demo's people use the portal's pages (the
interactive parts too: tree, filters, order form, copy buttons), the API docs and the admin, and
Chromium neither refuses anything (console "Refused to …", `securitypolicyviolation`) nor reports
a script error."""
from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts import filtersets
from accounts.models import SmartAccount, User, VirtualAccount, VirtualAccountRole
from licensing.models import ClassicLicense, Product
from orders.models import Order
from portal.management.commands.seed_demo import ALICE, ANNA, BOB, CARL, FIONA, NORA, STAFF_EMAIL

pytestmark = pytest.mark.django_db(transaction=True)

# Every violation reaches the test, even one on a page that is left at once.
REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', function (e) {
  window.reportCspViolation([e.violatedDirective, e.blockedURI || 'inline', (e.sourceFile || '') + ':' + e.lineNumber,
                             e.sample || ''].join(' '));
});
"""


@pytest.fixture
def problems(page) -> list[str]:
    """What Chromium reports while the test browses: CSP violations, console errors and warnings,
    uncaught script errors."""
    found: list[str] = []
    page.context.expose_binding("reportCspViolation", lambda source, text: found.append(f"{source['page'].url}: CSP {text}"))
    page.context.add_init_script(REPORT_VIOLATIONS)
    def console(message) -> None:
        # The portal has no favicon: Chromium's request for /favicon.ico answers 404, not a CSP matter.
        if message.type in {"error", "warning"} and not message.location.get("url", "").endswith("/favicon.ico"):
            found.append(f"{page.url}: console {message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: found.append(f"{page.url}: script error: {error}"))
    return found


@pytest.fixture
def demo(monkeypatch):
    call_command("seed_demo", stdout=StringIO())
    # Acme has few Virtual Accounts: the filters' search box (not a select) is shown from two on.
    monkeypatch.setattr(filtersets, "VIRTUAL_ACCOUNT_SELECT_LIMIT", 1)
    return SmartAccount.objects.get(name="Acme Corp")


def test_no_page_violates_the_csp_in_chromium(page, browser_login, problems, screenshot, demo):
    acme = demo
    seen: list[str] = []

    def visit(path: str, label: str | None = None) -> None:
        response = page.goto(path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        # Without the policy no violation could happen: the test would prove nothing.
        assert "script-src 'self'" in response.headers.get("content-security-policy", ""), path
        page.wait_for_load_state("networkidle")
        seen.append(path)
        if label:
            screenshot(label)

    def sign_in(email: str) -> None:
        page.context.clear_cookies()
        browser_login(User.objects.get(email=email))

    # The customer's SA admin: account home, tree, licensing pages, profile, help.
    sign_in(ALICE.email)
    visit("/", "alice-dashboard")
    visit(f"/sa/{acme.pk}/")
    page.locator("#va-tree .va-toggle[aria-expanded='false']").first.click()
    expect(page.locator("#va-tree tbody tr")).not_to_have_count(1)
    page.get_by_role("searchbox", name="Find a Virtual Account").fill("Fin")
    expect(page.locator("#va-search-results")).not_to_be_empty()
    screenshot("alice-account-home")
    base = f"/licensing/sa/{acme.pk}"
    visit(f"{base}/dashboard/", "alice-licensing-dashboard")
    expect(page.locator("canvas[data-usage-chart]").first).to_be_visible()
    visit(f"{base}/licenses/", "alice-licenses")
    visit(f"{base}/licenses/{Product.objects.filter(entitlements__virtual_account__smart_account=acme).first().pk}/")
    visit(f"{base}/licenses/transfer/")
    products = page.locator("#transfer-lines select[name$='-product']")
    lines = products.count()
    page.get_by_role("button", name="Add a line").click()
    expect(products).to_have_count(lines + 1)
    expect(products.last).to_be_focused()
    visit(f"{base}/devices/", "alice-devices")
    visit(f"{base}/tokens/")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name=re.compile("^Revoke")).first.click()
    assert asked and asked[0].startswith("Revoke token")  # and, dismissed, nothing was sent
    assert page.url.endswith("/tokens/")
    page.get_by_label("Virtual Account").select_option(index=1)
    page.get_by_label("Description").fill("CSP check")
    page.get_by_role("button", name=re.compile("Create")).click()
    page.wait_for_load_state("networkidle")
    copy = page.locator("[data-copy-target]").first
    copy.click()
    expect(copy).not_to_have_text("Copy")
    screenshot("alice-token-created")
    visit(f"{base}/events/")
    page.get_by_role("combobox", name="Virtual Account").press_sequentially("US")
    expect(page.locator("#id_virtual_account_options [data-va-id]").nth(1)).to_be_visible()
    page.locator("#id_virtual_account_options [data-va-id]").nth(1).click()
    page.get_by_role("button", name=re.compile("Filter|Apply")).first.click()
    page.wait_for_load_state("networkidle")
    assert "virtual_account=" in page.url
    screenshot("alice-events-filtered")
    visit(f"{base}/reconciliation/")
    visit(f"{base}/classic-licenses/")
    pak = ClassicLicense.objects.filter(smart_account=acme).first()
    if pak:
        visit(f"/licensing/classic-licenses/{pak.pk}/")
    visit(f"/licensing/sa/{acme.pk}/alerts/")
    visit(f"/sa/{acme.pk}/users/", "alice-users")
    visit("/sa/")
    visit("/sa/find/?domain=globex.example")
    for path in ("/accounts/email/", "/accounts/password/change/", "/accounts/2fa/", "/profile/api-keys/",
                 "/support/", "/privacy/", "/help/", "/help/virtual-accounts/"):
        visit(path)

    # A VA viewer and a VA admin see parts of the tree.
    for email in (BOB.email, FIONA.email):
        sign_in(email)
        visit("/")
        visit(f"/sa/{acme.pk}/")
        va = VirtualAccountRole.objects.filter(user__email=email).first().content_object
        visit(f"/licensing/va/{va.pk}/licenses/")

    # A reseller admin: orders, the order form, the holding inbox, partner pages.
    sign_in(ANNA.email)
    visit("/orders/", "anna-orders")
    order = Order.objects.filter(partner__name="Contoso Networks").first()
    visit(f"/orders/{order.pk}/")
    visit("/orders/new/")
    page.get_by_role("button", name="Add a line").click()
    sku = Product.objects.filter(sa_required=True).first().sku
    page.locator("input.line-product").last.fill(sku)
    expect(page.locator(".line-product-info").last).to_contain_text("Needs an assignment")
    page.locator("input.line-product").last.locator("xpath=ancestor::*[contains(@class,'order-line')]").get_by_label(
        re.compile("customer's Smart Account|A customer", re.I)).first.check()
    search = page.locator("input.account-search").last
    search.fill("acme.example")
    search.press("Enter")
    expect(page.locator(".order-line").last.get_by_label("Smart Account", exact=True)).to_contain_text("Acme Corp")
    screenshot("anna-order-form")
    visit("/orders/holding/", "anna-holding-inbox")
    select_all = page.locator("input.select-all").first
    if select_all.count():
        select_all.check()
        group = select_all.get_attribute("data-group")
        assert page.locator(f"input[name='move-lines'][data-group='{group}']:not(:checked)").count() == 0
    for path in ("/orders/delegated/", "/partner/", "/partner/holding-accounts/", "/partner/customers/"):
        visit(path)
    screenshot("anna-partner-customers")

    # A holding-account member and a distributor admin.
    sign_in(CARL.email)
    visit("/orders/holding/")
    sign_in(NORA.email)
    visit("/orders/new/")
    visit("/partner/", "nora-partner")

    # Staff: the admin (index, changelists with actions, change forms), the API and its docs.
    sign_in(STAFF_EMAIL)
    visit("/admin/", "staff-admin-index")
    visit("/admin/orders/order/")
    page.locator("input.action-select").first.check()
    expect(page.locator(".action-counter")).to_contain_text("1 of")
    page.locator("select[name='action']").select_option("ship_selected")
    screenshot("staff-admin-orders-action")
    visit(f"/admin/orders/order/{order.pk}/change/")
    visit("/admin/accounts/virtualaccount/", "staff-admin-tree")
    visit(f"/admin/accounts/virtualaccount/{VirtualAccount.objects.filter(level__gt=0).first().pk}/change/")
    visit(f"/admin/licensing/product/{Product.objects.first().pk}/change/", "staff-admin-product")
    visit(f"/admin/accounts/user/{User.objects.get(email=ALICE.email).pk}/change/")
    visit("/admin/accounts/user/add/")
    visit("/admin/accounts/smartaccount/")
    visit("/api/v1/docs/")
    expect(page.locator(".swagger-ui .info")).to_be_visible()
    page.locator(".opblock-summary").first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
    screenshot("staff-api-docs")
    for path in ("/api/v1/me/", "/api/v1/orders/", f"/api/v1/smart-accounts/{acme.pk}/virtual-accounts/"):
        visit(path)  # the browsable API

    assert len(seen) > 40
    assert not problems, "\n".join(problems)
