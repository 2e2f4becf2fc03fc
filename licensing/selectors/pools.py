"""One Virtual Account's own pool: the active entitlements (in the order a pool gives them away),
purchased and in use per product, its positions, and its standing against the open shortages
(what compliance compares). `LicenseLine` is the position every roll-up adds up."""
from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import VirtualAccount

from ..models import Device, DeviceUsage, Entitlement, Product, Shortage


@dataclass
class LicenseLine:
    """One product's position in a pool (a VA, or a roll-up of several VAs)."""

    product: Product
    purchased: int = 0
    in_use: int = 0
    available: int = 0
    shortage: int = 0

    @property
    def sku(self) -> str:
        return self.product.sku

    @property
    def status(self) -> str:
        return "shortage" if self.shortage > 0 else "in_compliance"

    @property
    def usage_percent(self) -> int:
        if self.purchased == 0:
            return 100 if self.in_use else 0
        return min(round(100 * self.in_use / self.purchased), 100)

    def add_pool(self, purchased: int, in_use: int) -> None:
        """Add one VA's own pool: its surplus and its overage stay apart (pools are per VA)."""
        self.purchased += purchased
        self.in_use += in_use
        self.available += max(purchased - in_use, 0)
        self.shortage += max(in_use - purchased, 0)

    def add_line(self, other: LicenseLine) -> None:
        self.purchased += other.purchased
        self.in_use += other.in_use
        self.available += other.available
        self.shortage += other.shortage


def active_entitlements(on: datetime.date | None = None) -> QuerySet[Entitlement]:
    """Entitlements that count toward purchased today: started, and not ended (perpetual ones never end)."""
    on = on or timezone.localdate()
    return Entitlement.objects.filter(
        Q(starts_on__isnull=True) | Q(starts_on__lte=on), Q(ends_on__isnull=True) | Q(ends_on__gte=on), quantity__gt=0
    )


# The order in which a pool gives licenses away (transfers): the soonest to end first, so the
# pool keeps its longest-lasting licenses; perpetual licenses last.
CONSUMPTION_ORDER = (F("ends_on").asc(nulls_last=True), F("starts_on").asc(nulls_first=True), "pk")


def entitlements_for(
    virtual_account: VirtualAccount, product: Product, *, on: datetime.date | None = None
) -> QuerySet[Entitlement]:
    """The active entitlements of one product in one VA's own pool, in consumption order."""
    return active_entitlements(on).filter(virtual_account=virtual_account, product=product).order_by(*CONSUMPTION_ORDER)


