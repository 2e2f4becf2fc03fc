"""Flow 10 on the tokens page: create a registration token (shown once), list tokens with their
uses and status, revoke one."""
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from licensing.models import RegistrationToken

from ..factories import RegistrationTokenFactory
from .pages_support import html

pytestmark = pytest.mark.django_db


def create(client, scope, **data):
    return client.post(reverse("licensing:token_create", kwargs=scope), {"expires_in_days": 30, "description": "", **data})


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(client, acme):
    client.force_login(acme.sa_user)
    scope = {"va_pk": acme.us.pk}
    response = create(client, scope, virtual_account=acme.us.pk, description="Branch routers", max_uses=5)
    assert response.status_code == 302 and response["Location"] == f"/licensing/va/{acme.us.pk}/tokens/"
    first = html(client.get(response["Location"]))
    token = RegistrationToken.objects.get(virtual_account=acme.us)
    raw = first.split('id="new-token-value"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert raw.startswith(token.prefix) and RegistrationToken.hash(raw) == token.token_hash
    # The copy button's behaviour lives in static/js/portal.js (no inline script under the CSP).
    assert 'data-copy-target="#new-token-value"' in first and "js/portal.js" in first
    assert token.description == "Branch routers" and token.max_uses == 5 and token.created_by == acme.sa_user
    again = html(client.get(response["Location"]))
    assert raw not in again and token.prefix in again


def test_token_expiry_defaults_to_30_days_and_is_1_to_365(client, acme):
    client.force_login(acme.admin)
    scope = {"sa_pk": acme.account.pk}
    page = html(client.get(reverse("licensing:token_list", kwargs=scope)))
    assert 'name="expires_in_days" value="30"' in page
    for days in (0, 366):
        response = create(client, scope, virtual_account=acme.us.pk, expires_in_days=days)
        assert response.status_code == 200 and "expires_in_days_errors" in html(response)
    assert not RegistrationToken.objects.exists()
    create(client, scope, virtual_account=acme.us.pk, expires_in_days=365)
    token = RegistrationToken.objects.get()
    assert abs(token.expires_at - timezone.now() - datetime.timedelta(days=365)) < datetime.timedelta(minutes=1)


def test_tokens_are_listed_with_their_uses_and_status(client, acme):
    now = timezone.now()
    RegistrationTokenFactory(virtual_account=acme.us, prefix="tokACTIVE", max_uses=3, use_count=1)
    RegistrationTokenFactory(virtual_account=acme.us, prefix="tokUSEDUP", max_uses=2, use_count=2)
    RegistrationTokenFactory(virtual_account=acme.us, prefix="tokEXPIRE", expires_at=now - datetime.timedelta(days=1))
    RegistrationTokenFactory(virtual_account=acme.us, prefix="tokREVOKE", revoked_at=now)
    client.force_login(acme.sa_user)
    url = reverse("licensing:token_list", kwargs={"sa_pk": acme.account.pk})
    page = html(client.get(url))

    def status_of(prefix):
        row = page[page.index(f"<code>{prefix}…</code>"):]
        return row[:row.index("</tr>")]

    assert ">Active</span>" in status_of("tokACTIVE") and "1 / 3" in status_of("tokACTIVE")
    assert ">Used up</span>" in status_of("tokUSEDUP")
    assert ">Expired</span>" in status_of("tokEXPIRE")
    assert ">Revoked</span>" in status_of("tokREVOKE")
    expired = html(client.get(url, {"status": "expired"}))
    assert "tokEXPIRE" in expired and "tokACTIVE" not in expired


def test_revoking_a_token_stops_registrations_and_says_so(client, acme):
    token = RegistrationTokenFactory(virtual_account=acme.us)
    client.force_login(acme.va_user)
    back = f"/licensing/va/{acme.us.pk}/tokens/"
    response = client.post(reverse("licensing:token_revoke", kwargs={"pk": token.pk}), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "is revoked" in html(client.get(back))
    again = client.post(reverse("licensing:token_revoke", kwargs={"pk": token.pk}), {"next": "https://evil.example/"})
    assert again["Location"] == f"/licensing/sa/{acme.account.pk}/tokens/"  # not off-site


def test_no_token_in_a_holding_account_or_an_invisible_virtual_account(client, acme):
    client.force_login(acme.va_user)
    response = create(client, {"va_pk": acme.europe.pk}, virtual_account=acme.europe.pk)
    assert response.status_code == 404


def test_the_token_page_tells_devices_the_site_url_not_the_host_header(client, acme, settings):
    """Devices are configured from this page: its address is SITE_URL, not what `Host` said."""
    settings.SITE_URL = "https://portal.example.com"
    client.force_login(acme.sa_user)
    create(client, {"va_pk": acme.us.pk}, virtual_account=acme.us.pk)

    page = html(client.get(reverse("licensing:token_list", kwargs={"va_pk": acme.us.pk}), HTTP_HOST="127.0.0.1:31337"))

    assert "https://portal.example.com/api/v1/devices/register/" in page and "31337" not in page
