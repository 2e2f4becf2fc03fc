"""Every write of the licensing app: the catalogue, entitlements (deposit, transfer), PAKs,
tokens, devices and their usage, compliance (shortages and their alerts), daily snapshots and
alert preferences. Keyword-only, atomic, `actor=` (None = the system, no checks); permissions
through `accounts.permissions`; an Event for each change that matters; emails through the outbox."""
from __future__ import annotations

import calendar
import datetime
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, F, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Upper
from django.utils import timezone

from accounts import permissions
from accounts.models import Role, SmartAccount, SmartAccountKind, User, VirtualAccount, email_domain
from accounts.permissions import ADMINISTER, OPERATE
from accounts.services import event_record, notification_queue
from accounts.validators import clean_day, refuse_control_characters

from . import selectors
from .models import (
    AlertPreferences,
    ClassicLicense,
    Device,
    DeviceUsage,
    Entitlement,
    EntitlementSource,
    LicenseKind,
    Product,
    RegistrationToken,
    Shortage,
    TokenStatus,
    UsageSnapshot,
)

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
    return refuse_control_characters(text, field=field)


def _clean_term_months(term_months) -> int | None:
    if term_months is None or term_months == "":
        return None
    if isinstance(term_months, bool):
        raise ValidationError({"term_months": "Give a number of months, or leave it empty for a perpetual license."})
    try:
        months = int(term_months)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        raise ValidationError({"term_months": "Give a number of months, or leave it empty for a perpetual license."})
    if months != term_months and str(months) != str(term_months).strip():
        raise ValidationError({"term_months": "Give a whole number of months."})
    if not 1 <= months <= MAX_TERM_MONTHS:
        raise ValidationError({"term_months": f"A subscription lasts 1 to {MAX_TERM_MONTHS} months."})
    return months


def product_validate(
    *,
    sku: str,
    name: str,
    family: str,
    license_kind: str,
    term_months: int | None = None,
    instance: Product | None = None,
) -> dict:
    """The catalogue's rules, shared by `product_create`, `product_update` and the admin form:
    the cleaned `sku` (stripped, upper-case, unique case-insensitively; `instance` is the
    product being changed, so its own SKU is not a duplicate), `name`, `family` (required),
    `license_kind`, `term_months` (None or 1..120). Raises ValidationError by field."""
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
    duplicates = Product.objects.filter(sku__iexact=cleaned["sku"])
    if instance is not None and instance.pk is not None:
        duplicates = duplicates.exclude(pk=instance.pk)
    if duplicates.exists():
        raise ValidationError({"sku": f"A product with SKU {cleaned['sku']} already exists."})
    return cleaned


def _product_save(product: Product, sku: str) -> Product:
    product.full_clean(validate_unique=False)
    try:
        with transaction.atomic():  # a concurrent create of the same SKU loses here, cleanly
            product.save()
    except IntegrityError:
        raise ValidationError({"sku": f"A product with SKU {sku} already exists."})
    return product


def _require_catalogue_manager(actor: User | None) -> None:
    if actor is not None and not permissions.can_manage_catalogue(actor):
        raise PermissionDenied("Only staff can manage the product catalogue.")


@transaction.atomic
def product_create(
    *,
    sku: str,
    name: str,
    family: str,
    license_kind: str,
    term_months: int | None = None,
    sa_required: bool = False,
    is_active: bool = True,
    smart_equivalent: Product | None = None,
    actor: User | None,
) -> Product:
    """Add a product to the catalogue (staff only). The catalogue is not per account, so no
    Event is recorded (the event log is per Smart Account)."""
    _require_catalogue_manager(actor)
    cleaned = product_validate(sku=sku, name=name, family=family, license_kind=license_kind, term_months=term_months)
    product = Product(
        **cleaned, sa_required=bool(sa_required), is_active=bool(is_active), smart_equivalent=smart_equivalent
    )
    return _product_save(product, cleaned["sku"])


PRODUCT_UPDATABLE = ("sku", "name", "family", "license_kind", "term_months", "sa_required", "is_active", "smart_equivalent")


@transaction.atomic
def product_update(*, product: Product, actor: User | None, **fields) -> Product:
    """Change a catalogue product (staff only), with the same rules as `product_create`:
    fields not given keep their current values. No Event (the catalogue is not per account)."""
    _require_catalogue_manager(actor)
    unknown = set(fields) - set(PRODUCT_UPDATABLE)
    if unknown:
        raise TypeError(f"product_update does not change {', '.join(sorted(unknown))}")
    current = Product.objects.select_for_update().get(pk=product.pk)
    validated = {key: fields.get(key, getattr(current, key)) for key in ("sku", "name", "family", "license_kind", "term_months")}
    cleaned = product_validate(**validated, instance=current)
    for key, value in cleaned.items():
        setattr(current, key, value)
    for key in ("sa_required", "is_active"):
        if key in fields:
            setattr(current, key, bool(fields[key]))
    if "smart_equivalent" in fields:
        current.smart_equivalent = fields["smart_equivalent"]
    return _product_save(current, cleaned["sku"])


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
    quantity = _clean_quantity(quantity)
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
        smart_account=virtual_account.smart_account, action="licenses.deposited", actor=actor,
        virtual_account=virtual_account, obj=entitlement,
        detail={"sku": product.sku, "quantity": entitlement.quantity, "source": source, "source_ref": source_ref,
                "ends_on": ends_on.isoformat() if ends_on else None},
    )
    compliance_update(virtual_account=virtual_account, products=[product], actor=actor,
                      cause=f"licenses deposited ({source_ref or source})")
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
    registrations, events, entitlements). Both kinds are taken by one statement (one round trip).
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("pool_lock() holds its locks until commit; call it in a transaction.")
    return {va.pk: va for va in _pool_lock_query(virtual_accounts).select_related("smart_account")}


