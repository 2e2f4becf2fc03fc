"""Classic licenses (PAKs) on their pages: listed per account; registered to a device serial
for a signed node-locked license key; converted to smart licenses in a Virtual Account."""
import pytest
from django.urls import reverse

from licensing import selectors
from licensing.models import ClassicLicense
from licensing.services import classic_license_verify

from ..factories import ClassicLicenseFactory, ProductFactory
from .pages_support import html

pytestmark = pytest.mark.django_db


@pytest.fixture
def paks(acme, product):
    asa = ProductFactory(sku="ASA-5506-K9", name="ASA Firewall", classic=True, smart_equivalent=product)
    legacy = ProductFactory(sku="OLD-IOS-K9", name="Legacy IOS", classic=True)
    return {
        "asa": ClassicLicenseFactory(smart_account=acme.account, product=asa, quantity=3, pak="PAK-AAAA-0001"),
        "legacy": ClassicLicenseFactory(smart_account=acme.account, product=legacy, quantity=1, pak="PAK-BBBB-0002"),
    }


def test_the_accounts_paks_are_listed_with_their_status(client, acme, paks):
    ClassicLicenseFactory(pak="PAK-OTHER-ACCOUNT")
    client.force_login(acme.sa_viewer)
    page = html(client.get(reverse("licensing:classic_license_list", kwargs={"sa_pk": acme.account.pk})))
    assert "PAK-AAAA-0001" in page and "PAK-BBBB-0002" in page and "PAK-OTHER-ACCOUNT" not in page
    assert ">Register</a>" not in page  # a viewer
    client.force_login(acme.sa_user)
    page = html(client.get(reverse("licensing:classic_license_list", kwargs={"sa_pk": acme.account.pk})))
    assert page.count(">Register</a>") == 2 and page.count(">Convert</a>") == 1  # only ASA converts


def test_registering_a_pak_shows_its_node_locked_license_key(client, acme, paks):
    client.force_login(acme.sa_user)
    pak = paks["asa"]
    response = client.post(reverse("licensing:classic_license_register", kwargs={"pk": pak.pk}), {"serial_number": "JMX1234"})
    assert response["Location"] == f"/licensing/classic-licenses/{pak.pk}/"
    page = html(client.get(response["Location"]))
    pak.refresh_from_db()
    assert pak.device_serial == "JMX1234" and pak.license_key in page
    assert classic_license_verify(pak.license_key, serial_number="JMX1234")["pak"] == "PAK-AAAA-0001"
    assert "is registered to device JMX1234" in page
    # Once only.
    again = client.get(reverse("licensing:classic_license_register", kwargs={"pk": pak.pk}))
    assert again.status_code == 302
    assert "registered already" in html(client.get(again["Location"]))


def test_a_serial_number_is_required(client, acme, paks):
    client.force_login(acme.admin)
    response = client.post(reverse("licensing:classic_license_register", kwargs={"pk": paks["asa"].pk}), {"serial_number": " "})
    assert response.status_code == 200 and "id_serial_number_errors" in html(response)
    assert ClassicLicense.objects.get(pk=paks["asa"].pk).registered_at is None


def test_converting_a_pak_deposits_smart_licenses_in_the_chosen_virtual_account(client, acme, paks, product):
    client.force_login(acme.admin)
    url = reverse("licensing:classic_license_convert", kwargs={"pk": paks["asa"].pk})
    response = client.post(url, {"virtual_account": acme.europe.pk})
    assert response["Location"] == f"/licensing/va/{acme.europe.pk}/licenses/"
    assert selectors.pool_position(acme.europe, product).purchased == 3
    assert "converted: 3 × ISR-SEC-K9 are now smart licenses in Europe" in html(client.get(response["Location"]))


def test_a_pak_without_a_smart_equivalent_cannot_be_converted(client, acme, paks):
    client.force_login(acme.admin)
    url = reverse("licensing:classic_license_convert", kwargs={"pk": paks["legacy"].pk})
    assert "This PAK cannot be converted" in html(client.get(url))
    client.post(url, {"virtual_account": acme.europe.pk})
    assert ClassicLicense.objects.get(pk=paks["legacy"].pk).converted_at is None
