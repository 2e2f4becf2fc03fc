"""Long unbroken text never widens a page (issue 12, item 4): a 5,000-character support message,
a 200-character end-customer name, a 200-character token description and a long partner name
wrap or are cut with an ellipsis, at 1366 px, in the portal and the admin; the full text stays
in the page (a title attribute, or the detail view)."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Partner, SmartAccount, SupportCase, SupportMessage, User
from licensing.models import RegistrationToken
from orders.models import Order
from portal.management.commands.seed_demo import ALICE, ANNA, STAFF_EMAIL

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGE = "M" * 5000
CUSTOMER = "Wingtip" + "W" * 193
DESCRIPTION = "Token" + "D" * 195
PARTNER = "Contoso" + "C" * 193

FITS = "document.documentElement.scrollWidth <= window.innerWidth"
# A cell holding long text stays narrow (cut, or wrapped within a width) and its text stays
# inside it: otherwise it pushes the other columns out of sight or runs over them.
WIDE_LONG_CELLS = (
    "[...document.querySelectorAll('td, th')]"
    ".filter(c => c.textContent.replace(/\\s+/g, '').length >= 150"
    " && (c.getBoundingClientRect().width > 480"
    "     || getComputedStyle(c).overflowX === 'visible' && c.scrollWidth > c.clientWidth + 1))"
    ".map(c => Math.round(c.getBoundingClientRect().width) + ' px: ' + c.textContent.trim().slice(0, 30))"
)


@pytest.fixture
def long_texts():
    call_command("seed_demo", stdout=StringIO())
    acme = SmartAccount.objects.get(name="Acme Corp")
    alice = User.objects.get(email=ALICE.email)
    case = SupportCase.objects.create(user=alice, smart_account=acme, subject="Long message")
    SupportMessage.objects.create(case=case, author=alice, body=MESSAGE)
    order = Order.objects.filter(partner__name="Contoso Networks").first()
    Order.objects.filter(pk=order.pk).update(end_customer_name=CUSTOMER)
    token = RegistrationToken.objects.filter(virtual_account__smart_account=acme).first()
    RegistrationToken.objects.filter(pk=token.pk).update(description=DESCRIPTION)
    Partner.objects.filter(name="Contoso Networks").update(name=PARTNER)
    return {"acme": acme, "case": case, "order": order}


def test_long_unbroken_text_keeps_every_page_within_1366_px(page, browser_login, screenshot, long_texts):
    page.set_viewport_size({"width": 1366, "height": 900})

    def visit(path: str, label: str) -> None:
        response = page.goto(path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        screenshot(label)
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert page.evaluate(FITS), f"{path} is {widths[0]} px wide in a {widths[1]} px window"
        assert page.evaluate(WIDE_LONG_CELLS) == [], f"{path}: a cell of long text is too wide"

    def full_text_shown(text: str) -> bool:
        # In a title attribute (a cut cell) or as the page's text (a wrapped block).
        return page.evaluate(
            "text => [...document.querySelectorAll('[title]')].some(e => e.title === text)"
            " || document.body.innerText.replace(/\\s+/g, '').includes(text)", text)

    browser_login(User.objects.get(email=ALICE.email))
    visit(f"/support/{long_texts['case'].pk}/", "support-case")
    assert full_text_shown(MESSAGE)
    visit(f"/licensing/sa/{long_texts['acme'].pk}/tokens/", "tokens")
    assert full_text_shown(DESCRIPTION)

    page.context.clear_cookies()
    browser_login(User.objects.get(email=ANNA.email))
    visit("/orders/", "orders")
    assert full_text_shown(CUSTOMER)
    visit(f"/orders/{long_texts['order'].pk}/", "order-detail")
    assert full_text_shown(CUSTOMER)
    assert full_text_shown(PARTNER)
    visit("/partner/", "partner")

    page.context.clear_cookies()
    browser_login(User.objects.get(email=STAFF_EMAIL))
    visit("/orders/", "staff-orders")  # every partner's orders: a partner column
    assert full_text_shown(PARTNER)
    # The admin's lists cut long text; its change pages show all of it.
    visit("/admin/orders/order/", "admin-orders")
    visit(f"/admin/orders/order/{long_texts['order'].pk}/change/", "admin-order")
    assert full_text_shown(CUSTOMER)
    assert full_text_shown(PARTNER)
    visit("/admin/accounts/partner/", "admin-partners")
