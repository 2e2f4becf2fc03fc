"""/orders/new/: a partner places an order; lines go to a customer account, a holding account or
the end customer; errors of order_place land on the line they are about. Also the htmx pieces
of the form: account search, Virtual Account options, the inline account forms."""
import json
import re
from html import unescape

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Event, Notification, SmartAccount, SmartAccountKind, SmartAccountStatus
from accounts.selectors import account_from_search_reference, search_reference
from orders.models import Order, OrderLineState

from ..factories import HoldingAccountFactory, PartnerFactory, PartnerMembershipFactory, SmartAccountFactory, UserFactory
from tests.html import field_error, html

pytestmark = pytest.mark.django_db

URL = reverse("orders:order_place")


def order_data(*lines, name="Globex Corp", email="it@globex.example", **extra) -> dict:
    """The POST of the order form: the end customer and a formset of lines (dicts of line fields)."""
    data = {
        "end_customer_name": name, "end_customer_email": email,
        "lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "500",
    }
    for index, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{index}-{key}"] = value
    data.update(extra)
    return data


def test_the_form_offers_active_products_and_the_partners_holding_accounts(client, world, smart_product, mandatory_product):
    client.force_login(world.rita)

    page = html(client.get(URL))

    assert '<datalist id="product-options">' in page
    assert 'value="C9300-DNA-E"' in page and 'data-sa-required="1"' in page
    assert "Resale Holding" in page and "Other Holding" not in page and "Distri Holding" not in page
    assert "Let the end customer choose" in page


def test_reseller_places_an_order_to_a_customer_account_and_its_holding_account(client, world, smart_product, mandatory_product):
    client.force_login(world.rita)

    response = client.post(URL, order_data(
        {"product": smart_product.sku, "quantity": "2", "assignment": "holding", "holding_account": world.holding.pk},
        {"product": mandatory_product.sku.lower(), "quantity": "5", "assignment": "customer",
         "smart_account": search_reference(smart_account=world.globex, user=world.rita),
         "virtual_account": world.globex_finance.pk},
    ), follow=True)

    order = Order.objects.get()
    first, second = order.lines.order_by("number")
    assert (first.product, first.quantity, first.smart_account) == (smart_product, 2, world.holding)
    assert (second.product, second.smart_account, second.virtual_account) == (mandatory_product, world.globex, world.globex_finance)
    assert response.redirect_chain[-1][0] == reverse("orders:order_detail", args=[order.pk])
    assert f"Order {order.number} is placed with 2 lines." in html(response)


def test_sa_required_line_without_assignment_shows_the_error_on_that_line_and_creates_nothing(
    client, world, smart_product, mandatory_product
):
    client.force_login(world.rita)

    response = client.post(URL, order_data(
        {"product": smart_product.sku, "quantity": "1", "assignment": "holding", "holding_account": world.holding.pk},
        {"product": mandatory_product.sku, "quantity": "5"},
    ))

    assert response.status_code == 200
    assert "C9300-DNA-E requires a Smart Account" in field_error(response, "id_lines-1-assignment")
    assert field_error(response, "id_lines-0-assignment") == ""
    assert "Needs an assignment" in html(response)  # the line's product is marked
    assert "The order was not placed" in html(response)
    assert not Order.objects.exists()
    assert not Event.objects.exists() and not Notification.objects.exists()


def test_choosing_customer_without_picking_the_account_is_an_error_on_the_line(client, world, smart_product):
    client.force_login(world.rita)

    response = client.post(URL, order_data({"product": smart_product.sku, "quantity": "1", "assignment": "customer"}))

    assert "Find the customer's Smart Account and choose it" in unescape(field_error(response, "id_lines-0-smart_account"))
    assert not Order.objects.exists()


def test_unknown_product_and_bad_quantity_are_shown_on_their_line(client, world, smart_product):
    client.force_login(world.rita)

    response = client.post(URL, order_data(
        {"product": smart_product.sku, "quantity": "1", "assignment": "delegate"},
        {"product": "NO-SUCH-SKU", "quantity": "1", "assignment": "delegate"},
    ))

    assert "No product has the SKU NO-SUCH-SKU" in field_error(response, "id_lines-1-product")
    assert field_error(response, "id_lines-0-product") == ""
    assert not Order.objects.exists()


def test_removed_and_blank_lines_are_not_ordered_and_errors_keep_their_line(client, world, smart_product, mandatory_product):
    client.force_login(world.rita)

    response = client.post(URL, order_data(
        {"product": "GONE", "quantity": "1", "DELETE": "on"},
        {"product": mandatory_product.sku, "quantity": "3"},
        {"product": "", "quantity": "1"},  # the untouched extra line
    ))

    assert "requires a Smart Account" in field_error(response, "id_lines-1-assignment")
    assert field_error(response, "id_lines-0-product") == ""
    assert not Order.objects.exists()


