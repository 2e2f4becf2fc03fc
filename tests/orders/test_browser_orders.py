"""Flows 5–8 in a real browser: a reseller places an order with a line to its holding account
and a Smart-Account-mandatory line to a customer account, staff ship it, the reseller moves the
held line to the customer from the inbox, and the customer admin sees both sets of licenses.
Also the order form's inline forms (create a holding account, request a customer account)."""
import re

import pytest
from django.core import mail

from accounts.models import Role, SmartAccount
from orders.models import Order, OrderLineState

from ..factories import (
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    ProductFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page, browser_login, user) -> None:
    page.context.clear_cookies()
    browser_login(user)


def test_reseller_orders_staff_ships_reseller_moves_held_line_customer_sees_licenses(page, screenshot, browser_login):
    reseller = PartnerFactory(name="Resale Co")
    rita = PartnerMembershipFactory(partner=reseller, user=UserFactory(email="rita@resale.example", name="Rita")).user
    holding = HoldingAccountFactory(name="Resale Holding", partner=reseller)
    HoldingMembershipFactory(smart_account=holding, user=rita, notify=True)
    globex = SmartAccountFactory(name="Globex", domain="globex.example")
    gina = UserFactory(email="gina@globex.example", name="Gina")
    SmartAccountRoleFactory(user=gina, content_object=globex, role=Role.SA_ADMIN)
    finance = VirtualAccountFactory(parent=globex.default_virtual_account, name="Finance")
    staff = UserFactory(email="stella@vendor.example", name="Stella", is_staff=True, powers="all")
    ProductFactory(sku="ISR-SEC-K9", name="ISR Security")
    ProductFactory(sku="C9300-DNA-E", name="Catalyst DNA Essentials", sa_required=True, term_months=12)

    # The reseller places the order; first forgetting the mandatory line's assignment.
    sign_in(page, browser_login, rita)
    page.goto("/orders/")
    screenshot("orders-empty")
    page.get_by_role("link", name="Place order").click()
    page.get_by_label("End customer name").fill("Globex Corp")
    page.get_by_label("End-customer contact email").fill("gina@globex.example")
    first = page.locator("fieldset.order-line").nth(0)
    first.get_by_label("Product").fill("ISR-SEC-K9")
    first.get_by_label("Quantity").fill("3")
    first.get_by_label("A holding account").check()
    first.get_by_label("Holding account", exact=True).select_option(label="Resale Holding")
    page.get_by_role("button", name="Add a line").click()
    second = page.locator("fieldset.order-line").nth(1)
    second.get_by_label("Product").fill("C9300-DNA-E")
    assert second.locator(".sa-required-badge").is_visible()
    second.get_by_label("Quantity").fill("5")
    page.get_by_role("button", name="Place the order").click()
    page.wait_for_load_state()
    second = page.locator("fieldset.order-line").nth(1)
    assert "C9300-DNA-E requires a Smart Account" in second.inner_text()
    assert not Order.objects.exists()
    screenshot("place-order-error-on-line")

    second.get_by_label("A customer's Smart Account").check()
    second.get_by_label("Find the customer's Smart Account").fill("globex.example")
    second.locator("#id_lines-1-virtual_account").select_option(str(finance.pk))
    assert second.locator("#id_lines-1-smart_account option:checked").inner_text().endswith(f"id {globex.pk}")
    screenshot("place-order-filled")
    page.get_by_role("button", name="Place the order").click()
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    order = Order.objects.get()
    assert f"Order {order.number} is placed with 2 lines" in page.content()
    screenshot("order-detail-booked")

    # Staff ship it from the order's page.
    sign_in(page, browser_login, staff)
    page.goto(f"/orders/{order.pk}/")
    page.get_by_role("button", name="Ship 2 unshipped lines").click()
    page.wait_for_load_state()
    assert f"Shipped 2 lines of {order.number}" in page.content()
    held, mandatory = order.lines.order_by("number")
    assert (held.state, mandatory.state) == (OrderLineState.HELD, OrderLineState.PROVISIONED)
    screenshot("order-detail-shipped")

    # The reseller moves the held line to the customer from the inbox.
    sign_in(page, browser_login, rita)
    page.goto("/orders/")
    page.get_by_role("link", name="Held lines").click()
    page.wait_for_url("**/orders/holding/")
    assert "0 days" in page.content()
    screenshot("holding-inbox")
    page.get_by_label(f"Select {order.number} line 1 (3 × ISR-SEC-K9)").check()
    page.get_by_label("Find the customer's Smart Account").fill("globex.example")
    assert page.locator("#id_move-smart_account option:checked").inner_text().endswith(f"id {globex.pk}")
    page.get_by_role("button", name="Review the move").click()
    page.wait_for_url("**/orders/holding/move/")
    assert "What will land where" in page.content()
    screenshot("move-confirmation")
    held.refresh_from_db()
    assert held.state == OrderLineState.HELD
    page.get_by_role("button", name="Move 1 line to Globex").click()
    page.wait_for_url("**/orders/holding/")
    assert "Moved 1 line to Globex" in page.content()
    held.refresh_from_db()
    assert (held.state, held.smart_account) == (OrderLineState.PROVISIONED, globex)
    screenshot("holding-inbox-after-move")

    # The customer admin sees both sets of licenses on the account home.
    sign_in(page, browser_login, gina)
    page.goto(f"/sa/{globex.pk}/")
    default_row = page.locator(f'#va-tree tr[data-id="{globex.default_virtual_account_id}"]')
    finance_row = page.locator(f'#va-tree tr[data-id="{finance.pk}"]')
    assert default_row.locator("td").nth(1).inner_text().strip() == "3"
    assert finance_row.locator("td").nth(1).inner_text().strip() == "5"
    assert default_row.locator("td").nth(2).inner_text().strip() == "8"  # DEFAULT's subtree
    screenshot("customer-account-home")

    sent = sorted((message.to[0], message.subject) for message in mail.outbox)
    assert [to for to, _ in sent] == [
        "gina@globex.example", "gina@globex.example", "gina@globex.example", "rita@resale.example",
    ]
    subjects = " | ".join(subject for _, subject in sent)
    assert subjects.count(order.number) == 4
    assert re.search(r"[Ll]icenses", subjects) and re.search(r"[Ss]ubscription", subjects)


