"""Classic licenses (PAKs, their license keys) and alert settings belong to a Smart Account as a
whole, not to any Virtual Account: account-wide roles (SA roles, staff) see them, on the pages and
in the API alike; a VA role's holder sees the account but not these (403 for the account's list or
settings, 404 for one PAK: it is not theirs to know of). Alert settings are an SA admin's
(DESIGN.md §3: account settings, notification recipients)."""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from licensing.models import AlertPreferences, ClassicLicense
from licensing.services import classic_license_register

from ..factories import ApiKeyFactory, ClassicLicenseFactory, ProductFactory
from .pages_support import html

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(user=user).key}")
    return client


@pytest.fixture
def paks(acme, product):
    """An available PAK and one registered to a device (its license key issued)."""
    classic = ProductFactory(sku="ASA-PAK-9", classic=True, smart_equivalent=product)
    available = ClassicLicenseFactory(smart_account=acme.account, product=classic, pak="PAK-OPEN-0001")
    registered = ClassicLicenseFactory(smart_account=acme.account, product=classic, pak="PAK-USED-0002")
    classic_license_register(pak=registered, serial_number="FTXKEY", actor=acme.admin)
    registered.refresh_from_db()
    return {"available": available, "registered": registered}


def test_a_va_viewer_cannot_read_the_accounts_paks_page_or_api(client, acme, paks):
    for va_role in (acme.va_viewer, acme.va_user):
        client.force_login(va_role)
        listing = client.get(reverse("licensing:classic_license_list", kwargs={"sa_pk": acme.account.pk}))
        assert listing.status_code == 403 and b"PAK-OPEN-0001" not in listing.content
        response = api(va_role).get(f"/api/v1/smart-accounts/{acme.account.pk}/classic-licenses/")
        assert response.status_code == 403 and b"PAK-OPEN-0001" not in response.content


def test_account_wide_roles_read_the_accounts_paks(client, acme, paks):
    for reader in (acme.sa_viewer, acme.sa_user, acme.admin):
        client.force_login(reader)
        page = html(client.get(reverse("licensing:classic_license_list", kwargs={"sa_pk": acme.account.pk})))
        assert "PAK-OPEN-0001" in page and "PAK-USED-0002" in page
        results = api(reader).get(f"/api/v1/smart-accounts/{acme.account.pk}/classic-licenses/").json()["results"]
        assert {p["pak"] for p in results} == {"PAK-OPEN-0001", "PAK-USED-0002"}


def test_a_va_role_finds_no_single_pak_nor_its_license_key(client, acme, paks):
    registered = paks["registered"]
    for va_role in (acme.va_viewer, acme.va_user):
        client.force_login(va_role)
        for name in ("classic_license_detail", "classic_license_register", "classic_license_convert"):
            assert client.get(reverse(f"licensing:{name}", kwargs={"pk": paks["available"].pk})).status_code == 404, name
        assert client.get(reverse("licensing:classic_license_detail", kwargs={"pk": registered.pk})).status_code == 404
        for action, body in (("register", {"serial_number": "FTXVA1"}), ("convert", {"virtual_account": acme.us.pk})):
            response = api(va_role).post(f"/api/v1/classic-licenses/{paks['available'].pk}/{action}/", body, format="json")
            assert response.status_code == 404, (action, response.content)
    assert ClassicLicense.objects.get(pk=paks["available"].pk).registered_at is None
    assert ClassicLicense.objects.get(pk=paks["available"].pk).converted_at is None


def test_an_sa_viewer_sees_a_pak_and_its_key_but_only_sa_users_register_or_convert_it(client, acme, paks):
    client.force_login(acme.sa_viewer)
    detail = client.get(reverse("licensing:classic_license_detail", kwargs={"pk": paks["registered"].pk}))
    assert detail.status_code == 200 and paks["registered"].license_key in html(detail)
    assert client.get(reverse("licensing:classic_license_register", kwargs={"pk": paks["available"].pk})).status_code == 403
    url = f"/api/v1/classic-licenses/{paks['available'].pk}/register/"
    assert api(acme.sa_viewer).post(url, {"serial_number": "FTXV"}, format="json").status_code == 403
    assert api(acme.sa_user).post(url, {"serial_number": "FTXU"}, format="json").status_code == 200


def test_alert_preferences_need_an_sa_admin(client, acme):
    url = f"/api/v1/smart-accounts/{acme.account.pk}/alert-preferences/"
    page = reverse("licensing:alert_preferences", kwargs={"sa_pk": acme.account.pk})
    for user in (acme.sa_user, acme.sa_viewer, acme.va_user, acme.va_viewer):
        response = api(user).get(url)
        assert response.status_code == 403 and b"extra_recipients" not in response.content, user
        assert api(user).patch(url, {"daily_summary": True}, format="json").status_code == 403
        client.force_login(user)
        assert client.get(page).status_code == 403
    assert api(acme.outsider).get(url).status_code == 404
    assert not AlertPreferences.objects.exists()
    assert api(acme.admin).get(url).json()["expiry_windows"] == [90, 30, 7]


def test_va_roles_are_not_offered_paks_or_alerts(client, acme):
    pak_list = reverse("licensing:classic_license_list", kwargs={"sa_pk": acme.account.pk})
    alerts = reverse("licensing:alert_preferences", kwargs={"sa_pk": acme.account.pk})
    pages = [reverse("licensing:dashboard", kwargs={"sa_pk": acme.account.pk}),
             reverse("licensing:license_list", kwargs={"sa_pk": acme.account.pk}),
             reverse("portal:smart_account_detail", kwargs={"pk": acme.account.pk})]
    for va_role in (acme.va_viewer, acme.va_user):
        client.force_login(va_role)
        for url in pages:
            page = html(client.get(url))
            assert pak_list not in page and alerts not in page, url
    client.force_login(acme.sa_viewer)
    for url in pages:
        page = html(client.get(url))
        assert pak_list in page and alerts not in page, url
