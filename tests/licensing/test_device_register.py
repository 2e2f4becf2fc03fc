"""Devices register with a token (flow 10): `device_register`."""
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Event, EventAction, SmartAccountStatus
from licensing.models import Device, RegistrationToken
from licensing.services import device_authenticate, device_register

from ..factories import HoldingAccountFactory, RegistrationTokenFactory, SmartAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(acme):
    return RegistrationTokenFactory(virtual_account=acme.us)


def register(token, serial="FTX0001", **extra):
    raw = token if isinstance(token, str) else token.token
    return device_register(token=raw, serial_number=serial, product_id=extra.pop("product_id", "ISR4451-X"),
                           hostname=extra.pop("hostname", "edge-1.example.com"))


def test_a_device_registers_into_the_tokens_virtual_account(acme, token):
    device, secret, created = register(token)

    assert created is True
    assert (device.virtual_account, device.serial_number, device.product_id, device.hostname) == (
        acme.us, "FTX0001", "ISR4451-X", "edge-1.example.com")
    assert device.registered_with == token and device.last_contact_at is not None
    token.refresh_from_db()
    assert token.use_count == 1
    event = Event.objects.get(action="device.registered")
    assert (event.smart_account, event.virtual_account, event.detail["serial_number"]) == (acme.account, acme.us, "FTX0001")


def test_device_secret_is_stored_hashed(token):
    device, secret, _ = register(token)

    assert secret.startswith("sld_") and len(secret) > 40
    stored = Device.objects.get(pk=device.pk)
    assert stored.secret_hash == Device.hash(secret) and secret not in stored.secret_hash
    assert device_authenticate(device_id=device.pk, secret=secret) == stored
    assert device_authenticate(device_id=device.pk, secret=secret + "x") is None
    assert device_authenticate(device_id=device.pk + 1, secret=secret) is None


def test_token_must_be_active_not_expired(acme):
    expired = RegistrationTokenFactory(virtual_account=acme.us, expires_at=timezone.now() - datetime.timedelta(minutes=1))

    with pytest.raises(ValidationError) as exc:
        register(expired)
    assert exc.value.message_dict == {"token": ["This registration token has expired."]}
    assert not Device.objects.exists()


def test_token_must_be_active_not_revoked(acme):
    revoked = RegistrationTokenFactory(virtual_account=acme.us, revoked_at=timezone.now())

    with pytest.raises(ValidationError) as exc:
        register(revoked)
    assert exc.value.message_dict == {"token": ["This registration token was revoked."]}


def test_token_must_be_active_not_used_up(acme):
    token = RegistrationTokenFactory(virtual_account=acme.us, max_uses=2)
    register(token, "A")
    register(token, "B")

    with pytest.raises(ValidationError) as exc:
        register(token, "C")
    assert "used as many times" in exc.value.message_dict["token"][0]
    assert sorted(Device.objects.values_list("serial_number", flat=True)) == ["A", "B"]
    token.refresh_from_db()
    assert token.use_count == 2


def test_an_unknown_token_registers_nothing(acme):
    with pytest.raises(ValidationError) as exc:
        register("slrt_not-a-token")
    assert exc.value.message_dict == {"token": ["Unknown registration token."]}


def test_registration_in_a_holding_account_is_impossible():
    # No service creates a token there; one slipped in (say, by hand) still registers nothing.
    holding = HoldingAccountFactory()
    token = RegistrationTokenFactory(virtual_account=holding.default_virtual_account)

    with pytest.raises(ValidationError) as exc:
        register(token)
    assert "holding account" in exc.value.message_dict["token"][0]
    assert not Device.objects.exists()


def test_registration_in_a_suspended_account_is_refused():
    account = SmartAccountFactory(status=SmartAccountStatus.SUSPENDED)
    token = RegistrationTokenFactory(virtual_account=account.default_virtual_account)

    with pytest.raises(ValidationError):
        register(token)


# --- re-registration: a serial registered already in the token's Virtual Account -----------------


def test_reregistering_counts_a_token_use(acme, token):
    first, first_secret, created = register(token, hostname="old-name")
    again, new_secret, created_again = register(token, hostname="new-name")

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and Device.objects.count() == 1
    assert RegistrationToken.objects.get(pk=token.pk).use_count == 2
    # The secret is rotated: a device that lost it gets a working one, the old one stops working.
    assert new_secret != first_secret
    assert device_authenticate(device_id=first.pk, secret=new_secret) is not None
    assert device_authenticate(device_id=first.pk, secret=first_secret) is None
    assert Device.objects.get(pk=first.pk).hostname == "new-name"


def _spent(token):
    token.use_count = token.max_uses = 1
    token.save()


