"""Every write of the licensing app: the catalogue, entitlements (deposit, transfer), PAKs,
tokens, devices and their usage. Keyword-only, atomic, `actor=` (None = the system, no checks);
permissions through `accounts.permissions`; an Event for each change that matters."""
from __future__ import annotations

import datetime
import re
import secrets

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Upper
from django.utils import timezone

from accounts import permissions
from accounts.models import SmartAccount, User, VirtualAccount
from accounts.permissions import OPERATE
from accounts.services import event_record

from . import selectors
from .models import ClassicLicense, Entitlement, EntitlementSource, LicenseKind, Product

# --- the catalogue ----------------------------------------------------------------------

SKU_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._/+=-]*$")
MAX_TERM_MONTHS = 120


def normalise_sku(value) -> str:
    """SKUs are stored stripped and upper-case, so that `l-isr-sec` and `L-ISR-SEC ` are one product."""
    return str(value or "").strip().upper()


def _clean_text(value, *, field: str, label: str, max_length: int) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise ValidationError({field: f"{label} is required."})
    if len(text) > max_length:
        raise ValidationError({field: f"{label} has at most {max_length} characters."})
    return text


def _clean_term_months(term_months) -> int | None:
    if term_months is None or term_months == "":
        return None
    if isinstance(term_months, bool):
        raise ValidationError({"term_months": "Give a number of months, or leave it empty for a perpetual license."})
    try:
        months = int(term_months)
    except (TypeError, ValueError):
        raise ValidationError({"term_months": "Give a number of months, or leave it empty for a perpetual license."})
    if months != term_months and str(months) != str(term_months).strip():
        raise ValidationError({"term_months": "Give a whole number of months."})
    if not 1 <= months <= MAX_TERM_MONTHS:
        raise ValidationError({"term_months": f"A subscription lasts 1 to {MAX_TERM_MONTHS} months."})
    return months


@transaction.atomic
def product_create(
    *,
    sku: str,
    name: str,
    family: str,
    license_kind: str,
    term_months: int | None = None,
    sa_required: bool = False,
    actor: User | None,
) -> Product:
    """Add a product to the catalogue (staff only). The catalogue is not per account, so no
    Event is recorded (the event log is per Smart Account)."""
    if actor is not None and not (actor.is_authenticated and actor.is_active and actor.is_staff):
        raise PermissionDenied("Only staff can manage the product catalogue.")
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    for field, clean in (
        ("sku", lambda: _clean_sku(sku)),
        ("name", lambda: _clean_text(name, field="name", label="A name", max_length=200)),
        ("family", lambda: _clean_text(family, field="family", label="A family", max_length=100)),
        ("license_kind", lambda: _clean_license_kind(license_kind)),
        ("term_months", lambda: _clean_term_months(term_months)),
    ):
        try:
            cleaned[field] = clean()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if Product.objects.filter(sku__iexact=cleaned["sku"]).exists():
        raise ValidationError({"sku": f"A product with SKU {cleaned['sku']} already exists."})
    product = Product(**cleaned, sa_required=bool(sa_required))
    product.full_clean(validate_unique=False)
    try:
        with transaction.atomic():  # a concurrent create of the same SKU loses here, cleanly
            product.save()
    except IntegrityError:
        raise ValidationError({"sku": f"A product with SKU {cleaned['sku']} already exists."})
    return product


def _clean_sku(sku) -> str:
    value = normalise_sku(sku)
    if not value:
        raise ValidationError({"sku": "A SKU is required."})
    if len(value) > 60:
        raise ValidationError({"sku": "A SKU has at most 60 characters."})
    if not SKU_PATTERN.match(value):
        raise ValidationError({"sku": "A SKU is letters, digits and - _ . / + = only, without spaces."})
    return value


def _clean_license_kind(license_kind) -> str:
    if license_kind not in LicenseKind.values:
        raise ValidationError({"license_kind": "Choose smart or classic."})
    return str(license_kind)


# --- entitlements -----------------------------------------------------------------------


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


# --- pools: locking and transfers (flow 9) ----------------------------------------------


def pool_lock(virtual_accounts: Iterable[VirtualAccount | int]) -> dict[int, VirtualAccount]:
    """Lock the pools of these Virtual Accounts until the end of the current transaction, and
    return their rows, fresh, by id. Whoever changes what a pool holds or what its devices use
    (transfers, deposits, usage reports, device moves and removals) locks it first, so that two
    transfers never spend the same licenses and every crossing into or out of shortage is seen
    by exactly one writer.

    Locks are taken in one global order, Smart Accounts first and then Virtual Accounts, each by
    ascending id, so that two lockers never wait for each other in a circle. The Smart Account
    row comes first because tree writes (`accounts.services._lock_tree`) lock it FOR UPDATE and
    then update the VA rows (MPTT renumbering); a pool writer holding a VA row that then needs
    the account row (every Event row references it) would deadlock against them. The account
    row is only KEY SHARE-locked (PostgreSQL): it waits for tree writes, but pools of different
    VAs of one account are locked independently (two transfers, or two devices reporting, in
    different VAs never queue for each other). VA rows are NO KEY UPDATE-locked: they exclude
    each other and tree writes, but not the inserts that merely reference them (device
    registrations, events, entitlements).
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("pool_lock() holds its locks until commit; call it in a transaction.")
    ids = sorted({va if isinstance(va, int) else va.pk for va in virtual_accounts})
    _lock_accounts_of(ids)
    return {
        va.pk: va
        for va in VirtualAccount.objects.select_for_update(no_key=True, of=("self",))
        .select_related("smart_account")
        .filter(pk__in=ids)
        .order_by("pk")
    }


def _lock_accounts_of(virtual_account_ids: list[int]) -> None:
    """KEY SHARE-lock the Smart Account rows of these VAs, by id (see pool_lock). SQLite has no
    row locks (a writing transaction holds the whole database), so there is nothing to take."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        account_ids = VirtualAccount.objects.filter(pk__in=virtual_account_ids).values("smart_account_id")
        list(SmartAccount.objects.select_for_update(no_key=True).filter(pk__in=account_ids).order_by("pk").values_list("pk"))
        return
    sa, va = SmartAccount._meta.db_table, VirtualAccount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sa}.id FROM {sa} WHERE {sa}.id IN (SELECT smart_account_id FROM {va} WHERE id = ANY(%s))"
            f" ORDER BY {sa}.id FOR KEY SHARE OF {sa}",
            [virtual_account_ids],
        )
        cursor.fetchall()