def _pool_lock_query(virtual_accounts: Iterable[VirtualAccount | int]):
    """The statement of pool_lock: the VA rows, NO KEY UPDATE-locked by ascending id, their
    Smart Account rows KEY SHARE-locked before them (PostgreSQL)."""
    ids = sorted({va if isinstance(va, int) else va.pk for va in virtual_accounts})
    rows = VirtualAccount.objects.select_for_update(no_key=True, of=("self",)).filter(pk__in=ids).order_by("pk")
    if transaction.get_connection().vendor == "postgresql":
        rows = rows.filter(_accounts_key_shared(ids))
    return rows


def _accounts_key_shared(virtual_account_ids: list[int]) -> RawSQL:
    """A condition that KEY SHARE-locks the Smart Account rows of these VAs, by ascending id,
    and is always true (see pool_lock). It is an uncorrelated subquery, so PostgreSQL runs it
    once, before the first VA row reaches the row-locking step: the account rows are locked
    before the VA rows, in the same statement (one round trip for the whole lock). SQLite has
    no row locks (a writing transaction holds the whole database): nothing to take there."""
    sa, va = SmartAccount._meta.db_table, VirtualAccount._meta.db_table
    return RawSQL(
        f"(SELECT count(*) FROM (SELECT {sa}.id FROM {sa} WHERE {sa}.id IN"
        f" (SELECT smart_account_id FROM {va} WHERE id = ANY(%s)) ORDER BY {sa}.id FOR KEY SHARE OF {sa}) AS locked) >= 0",
        (virtual_account_ids,),
        output_field=BooleanField(),
    )


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
    # Only what could be a SKU is looked up (a NUL in a query is a DataError on PostgreSQL).
    skus = {ref for ref, _ in raw if isinstance(ref, str) and SKU_PATTERN.match(ref)}
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
                raise permissions.refusal(actor, f"You may not move licenses in or out of {va.name}.")
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
    # Never more than available leaves the source: only the target can cross (out of shortage).
    compliance_update(virtual_account=target, products=[product for product, _ in wanted], actor=actor,
                      cause=f"licenses transferred from {source.name}")
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


# --- compliance: shortages and their alerts (flow 11) ---------------------------------------


def _admin_emails(smart_account: SmartAccount) -> list[str]:
    return list(
        User.objects.filter(
            smartaccountrole__content_object=smart_account, smartaccountrole__permission__codename=Role.SA_ADMIN,
            is_active=True,
        ).values_list("email", flat=True)
    )


def alert_recipients(smart_account: SmartAccount, alert: str) -> list[str]:
    """Who gets an alert of this kind (a boolean field of AlertPreferences): the account's SA
    admins and its extra recipients, unless the account turned the alert off."""
    preferences = selectors.alert_preferences(smart_account)
    if not getattr(preferences, alert):
        return []
    return sorted(set(_admin_emails(smart_account)) | set(preferences.extra_recipients or []))


def _account_url(smart_account: SmartAccount) -> str:
    return f"{settings.SITE_URL}/sa/{smart_account.pk}/"


def compliance_update(
    *,
    virtual_account: VirtualAccount,
    products: Iterable[Product] | None = None,
    standing: dict[int, selectors.PoolStanding] | None = None,
    actor: User | None = None,
    cause: str = "",
) -> list[Shortage]:
    """Bring the record of shortages of these products in this VA in line with its pool: open a
    Shortage for each product now short without an open one, clear the open one of each product
    back in compliance, and announce each crossing (an Event, and the `insufficient_licenses`
    or `licenses_sufficient` email owed to the account's admins). `standing`: the pool's
    position with its open shortages (`selectors.pool_standing`), read by the caller under the
    lock; else read here for `products` (one query). Nothing is written when nothing crosses.

    Call it holding the VA's pool lock (`pool_lock`), after the change: the open-shortage record
    is then compared with the pool by one writer at a time, so a crossing is announced once
    however many writers race (and the database refuses a second open shortage anyway).
    Returns the shortages opened or cleared."""
    va = virtual_account
    if standing is None:
        standing = selectors.pool_standing(va, products or [])
    now = timezone.now()
    changed: list[Shortage] = []
    for line, open_id in (position for position in standing.values() if position.crossed):
        if open_id is None:
            shortage = Shortage.objects.create(virtual_account=va, product=line.product, started_at=now, quantity=line.shortage)
            _announce(shortage, line, started=True, actor=actor, cause=cause)
            changed.append(shortage)
        else:
            shortage = Shortage.objects.get(pk=open_id)
            shortage.virtual_account, shortage.product = va, line.product  # the rows in hand: no lazy loads
            shortage.cleared_at = now
            shortage.save(update_fields=["cleared_at"])
            _announce(shortage, line, started=False, actor=actor, cause=cause)
            changed.append(shortage)
    return changed


def _announce(shortage: Shortage, line: selectors.LicenseLine, *, started: bool, actor: User | None, cause: str) -> None:
    va = shortage.virtual_account
    sa = va.smart_account
    detail = {
        "sku": line.product.sku, "product": line.product.name, "virtual_account_name": va.name,
        "purchased": line.purchased, "in_use": line.in_use, "shortage": line.shortage, "cause": cause,
    }
    action = "compliance.shortage_started" if started else "compliance.shortage_cleared"
    event_record(smart_account=sa, action=action, actor=actor, virtual_account=va, obj=shortage, detail=detail)
    recipients = alert_recipients(sa, "insufficient_licenses")
    if recipients:
        notification_queue(
            kind="insufficient_licenses" if started else "licenses_sufficient",
            about=shortage,
            recipients=recipients,
            template="insufficient_licenses" if started else "licenses_sufficient",
            context={"smart_account": sa, "virtual_account": va, "product": line.product, "line": line,
                     "shortage": shortage, "cause": cause, "account_url": _account_url(sa)},
        )


