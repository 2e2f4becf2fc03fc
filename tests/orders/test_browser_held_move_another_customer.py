"""Issue 12, item 10 in a real browser: a reseller moves a held line ordered for Wingtip Toys into
Acme Corp; the review names both customers next to the line, nothing moves until "Move anyway"."""
import pytest

from orders import services
from orders.models import OrderLineState

from ..factories import (
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    ProductFactory,
    SmartAccountFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reseller_is_asked_before_moving_a_line_into_another_customers_account(page, screenshot, browser_login):
    reseller = PartnerFactory(name="Resale Co")
    rita = PartnerMembershipFactory(partner=reseller, user=UserFactory(email="rita@resale.example", name="Rita")).user
    holding = HoldingAccountFactory(name="Resale Holding", partner=reseller)
    HoldingMembershipFactory(smart_account=holding, user=rita)
    acme = SmartAccountFactory(name="Acme Corp", domain="acme.example")
    staff = UserFactory(email="stella@vendor.example", is_staff=True, powers="all")
    router = ProductFactory(sku="ISR-SEC-K9", name="ISR Security")
    order = services.order_place(actor=rita, end_customer_name="Wingtip Toys", end_customer_email="buyer@wingtip.example",
                                 lines=[{"product": router, "quantity": 3, "smart_account": holding}])
    (line,) = services.order_ship(order=order, actor=staff)

    page.set_viewport_size({"width": 1366, "height": 900})
    browser_login(rita)
    page.goto("/orders/holding/")
    page.get_by_label(f"Select {order.number} line 1 (3 × ISR-SEC-K9)").check()
    page.get_by_label("Find the customer's Smart Account").fill("acme.example")
    assert page.locator("#id_move-smart_account option:checked").inner_text().endswith(f"id {acme.pk}")
    page.get_by_role("button", name="Review the move").click()
    page.wait_for_url("**/orders/holding/move/")

    row = page.locator("tbody tr", has_text=order.number)
    assert "Ordered for Wingtip Toys (wingtip.example); you chose Acme Corp (acme.example)" in row.inner_text()
    assert "Ready" not in row.inner_text()
    assert page.get_by_role("alert").filter(has_text="This line was ordered for another customer").is_visible()
    assert page.get_by_role("button", name="Move 1 line to Acme Corp").count() == 0
    screenshot("move-warns-another-customer")
    line.refresh_from_db()
    assert line.state == OrderLineState.HELD

    page.get_by_role("button", name="Move anyway").click()
    page.wait_for_url("**/orders/holding/")
    assert "Moved 1 line to Acme Corp" in page.content()
    line.refresh_from_db()
    assert (line.state, line.smart_account) == (OrderLineState.PROVISIONED, acme)
    screenshot("moved-anyway")
