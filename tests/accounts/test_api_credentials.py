"""API credentials follow their owner's password and MFA, and a lasting one needs the owner at the
keyboard (the second audit: a session left open minted a permanent key, and every key outlived a
password change). Page and API alike."""
import datetime
import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey, Notification

from ..factories import DEFAULT_PASSWORD, ApiKeyFactory, UserFactory
from ..reauth import reauthenticate

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a different horse, battery staple"


@pytest.fixture
def ada():
    return UserFactory(email="ada@acme.example")


def key_works(raw: str) -> bool:
    return APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def signed_in(client, user):
    client.force_login(user)
    return client


# --- minting a key and closing the account need a recent re-authentication ------------------------


def test_a_session_that_did_not_reauthenticate_cannot_create_an_api_key_by_the_api(ada):
    client = signed_in(APIClient(), ada)

    response = client.post("/api/v1/me/api-keys/", {"name": "stolen session"}, format="json")

    assert response.status_code == 403 and "re-authenticate" in response.json()["detail"]
    assert not ApiKey.objects.filter(user=ada).exists()


def test_a_recently_reauthenticated_session_creates_an_api_key_by_the_api(ada):
    client = signed_in(APIClient(), ada)
    reauthenticate(client)

    response = client.post("/api/v1/me/api-keys/", {"name": "inventory sync"}, format="json")

    assert response.status_code == 201 and key_works(response.json()["key"])


def test_an_api_key_cannot_create_another_api_key(ada):
    _, raw = services.api_key_create(user=ada, name="script")
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.post("/api/v1/me/api-keys/", {"name": "offspring"}, format="json")

    assert response.status_code == 403
    assert ApiKey.objects.filter(user=ada).count() == 1


def test_creating_a_key_on_the_page_asks_for_the_password_first(client, ada):
    signed_in(client, ada)

    response = client.post(reverse("accounts:api_key_create"), {"name": "inventory sync"})

    assert response.status_code == 302 and response["Location"].startswith(reverse("account_reauthenticate"))
    assert not ApiKey.objects.filter(user=ada).exists()
    # Confirming the password carries on with the request that was asked for.
    done = client.post(response["Location"], {"password": DEFAULT_PASSWORD}, follow=True)
    assert ApiKey.objects.filter(user=ada, name="inventory sync").exists()
    assert re.search(r'value="slp_[^"]+" id="new-api-key-value"', done.content.decode())


def test_closing_the_account_by_the_api_needs_a_recent_reauthentication(ada):
    client = signed_in(APIClient(), ada)

    refused = client.post("/api/v1/me/close/", {"confirm_email": ada.email}, format="json")
    assert refused.status_code == 403
    ada.refresh_from_db()
    assert ada.is_active and ada.closed_at is None

    reauthenticate(client)
    assert client.post("/api/v1/me/close/", {"confirm_email": ada.email}, format="json").status_code == 204


def test_an_api_key_cannot_close_the_account(ada):
    _, raw = services.api_key_create(user=ada, name="script")

    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}").post(
        "/api/v1/me/close/", {"confirm_email": ada.email}, format="json"
    )

    assert response.status_code == 403
    ada.refresh_from_db()
    assert ada.is_active


def test_closing_the_account_on_the_page_asks_for_the_password_first(client, ada):
    signed_in(client, ada)
    assert client.get(reverse("accounts:privacy_close")).status_code == 200  # reading the page needs nothing

    response = client.post(reverse("accounts:privacy_close"), {"confirm_email": ada.email})

    assert response.status_code == 302 and response["Location"].startswith(reverse("account_reauthenticate"))
    ada.refresh_from_db()
    assert ada.is_active and ada.closed_at is None


# --- a changed password or MFA ends every key ------------------------------------------------------


def test_changing_the_password_revokes_every_api_key_and_tells_the_user(client, ada, django_capture_on_commit_callbacks):
    raws = [services.api_key_create(user=ada, name=name)[1] for name in ("sync", "dashboards")]
    signed_in(client, ada)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_change_password"), {
            "oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
        })

    assert response.status_code == 302
    assert not any(key_works(raw) for raw in raws)
    assert set(ApiKey.objects.filter(user=ada).values_list("revoked_reason", flat=True)) == {"Your password was changed."}
    sent = [m for m in mail.outbox if m.subject == "Your API keys were revoked"]
    assert len(sent) == 1 and sent[0].to == [ada.email] and "sync" in sent[0].body and "dashboards" in sent[0].body
    page = client.get(reverse("accounts:api_key_list")).content.decode()
    assert "Your password was changed. Your API keys were revoked on" in page