def compliance_reconcile(*, virtual_accounts: Iterable[VirtualAccount | int] | None = None) -> int:
    """Find pools whose shortage record disagrees with what they hold and use now, and settle
    each under its lock (announcing the crossing). Pools change with time alone: a subscription
    that ends (or starts) moves a pool into (or out of) shortage with nobody writing; the daily
    task runs this after midnight. Each pool is settled in its own transaction (a run over every
    account never holds many locks at once). Returns how many shortages were opened or cleared."""
    scope = VirtualAccount.objects.filter(smart_account__kind=SmartAccountKind.CUSTOMER)
    if virtual_accounts is not None:
        scope = scope.filter(pk__in=[va if isinstance(va, int) else va.pk for va in virtual_accounts])
    purchased, in_use = selectors.pool_totals(scope, on=None, products=None)
    short_now = {key for key in set(purchased) | set(in_use) if in_use[key] > purchased[key]}
    recorded = set(
        Shortage.objects.filter(virtual_account__in=scope.values("pk"), cleared_at__isnull=True).values_list(
            "virtual_account_id", "product_id"
        )
    )
    suspects: dict[int, set[int]] = defaultdict(set)
    for va_id, product_id in short_now ^ recorded:
        suspects[va_id].add(product_id)
    changed = 0
    for va_id in sorted(suspects):
        with transaction.atomic():
            va = pool_lock([va_id]).get(va_id)
            if va is None:
                continue
            products = Product.objects.filter(pk__in=suspects[va_id])
            changed += len(compliance_update(virtual_account=va, products=products, cause="subscription term"))
    return changed


# --- registration tokens (flow 10) --------------------------------------------------------

TOKEN_PREFIX = "slrt_"
DEVICE_SECRET_PREFIX = "sld_"
TOKEN_DEFAULT_DAYS = 30
TOKEN_MAX_DAYS = 365
MAX_COUNT = 1_000_000
MAX_REPORT_ITEMS = 1000


def _require(actor: User | None, capability, obj, message: str) -> None:
    if actor is not None:
        permissions.require(actor, capability, obj, message)


def _whole_number(value, *, field: str, label: str, low: int, high: int) -> int:
    number = _clean_quantity(value)
    if number is None or not low <= number <= high:
        raise ValidationError({field: f"{label} is a whole number from {low} to {high}."})
    return number


def _check_pool_account(va: VirtualAccount, *, field: str, doing: str) -> None:
    sa = va.smart_account
    if sa.is_holding:
        raise ValidationError({field: f"Licenses in a holding account cannot be consumed: devices cannot {doing} there."})
    if not sa.is_active:
        raise ValidationError({field: f"{sa.name} is {sa.get_status_display().lower()}; devices cannot {doing} there."})