def test_a_delegated_line_sends_the_end_customer_a_link(client, world, smart_product, django_capture_on_commit_callbacks):
    client.force_login(world.rita)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, order_data({"product": smart_product.sku, "quantity": "4", "assignment": "delegate"}))

    line = Order.objects.get().lines.get()
    assert line.delegated and line.smart_account is None
    assert [m.to for m in mail.outbox] == [["it@globex.example"]]
    assert "/invite/" in mail.outbox[0].body


def test_distributor_can_pick_a_linked_resellers_holding_account(client, world, smart_product):
    client.force_login(world.dora)
    assert "Resale Holding (Resale Co)" in html(client.get(URL))

    client.post(URL, order_data(
        {"product": smart_product.sku, "quantity": "1", "assignment": "holding", "holding_account": world.holding.pk},
        reseller=world.reseller.pk,
    ))

    order = Order.objects.get()
    assert (order.partner, order.reseller) == (world.distributor, world.reseller)
    assert order.lines.get().smart_account == world.holding


def test_distributor_cannot_pick_an_unlinked_partners_holding_account(client, world, smart_product):
    client.force_login(world.dora)

    response = client.post(URL, order_data(
        {"product": smart_product.sku, "quantity": "1", "assignment": "holding", "holding_account": world.other_holding.pk},
    ))

    assert "Select a valid choice" in field_error(response, "id_lines-0-holding_account")
    assert not Order.objects.exists()


def test_only_a_distributor_is_asked_for_a_reseller(client, world):
    client.force_login(world.rita)
    assert 'name="reseller"' not in html(client.get(URL))

    client.force_login(world.dora)
    page = html(client.get(URL))
    assert 'name="reseller"' in page and "Resale Co" in page


def test_users_outside_a_partner_cannot_place_orders(client, world):
    client.force_login(world.gina)

    assert client.get(URL).status_code == 403
    assert client.post(URL, order_data()).status_code == 403


def test_account_search_finds_every_account_of_an_exact_domain_but_by_name_only_known_ones(client, world):
    stranger = SmartAccountFactory(name="Globex Labs", domain="labs.example")
    client.force_login(world.rita)
    search = reverse("orders:account_search")

    by_domain = html(client.get(search, {"prefix": "lines-0", "lines-0-account_search": "GLOBEX.example"}))
    # One match: chosen (its option carries the search reference, labelled with the id), its VAs loaded.
    assert re.search(rf'<option value="[^"]+" selected>{world.globex.name} · globex.example · id {world.globex.pk}</option>', by_domain)
    assert "Finance" in by_domain and 'hx-swap-oob="innerHTML:#lines-0-va"' in by_domain

    by_name = html(client.get(search, {"prefix": "lines-0", "lines-0-account_search": "globex"}))
    assert stranger.name not in by_name  # rita knows no account named like it
    assert "Initech" not in by_name

    known = html(client.get(search, {"prefix": "lines-0", "lines-0-account_search": "initech"}))
    assert "Initech" in known and "new, awaiting activation" in known  # requested by her partner


def test_account_search_for_a_move_lists_only_active_accounts(client, world):
    client.force_login(world.rita)

    page = html(client.get(reverse("orders:account_search"),
                           {"prefix": "move", "purpose": "move", "move-account_search": "initech.example"}))

    assert "Initech" not in page and "No active customer account matches" in page


def test_account_search_is_for_partner_users(client, world):
    client.force_login(world.outsider)

    response = client.get(reverse("orders:account_search"), {"prefix": "lines-0", "lines-0-account_search": "globex.example"})

    assert response.status_code == 403


def test_virtual_account_options_list_the_names_with_the_default_chosen(client, world):
    client.force_login(world.rita)

    page = html(client.get(reverse("orders:virtual_account_options"), {
        "prefix": "lines-2", "lines-2-smart_account": search_reference(smart_account=world.globex, user=world.rita)}))

    assert 'name="lines-2-virtual_account"' in page
    assert f'<option value="{world.globex.default_virtual_account_id}" selected>DEFAULT</option>' in page
    assert "Finance" in page


def test_inline_request_account_assigns_the_new_account_to_the_line(client, world, django_capture_on_commit_callbacks):
    customer = UserFactory(email="cora@hooli.example")
    client.force_login(world.rita)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("orders:account_request_inline"), {
            "line_prefix": "lines-1", "newsa-name": "Hooli", "newsa-domain": "hooli.example",
            "newsa-contact_email": customer.email,
        }, HTTP_HX_REQUEST="true")

    sa = SmartAccount.objects.get(name="Hooli")
    assert (sa.status, sa.partner, sa.contact) == (SmartAccountStatus.NEW, world.reseller, customer)
    assert response["HX-Retarget"] == "#lines-1-account-results"
    assert json.loads(response["HX-Trigger"]) == {"accountRequested": {"prefix": "lines-1"}}
    page = html(response)
    assert 'name="lines-1-smart_account"' in page and f"Hooli · hooli.example · new, awaiting activation · id {sa.pk}" in page
    chosen = re.search(r'<option value="([^"]+)" selected>', page).group(1)
    assert account_from_search_reference(reference=chosen, user=world.rita) == sa
    assert 'name="lines-1-virtual_account"' in page
    assert "cora@hooli.example got an email to activate it" in page
    assert [m.to for m in mail.outbox] == [["cora@hooli.example"]]


