"""Reads of licensing data: pools and their compliance."""
from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import SmartAccount, VirtualAccount

from .models import DeviceUsage, Entitlement, Product


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


def license_summary(
    virtual_accounts: QuerySet[VirtualAccount],
    *,
    on: datetime.date | None = None,
    products: Iterable[Product] | None = None,
) -> list[LicenseLine]:
    """Per product: purchased, in use, available and shortage over the given Virtual Accounts
    (optionally only the given products).

    Pools are per Virtual Account: a device consumes only from its own VA, so a roll-up adds up
    each VA's shortage and availability rather than netting one VA's surplus against another's
    overage. Three queries, whatever the number of VAs, devices or products.
    """
    va_ids = virtual_accounts.values("pk")
    entitlements = active_entitlements(on).filter(virtual_account__in=va_ids)
    usage = DeviceUsage.objects.filter(device__virtual_account__in=va_ids, count__gt=0)
    if products is not None:
        product_filter = [p.pk for p in products]
        entitlements = entitlements.filter(product__in=product_filter)
        usage = usage.filter(product__in=product_filter)
    purchased: dict[tuple[int, int], int] = defaultdict(int)
    for row in entitlements.values("virtual_account", "product").annotate(q=Sum("quantity")):
        purchased[(row["virtual_account"], row["product"])] = row["q"]
    in_use: dict[tuple[int, int], int] = defaultdict(int)
    for row in usage.values("device__virtual_account", "product").annotate(c=Sum("count")):
        in_use[(row["device__virtual_account"], row["product"])] = row["c"]
    product_ids = {p for _, p in purchased} | {p for _, p in in_use}
    products = Product.objects.in_bulk(product_ids)
    lines: dict[int, LicenseLine] = {}
    for key in set(purchased) | set(in_use):
        bought, used = purchased[key], in_use[key]
        line = lines.setdefault(key[1], LicenseLine(product=products[key[1]]))
        line.purchased += bought
        line.in_use += used
        line.available += max(bought - used, 0)
        line.shortage += max(used - bought, 0)
    return sorted(lines.values(), key=lambda line: (line.product.family, line.product.sku))


def virtual_account_license_summary(virtual_account: VirtualAccount, *, subtree: bool = False) -> list[LicenseLine]:
    vas = virtual_account.get_descendants(include_self=True) if subtree else VirtualAccount.objects.filter(pk=virtual_account.pk)
    return license_summary(vas)


def smart_account_license_summary(smart_account: SmartAccount) -> list[LicenseLine]:
    return license_summary(VirtualAccount.objects.filter(smart_account=smart_account))


def pool_positions(
    virtual_account: VirtualAccount, products: Iterable[Product], *, on: datetime.date | None = None
) -> dict[int, LicenseLine]:
    """Several products in one VA's own pool (not its subtree), by product id; three queries."""
    products = list(products)
    found = {
        line.product.pk: line
        for line in license_summary(VirtualAccount.objects.filter(pk=virtual_account.pk), on=on, products=products)
    }
    return {p.pk: found.get(p.pk) or LicenseLine(product=p) for p in products}


def pool_position(virtual_account: VirtualAccount, product: Product, *, on: datetime.date | None = None) -> LicenseLine:
    """One product in one VA's own pool: available = active purchased − in use by its devices."""
    return pool_positions(virtual_account, [product], on=on)[product.pk]
