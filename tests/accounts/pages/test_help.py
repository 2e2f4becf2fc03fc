"""/help/: public help pages, each with the headings a reader looks for."""
import pytest
from django.urls import reverse

from .conftest import html

pytestmark = pytest.mark.django_db

PAGES = {
    "/help/": ["Help", "Getting started as a customer", "Getting started as a partner"],
    "/help/accounts/": ["Smart Accounts and holding accounts", "Smart Accounts", "Activation", "Partner Holding Accounts"],
    "/help/virtual-accounts/": [
        "Structuring Virtual Accounts", "Choose one way to divide", "By geography", "By department or business unit",
        "By cost centre", "Keep the tree shallow", "The DEFAULT Virtual Account", "What moving a Virtual Account does",
    ],
    "/help/partner-access/": [
        "Partner access", "How partners get a role", "Consent: giving only what is needed", "Revoking partner access",
        "For partners: holding accounts", "For partners: moving licenses to a customer",
    ],
    "/help/privacy/": [
        "Privacy and your data", "What personal data is kept", "Download your data", "Close your account",
    ],
}


@pytest.mark.parametrize("url, headings", PAGES.items())
def test_help_page_has_its_key_headings(client, url, headings):
    response = client.get(url)

    assert response.status_code == 200
    page = html(response)
    for heading in headings:
        assert f">{heading}</" in page, heading  # a heading or a term, not just a mention


def test_help_pages_are_public_and_linked_from_each_other(client):
    page = html(client.get(reverse("accounts:help_index")))

    for name in ("help_accounts", "help_virtual_accounts", "help_partner_access", "help_privacy"):
        assert f'href="{reverse("accounts:" + name)}"' in page


def test_privacy_help_names_every_kind_of_personal_data(client):
    page = html(client.get("/help/privacy/"))

    for text in ("email address", "roles", "actor", "SHA-256 hash", "pseudonym"):
        assert text in page


def test_activation_help_gives_the_real_link_lifetime(client, settings):
    settings.INVITATION_MAX_AGE_DAYS = 9

    assert "for 9 days" in html(client.get("/help/accounts/"))


def test_unknown_help_topic_is_404(client):
    assert client.get("/help/nonsense/").status_code == 404