@transaction.atomic
def token_create(
    *,
    virtual_account: VirtualAccount,
    description: str = "",
    expires_in_days: int = TOKEN_DEFAULT_DAYS,
    max_uses: int | None = None,
    actor: User | None,
) -> tuple[RegistrationToken, str]:
    """A registration token for devices of this Virtual Account. Returns the token and its raw
    secret, which is shown once: only its hash is kept."""
    va = virtual_account
    _require(actor, OPERATE, va, f"You may not create registration tokens in {va.name}.")
    _check_pool_account(va, field="virtual_account", doing="register")
    errors: dict[str, list[str]] = {}
    description = " ".join(str(description or "").split())
    if len(description) > 200:
        errors["description"] = ["A description has at most 200 characters."]
    else:
        try:
            refuse_control_characters(description, field="description")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    days = expires_in_days
    try:
        days = _whole_number(
            TOKEN_DEFAULT_DAYS if expires_in_days in (None, "") else expires_in_days,
            field="expires_in_days", label="The expiry in days", low=1, high=TOKEN_MAX_DAYS,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    uses = None
    if max_uses not in (None, ""):
        try:
            uses = _whole_number(max_uses, field="max_uses", label="The maximum number of uses", low=1, high=MAX_COUNT)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = RegistrationToken.objects.create(
        virtual_account=va, description=description, prefix=raw[:12], token_hash=RegistrationToken.hash(raw),
        created_by=actor if actor is not None and actor.pk else None,
        expires_at=timezone.now() + datetime.timedelta(days=days), max_uses=uses,
    )
    event_record(
        smart_account=va.smart_account, action="token.created", actor=actor, virtual_account=va, obj=token,
        detail={"prefix": token.prefix, "description": description, "expires_at": token.expires_at.isoformat(),
                "max_uses": uses},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: RegistrationToken, actor: User | None) -> RegistrationToken:
    """Revoke a token: no device registers with it any more (registered devices stay)."""
    _require(actor, OPERATE, token.virtual_account, "You may not revoke registration tokens here.")
    now = timezone.now()
    if not RegistrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        raise ValidationError({"token": "This token was revoked already."})
    token.revoked_at = now
    event_record(
        smart_account=token.virtual_account.smart_account, action="token.revoked", actor=actor,
        virtual_account=token.virtual_account, obj=token, detail={"prefix": token.prefix, "use_count": token.use_count},
    )
    return token


def _token_refusal(token: RegistrationToken, now: datetime.datetime) -> ValidationError:
    status = token.status_at(now)
    message = {
        TokenStatus.REVOKED: "This registration token was revoked.",
        TokenStatus.EXPIRED: "This registration token has expired.",
        TokenStatus.USED_UP: "This registration token has been used as many times as it allows.",
    }.get(status, "This registration token cannot be used.")
    return ValidationError({"token": message})


# --- devices (flow 10) -------------------------------------------------------------------------


def _clean_optional(value, *, field: str, label: str, max_length: int) -> str:
    text = str(value or "").strip()
    if len(text) > max_length:
        raise ValidationError({field: f"{label} has at most {max_length} characters."})
    return refuse_control_characters(text, field=field)


@transaction.atomic
def device_register(
    *, token: str = "", serial_number: str, product_id: str = "", hostname: str = "", device_secret: str = ""
) -> tuple[Device, str, bool]:
    """A device registers into the token's Virtual Account. Returns (device, raw secret,
    created). The device authenticates its usage reports with the secret; only its hash is kept.

    The token must be active (not expired, revoked or used up); holding accounts (and accounts
    not active) take no devices. Every registration uses the token once, a re-registration too:
    registering a serial number already registered in the token's VA (a device that lost its
    secret, e.g. after a reset) returns the same device with its secret rotated (the old one stops
    working) and its hostname and product id updated, and records `device.reregistered`. A token
    that could not register a new device re-registers nothing: else any old token of the account
    could take a device over (lock the real one out, and zero its usage with the new secret).

    A device that still holds its current secret re-registers with it instead of a token: send
    `device_secret` (and its serial number) and no `token`. No token use is counted; the secret is
    rotated and the event recorded all the same. One of `token` and `device_secret` is required.

    Concurrency: a token use is claimed by a conditional UPDATE (`use_count < max_uses`), so
    concurrent registrations and re-registrations never exceed `max_uses`. Re-registrations of one
    device queue on its row lock (a device's secret works once: the next one finds it rotated).
    Of two first registrations of one serial at once, one creates the device; the other meets the
    unique constraint (IntegrityError) and becomes a re-registration, which claims its own use.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for name, clean in (
        ("serial_number", lambda: _clean_text(serial_number, field="serial_number", label="A serial number", max_length=100)),
        ("product_id", lambda: _clean_optional(product_id, field="product_id", label="A product id", max_length=100)),
        ("hostname", lambda: _clean_optional(hostname, field="hostname", label="A hostname", max_length=253)),
    ):
        try:
            cleaned[name] = clean()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    raw_token = str(token or "").strip()
    raw_secret = str(device_secret or "").strip()
    row = None
    if raw_token and raw_secret:
        errors["device_secret"] = ["Send a registration token or the device's current secret, not both."]
    elif not raw_token and not raw_secret:
        errors["token"] = ["A registration token is required (or, to register again, the device's current secret)."]
    elif raw_token:
        row = (
            RegistrationToken.objects.select_related("virtual_account__smart_account")
            .filter(token_hash=RegistrationToken.hash(raw_token))
            .first()
        )
        if row is None:
            errors["token"] = ["Unknown registration token."]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    serial = cleaned["serial_number"]
    secret = DEVICE_SECRET_PREFIX + secrets.token_urlsafe(32)

    if row is None:
        device = (
            Device.objects.select_for_update().select_related("virtual_account__smart_account")
            .filter(secret_hash=Device.hash(raw_secret), serial_number=serial).first()
        )
        if device is None:  # unknown, rotated already, or another device's: no hint which
            raise ValidationError({"device_secret": "This is not the current secret of a device with this serial number."})
        _check_pool_account(device.virtual_account, field="device_secret", doing="register")
        return _device_reregister(device, secret=secret, cleaned=cleaned, token=None, now=now), secret, False

    if row.status_at(now) in (TokenStatus.REVOKED, TokenStatus.EXPIRED):
        raise _token_refusal(row, now)
    va = row.virtual_account
    _check_pool_account(va, field="token", doing="register")

    device = Device.objects.select_for_update().filter(virtual_account=va, serial_number=serial).first()
    if device is None:
        try:
            with transaction.atomic():
                _token_use_claim(row, now)
                device = Device.objects.create(
                    virtual_account=va, serial_number=serial, product_id=cleaned["product_id"],
                    hostname=cleaned["hostname"], secret_hash=Device.hash(secret), registered_with=row,
                    last_contact_at=now,
                )
        except IntegrityError:
            # The same serial registered at the same moment: theirs won (and this savepoint's
            # claim is undone); this is a re-registration, which claims a use of its own below.
            device = Device.objects.select_for_update().get(virtual_account=va, serial_number=serial)
        else:
            event_record(
                smart_account=va.smart_account, action="device.registered", virtual_account=va, obj=device,
                detail={"serial_number": serial, "hostname": device.hostname, "product_id": device.product_id,
                        "token": row.prefix},
            )
            return device, secret, True

    _token_use_claim(row, now)
    return _device_reregister(device, secret=secret, cleaned=cleaned, token=row, now=now), secret, False


def _token_use_claim(token: RegistrationToken, now: datetime.datetime) -> None:
    """Count one use of the token, or refuse it (revoked, expired or used up meanwhile): one
    conditional UPDATE, so that concurrent claims never exceed `max_uses`."""
    claimed = (
        RegistrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True, expires_at__gt=now)
        .filter(Q(max_uses__isnull=True) | Q(use_count__lt=F("max_uses")))
        .update(use_count=F("use_count") + 1)
    )
    if not claimed:
        token.refresh_from_db()
        raise _token_refusal(token, now)


def _device_reregister(
    device: Device, *, secret: str, cleaned: dict[str, str], token: RegistrationToken | None, now: datetime.datetime
) -> Device:
    """Rotate a (locked) device's secret and take its new identifiers; the event tells its admins
    (`token`: the token used, None when the device sent its current secret)."""
    device.secret_hash = Device.hash(secret)
    device.hostname = cleaned["hostname"] or device.hostname
    device.product_id = cleaned["product_id"] or device.product_id
    device.last_contact_at = now
    device.save(update_fields=["secret_hash", "hostname", "product_id", "last_contact_at"])
    va = device.virtual_account
    event_record(
        smart_account=va.smart_account, action="device.reregistered", virtual_account=va, obj=device,
        detail={"serial_number": device.serial_number, "hostname": device.hostname, "product_id": device.product_id,
                "token": token.prefix if token is not None else None},
    )
    return device


def device_authenticate(*, device_id, secret: str) -> Device | None:
    """The device with this id whose secret this is, else None (no hint which one was wrong)."""
    if not secret:
        return None
    try:
        return Device.objects.filter(pk=int(device_id), secret_hash=Device.hash(secret)).first()
    except (TypeError, ValueError):
        return None


UsageItem = dict[str, Any]


def _usage_report(usage) -> dict[int, tuple[Product, int]]:
    """{product id: (product, count)} in the report's order, or a ValidationError keyed `usage`
    naming every problem (unknown SKUs by name)."""
    if not isinstance(usage, (list, tuple)):
        raise ValidationError({"usage": "Send a list of {sku, count}: the device's current usage per product."})
    if len(usage) > MAX_REPORT_ITEMS:
        raise ValidationError({"usage": f"A report names at most {MAX_REPORT_ITEMS} products."})
    errors: list[str] = []
    items: list[tuple[str, int]] = []
    for number, item in enumerate(usage, start=1):
        if not isinstance(item, dict):
            errors.append(f"Item {number}: give a sku and a count.")
            continue
        sku, count = normalise_sku(item.get("sku")), item.get("count")
        if not sku:
            errors.append(f"Item {number}: a SKU is required.")
            continue
        if not SKU_PATTERN.match(sku):  # not looked up (a NUL in a query is a DataError on PostgreSQL)
            errors.append(f"Item {number}: no product has the SKU {sku}.")
            continue
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            errors.append(f"Item {number}: the count of {sku} must be a whole number from 0 to {MAX_COUNT}.")
            continue
        items.append((sku, count))
    skus = [sku for sku, _ in items]
    twice = sorted(sku for sku, n in Counter(skus).items() if n > 1)
    if twice:
        errors.append(f"Each SKU is reported once, with its total count; named more than once: {', '.join(twice)}.")
    found = Product.objects.annotate(usku=Upper("sku")).filter(usku__in=set(skus)).order_by() if skus else []
    by_sku = {p.usku: p for p in found}
    unknown = sorted(set(skus) - set(by_sku))
    if unknown:
        errors.append(f"Unknown SKU{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.")
    classic = sorted(sku for sku, p in by_sku.items() if p.license_kind != LicenseKind.SMART)
    if classic:
        errors.append(f"Classic (PAK) products are not consumed from a pool: {', '.join(classic)}.")
    if errors:
        raise ValidationError({"usage": errors})
    return {by_sku[sku].pk: (by_sku[sku], count) for sku, count in items}


@transaction.atomic
def device_report_usage(*, device: Device, usage: Sequence[UsageItem]) -> list[tuple[str, str]]:
    """A device reports its current usage: [{sku, count}], absolute counts that replace its last
    report (a product left out drops to 0). Usage above the pool is accepted: it shows as a
    shortage, announced when a product crosses into or out of it. Returns (sku, status) per
    reported product, status `in_compliance` or `shortage` of the device's VA pool.

    Concurrency: the device's row is locked first (its reports apply one at a time, the latest
    wins) and its usage rows written; only then, if counts changed, is its VA's pool locked (see
    pool_lock), for one read of the pool and the shortage record and, when a product crosses,
    their update. Reports into one pool thus queue for that read and the commit only, not for
    their writes, and crossings are still seen exactly once: the pool's totals change only by
    commits made under its lock, and the lock holder reads them with a fresh snapshot (READ
    COMMITTED) that holds every earlier holder's commit and its own write, so each holder
    reconciles the record with the pool exactly as its commit leaves it. A report that changes
    nothing (the same report again) takes no pool lock. Waiting for the pool while holding the
    device's rows cannot deadlock: whoever locks a device and a pool (moves, removals) locks the
    device first, and no pool holder waits for a device it has not locked.
    """
    report = _usage_report(usage)
    now = timezone.now()
    written = _device_usage_write(device.pk, {pid: count for pid, (_, count) in report.items()}, now)
    if written is None:
        raise ValidationError({"device": "This device is no longer registered."})
    va_id, serial, changed = written
    products = {pid: product for pid, (product, _) in report.items()}
    if changed:
        dropped = [pid for pid in changed if pid not in products]
        if dropped:
            products.update(Product.objects.in_bulk(dropped))
        standing = _pool_lock_and_read(va_id, [products[pid] for pid in sorted(products)])
        if any(position.crossed for position in standing.values()):
            va = VirtualAccount.objects.select_related("smart_account").get(pk=va_id)  # locked already
            compliance_update(virtual_account=va, standing=standing, cause=f"usage reported by {serial}")
    else:
        standing = selectors.pool_standing(va_id, [p for p, _ in report.values()])
    return [(product.sku, standing[pid].line.status) for pid, (product, _) in report.items()]


def _device_usage_write(device_id: int, counts: dict[int, int], now: datetime.datetime) -> tuple[int, str, list[int]] | None:
    """Lock the device's row and make its usage rows exactly `counts` (product id → count; 0 or
    left out: no row), writing only what differs (an unchanged row keeps its `updated_at`).
    Returns the device's VA id and serial number as they are now (it may have moved since it was
    authenticated) and the ids of the products whose count changed; None if the device is gone.

    The row lock comes with recording the contact (an UPDATE that leaves the key alone takes the
    NO KEY UPDATE lock), so the device's reports apply one at a time; the usage statements run
    after it (`_run_in_turn`), so they see the rows of the report before. One round trip on
    PostgreSQL, where the delete and the upsert are data-modifying CTEs of one statement."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    table = quote(DeviceUsage._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    contact = (
        f"UPDATE {quote(Device._meta.db_table)} SET last_contact_at = %s WHERE id = %s"
        " RETURNING virtual_account_id, serial_number",
        [at, device_id],
    )
    wanted = sorted((pid, count) for pid, count in counts.items() if count > 0)
    kept = [pid for pid, _ in wanted]
    delete = (
        f"DELETE FROM {table} WHERE device_id = %s"
        + (f" AND product_id NOT IN ({', '.join(['%s'] * len(kept))})" if kept else "")
        + " RETURNING product_id, count",
        [device_id, *kept],
    )
    upsert = (
        f"INSERT INTO {table} (device_id, product_id, count, updated_at) VALUES {', '.join(['(%s, %s, %s, %s)'] * len(wanted))}"
        " ON CONFLICT (device_id, product_id) DO UPDATE SET count = excluded.count, updated_at = excluded.updated_at"
        f" WHERE {table}.count <> excluded.count RETURNING product_id, count",
        [value for pid, count in wanted for value in (device_id, pid, count, at)],
    )
    if not wanted:
        usage = [delete]
    elif connection.vendor == "postgresql":
        usage = [(f"WITH gone AS ({delete[0]}), put AS ({upsert[0]}) SELECT * FROM gone UNION ALL SELECT * FROM put",
                  delete[1] + upsert[1])]
    else:
        usage = [delete, upsert]
    located, *written = _run_in_turn([contact, *usage])
    if not located:
        return None
    # A row deleted with a count of 0 changed nothing; every row upserted changed (count > 0).
    return located[0][0], located[0][1], [pid for rows in written for pid, count in rows if count > 0]


