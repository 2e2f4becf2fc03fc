"""Delegated lines: the end-customer contact follows the emailed link (or the list of lines
waiting for them), picks one of their accounts and a Virtual Account, and the line is
provisioned there. The link is for the contact only, and works once."""
import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Invitation, Role
from orders import services
from orders.models import OrderLineState

from ..factories import SmartAccountFactory, SmartAccountRoleFactory, UserFactory, VirtualAccountRoleFactory
from tests.html import html

pytestmark = pytest.mark.django_db


@pytest.fixture
def delegated(place, world, smart_product, django_capture_on_commit_callbacks):
    """A shipped line delegated to gina@globex.example, and the link she was emailed."""
    with django_capture_on_commit_callbacks(execute=True):
        order = place([{"product": smart_product, "quantity": 7, "delegate_to_end_customer": True}],
                      end_customer_email=world.gina.email)
        services.order_ship(order=order, actor=world.staff)
    line = order.lines.get()
    link = re.search(r"https?://\S+?(/invite/\S+/)", mail.outbox[0].body).group(1)
    return line, link


def test_delegated_line_page_provisions_into_the_chosen_account_and_the_link_is_single_use(client, world, delegated):
    line, link = delegated
    client.force_login(world.gina)

    landing = client.get(link)
    assert landing.status_code == 302
    page_url = landing["Location"]
    assert page_url.startswith("/orders/delegated/")
    page = html(client.get(page_url))
    assert "Choose where the licenses go" in page and "7" in page and "ISR-SEC-K9" in page
    assert "Globex" in page and 'name="assign-virtual_account"' in page  # her only account: chosen, its VAs shown

    response = client.post(page_url, {"assign-smart_account": world.globex.pk, "assign-virtual_account": world.globex_finance.pk},
                           follow=True)

    line.refresh_from_db()
    assert (line.state, line.smart_account, line.virtual_account) == (OrderLineState.PROVISIONED, world.globex, world.globex_finance)
    assert line.entitlements.get().virtual_account == world.globex_finance
    assert response.redirect_chain[-1][0] == reverse("portal:smart_account_detail", args=[world.globex.pk])
    assert "are in Globex / Finance now" in html(response)
    assert Invitation.objects.get().used_at is not None

    again = client.get(page_url)
    assert again.status_code == 410 and "This link has already been used." in html(again)
    assert client.post(page_url, {"assign-smart_account": world.globex.pk}).status_code == 410
    assert line.entitlements.count() == 1


def test_the_link_is_only_for_its_contact(client, world, delegated):
    line, link = delegated
    page_url = link.replace("/invite/", "/orders/delegated/")
    client.force_login(world.rita)

    response = client.get(page_url)

    assert response.status_code == 403 and "sign in with that address" in html(response)


def test_signed_out_contact_is_asked_to_sign_in_first(client, delegated):
    _, link = delegated
    page_url = link.replace("/invite/", "/orders/delegated/")

    response = client.get(page_url)

    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_the_contact_chooses_only_accounts_where_they_may_add_licenses(client, world, delegated):
    line, link = delegated
    viewer_only = SmartAccountFactory(name="Globex Archive", domain="globex.example")
    SmartAccountRoleFactory(user=world.gina, content_object=viewer_only, role=Role.SA_VIEWER)
    page_url = link.replace("/invite/", "/orders/delegated/")
    client.force_login(world.gina)

    assert f'<option value="{viewer_only.pk}"' not in html(client.get(page_url))
    response = client.post(page_url, {"assign-smart_account": viewer_only.pk})

    assert "Select a valid choice" in html(response)
    line.refresh_from_db()
    assert line.smart_account is None


def test_a_virtual_account_user_picks_a_virtual_account_they_may_use(client, world, delegated):
    line, link = delegated
    vera = UserFactory(email="vera@globex.example")
    VirtualAccountRoleFactory(user=vera, content_object=world.globex_finance, role=Role.VA_USER)
    line.order.end_customer_email = vera.email
    line.order.save(update_fields=["end_customer_email"])
    client.force_login(vera)
    choose = reverse("orders:delegated_line_choose", args=[line.pk])

    page = html(client.get(choose))
    assert f'<option value="{world.globex_finance.pk}" selected>' in page
    assert "DEFAULT" not in page  # the root is not hers to add licenses to

    client.post(choose, {"assign-smart_account": world.globex.pk, "assign-virtual_account": world.globex_finance.pk})
    line.refresh_from_db()
    assert line.virtual_account == world.globex_finance and line.state == OrderLineState.PROVISIONED


def test_contact_without_an_account_is_sent_to_create_one_and_back(client, world, delegated):
    line, link = delegated
    newcomer = UserFactory(email="nina@hooli.example")
    line.order.end_customer_email = newcomer.email
    line.order.save(update_fields=["end_customer_email"])
    client.force_login(newcomer)
    choose = reverse("orders:delegated_line_choose", args=[line.pk])

    page = html(client.get(choose))

    assert "You have no Smart Account where you may add licenses" in page
    assert f"{reverse('accounts:smart_account_create')}?next=%2Forders%2Fdelegated%2Fline%2F{line.pk}%2F" in page


def test_delegated_list_shows_the_lines_waiting_for_the_user(client, world, delegated):
    line, _ = delegated
    client.force_login(world.gina)

    page = html(client.get(reverse("orders:delegated_line_list")))
    assert line.order.number in page and reverse("orders:delegated_line_choose", args=[line.pk]) in page
    assert "Lines waiting for your choice" in html(client.get(reverse("orders:order_list")))

    client.force_login(world.ivan)
    assert "No order lines are waiting for your choice" in html(client.get(reverse("orders:delegated_line_list")))
    assert client.get(reverse("orders:delegated_line_choose", args=[line.pk])).status_code == 404


def test_a_line_chosen_from_the_list_uses_up_the_emailed_link(client, world, delegated):
    line, link = delegated
    client.force_login(world.gina)

    client.post(reverse("orders:delegated_line_choose", args=[line.pk]), {"assign-smart_account": world.globex.pk})

    line.refresh_from_db()
    assert line.smart_account == world.globex and line.virtual_account == world.globex.default_virtual_account
    assert client.get(link).status_code == 410