TransferLine = tuple[Product, int] | dict[str, Any]


def _clean_quantity(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _transfer_lines(lines: Sequence[TransferLine]) -> list[tuple[Product, int]]:
    """[(product, quantity)], one per product: a SKU named on several lines is merged into one
    line of the summed quantity. Unknown SKUs and quantities below 1 are refused."""
    if not lines:
        raise ValidationError({"lines": "Choose at least one product and quantity to transfer."})
    raw: list[tuple[Product | str, Any]] = []
    for line in lines:
        if isinstance(line, dict):
            product = line.get("product")
            raw.append((product if isinstance(product, Product) else normalise_sku(line.get("sku")), line.get("quantity")))
        elif isinstance(line, (tuple, list)) and len(line) == 2:
            raw.append((line[0] if isinstance(line[0], Product) else normalise_sku(line[0]), line[1]))
        else:
            raise ValidationError({"lines": "Each line names a product (sku) and a quantity."})
    skus = {ref for ref, _ in raw if isinstance(ref, str) and ref}
    by_sku = {p.usku: p for p in Product.objects.annotate(usku=Upper("sku")).filter(usku__in=skus)} if skus else {}
    errors: list[str] = []
    merged: dict[int, tuple[Product, int]] = {}
    for number, (ref, quantity) in enumerate(raw, start=1):
        product = ref if isinstance(ref, Product) else by_sku.get(ref)
        label = product.sku if product else ref
        if product is None:
            errors.append(f"Line {number}: " + (f"no product has the SKU {ref}." if ref else "a SKU is required."))
            continue
        count = _clean_quantity(quantity)
        if count is None or count < 1:
            errors.append(f"Line {number}: the quantity of {label} must be a whole number of at least 1.")
            continue
        if product.license_kind != LicenseKind.SMART:
            errors.append(f"Line {number}: {label} is a classic product; its PAKs are not held in Virtual Accounts.")
            continue
        earlier = merged.get(product.pk)
        merged[product.pk] = (product, count + (earlier[1] if earlier else 0))
    if errors:
        raise ValidationError({"lines": errors})
    return list(merged.values())


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
    merged into one line of the summed quantity.
    """
    if from_virtual_account.pk == to_virtual_account.pk:
        raise ValidationError({"to_virtual_account": "Choose a Virtual Account other than the one the licenses are in."})
    if actor is not None:
        for va in (from_virtual_account, to_virtual_account):
            if not permissions.can(actor, OPERATE, va):
                raise PermissionDenied(f"You may not move licenses in or out of {va.name}.")
    _check_transfer_accounts(from_virtual_account, to_virtual_account)
    wanted = _transfer_lines(lines)

    locked = pool_lock([from_virtual_account, to_virtual_account])
    if len(locked) != 2:
        raise ValidationError({"from_virtual_account": "That Virtual Account no longer exists."})
    source, target = locked[from_virtual_account.pk], locked[to_virtual_account.pk]
    _check_transfer_accounts(source, target)  # again, on the locked rows

    today = timezone.localdate()
    positions = selectors.pool_positions(source, [product for product, _ in wanted], on=today)
    short = [
        f"{product.sku}: {quantity} requested, {positions[product.pk].available} available in {source.name}."
        for product, quantity in wanted
        if quantity > positions[product.pk].available
    ]
    if short:
        raise ValidationError({"lines": short})

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
            raise ValidationError({"lines": [f"{product.sku}: only {quantity - remaining} available in {source.name}."]})
        detail_lines.append({"sku": product.sku, "quantity": quantity})

    Entitlement.objects.bulk_create(created)
    created_ids = [e.pk for e in created]
    # Emptied rows go, so that a VA emptied of licenses can be deleted; the copies keep the
    # dates and source_ref (their `transferred_from` link is cleared with the row, by the FK).
    Entitlement.objects.filter(pk__in=emptied).delete()
    event_record(
        smart_account=source.smart_account, action="licenses.transferred", actor=actor, virtual_account=source,
        detail={
            "from": source.name, "from_virtual_account": source.pk,
            "to": target.name, "to_virtual_account": target.pk,
            "lines": detail_lines,
        },
    )
    return list(
        Entitlement.objects.filter(pk__in=created_ids).select_related("product", "virtual_account").order_by("pk")
    )


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
