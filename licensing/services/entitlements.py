"""Entitlements: licenses deposited into a Virtual Account's pool (an order shipped, a PAK
converted) and transferred between the pools of one Smart Account (flow 9)."""
from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone

from accounts import permissions
from accounts.models import EventAction, User, VirtualAccount
from accounts.permissions import OPERATE
from accounts.services import event_record
from accounts.validators import clean_day

from .. import selectors
from ..models import Entitlement, EntitlementSource, LicenseKind, Product
from ._checks import clean_quantity
from .catalogue import SKU_PATTERN, normalise_sku
from .compliance import compliance_update
from .pools import pool_lock


# --- deposits -----------------------------------------------------------------------------

MAX_TRANSFER_LINES = 100  # the products of one transfer (the API refuses more before parsing them)
MAX_ENTITLEMENT_QUANTITY = 2**31 - 1  # the column's (a PositiveIntegerField)


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
    quantity = clean_quantity(quantity)
    if quantity is None or not 1 <= quantity <= MAX_ENTITLEMENT_QUANTITY:
        raise ValidationError({"quantity": f"The quantity is a whole number from 1 to {MAX_ENTITLEMENT_QUANTITY:,}."})
    starts_on, ends_on = clean_day(starts_on, field="starts_on"), clean_day(ends_on, field="ends_on")
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": "A subscription ends on or after the day it starts."})
    if source not in EntitlementSource.values:
        raise ValidationError({"source": "Unknown source."})
    # Locked so that a deposit that brings a pool back into compliance is announced exactly once
    # (see pool_lock). A caller depositing into several VAs in one transaction should lock them
    # all first (`pool_lock([...])`), so that the locks are taken in order.
    virtual_account = pool_lock([virtual_account])[virtual_account.pk]
    entitlement = Entitlement.objects.create(
        virtual_account=virtual_account, product=product, quantity=quantity, source=source,
        source_ref=source_ref[:100], starts_on=starts_on, ends_on=ends_on,
    )
    event_record(
        smart_account=virtual_account.smart_account, action=EventAction.LICENSES_DEPOSITED, actor=actor,
        virtual_account=virtual_account, obj=entitlement,
        detail={"sku": product.sku, "quantity": entitlement.quantity, "source": source, "source_ref": source_ref,
                "ends_on": ends_on.isoformat() if ends_on else None},
    )
    compliance_update(virtual_account=virtual_account, products=[product], actor=actor,
                      cause=f"licenses deposited ({source_ref or source})")
    return entitlement


# --- transfers between pools (flow 9) -----------------------------------------------------

TransferLine = tuple[Product, int] | dict[str, Any]