@pytest.mark.parametrize("spoil, refusal", [
    (lambda t: setattr(t, "revoked_at", timezone.now()) or t.save(), "This registration token was revoked."),
    (lambda t: setattr(t, "expires_at", timezone.now() - datetime.timedelta(minutes=1)) or t.save(),
     "This registration token has expired."),
    (_spent, "This registration token has been used as many times as it allows."),
], ids=["revoked", "expired", "used-up"])
def test_reregistering_needs_an_active_token_with_a_use_left(acme, spoil, refusal):
    device, secret, _ = register(RegistrationTokenFactory(virtual_account=acme.us), hostname="real-device")
    other = RegistrationTokenFactory(virtual_account=acme.us)
    spoil(other)

    with pytest.raises(ValidationError) as exc:
        register(other, hostname="taken-over", product_id="EVIL")

    assert exc.value.message_dict == {"token": [refusal]}  # the same refusal as a new registration
    # Nothing changed: the real device keeps its secret, hostname and product id.
    kept = Device.objects.get(pk=device.pk)
    assert device_authenticate(device_id=device.pk, secret=secret) == kept
    assert (kept.hostname, kept.product_id) == ("real-device", "ISR4451-X")
    assert RegistrationToken.objects.get(pk=other.pk).use_count == other.use_count
    assert not Event.objects.filter(action=EventAction.DEVICE_REREGISTERED).exists()


def test_reregistering_records_a_secret_rotation_event(acme, token):
    device, _, _ = register(token, hostname="edge-1")
    other = RegistrationTokenFactory(virtual_account=acme.us)

    register(other, hostname="edge-1-new")

    assert Event.objects.filter(action=EventAction.DEVICE_REGISTERED).count() == 1  # the first registration only
    event = Event.objects.get(action=EventAction.DEVICE_REREGISTERED)
    assert (event.smart_account, event.virtual_account, event.object_id) == (acme.account, acme.us, str(device.pk))
    assert event.detail == {"serial_number": "FTX0001", "hostname": "edge-1-new", "product_id": "ISR4451-X",
                            "token": other.prefix}


# --- re-registration with the device's current secret: no token needed -----------------------------


def test_a_device_with_its_current_secret_reregisters_without_a_token_use(acme):
    token = RegistrationTokenFactory(virtual_account=acme.us, max_uses=1)
    device, secret, _ = register(token, hostname="edge-1")

    again, new_secret, created = device_register(device_secret=secret, serial_number="FTX0001", hostname="edge-1b")

    assert (again.pk, created) == (device.pk, False)
    assert RegistrationToken.objects.get(pk=token.pk).use_count == 1  # used up, and not needed
    assert new_secret != secret
    assert device_authenticate(device_id=device.pk, secret=new_secret) is not None
    assert device_authenticate(device_id=device.pk, secret=secret) is None
    assert Device.objects.get(pk=device.pk).hostname == "edge-1b"
    event = Event.objects.get(action=EventAction.DEVICE_REREGISTERED)
    assert (event.virtual_account, event.detail["token"], event.detail["hostname"]) == (acme.us, None, "edge-1b")


@pytest.mark.parametrize("case", ["unknown", "old", "another device's", "another serial"])
def test_reregistering_with_a_secret_needs_the_devices_current_secret(acme, token, case):
    device, secret, _ = register(token, hostname="edge-1")
    other, other_secret, _ = register(token, "FTX0002")
    sent, serial = {
        "unknown": ("sld_not-a-secret", "FTX0001"),
        "old": (secret, "FTX0001"),
        "another device's": (other_secret, "FTX0001"),
        "another serial": (secret, "FTX0002"),
    }[case]
    if case == "old":
        secret = register(token, hostname="edge-1")[1]  # rotated: the one sent is the old one

    with pytest.raises(ValidationError) as exc:
        device_register(device_secret=sent, serial_number=serial, hostname="taken-over")

    assert exc.value.message_dict == {"device_secret": ["This is not the current secret of a device with this serial number."]}
    assert Device.objects.get(pk=device.pk).hostname == "edge-1"
    assert device_authenticate(device_id=device.pk, secret=secret) is not None
    assert device_authenticate(device_id=other.pk, secret=other_secret) is not None
    assert not Event.objects.filter(action=EventAction.DEVICE_REREGISTERED).exclude(detail__token=token.prefix).exists()


def test_a_registration_sends_a_token_or_the_devices_secret(acme, token):
    _, secret, _ = register(token)

    with pytest.raises(ValidationError) as both:
        device_register(token=token.token, device_secret=secret, serial_number="FTX0001")
    with pytest.raises(ValidationError) as neither:
        device_register(serial_number="FTX0001")

    assert list(both.value.message_dict) == ["device_secret"]
    assert list(neither.value.message_dict) == ["token"]
    assert RegistrationToken.objects.get(pk=token.pk).use_count == 1


def test_the_same_serial_may_live_in_two_virtual_accounts(acme, token):
    europe = RegistrationTokenFactory(virtual_account=acme.europe)
    register(token)
    register(europe)

    assert Device.objects.filter(serial_number="FTX0001").count() == 2


@pytest.mark.parametrize("field, value", [("serial_number", "  "), ("serial_number", "S" * 101), ("hostname", "h" * 254),
                                          ("product_id", "p" * 101)])
def test_bad_device_fields_are_field_keyed(token, field, value):
    values = {"token": token.token, "serial_number": "FTX1", "product_id": "", "hostname": "", field: value}
    with pytest.raises(ValidationError) as exc:
        device_register(**values)
    assert field in exc.value.message_dict
    assert RegistrationToken.objects.get(pk=token.pk).use_count == 0