def _pool_lock_and_read(va_id: int, products: list[Product]) -> dict[int, selectors.PoolStanding]:
    """Lock the VA's pool (as pool_lock), then read its standing for these products: the read
    runs once the lock is granted, so it sees the commits of every earlier holder. One round
    trip on PostgreSQL, so that the pool stays locked for one reply and the commit."""
    lock = _pool_lock_query([va_id]).values_list("pk").query.sql_with_params()
    _, rows = _run_in_turn([lock, selectors.pool_standing_sql(va_id, products)])
    return selectors.pool_standing_of(products, rows)


def _run_in_turn(statements: list[tuple[str, Sequence]]) -> list[list[tuple]]:
    """Run these statements (each returning rows) one after the other; return each one's rows.

    On PostgreSQL they are sent together, in one round trip (Django's psycopg cursor binds the
    parameters client-side, which allows several statements in one execute). Each still runs as
    a statement of its own with a snapshot of its own, taken when it starts (READ COMMITTED): a
    statement after one that waited for a row lock sees what the lock holder committed."""
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            results = []
            for sql, params in statements:
                cursor.execute(sql, params)
                results.append(cursor.fetchall())
            return results
        cursor.execute("; ".join(sql for sql, _ in statements), [p for _, params in statements for p in params])
        results = [cursor.fetchall()]
        while cursor.nextset():
            results.append(cursor.fetchall())
        return results


