"""Staff sign in to the Django admin through allauth (DESIGN.md §6 security): `/admin/login/` never
takes a password itself, so allauth's MFA step and its login rate limits apply to the back office
too. The audit signed an MFA-enrolled staff user straight into the admin with the password alone."""
import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value, yield_hotp_counters_from_time
from django.urls import reverse

from ..factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def staff_with_totp():
    staff = UserFactory(email="staff@vendor.example", is_staff=True, is_superuser=True)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    staff.totp_secret = secret
    return staff


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_admin_login_form_takes_no_password_and_sends_staff_to_the_portal_sign_in(client, staff_with_totp):
    response = client.post(
        f"{ADMIN_LOGIN}?next=/admin/", {"username": staff_with_totp.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=%2Fadmin%2F" in response["Location"]
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302  # still no admin session


def test_an_mfa_enrolled_staff_user_gets_no_admin_session_without_the_second_step(client, staff_with_totp):
    response = client.post(reverse("account_login"), {"login": staff_with_totp.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 302 and response["Location"] == reverse("mfa_authenticate")
    assert not signed_in(client)
    admin = client.get("/admin/")
    assert admin.status_code == 302 and not signed_in(client)

    # The second step gives the session, and with it the admin.
    code = f"{hotp_value(staff_with_totp.totp_secret, next(yield_hotp_counters_from_time())):06d}"
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert signed_in(client)
    assert client.get("/admin/").status_code == 200


def test_admin_sign_in_attempts_are_rate_limited_like_every_other(client):
    staff = UserFactory(email="staff@vendor.example", is_staff=True)
    login_from_admin = client.get(f"{ADMIN_LOGIN}?next=/admin/")["Location"]
    for _ in range(5):
        client.post(login_from_admin, {"login": staff.email, "password": "wrong"})

    refused = client.post(login_from_admin, {"login": staff.email, "password": DEFAULT_PASSWORD})
    assert "Too many failed login attempts" in refused.content.decode()
    # …and the admin's own form is no way around the lock-out.
    client.post(ADMIN_LOGIN, {"username": staff.email, "password": DEFAULT_PASSWORD})
    assert not signed_in(client)


def test_a_signed_in_staff_user_reaches_the_admin_from_its_login_url(client):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)

    response = client.get(f"{ADMIN_LOGIN}?next=/admin/")

    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_a_signed_in_user_who_is_not_staff_is_refused_at_the_admin_login(client):
    client.force_login(UserFactory())

    assert client.get(ADMIN_LOGIN).status_code == 403
