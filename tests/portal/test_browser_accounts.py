"""Flow 3 in a real browser: a partner requests a Smart Account for a customer, the customer
contact activates it from the emailed link granting the partner SA user, and the partner then
sees the account."""
import re

import pytest
from django.core import mail

from accounts import services
from accounts.models import SmartAccount, SmartAccountStatus
from tests.factories import DEFAULT_PASSWORD, PartnerFactory, PartnerMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in(page, email):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_load_state()


def test_partner_requests_account_customer_activates_and_partner_sees_it(page, screenshot):
    partner_user = UserFactory(email="anna@contoso.example", name="Anna")
    PartnerMembershipFactory(user=partner_user, partner=PartnerFactory(name="Contoso Networks"), is_admin=True)
    UserFactory(email="dana@initech.example", name="Dana")

    _sign_in(page, "anna@contoso.example")
    page.goto("/sa/request/")
    page.get_by_label("Customer company name").fill("Initech")
    page.get_by_label("Domain").fill("initech.example")
    page.get_by_label("Customer contact email").fill("dana@initech.example")
    screenshot("request-form")
    page.get_by_role("button", name="Send the request").click()
    page.wait_for_url("**/sa/")
    assert "dana@initech.example got an email" in page.content()
    screenshot("accounts-after-request")
    sa = SmartAccount.objects.get(name="Initech")
    assert sa.status == SmartAccountStatus.NEW

    link = re.search(r"https?://\S+?(/invite/\S+/)", mail.outbox[-1].body).group(1)
    _sign_in(page, "dana@initech.example")
    page.goto(link)
    assert page.get_by_role("heading", name="Activate Initech").is_visible()
    page.get_by_label("Role for the partner who requested the account").select_option("sa_user")
    screenshot("activate")
    page.get_by_role("button", name="Activate the account").click()
    page.wait_for_url(f"**/sa/{sa.pk}/")
    assert "You are its Smart Account admin" in page.content()
    screenshot("account-home-customer")

    _sign_in(page, "anna@contoso.example")
    page.goto(f"/sa/{sa.pk}/")
    assert page.get_by_role("heading", name=re.compile("Initech")).is_visible()
    assert "Smart Account user" in page.content()
    screenshot("account-home-partner")


def test_admin_builds_a_tree_and_manages_roles_in_the_browser(page, screenshot):
    alice = UserFactory(email="alice@acme.example", name="Alice")
    sa = services.smart_account_create(name="Acme", domain="acme.example", actor=alice)
    us = services.virtual_account_create(parent=sa.default_virtual_account, name="US", actor=alice)
    services.virtual_account_create(parent=us, name="Finance", actor=alice)
    UserFactory(email="bob@acme.example")

    _sign_in(page, "alice@acme.example")
    page.goto(f"/sa/{sa.pk}/")
    page.get_by_role("button", name="Expand US").click()  # its children load on demand
    page.get_by_role("link", name="Add below Finance").click()
    page.get_by_label("Name").fill("Sacramento")
    page.get_by_role("button", name="Save").click()
    # Back on the account home, the tree opened down to the new Virtual Account.
    page.wait_for_url(re.compile(rf"/sa/{sa.pk}/\?open=\d+"))
    assert page.locator("#va-tree").get_by_text("Sacramento").is_visible()
    page.get_by_role("button", name="Collapse US").click()
    assert not page.locator("#va-tree").get_by_text("Sacramento").is_visible()
    screenshot("tree-collapsed")
    page.get_by_role("button", name="Expand US").click()
    assert page.locator("#va-tree").get_by_text("Sacramento").is_visible()
    screenshot("tree")

    page.get_by_role("link", name="Users & roles").click()
    page.get_by_label("User's email").fill("bob@acme.example")
    page.get_by_role("combobox", name="Role", exact=True).select_option("va_viewer")
    page.get_by_label("Virtual Account (for VA roles)").select_option(label="US")
    page.get_by_role("button", name="Grant role").click()
    assert "bob@acme.example is now Virtual Account viewer" in page.content()
    screenshot("users-and-roles")


def test_an_admin_role_is_granted_after_a_confirmation_and_a_revoke_is_confirmed_in_the_browser(page, screenshot):
    alice = UserFactory(email="alice@acme.example", name="Alice")
    sa = services.smart_account_create(name="Acme", domain="acme.example", actor=alice)
    UserFactory(email="bob@acme.example")

    _sign_in(page, "alice@acme.example")
    page.goto(f"/sa/{sa.pk}/users/")
    # The least privilege is what the form offers first.
    assert page.get_by_role("combobox", name="Role", exact=True).input_value() == "sa_viewer"
    page.get_by_label("User's email").fill("bob@acme.example")
    page.get_by_role("combobox", name="Role", exact=True).select_option("sa_admin")
    page.get_by_role("button", name="Grant role").click()
    page.get_by_role("heading", name="Make bob@acme.example Smart Account admin of Acme?").wait_for()
    screenshot("confirm-admin-grant")
    page.get_by_role("button", name="Yes, make them Smart Account admin").click()
    assert "bob@acme.example is now Smart Account admin" in page.content()

    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Revoke Smart Account admin from bob@acme.example").click()
    assert dialogs and "Revoke the role Smart Account admin" in dialogs[0]
    assert "bob@acme.example" in page.content()  # dismissed: still there
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke Smart Account admin from bob@acme.example").click()
    page.get_by_text("bob@acme.example no longer has the role Smart Account admin.").wait_for()
    screenshot("after-revoke")