def _device_usage(device: Device) -> dict[int, int]:
    return dict(DeviceUsage.objects.filter(device=device, count__gt=0).values_list("product_id", "count"))


def _lock_device(device: Device) -> Device:
    locked = Device.objects.select_for_update(of=("self",)).select_related("virtual_account__smart_account").filter(
        pk=device.pk
    ).first()
    if locked is None:
        raise ValidationError({"device": "This device is no longer registered."})
    return locked


@transaction.atomic
def device_move(*, device: Device, virtual_account: VirtualAccount, actor: User | None) -> Device:
    """Move a device to another Virtual Account of the same Smart Account: its usage moves from
    one pool to the other (either may cross into or out of shortage)."""
    locked = _lock_device(device)
    if locked.virtual_account_id == virtual_account.pk:
        raise ValidationError({"virtual_account": f"The device is in {virtual_account.name} already."})
    pools = pool_lock([locked.virtual_account_id, virtual_account.pk])
    source, target = pools[locked.virtual_account_id], pools.get(virtual_account.pk)
    if target is None:
        raise ValidationError({"virtual_account": "That Virtual Account no longer exists."})
    _require(actor, OPERATE, source, f"You may not move devices out of {source.name}.")
    _require(actor, OPERATE, target, f"You may not move devices into {target.name}.")
    if target.smart_account_id != source.smart_account_id:
        raise ValidationError({"virtual_account": "Devices move only between Virtual Accounts of one Smart Account."})
    if target.smart_account.is_holding:
        raise ValidationError({"virtual_account": "Licenses in a holding account cannot be consumed: devices cannot move there."})
    if Device.objects.filter(virtual_account=target, serial_number=locked.serial_number).exists():
        raise ValidationError({"virtual_account": f"{target.name} already has a device with serial number {locked.serial_number}."})
    usage = _device_usage(locked)
    locked.virtual_account = target
    locked.save(update_fields=["virtual_account"])
    if usage:
        products = list(Product.objects.filter(pk__in=list(usage)))
        cause = f"device {locked.serial_number} moved from {source.name} to {target.name}"
        compliance_update(virtual_account=source, products=products, actor=actor, cause=cause)
        compliance_update(virtual_account=target, products=products, actor=actor, cause=cause)
    event_record(
        smart_account=source.smart_account, action="device.moved", actor=actor, virtual_account=target, obj=locked,
        detail={"serial_number": locked.serial_number, "from": source.name, "from_virtual_account": source.pk,
                "to": target.name, "to_virtual_account": target.pk},
    )
    return locked


