"""Classic licenses (PAKs): issued to an account, registered to one device serial (a license key
signed by the portal), or converted into smart entitlements."""
from __future__ import annotations

import secrets

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import EventAction, SmartAccount, User, VirtualAccount
from accounts.permissions import OPERATE
from accounts.services import event_record
from lib.dates import add_months

from ..models import ClassicLicense, Entitlement, EntitlementSource, LicenseKind, Product
from ._checks import clean_text, require
from .entitlements import entitlement_deposit
from .pools import account_hold, pool_lock

LICENSE_KEY_SALT = "licensing.classic_license"


@transaction.atomic
def classic_license_create(
    *, smart_account: SmartAccount, product: Product, quantity: int, source_ref: str = "", actor: User | None = None
) -> ClassicLicense:
    """A PAK in the account's License Registration part (classic products)."""
    if smart_account.is_holding:
        raise ValidationError({"smart_account": "PAKs are issued to customer accounts, not holding accounts."})
    if product.license_kind != LicenseKind.CLASSIC:
        raise ValidationError({"sku": f"{product.sku} is a smart product; it arrives as entitlements, not a PAK."})
    if quantity is None or int(quantity) <= 0:
        raise ValidationError({"quantity": "The quantity must be at least 1."})
    pak = ClassicLicense.objects.create(
        smart_account=smart_account, product=product, quantity=int(quantity), pak=_new_pak(), source_ref=source_ref[:100]
    )
    event_record(smart_account=smart_account, action=EventAction.PAK_ISSUED, actor=actor, obj=pak,
                 detail={"sku": product.sku, "quantity": pak.quantity, "source_ref": source_ref})
    return pak


def _new_pak() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(3))


@transaction.atomic
def classic_license_register(*, pak: ClassicLicense, serial_number: str, actor: User | None) -> str:
    """Register a PAK to one device serial: the node-locked license key, signed by the portal
    (`classic_license_verify` checks it). A PAK registers once."""
    require(actor, OPERATE, pak, "You may not register this account's PAKs.")
    serial = clean_text(serial_number, field="serial_number", label="A serial number", max_length=100)
    # The package's lock order: the account, then the PAK; the right is read again under them.
    account_hold(smart_accounts=[pak.smart_account_id], acting=actor is not None)
    locked = _lock_pak(pak)
    require(actor, OPERATE, locked, "You may not register this account's PAKs.")
    now = timezone.now()
    key = signing.dumps(
        {"pak": locked.pak, "sku": locked.product.sku, "quantity": locked.quantity, "serial_number": serial,
         "account": locked.smart_account_id, "issued": now.date().isoformat()},
        salt=LICENSE_KEY_SALT, compress=True,
    )
    locked.device_serial, locked.license_key, locked.registered_at = serial, key, now
    locked.save(update_fields=["device_serial", "license_key", "registered_at"])
    event_record(
        smart_account=locked.smart_account, action=EventAction.PAK_REGISTERED, actor=actor, obj=locked,
        detail={"pak": locked.pak, "sku": locked.product.sku, "quantity": locked.quantity, "serial_number": serial},
    )
    return key


def classic_license_verify(license_key: str, *, serial_number: str | None = None) -> dict:
    """The content of a license key issued by `classic_license_register` ({pak, sku, quantity,
    serial_number, account, issued}); ValidationError if it was not signed by this portal (or
    is for another serial number than the one given)."""
    try:
        content = signing.loads(str(license_key or "").strip(), salt=LICENSE_KEY_SALT)
    except signing.BadSignature:
        raise ValidationError({"license_key": "This is not a valid license key."})
    if serial_number is not None and content.get("serial_number") != str(serial_number).strip():
        raise ValidationError({"license_key": "This license key is for another device."})
    return content


@transaction.atomic
def classic_license_convert(*, pak: ClassicLicense, virtual_account: VirtualAccount, actor: User | None) -> Entitlement:
    """Convert an unregistered PAK into smart entitlements of its product's smart equivalent
    (`Product.smart_equivalent`, set by staff in the catalogue) in a Virtual Account of the same
    account: the PAK's quantity, perpetual, or starting today for a subscription product."""
    require(actor, OPERATE, pak, "You may not convert this account's PAKs.")
    require(actor, OPERATE, virtual_account, f"You may not deposit licenses into {virtual_account.name}.")
    if virtual_account.smart_account_id != pak.smart_account_id:
        raise ValidationError({"virtual_account": "A PAK converts into a Virtual Account of its own Smart Account."})
    # The package's lock order: the account and the VA's pool, then the PAK; the rights are
    # read again under them (a revocation waits for this, or is seen).
    va = pool_lock([virtual_account], acting=actor is not None).get(virtual_account.pk)
    if va is None:
        raise ValidationError({"virtual_account": "That Virtual Account no longer exists."})
    locked = _lock_pak(pak)
    require(actor, OPERATE, locked, "You may not convert this account's PAKs.")
    require(actor, OPERATE, va, f"You may not deposit licenses into {va.name}.")
    virtual_account = va
    smart = locked.product.smart_equivalent
    if smart is None:
        raise ValidationError({"pak": f"{locked.product.sku} has no smart equivalent; its PAKs can only be registered."})
    starts_on = ends_on = None
    if smart.term_months:
        starts_on = timezone.localdate()
        ends_on = add_months(starts_on, smart.term_months)
    entitlement = entitlement_deposit(
        virtual_account=virtual_account, product=smart, quantity=locked.quantity, source=EntitlementSource.CONVERSION,
        source_ref=f"PAK {locked.pak}", starts_on=starts_on, ends_on=ends_on, actor=actor,
    )
    locked.converted_at, locked.converted_to = timezone.now(), virtual_account
    locked.save(update_fields=["converted_at", "converted_to"])
    event_record(
        smart_account=locked.smart_account, action=EventAction.PAK_CONVERTED, actor=actor, virtual_account=virtual_account,
        obj=locked, detail={"pak": locked.pak, "sku": locked.product.sku, "to_sku": smart.sku,
                            "quantity": locked.quantity, "to": virtual_account.name},
    )
    return entitlement


def _lock_pak(pak: ClassicLicense) -> ClassicLicense:
    locked = ClassicLicense.objects.select_for_update(of=("self",)).select_related("product", "smart_account").filter(
        pk=pak.pk
    ).first()
    if locked is None:
        raise ValidationError({"pak": "This PAK no longer exists."})
    if locked.registered_at is not None:
        raise ValidationError({"pak": f"PAK {locked.pak} is registered to device {locked.device_serial} already."})
    if locked.converted_at is not None:
        raise ValidationError({"pak": f"PAK {locked.pak} was converted to smart licenses already."})
    return locked