@transaction.atomic
def license_transfer(
    *,
    from_virtual_account: VirtualAccount,
    to_virtual_account: VirtualAccount,
    lines: Sequence[TransferLine],
    actor: User | None,
) -> list[Entitlement]:
    """Flow 9: move licenses from one Virtual Account's pool to another's in the same Smart
    Account. All lines or none; never more than the source's available licenses (its own active
    purchased minus what its devices use). Subscriptions keep their dates: source entitlements
    are given away soonest-ending first (perpetual last), split where needed, and re-created in
    the target with the same dates and origin. Returns the target's new entitlements.

    `lines`: [(Product, quantity)] or [{"sku": ..., "quantity": ...}]; a product named twice is
    merged into one line of the summed quantity. Errors about a line are keyed
    `lines.<index>.<field>` (lib.forms), a shortage on every line naming the product.
    """
    if from_virtual_account.pk == to_virtual_account.pk:
        raise ValidationError({"to_virtual_account": "Choose a Virtual Account other than the one the licenses are in."})
    _require_transfer_right(actor, from_virtual_account, to_virtual_account)
    _check_transfer_accounts(from_virtual_account, to_virtual_account)
    wanted, line_indexes = _transfer_lines(lines)

    locked = pool_lock([from_virtual_account, to_virtual_account], acting=actor is not None)
    for field, va in (("from_virtual_account", from_virtual_account), ("to_virtual_account", to_virtual_account)):
        if va.pk not in locked:
            raise ValidationError({field: "That Virtual Account no longer exists."})
    source, target = locked[from_virtual_account.pk], locked[to_virtual_account.pk]
    # Again, on the locked rows: the right too, so that a role revoked while this waited (or
    # since the check above) refuses it; a revocation from now on waits for this commit.
    _require_transfer_right(actor, source, target)
    _check_transfer_accounts(source, target)

    today = timezone.localdate()
    positions = selectors.pool_positions(source, [product for product, _ in wanted], on=today)
    short = {
        product.pk: f"{quantity} requested, {positions[product.pk].available} available in {source.name}."
        for product, quantity in wanted
        if quantity > positions[product.pk].available
    }
    if short:
        raise ValidationError(_per_line(short, line_indexes))

    pools = _pool_entitlements(source, [product for product, _ in wanted], on=today)
    created: list[Entitlement] = []
    emptied: list[int] = []
    detail_lines = []
    for product, quantity in wanted:
        remaining = quantity
        for entitlement in pools.get(product.pk, []):
            if remaining == 0:
                break
            take = min(entitlement.quantity, remaining)
            remaining -= take
            created.append(Entitlement(
                virtual_account=target, product=product, quantity=take, starts_on=entitlement.starts_on,
                ends_on=entitlement.ends_on, source=EntitlementSource.TRANSFER, source_ref=entitlement.source_ref,
                transferred_from=entitlement,
            ))
            if take == entitlement.quantity:
                emptied.append(entitlement.pk)
            else:
                Entitlement.objects.filter(pk=entitlement.pk).update(quantity=entitlement.quantity - take)
        # Cannot happen after the availability check under the lock; refuse rather than under-deliver.
        if remaining:
            raise ValidationError(_per_line(
                {product.pk: f"Only {quantity - remaining} available in {source.name}."}, line_indexes))
        detail_lines.append({"sku": product.sku, "quantity": quantity})

    Entitlement.objects.bulk_create(created)
    created_ids = [e.pk for e in created]
    # Emptied rows go, so that a VA emptied of licenses can be deleted; the copies keep the
    # dates and source_ref (their `transferred_from` link is cleared with the row, by the FK).
    Entitlement.objects.filter(pk__in=emptied).delete()
    event_record(
        smart_account=source.smart_account, action=EventAction.LICENSES_TRANSFERRED, actor=actor, virtual_account=source,
        detail={
            "from": source.name, "from_virtual_account": source.pk,
            "to": target.name, "to_virtual_account": target.pk,
            "lines": detail_lines,
        },
    )
    # Never more than available leaves the source: only the target can cross (out of shortage).
    compliance_update(virtual_account=target, products=[product for product, _ in wanted], actor=actor,
                      cause=f"licenses transferred from {source.name}")
    return list(
        Entitlement.objects.filter(pk__in=created_ids).select_related("product", "virtual_account").order_by("pk")
    )


def _require_transfer_right(actor: User | None, source: VirtualAccount, target: VirtualAccount) -> None:
    if actor is not None:
        for va in (source, target):
            if not permissions.can(actor, OPERATE, va):
                raise permissions.refusal(actor, f"You may not move licenses in or out of {va.name}.")


def _check_transfer_accounts(source: VirtualAccount, target: VirtualAccount) -> None:
    if source.smart_account.is_holding:
        raise ValidationError(
            {"from_virtual_account": "A holding account holds order lines, not a pool; move its lines to a customer account instead."}
        )
    if target.smart_account.is_holding:
        raise ValidationError({"to_virtual_account": "Licenses cannot be deposited into a holding account."})
    if source.smart_account_id != target.smart_account_id:
        raise ValidationError(
            {"to_virtual_account": "Licenses move only between Virtual Accounts of one Smart Account."}
        )
    account = source.smart_account
    if not account.is_active:
        raise ValidationError(
            {"from_virtual_account": f"{account.name} is {account.get_status_display().lower()}; its licenses cannot be moved."}
        )