def test_inline_request_account_applies_the_same_domain_rule(client, world):
    UserFactory(email="cora@gmail.example")
    client.force_login(world.rita)

    response = client.post(reverse("orders:account_request_inline"), {
        "line_prefix": "lines-0", "newsa-name": "Hooli", "newsa-domain": "hooli.example",
        "newsa-contact_email": "cora@gmail.example",
    }, HTTP_HX_REQUEST="true")

    assert "HX-Retarget" not in response
    assert "must be the account's domain" in unescape(field_error(response, "id_newsa-contact_email"))
    assert not SmartAccount.objects.filter(name="Hooli").exists()


def test_an_order_line_can_go_to_the_requested_new_account(client, world, mandatory_product):
    customer = UserFactory(email="cora@hooli.example")
    client.force_login(world.rita)
    client.post(reverse("orders:account_request_inline"), {
        "line_prefix": "lines-0", "newsa-name": "Hooli", "newsa-domain": "hooli.example", "newsa-contact_email": customer.email,
    }, HTTP_HX_REQUEST="true")
    sa = SmartAccount.objects.get(name="Hooli")

    client.post(URL, order_data({"product": mandatory_product.sku, "quantity": "1", "assignment": "customer",
                                 "smart_account": search_reference(smart_account=sa, user=world.rita),
                                 "virtual_account": sa.default_virtual_account_id}))

    assert Order.objects.get().lines.get().smart_account == sa


def test_partner_without_a_holding_account_creates_its_first_one_inline(client, smart_product):
    partner = PartnerFactory(name="Fresh Partner")
    user = PartnerMembershipFactory(partner=partner, user=UserFactory(email="fay@fresh.example")).user
    client.force_login(user)
    page = html(client.get(URL))
    assert 'data-has-holding="0"' in page and "You have no holding account yet" in page

    response = client.post(reverse("orders:holding_account_create_inline"), {"newholding-name": "Fresh stock"},
                           HTTP_HX_REQUEST="true")

    sa = SmartAccount.objects.get(kind=SmartAccountKind.HOLDING, partner=partner)
    assert sa.name == "Fresh stock"
    assert json.loads(response["HX-Trigger"]) == {"holdingAccountCreated": {"id": sa.pk, "label": "Fresh stock"}}
    assert "Holding account Fresh stock created" in html(response)
    assert "Your holding account" not in html(client.get(URL))  # the side panel is gone now

    client.post(URL, order_data({"product": smart_product.sku, "quantity": "1", "assignment": "holding", "holding_account": sa.pk}))
    assert Order.objects.get().lines.get().smart_account == sa


def test_inline_holding_account_name_errors_stay_in_the_panel(client, world):
    client.force_login(world.rita)

    response = client.post(reverse("orders:holding_account_create_inline"), {"newholding-name": "resale HOLDING"},
                           HTTP_HX_REQUEST="true")

    assert "already has a holding account named" in field_error(response, "id_newholding-name")
    assert "HX-Trigger" not in response


def test_order_lines_to_a_new_account_wait_for_activation_after_shipping(client, world, smart_product):
    client.force_login(world.rita)
    client.post(URL, order_data({"product": smart_product.sku, "quantity": "1", "assignment": "customer",
                                 "smart_account": search_reference(smart_account=world.initech, user=world.rita)}))
    order = Order.objects.get()
    client.force_login(world.staff)

    client.post(reverse("orders:order_ship", args=[order.pk]))

    assert order.lines.get().state == OrderLineState.AWAITING_ACCOUNT


def test_a_holding_account_of_another_partner_is_not_offered(client, world):
    HoldingAccountFactory(name="Secret shelf", partner=world.other_partner)
    client.force_login(world.rita)

    assert "Secret shelf" not in html(client.get(URL))


def test_a_partner_user_must_verify_their_email_before_ordering(client, world, smart_product):
    unverified = UserFactory(email="uma@resale.example", unverified=True)
    PartnerMembershipFactory(partner=world.reseller, user=unverified)
    client.force_login(unverified)

    response = client.post(URL, order_data({"product": smart_product.sku, "quantity": "1", "assignment": "delegate"}))

    assert "Verify your email address before acting on accounts." in html(response)
    assert not Order.objects.exists()