def test_order_form_creates_the_first_holding_account_and_requests_a_customer_account_inline(
    page, screenshot, browser_login
):
    partner = PartnerFactory(name="Fresh Partner")
    fay = PartnerMembershipFactory(partner=partner, user=UserFactory(email="fay@fresh.example", name="Fay")).user
    UserFactory(email="cora@hooli.example", name="Cora")
    ProductFactory(sku="ISR-SEC-K9", name="ISR Security")
    ProductFactory(sku="C9300-DNA-E", name="Catalyst DNA Essentials", sa_required=True)

    sign_in(page, browser_login, fay)
    page.goto("/orders/new/")
    page.get_by_label("End customer name").fill("Hooli")
    page.get_by_label("End-customer contact email").fill("cora@hooli.example")
    first = page.locator("fieldset.order-line").nth(0)
    first.get_by_label("Product").fill("ISR-SEC-K9")
    first.get_by_label("A holding account").check()
    assert first.get_by_text("You have no holding account yet").is_visible()
    page.get_by_label("Holding account name").fill("Fresh stock")
    page.get_by_role("button", name="Create holding account").click()
    page.get_by_text("Holding account Fresh stock created").wait_for()
    assert first.get_by_label("Holding account", exact=True).is_visible()
    holding = SmartAccount.objects.get(name="Fresh stock")
    assert first.get_by_label("Holding account", exact=True).input_value() == str(holding.pk)

    page.get_by_role("button", name="Add a line").click()
    second = page.locator("fieldset.order-line").nth(1)
    second.get_by_label("Product").fill("C9300-DNA-E")
    second.get_by_label("A customer's Smart Account").check()
    second.get_by_label("Find the customer's Smart Account").fill("hooli.example")
    second.get_by_text("No customer account matches").wait_for()
    second.get_by_role("button", name=re.compile("Request one")).click()
    dialog = page.get_by_role("dialog")
    page.locator("#account-request-modal.show").wait_for()
    page.wait_for_timeout(400)  # the fade-in
    assert dialog.get_by_label("Customer company name").input_value() == "Hooli"
    assert dialog.get_by_label("Domain").input_value() == "hooli.example"
    screenshot("request-account-dialog")
    dialog.get_by_role("button", name="Request the account").click()
    page.get_by_text("cora@hooli.example got an email to activate it").wait_for()
    sa = SmartAccount.objects.get(name="Hooli")
    assert second.locator("#id_lines-1-smart_account option:checked").inner_text().endswith(f"id {sa.pk}")
    dialog.wait_for(state="hidden")
    page.locator(".modal-backdrop").wait_for(state="detached")
    screenshot("place-order-after-inline-forms")

    page.get_by_role("button", name="Place the order").click()
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    first_line, second_line = Order.objects.get().lines.order_by("number")
    assert (first_line.smart_account, second_line.smart_account) == (holding, sa)
    assert "awaiting activation" in page.content()


