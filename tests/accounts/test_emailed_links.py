"""Every link the portal emails or tells a device to call starts with SITE_URL, whatever `Host`
header the request came with (the second audit: `Host: 127.0.0.1:31337` sent a password-reset
key to a port of the attacker's choosing; ALLOWED_HOSTS checks only the name)."""
import re

import pytest
from django.core import mail
from django.urls import reverse

from ..factories import UserFactory

pytestmark = pytest.mark.django_db

EVIL_HOST = "127.0.0.1:31337"


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://portal.example.com"


def links(message) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", message.body)


def test_a_password_reset_link_is_built_from_site_url_not_the_host_header(client):
    UserFactory(email="ada@acme.example")

    client.post(reverse("account_reset_password"), {"email": "ada@acme.example"}, HTTP_HOST=EVIL_HOST)

    [message] = mail.outbox
    assert links(message) and all(url.startswith("https://portal.example.com/") for url in links(message))
    assert "31337" not in message.body
    assert any("/accounts/password/reset/key/" in url for url in links(message))


def test_a_reset_asked_for_an_unknown_email_links_to_the_site_only(client, settings):
    settings.ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = True

    client.post(reverse("account_reset_password"), {"email": "nobody@acme.example"}, HTTP_HOST=EVIL_HOST)

    [message] = mail.outbox
    assert "31337" not in message.body
    assert all(url.startswith("https://portal.example.com/") for url in links(message))


def test_an_email_confirmation_link_is_built_from_site_url_not_the_host_header(client):
    client.post(reverse("account_signup"), {
        "email": "new@acme.example", "password1": "a long new password 42", "password2": "a long new password 42",
    }, HTTP_HOST=EVIL_HOST)

    [message] = mail.outbox
    assert any("/accounts/confirm-email/" in url for url in links(message))
    assert all(url.startswith("https://portal.example.com/") for url in links(message))

