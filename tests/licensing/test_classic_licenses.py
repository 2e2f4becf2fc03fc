"""Classic licenses (PAKs): register to a device serial for a signed node-locked key, or
convert to smart entitlements of the product's smart equivalent."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Event
from licensing.models import ClassicLicense, EntitlementSource
from licensing.selectors import pool_position
from licensing.services import classic_license_convert, classic_license_register, classic_license_verify

from ..factories import ClassicLicenseFactory, ProductFactory, SmartAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def smart(db):
    return ProductFactory(sku="L-ASA-100", name="ASA 100 users (smart)")


@pytest.fixture
def pak(acme, smart):
    classic = ProductFactory(sku="ASA-PAK-100", name="ASA 100 users", classic=True, smart_equivalent=smart)
    return ClassicLicenseFactory(smart_account=acme.account, product=classic, quantity=3, pak="PAK-AAAA-BBBB")


def test_registering_a_pak_yields_a_signed_node_locked_key(acme, pak):
    key = classic_license_register(pak=pak, serial_number=" FTX123 ", actor=acme.sa_user)

    content = classic_license_verify(key, serial_number="FTX123")
    assert {k: content[k] for k in ("pak", "sku", "quantity", "serial_number", "account")} == {
        "pak": "PAK-AAAA-BBBB", "sku": "ASA-PAK-100", "quantity": 3, "serial_number": "FTX123", "account": acme.account.pk}
    stored = ClassicLicense.objects.get(pk=pak.pk)
    assert (stored.device_serial, stored.license_key, stored.registered_at is not None) == ("FTX123", key, True)
    assert Event.objects.get(action="pak.registered").detail["serial_number"] == "FTX123"


def test_a_license_key_is_verifiable_and_tamper_evident(acme, pak):
    key = classic_license_register(pak=pak, serial_number="FTX123", actor=None)

    with pytest.raises(ValidationError):
        classic_license_verify(key[:-2] + ("A" if key[-2] != "A" else "B") + key[-1])
    with pytest.raises(ValidationError):
        classic_license_verify("not a key")
    with pytest.raises(ValidationError) as exc:
        classic_license_verify(key, serial_number="OTHER")
    assert "another device" in exc.value.message_dict["license_key"][0]


def test_a_pak_registers_once(acme, pak):
    classic_license_register(pak=pak, serial_number="FTX1", actor=None)

    with pytest.raises(ValidationError) as exc:
        classic_license_register(pak=pak, serial_number="FTX2", actor=None)
    assert "registered to device FTX1" in exc.value.message_dict["pak"][0]


def test_paks_are_registered_by_account_users_not_viewers_or_va_roles(acme, pak):
    for actor in (acme.sa_viewer, acme.va_user, acme.outsider):
        with pytest.raises(PermissionDenied):
            classic_license_register(pak=pak, serial_number="FTX1", actor=actor)


def test_converting_a_pak_deposits_its_smart_equivalent(acme, pak, smart):
    entitlement = classic_license_convert(pak=pak, virtual_account=acme.us, actor=acme.admin)

    assert (entitlement.virtual_account, entitlement.product, entitlement.quantity, entitlement.source,
            entitlement.source_ref, entitlement.ends_on) == (acme.us, smart, 3, EntitlementSource.CONVERSION, "PAK PAK-AAAA-BBBB", None)
    assert pool_position(acme.us, smart).purchased == 3
    stored = ClassicLicense.objects.get(pk=pak.pk)
    assert (stored.converted_to, stored.converted_at is not None) == (acme.us, True)
    assert Event.objects.get(action="pak.converted").detail["to_sku"] == "L-ASA-100"
    with pytest.raises(ValidationError):
        classic_license_convert(pak=pak, virtual_account=acme.us, actor=acme.admin)
    with pytest.raises(ValidationError):
        classic_license_register(pak=pak, serial_number="FTX1", actor=acme.admin)


def test_a_subscription_equivalent_starts_today(acme, pak):
    pak.product.smart_equivalent = ProductFactory(sku="L-ASA-100-1Y", subscription=True)
    pak.product.save()

    entitlement = classic_license_convert(pak=pak, virtual_account=acme.us, actor=None)

    assert entitlement.starts_on is not None and (entitlement.ends_on - entitlement.starts_on).days in (365, 366)


def test_a_pak_without_smart_equivalent_cannot_be_converted(acme):
    pak = ClassicLicenseFactory(smart_account=acme.account)

    with pytest.raises(ValidationError) as exc:
        classic_license_convert(pak=pak, virtual_account=acme.us, actor=None)
    assert "no smart equivalent" in exc.value.message_dict["pak"][0]


def test_a_pak_converts_only_into_its_own_account(acme, pak):
    with pytest.raises(ValidationError) as exc:
        classic_license_convert(pak=pak, virtual_account=SmartAccountFactory().default_virtual_account, actor=None)
    assert "virtual_account" in exc.value.message_dict
