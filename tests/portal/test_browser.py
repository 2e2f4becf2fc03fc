"""The layout in a real browser: signing in through the form and the navbar's menus."""
import pytest

from tests.factories import DEFAULT_PASSWORD, SmartAccountRoleFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_in_through_the_form_lands_on_the_dashboard(page, screenshot):
    UserFactory(email="ada@acme.example", name="Ada")

    page.goto("/accounts/login/")
    screenshot("sign-in")
    page.get_by_label("Email").fill("ada@acme.example")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    page.wait_for_url("**/")
    assert page.get_by_role("heading", name="Welcome, Ada").is_visible()
    screenshot("dashboard")


def test_account_switcher_opens_and_lists_accounts(page, browser_login, screenshot):
    role = SmartAccountRoleFactory(content_object__name="Acme Corp", content_object__domain="acme.example")
    browser_login(role.user)

    page.goto("/")
    page.get_by_role("button", name="Switch account").click()

    link = page.locator(".account-switcher").get_by_role("link", name="Acme Corp")
    assert link.is_visible()
    assert link.get_attribute("href") == f"/sa/{role.content_object.pk}/"
    screenshot("switcher-open")
