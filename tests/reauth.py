"""Recent re-authentication (allauth's, password): what minting an API key and closing the account
ask of a signed-in session first."""
from django.urls import reverse

from .factories import DEFAULT_PASSWORD


def reauthenticate(client, password: str = DEFAULT_PASSWORD) -> None:
    """Confirm the password in this (signed-in) client's session, as the user does when asked."""
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, "re-authentication accepted"