def pool_totals(
    virtual_accounts: QuerySet[VirtualAccount], *, on: datetime.date | None, products: Iterable[Product] | None
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
    """Purchased (active entitlements on `on`, today by default) and in use per (VA id, product
    id) over the given VAs, as two defaultdicts of int: two queries."""
    va_ids = virtual_accounts.values("pk")
    entitlements = active_entitlements(on).filter(virtual_account__in=va_ids)
    usage = DeviceUsage.objects.filter(device__virtual_account__in=va_ids, count__gt=0)
    if products is not None:
        product_filter = [p.pk for p in products]
        entitlements = entitlements.filter(product__in=product_filter)
        usage = usage.filter(product__in=product_filter)
    purchased: dict[tuple[int, int], int] = defaultdict(int)
    for row in entitlements.order_by().values("virtual_account", "product").annotate(q=Sum("quantity")):
        purchased[(row["virtual_account"], row["product"])] = row["q"]
    in_use: dict[tuple[int, int], int] = defaultdict(int)
    for row in usage.order_by().values("device__virtual_account", "product").annotate(c=Sum("count")):
        in_use[(row["device__virtual_account"], row["product"])] = row["c"]
    return purchased, in_use


def pool_position(virtual_account: VirtualAccount, product: Product, *, on: datetime.date | None = None) -> LicenseLine:
    """One product in one VA's own pool: available = active purchased − in use by its devices."""
    return pool_positions(virtual_account, [product], on=on)[product.pk]


def pool_positions(
    virtual_account: VirtualAccount, products: Iterable[Product], *, on: datetime.date | None = None
) -> dict[int, LicenseLine]:
    """Several products in one VA's own pool (not its subtree), by product id; two queries."""
    products = list(products)
    purchased, in_use = pool_totals(VirtualAccount.objects.filter(pk=virtual_account.pk), on=on, products=products)
    positions = {}
    for product in products:
        line = LicenseLine(product=product)
        key = (virtual_account.pk, product.pk)
        line.add_pool(purchased.get(key, 0), in_use.get(key, 0))
        positions[product.pk] = line
    return positions


class PoolStanding(NamedTuple):
    """One product in one VA's own pool, and the id of its open shortage record (None if none)."""

    line: LicenseLine
    open_shortage_id: int | None

    @property
    def crossed(self) -> bool:
        """The record disagrees with the pool: short without an open shortage, or an open one
        while in compliance (a crossing to record)."""
        return (self.line.shortage > 0) != (self.open_shortage_id is not None)


def pool_standing(
    virtual_account: VirtualAccount | int, products: Iterable[Product], *, on: datetime.date | None = None
) -> dict[int, PoolStanding]:
    """Several products in one VA's own pool with their open shortages, by product id: what
    `compliance_update` compares. One query (`pool_standing_sql`, then `pool_standing_of`)."""
    products = list(products)
    if not products:
        return {}
    sql, params = pool_standing_sql(virtual_account, products, on=on)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return pool_standing_of(products, cursor.fetchall())


def pool_standing_sql(
    virtual_account: VirtualAccount | int, products: Iterable[Product], *, on: datetime.date | None = None
) -> tuple[str, list]:
    """The statement behind `pool_standing`, rows (product id, purchased, in use, open shortage
    id), for a caller that sends it together with another (services.device_report_usage). It is
    written out rather than built with the ORM because a usage report runs it on every change and
    building it took longer than running it; purchased counts `active_entitlements(on)` and in use
    the counts above 0, as `pool_totals` does (a test holds the two to the same answers)."""
    on = on or timezone.localdate()
    va_id = virtual_account if isinstance(virtual_account, int) else virtual_account.pk
    ids = [p.pk for p in products]
    entitlement, usage, device = Entitlement._meta.db_table, DeviceUsage._meta.db_table, Device._meta.db_table
    shortage, product = Shortage._meta.db_table, Product._meta.db_table
    sql = (
        f"SELECT p.id,"
        f" (SELECT SUM(e.quantity) FROM {entitlement} e WHERE e.virtual_account_id = %s AND e.product_id = p.id"
        f" AND e.quantity > 0 AND (e.starts_on IS NULL OR e.starts_on <= %s) AND (e.ends_on IS NULL OR e.ends_on >= %s)),"
        f" (SELECT SUM(u.count) FROM {usage} u INNER JOIN {device} d ON d.id = u.device_id"
        f" WHERE d.virtual_account_id = %s AND u.product_id = p.id AND u.count > 0),"
        f" (SELECT s.id FROM {shortage} s WHERE s.virtual_account_id = %s AND s.product_id = p.id"
        f" AND s.cleared_at IS NULL ORDER BY s.id LIMIT 1)"
        f" FROM {product} p WHERE p.id IN ({', '.join(['%s'] * len(ids))})"
    )
    day = connection.ops.adapt_datefield_value(on)
    return sql, [va_id, day, day, va_id, va_id, *ids]


def pool_standing_of(products: Iterable[Product], rows: Iterable[tuple]) -> dict[int, PoolStanding]:
    """`pool_standing` from the rows of `pool_standing_sql`, in the order of `products`."""
    found = {pk: (purchased or 0, in_use or 0, shortage_id) for pk, purchased, in_use, shortage_id in rows}
    standing = {}
    for product in products:
        purchased, in_use, shortage_id = found.get(product.pk, (0, 0, None))
        line = LicenseLine(product=product)
        line.add_pool(purchased, in_use)
        standing[product.pk] = PoolStanding(line, shortage_id)
    return standing
