"""Every write of the licensing app: entitlements (deposit, transfer), PAKs, tokens, devices
and their usage. Keyword-only, atomic, `actor=`; an Event for each change that matters."""
from __future__ import annotations

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import SmartAccount, User, VirtualAccount
from accounts.services import event_record

from .models import ClassicLicense, Entitlement, EntitlementSource, LicenseKind, Product


@transaction.atomic
def entitlement_deposit(
    *,
    virtual_account: VirtualAccount,
    product: Product,
    quantity: int,
    source: str,
    source_ref: str = "",
    starts_on: datetime.date | None = None,
    ends_on: datetime.date | None = None,
    actor: User | None = None,
) -> Entitlement:
    """Put licenses into a Virtual Account's pool. Holding accounts never hold a pool: their
    licenses wait as held order lines and cannot be consumed."""
    if virtual_account.smart_account.is_holding:
        raise ValidationError({"virtual_account": "Licenses cannot be deposited into a holding account."})
    if product.license_kind != LicenseKind.SMART:
        raise ValidationError({"sku": f"{product.sku} is a classic product; it arrives as a PAK, not as smart licenses."})
    if quantity is None or int(quantity) <= 0:
        raise ValidationError({"quantity": "The quantity must be at least 1."})
    if source not in EntitlementSource.values:
        raise ValidationError({"source": "Unknown source."})
    entitlement = Entitlement.objects.create(
        virtual_account=virtual_account, product=product, quantity=int(quantity), source=source,
        source_ref=source_ref[:100], starts_on=starts_on, ends_on=ends_on,
    )
    event_record(
        smart_account=virtual_account.smart_account, action="licenses.deposited", actor=actor,
        virtual_account=virtual_account, obj=entitlement,
        detail={"sku": product.sku, "quantity": entitlement.quantity, "source": source, "source_ref": source_ref,
                "ends_on": ends_on.isoformat() if ends_on else None},
    )
    return entitlement


def _new_pak() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(3))


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
    event_record(smart_account=smart_account, action="pak.issued", actor=actor, obj=pak,
                 detail={"sku": product.sku, "quantity": pak.quantity, "source_ref": source_ref})
    return pak