def _per_line(by_product: dict[int, str], line_indexes: dict[int, list[int]]) -> dict[str, list[str]]:
    """A message about a (merged) product on the quantity of every line that named it."""
    return {
        f"lines.{index}.quantity": [message]
        for product_pk, message in by_product.items() for index in line_indexes[product_pk]
    }


def _transfer_lines(lines: Sequence[TransferLine]) -> tuple[list[tuple[Product, int]], dict[int, list[int]]]:
    """[(product, quantity)], one per product: a SKU named on several lines is merged into one
    line of the summed quantity; with the (0-based) lines that named each product. Unknown SKUs
    and quantities below 1 are refused, keyed by their line."""
    if not lines:
        raise ValidationError({"lines": "Choose at least one product and quantity to transfer."})
    if len(lines) > MAX_TRANSFER_LINES:  # refused before any line is looked at
        raise ValidationError({"lines": f"A transfer has at most {MAX_TRANSFER_LINES} lines; this one has {len(lines)}."})
    raw: list[tuple[Product | str, Any]] = []
    for index, line in enumerate(lines):
        if isinstance(line, dict):
            product = line.get("product")
            raw.append((product if isinstance(product, Product) else normalise_sku(line.get("sku")), line.get("quantity")))
        elif isinstance(line, (tuple, list)) and len(line) == 2:
            raw.append((line[0] if isinstance(line[0], Product) else normalise_sku(line[0]), line[1]))
        else:
            raise ValidationError({f"lines.{index}.non_field_errors": "Each line names a product (sku) and a quantity."})
    # Only what could be a SKU is looked up (a NUL in a query is a DataError on PostgreSQL).
    skus = {ref for ref, _ in raw if isinstance(ref, str) and SKU_PATTERN.match(ref)}
    by_sku = {p.usku: p for p in Product.objects.annotate(usku=Upper("sku")).filter(usku__in=skus)} if skus else {}
    errors: dict[str, list[str]] = {}
    merged: dict[int, tuple[Product, int]] = {}
    indexes: dict[int, list[int]] = {}
    for index, (ref, quantity) in enumerate(raw):
        product = ref if isinstance(ref, Product) else by_sku.get(ref)
        label = product.sku if product else ref
        if product is None:
            errors[f"lines.{index}.sku"] = [f"No product has the SKU {ref}." if ref else "A SKU is required."]
            continue
        count = clean_quantity(quantity)
        if count is None or count < 1:
            errors[f"lines.{index}.quantity"] = [f"The quantity of {label} must be a whole number of at least 1."]
            continue
        if product.license_kind != LicenseKind.SMART:
            errors[f"lines.{index}.sku"] = [f"{label} is a classic product; its PAKs are not held in Virtual Accounts."]
            continue
        earlier = merged.get(product.pk)
        merged[product.pk] = (product, count + (earlier[1] if earlier else 0))
        indexes.setdefault(product.pk, []).append(index)
    if errors:
        raise ValidationError(errors)
    return list(merged.values()), indexes


def _pool_entitlements(
    virtual_account: VirtualAccount, products: list[Product], *, on: datetime.date
) -> dict[int, list[Entitlement]]:
    """The active entitlements of these products in the VA, by product id, in consumption order."""
    rows = (
        selectors.active_entitlements(on)
        .filter(virtual_account=virtual_account, product__in=[p.pk for p in products])
        .order_by("product_id", *selectors.CONSUMPTION_ORDER)
    )
    pools: dict[int, list[Entitlement]] = {}
    for row in rows:
        pools.setdefault(row.product_id, []).append(row)
    return pools