def test_inbox_highlights_stale_lines_a_failed_move_changes_nothing_and_the_end_customer_chooses(
    page, screenshot, browser_login
):
    import datetime

    from django.utils import timezone

    from accounts.services import smart_account_create
    from orders import services

    reseller = PartnerFactory(name="Resale Co")
    rita = PartnerMembershipFactory(partner=reseller, user=UserFactory(email="rita@resale.example", name="Rita")).user
    ralf = PartnerMembershipFactory(partner=reseller, user=UserFactory(email="ralf@resale.example", name="Ralf")).user
    holding = HoldingAccountFactory(name="Resale Holding", partner=reseller)
    HoldingMembershipFactory(smart_account=holding, user=rita, notify=True)
    HoldingMembershipFactory(smart_account=holding, user=ralf, notify=False)
    gina = UserFactory(email="gina@globex.example", name="Gina")
    globex = smart_account_create(name="Globex", domain="globex.example", actor=gina)
    smart_account_create(name="Globex Labs", domain="globex.example", actor=gina)
    finance = VirtualAccountFactory(parent=globex.default_virtual_account, name="Finance")
    staff = UserFactory(email="stella@vendor.example", is_staff=True, powers="all")
    router = ProductFactory(sku="ISR-SEC-K9", name="ISR Security")
    dna = ProductFactory(sku="DNA-ADV-1Y", name="DNA Advantage", term_months=12)
    today = timezone.localdate()

    def order(lines, days_ago=None, **fields):
        placed = services.order_place(actor=rita, end_customer_name=fields.pop("name", "Globex Corp"),
                                      end_customer_email=fields.pop("email", "it@globex.example"), lines=lines)
        if days_ago is not None:
            services.order_ship(order=placed, actor=staff, shipped_on=today - datetime.timedelta(days=days_ago))
        return placed

    old = order([{"product": dna, "quantity": 10, "smart_account": holding}] * 2, days_ago=100)
    order([{"product": router, "quantity": 2, "smart_account": holding}], days_ago=12, name="Initech", email="it@initech.example")
    delegated = order([{"product": dna, "quantity": 4, "delegate_to_end_customer": True}], days_ago=0,
                      name="Globex Corp", email=gina.email)
    order([{"product": router, "quantity": 1, "smart_account": globex, "virtual_account": finance}])

    sign_in(page, browser_login, rita)
    page.goto("/orders/")
    assert page.locator("tbody tr").count() == 4
    screenshot("order-list")
    page.goto("/orders/holding/")
    assert page.locator("tr.held-stale").count() == 2
    assert "3 of 12 months used" in page.content()
    screenshot("holding-inbox-stale")

    # Two lines ticked and reviewed; meanwhile a colleague moves one of them.
    first, second = old.lines.order_by("number")
    page.get_by_label(f"Select all in {holding.name}").check()
    page.get_by_label(f"Select {old.number} line 2 (10 × DNA-ADV-1Y)").uncheck()
    page.get_by_label(f"Select {old.number} line 1 (10 × DNA-ADV-1Y)").check()
    page.get_by_label(re.compile("^Select SO-.* \\(2 × ISR-SEC-K9\\)")).uncheck()
    page.get_by_label(f"Select {old.number} line 2 (10 × DNA-ADV-1Y)").check()
    page.get_by_label("Find the customer's Smart Account").fill("Globex")
    # The one she knows by name.
    assert page.locator("#id_move-smart_account option:checked").inner_text().endswith(f"id {globex.pk}")
    page.locator("#id_move-virtual_account").select_option(str(finance.pk))
    page.get_by_role("button", name="Review the move").click()
    page.wait_for_url("**/orders/holding/move/")
    services.order_line_move_to_account(lines=[second], smart_account=globex, actor=ralf)
    page.get_by_role("button", name="Move 2 lines to Globex").click()
    page.wait_for_load_state()
    assert "Nothing was moved" in page.content() and "Already provisioned in Globex" in page.content()
    first.refresh_from_db()
    assert first.state == OrderLineState.HELD
    screenshot("move-failed")
    page.get_by_role("button", name="Review again without the lines that cannot move").click()
    page.get_by_role("button", name="Move 1 line to Globex").click()
    page.wait_for_url("**/orders/holding/")
    first.refresh_from_db()
    assert (first.state, first.virtual_account) == (OrderLineState.PROVISIONED, finance)

    # The end customer chooses the account of the delegated line.
    sign_in(page, browser_login, gina)
    page.goto("/orders/")
    page.get_by_role("link", name=re.compile("Lines waiting for your choice")).click()
    screenshot("delegated-list")
    page.get_by_role("link", name=re.compile("Choose the account")).click()
    page.get_by_label("Smart Account").select_option(str(globex.pk))
    page.locator("#id_assign-virtual_account").select_option(str(finance.pk))
    screenshot("delegated-choose")
    page.get_by_role("button", name="Put the licenses there").click()
    page.wait_for_url(f"**/sa/{globex.pk}/")
    line = delegated.lines.get()
    assert (line.state, line.virtual_account) == (OrderLineState.PROVISIONED, finance)
    assert "are in Globex / Finance now" in page.content()
    finance_row = page.locator(f'#va-tree tr[data-id="{finance.pk}"]')
    assert finance_row.locator("td").nth(1).inner_text().strip() == "14"  # 10 moved by rita + 4 chosen by gina