def test_resetting_the_password_revokes_every_api_key(client, ada):
    _, raw = services.api_key_create(user=ada, name="sync")
    client.post(reverse("account_reset_password"), {"email": ada.email})
    link = re.search(r"https?://[^\s]+/accounts/password/reset/key/[^\s]+", mail.outbox[-1].body).group(0)
    form = client.get(link, follow=True)
    client.post(form.redirect_chain[-1][0] if form.redirect_chain else link,
                {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)
    assert not key_works(raw)
    assert ApiKey.objects.get(user=ada).revoked_reason == "Your password was reset."


def test_turning_mfa_off_revokes_every_api_key(client, ada):
    TOTP.activate(ada, generate_totp_secret())
    _, raw = services.api_key_create(user=ada, name="sync")
    signed_in(client, ada)
    reauthenticate(client)

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302 and not Authenticator.objects.filter(user=ada, type="totp").exists()
    assert not key_works(raw)
    assert ApiKey.objects.get(user=ada).revoked_reason == "Two-factor authentication was turned off."


def test_a_revoked_or_expired_key_is_not_revoked_again_and_no_email_without_keys(ada):
    assert services.api_credentials_revoke_all(user=ada, because="password_changed") == 0
    assert not Notification.objects.filter(kind="api_keys_revoked").exists()


# --- expiry and last use -------------------------------------------------------------------------


def test_a_key_stops_working_when_it_expires(ada):
    key, raw = services.api_key_create(user=ada, name="short-lived", expires_in_days=7)
    assert key.expires_at - timezone.now() > datetime.timedelta(days=6, hours=23)
    assert key_works(raw)

    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    assert not key_works(raw)


@pytest.mark.parametrize("days", [0, 366, -1, "soon", 2.5, 10**30])
def test_key_expiry_is_1_to_365_days(ada, days):
    with pytest.raises(ValidationError) as refused:
        services.api_key_create(user=ada, name="x", expires_in_days=days)
    assert "expires_in_days" in refused.value.message_dict
    assert not ApiKey.objects.exists()


def test_the_api_refuses_an_out_of_range_expiry_by_field(ada):
    client = signed_in(APIClient(), ada)
    reauthenticate(client)

    response = client.post("/api/v1/me/api-keys/", {"name": "x", "expires_in_days": 400}, format="json")

    assert response.status_code == 400 and "expires_in_days" in response.json()
    assert not ApiKey.objects.exists()


def test_the_profile_shows_each_keys_expiry_and_last_use(client, ada):
    ApiKeyFactory(user=ada, name="never used")
    used = ApiKeyFactory(user=ada, name="daily sync")
    ApiKey.objects.filter(pk=used.pk).update(
        last_used_at=timezone.now() - datetime.timedelta(hours=3),
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )

    page = signed_in(client, ada).get(reverse("accounts:api_key_list")).content.decode()

    assert "3\xa0hours ago" in page and "Never" in page
    assert f"{(timezone.now() + datetime.timedelta(days=30)):%Y-%m-%d}" in page


# --- a password changed anywhere ends the keys: the admin, the command, the shell ----------------


def test_a_password_set_by_staff_in_the_admin_revokes_every_api_key(client, ada):
    _, raw = services.api_key_create(user=ada, name="sync")
    staff = UserFactory(email="staff@vendor.example", is_staff=True, is_superuser=True)
    client.force_login(staff)

    response = client.post(reverse("admin:auth_user_password_change", args=[ada.pk]), {
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true",
    })

    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)
    assert not key_works(raw)
    assert ApiKey.objects.get(user=ada).revoked_reason == "Your password was changed."


def test_the_changepassword_command_revokes_every_api_key(ada, monkeypatch):
    from django.contrib.auth.management.commands import changepassword
    from django.core.management import call_command

    _, raw = services.api_key_create(user=ada, name="sync")
    monkeypatch.setattr(changepassword.getpass, "getpass", lambda prompt="": NEW_PASSWORD)

    call_command("changepassword", ada.email)

    assert not key_works(raw)
    assert ApiKey.objects.get(user=ada).revoked_reason == "Your password was changed."


def test_saving_a_user_without_a_new_password_keeps_the_keys(ada):
    _, raw = services.api_key_create(user=ada, name="sync")
    ada.name = "Ada L."
    ada.save()
    ada.check_password(DEFAULT_PASSWORD)  # a hash upgrade on sign-in saves the password, unchanged

    assert key_works(raw)