@transaction.atomic
def device_remove(*, device: Device, actor: User | None) -> None:
    """Remove a device: its usage is freed from its pool (which may leave shortage)."""
    locked = _lock_device(device)
    _require(actor, OPERATE, locked.virtual_account, f"You may not remove devices from {locked.virtual_account.name}.")
    va = pool_lock([locked.virtual_account_id])[locked.virtual_account_id]
    usage = _device_usage(locked)
    products = list(Product.objects.filter(pk__in=list(usage))) if usage else []
    detail = {"serial_number": locked.serial_number, "hostname": locked.hostname, "product_id": locked.product_id,
              "usage": [{"sku": p.sku, "count": usage[p.pk]} for p in products]}
    event_record(smart_account=va.smart_account, action="device.removed", actor=actor, virtual_account=va, obj=locked,
                 detail=detail)
    serial = locked.serial_number
    locked.delete()
    if products:
        compliance_update(virtual_account=va, products=products, actor=actor, cause=f"device {serial} removed")


# --- classic licenses (PAKs) -----------------------------------------------------------------

LICENSE_KEY_SALT = "licensing.classic_license"


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


@transaction.atomic
def classic_license_register(*, pak: ClassicLicense, serial_number: str, actor: User | None) -> str:
    """Register a PAK to one device serial: the node-locked license key, signed by the portal
    (`classic_license_verify` checks it). A PAK registers once."""
    _require(actor, OPERATE, pak, "You may not register this account's PAKs.")
    serial = _clean_text(serial_number, field="serial_number", label="A serial number", max_length=100)
    locked = _lock_pak(pak)
    now = timezone.now()
    key = signing.dumps(
        {"pak": locked.pak, "sku": locked.product.sku, "quantity": locked.quantity, "serial_number": serial,
         "account": locked.smart_account_id, "issued": now.date().isoformat()},
        salt=LICENSE_KEY_SALT, compress=True,
    )
    locked.device_serial, locked.license_key, locked.registered_at = serial, key, now
    locked.save(update_fields=["device_serial", "license_key", "registered_at"])
    event_record(
        smart_account=locked.smart_account, action="pak.registered", actor=actor, obj=locked,
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
    _require(actor, OPERATE, pak, "You may not convert this account's PAKs.")
    _require(actor, OPERATE, virtual_account, f"You may not deposit licenses into {virtual_account.name}.")
    locked = _lock_pak(pak)
    if virtual_account.smart_account_id != locked.smart_account_id:
        raise ValidationError({"virtual_account": "A PAK converts into a Virtual Account of its own Smart Account."})
    smart = locked.product.smart_equivalent
    if smart is None:
        raise ValidationError({"pak": f"{locked.product.sku} has no smart equivalent; its PAKs can only be registered."})
    starts_on = ends_on = None
    if smart.term_months:
        starts_on = timezone.localdate()
        ends_on = _add_months(starts_on, smart.term_months)
    entitlement = entitlement_deposit(
        virtual_account=virtual_account, product=smart, quantity=locked.quantity, source=EntitlementSource.CONVERSION,
        source_ref=f"PAK {locked.pak}", starts_on=starts_on, ends_on=ends_on, actor=actor,
    )
    locked.converted_at, locked.converted_to = timezone.now(), virtual_account
    locked.save(update_fields=["converted_at", "converted_to"])
    event_record(
        smart_account=locked.smart_account, action="pak.converted", actor=actor, virtual_account=virtual_account,
        obj=locked, detail={"pak": locked.pak, "sku": locked.product.sku, "to_sku": smart.sku,
                            "quantity": locked.quantity, "to": virtual_account.name},
    )
    return entitlement


def _add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` plus whole months; the 31st becomes the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


# --- daily usage snapshots ------------------------------------------------------------------


@transaction.atomic
def usage_snapshot_take(*, day: datetime.date | None = None) -> int:
    """Record, for `day` (today), each customer Virtual Account's purchased and in-use count per
    product: one row per VA × product, replaced when taken again the same day (idempotent).
    In use is what devices report now, so a snapshot is taken on its day. Returns the rows written."""
    day = day or timezone.localdate()
    scope = VirtualAccount.objects.filter(smart_account__kind=SmartAccountKind.CUSTOMER)
    purchased, in_use = selectors.pool_totals(scope, on=day, products=None)
    keys = set(purchased) | set(in_use)
    # A pool emptied since an earlier run today goes to 0/0 rather than keeping the stale row.
    keys |= set(UsageSnapshot.objects.filter(day=day).values_list("virtual_account_id", "product_id"))
    rows = [
        UsageSnapshot(virtual_account_id=va_id, product_id=product_id, day=day, purchased=purchased[(va_id, product_id)],
                      in_use=in_use[(va_id, product_id)])
        for va_id, product_id in sorted(keys)
    ]
    UsageSnapshot.objects.bulk_create(
        rows, batch_size=2000, update_conflicts=True, unique_fields=["virtual_account", "product", "day"],
        update_fields=["purchased", "in_use"],
    )
    return len(rows)


# --- alert preferences ------------------------------------------------------------------------

ALERT_FLAGS = ("insufficient_licenses", "silent_devices", "expiring_subscriptions", "holding_lines_waiting", "daily_summary")


@transaction.atomic
def alert_preferences_update(*, smart_account: SmartAccount, actor: User | None, **changes) -> AlertPreferences:
    """Change which alerts an account's admins get (SA admins): the flags of ALERT_FLAGS,
    `expiry_windows` (1 to 5 distinct days before a subscription ends, 1–365) and
    `extra_recipients` (at most 20 addresses within the account's domain)."""
    if actor is not None and not permissions.can(actor, ADMINISTER, smart_account):
        raise permissions.refusal(actor, "Only the account's admins change its alerts.")
    unknown = set(changes) - set(ALERT_FLAGS) - {"expiry_windows", "extra_recipients"}
    if unknown:
        raise ValidationError({name: "Unknown setting." for name in sorted(unknown)})
    preferences = AlertPreferences.objects.select_for_update().filter(smart_account=smart_account).first() or AlertPreferences(
        smart_account=smart_account
    )
    errors: dict[str, list[str]] = {}
    for flag in ALERT_FLAGS:
        if flag in changes:
            if not isinstance(changes[flag], bool):
                errors[flag] = ["Choose true or false."]
            else:
                setattr(preferences, flag, changes[flag])
    if "expiry_windows" in changes:
        try:
            preferences.expiry_windows = _clean_windows(changes["expiry_windows"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "extra_recipients" in changes:
        try:
            preferences.extra_recipients = _clean_recipients(changes["extra_recipients"], smart_account)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    preferences.updated_by = actor if actor is not None and actor.pk else None
    preferences.save()
    event_record(
        smart_account=smart_account, action="alerts.updated", actor=actor, obj=preferences,
        detail={**{flag: getattr(preferences, flag) for flag in ALERT_FLAGS}, "expiry_windows": preferences.expiry_windows,
                "extra_recipients": preferences.extra_recipients},
    )
    return preferences


def _clean_windows(value) -> list[int]:
    if isinstance(value, str):
        value = [part for part in value.replace(" ", ",").split(",") if part]
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 5:
        raise ValidationError({"expiry_windows": "Give 1 to 5 numbers of days, e.g. 90, 30, 7."})
    windows = set()
    for item in value:
        number = _clean_quantity(item)
        if number is None or not 1 <= number <= 365:
            raise ValidationError({"expiry_windows": "Each window is a whole number of days from 1 to 365."})
        windows.add(number)
    return sorted(windows, reverse=True)


def _clean_recipients(value, smart_account: SmartAccount) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.replace(";", ",").replace("\n", ",").split(",") if part.strip()]
    if not isinstance(value, (list, tuple)):
        raise ValidationError({"extra_recipients": "Give a list of email addresses."})
    emails = sorted({str(item).strip().lower() for item in value if str(item).strip()})
    if len(emails) > 20:
        raise ValidationError({"extra_recipients": "At most 20 extra recipients."})
    problems = []
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"{email} is not an email address.")
            continue
        if email_domain(email) != smart_account.domain:
            problems.append(f"{email} is not within the account's domain {smart_account.domain}.")
    if problems:
        raise ValidationError({"extra_recipients": problems})
    return emails


# --- daily alerts: devices fallen silent, the daily summary ----------------------------------


def alerts_daily_queue(*, day: datetime.date | None = None) -> int:
    """Owe the day's alert emails (run daily, after midnight; safe to run again: each email is
    owed once per account and day through the outbox):

    - `silent_devices`: to accounts with that alert on, the devices that fell silent (30 days
      without a report) on the day before `day`;
    - `daily_summary`: to accounts that asked for it, their shortages, silent devices and
      subscriptions ending within 30 days, when there is any of these to report.

    Returns the number of emails owed."""
    day = day or timezone.localdate()
    owed = 0
    # Devices whose last contact was 31 days ago: silent since yesterday.
    contact_day = day - Device.SILENT_AFTER - datetime.timedelta(days=1)
    start = timezone.make_aware(datetime.datetime.combine(contact_day, datetime.time.min))
    fallen = (
        Device.objects.filter(
            last_contact_at__gte=start, last_contact_at__lt=start + datetime.timedelta(days=1),
            virtual_account__smart_account__kind=SmartAccountKind.CUSTOMER,
        )
        .select_related("virtual_account__smart_account")
        .order_by("virtual_account__smart_account_id", "serial_number")
    )
    by_account: dict[int, list[Device]] = defaultdict(list)
    for device in fallen:
        by_account[device.virtual_account.smart_account_id].append(device)
    for devices in by_account.values():
        sa = devices[0].virtual_account.smart_account
        with transaction.atomic():
            owed += len(notification_queue(
                kind="silent_devices", about=f"licensing.silent_devices:{sa.pk}:{day.isoformat()}",
                recipients=alert_recipients(sa, "silent_devices"), template="silent_devices",
                context={"smart_account": sa, "devices": devices, "days": Device.SILENT_AFTER.days,
                         "account_url": _account_url(sa)},
            ))

    for preferences in AlertPreferences.objects.filter(
        daily_summary=True, smart_account__kind=SmartAccountKind.CUSTOMER
    ).select_related("smart_account"):
        sa = preferences.smart_account
        scope = VirtualAccount.objects.filter(smart_account=sa)
        shortages = list(selectors.open_shortages(scope))
        silent = selectors.silent_devices(scope).count()
        ending = list(selectors.subscriptions_ending(scope, within_days=30, on=day)[:50])
        if not (shortages or silent or ending):
            continue
        with transaction.atomic():
            owed += len(notification_queue(
                kind="daily_summary", about=f"licensing.daily_summary:{sa.pk}:{day.isoformat()}",
                recipients=alert_recipients(sa, "daily_summary"), template="daily_summary",
                context={"smart_account": sa, "day": day, "shortages": shortages, "silent": silent, "ending": ending,
                         "account_url": _account_url(sa)},
            ))
    return owed
