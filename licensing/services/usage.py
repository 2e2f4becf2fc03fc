"""Usage reports (flow 10): a device's current usage per product, written under its row lock and
reconciled with its Virtual Account's pool (a crossing into or out of shortage is announced)."""
from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone

from accounts.models import VirtualAccount

from .. import selectors
from ..models import Device, DeviceUsage, LicenseKind, Product
from ._checks import MAX_COUNT
from .catalogue import SKU_PATTERN, normalise_sku
from .compliance import compliance_update
from .pools import pool_lock_query

MAX_REPORT_ITEMS = 1000
MAX_SKUS_NAMED = 5  # in an error about SKUs: the first few by name, then the count
UsageItem = dict[str, Any]


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



def _first_few(skus: list[str]) -> str:
    """A report of 1,000 made-up SKUs is refused in one line, not a list of 1,000."""
    more = len(skus) - MAX_SKUS_NAMED
    return ", ".join(skus[:MAX_SKUS_NAMED]) + (f" and {more} more" if more > 0 else "")

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
        errors.append(f"Each SKU is reported once, with its total count; named more than once: {_first_few(twice)}.")
    found = Product.objects.annotate(usku=Upper("sku")).filter(usku__in=set(skus)).order_by() if skus else []
    by_sku = {p.usku: p for p in found}
    unknown = sorted(set(skus) - set(by_sku))
    if unknown:
        errors.append(f"Unknown SKU{'s' if len(unknown) > 1 else ''}: {_first_few(unknown)}.")
    classic = sorted(sku for sku, p in by_sku.items() if p.license_kind != LicenseKind.SMART)
    if classic:
        errors.append(f"Classic (PAK) products are not consumed from a pool: {', '.join(classic)}.")
    if errors:
        raise ValidationError({"usage": errors})
    return {by_sku[sku].pk: (by_sku[sku], count) for sku, count in items}


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
    lock = pool_lock_query([va_id]).values_list("pk").query.sql_with_params()
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
