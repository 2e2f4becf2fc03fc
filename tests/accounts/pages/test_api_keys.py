"""/profile/api-keys/: create a key (shown once), use it with the API, revoke it."""
import re

import pytest
from django.urls import reverse

from accounts.models import ApiKey
from tests.factories import ApiKeyFactory, UserFactory
from tests.reauth import reauthenticate

from .conftest import field_error, html

pytestmark = pytest.mark.django_db

LIST = reverse("accounts:api_key_list")


def create_key(client, name="inventory sync") -> tuple[str, object]:
    reauthenticate(client)  # minting a key asks for the password first (tests/accounts/test_api_credentials.py)
    response = client.post(reverse("accounts:api_key_create"), {"name": name}, follow=True)
    raw = re.search(r'value="(slp_[^"]+)" id="new-api-key-value"', html(response))
    assert raw, "the new key is on the page"
    return raw.group(1), response


def test_no_keys_says_what_they_are_for(as_user, user):
    page = html(as_user(user).get(LIST))

    assert "You have no API keys" in page
    assert "Create a key" in page


def test_created_key_is_shown_once(as_user, user):
    client = as_user(user)

    raw, response = create_key(client)

    assert "Copy it now" in html(response)
    assert ApiKey.objects.get(user=user).key_hash == ApiKey.hash(raw)
    again = client.get(LIST)
    assert raw not in html(again)
    assert raw[:12] in html(again)  # the prefix stays, to recognise it
    assert "no-store" in again["Cache-Control"]  # never kept by a browser or proxy cache


def test_list_shows_name_prefix_dates_and_status(as_user, user):
    ApiKeyFactory(user=user, name="old script")
    revoked = ApiKeyFactory(user=user, name="leaked one")
    revoked.revoked_at = revoked.created_at
    revoked.save()

    page = html(as_user(user).get(LIST))

    assert "old script" in page and "leaked one" in page
    assert "Never" in page and "Active" in page and "Revoked" in page


def test_key_authenticates_against_the_api(as_user, client, user):
    raw, _ = create_key(as_user(user))
    client.logout()

    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200
    assert response.json()["email"] == "user@example.com"
    assert ApiKey.objects.get(user=user).last_used_at is not None


def test_revoked_key_is_401(as_user, client, user):
    raw, _ = create_key(as_user(user))
    key = ApiKey.objects.get(user=user)

    response = client.post(reverse("accounts:api_key_revoke", args=[key.pk]), follow=True)
    assert "is revoked" in html(response)
    client.logout()

    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_another_users_key_is_404_and_never_listed(as_user, user):
    theirs = ApiKeyFactory(user=UserFactory(), name="their key")
    client = as_user(user)

    assert "their key" not in html(client.get(LIST))
    assert client.post(reverse("accounts:api_key_revoke", args=[theirs.pk])).status_code == 404
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None


def test_missing_name_is_shown_next_to_the_field(as_user, user):
    client = as_user(user)
    reauthenticate(client)
    response = client.post(reverse("accounts:api_key_create"), {"name": ""})

    assert response.status_code == 200
    assert "This field is required." in field_error(response, "id_name")
    assert not ApiKey.objects.exists()
