"""Failed sign-ins are rate limited (django-allauth, ACCOUNT_RATE_LIMITS "login_failed":
"5/5m/ip,5/5m/key"): after 5 failed attempts for one email (or from one address) within 5
minutes, the sign-in form refuses every further attempt, the right password included, with
allauth's form error; it answers 200 with the form again, not 429. Each test has its own
in-memory cache (tests/conftest.py), where the limiter counts."""
import pytest
from django.urls import reverse

from ..factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOCKED_OUT = "Too many failed login attempts. Try again later."
WRONG_PASSWORD = "The email address and/or password you specified are not correct."


def sign_in(client, email, password, ip="192.0.2.10"):
    return client.post(reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_limit_is_5_failed_logins_per_5_minutes_per_address_and_per_email(settings):
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"] == "5/5m/ip,5/5m/key"


def test_after_5_failed_logins_for_one_email_the_form_refuses_further_attempts_even_the_right_password(client):
    UserFactory(email="ada@acme.example")
    for _ in range(5):
        response = sign_in(client, "ada@acme.example", "wrong")
        assert response.status_code == 200 and WRONG_PASSWORD in response.content.decode()

    refused = sign_in(client, "ada@acme.example", "wrong again")
    assert refused.status_code == 200
    assert LOCKED_OUT in refused.content.decode() and WRONG_PASSWORD not in refused.content.decode()

    during_lock_out = sign_in(client, "ada@acme.example", DEFAULT_PASSWORD)
    assert during_lock_out.status_code == 200
    assert LOCKED_OUT in during_lock_out.content.decode()
    assert not signed_in(client)
    assert client.get(reverse("portal:dashboard"))["Location"].startswith(reverse("account_login"))


def test_four_failed_logins_do_not_lock_out_the_right_password(client):
    UserFactory(email="ada@acme.example")
    for _ in range(4):
        sign_in(client, "ada@acme.example", "wrong")

    response = sign_in(client, "ada@acme.example", DEFAULT_PASSWORD)

    assert response.status_code == 302 and signed_in(client)


def test_the_lock_out_follows_the_email_across_addresses(client):
    UserFactory(email="ada@acme.example")
    UserFactory(email="bob@acme.example")
    for n in range(5):  # each from another address: only the per-email limit counts them all
        sign_in(client, "ada@acme.example", "wrong", ip=f"198.51.100.{n + 1}")

    refused = sign_in(client, "ada@acme.example", DEFAULT_PASSWORD, ip="203.0.113.7")
    assert LOCKED_OUT in refused.content.decode() and not signed_in(client)

    # Another email from a fresh address is not locked out.
    response = sign_in(client, "bob@acme.example", DEFAULT_PASSWORD, ip="203.0.113.8")
    assert response.status_code == 302 and signed_in(client)


def test_the_lock_out_follows_the_address_across_emails(client):
    UserFactory(email="bob@acme.example")
    for n in range(5):  # a sweep over many emails from one address
        sign_in(client, f"guess{n}@acme.example", "wrong", ip="192.0.2.66")

    refused = sign_in(client, "bob@acme.example", DEFAULT_PASSWORD, ip="192.0.2.66")

    assert LOCKED_OUT in refused.content.decode() and not signed_in(client)
