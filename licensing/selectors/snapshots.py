"""History from the daily usage snapshots: usage over time (a chart's series) and the
reconciliation of a period (what to true up). A period is at most ten years."""
from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import F, IntegerField, QuerySet, Sum, Value
from django.db.models.functions import Greatest

from accounts.models import VirtualAccount

from ..models import Product, UsageSnapshot

PERIOD_MAX_DAYS = 3660  # a history period is at most ten years


def check_period(start: datetime.date, end: datetime.date) -> None:
    """A usage/reconciliation period is at most ten years (ValidationError keyed `start`)."""
    if (end - start).days > PERIOD_MAX_DAYS:
        raise ValidationError({"start": "A period is at most ten years."})


def _daily(virtual_accounts: QuerySet[VirtualAccount], start: datetime.date, end: datetime.date, products=None):
    """Per (product id, day): purchased, in use and shortage summed over the VAs' snapshots,
    the shortage added up per VA (pools are per VA). One query."""
    qs = UsageSnapshot.objects.filter(virtual_account__in=virtual_accounts.values("pk"), day__gte=start, day__lte=end)
    if products is not None:
        qs = qs.filter(product__in=[p.pk for p in products])
    return (
        qs.order_by()
        .values("product", "day")
        .annotate(
            purchased_sum=Sum("purchased"),
            in_use_sum=Sum("in_use"),
            shortage_sum=Sum(Greatest(F("in_use") - F("purchased"), Value(0)), output_field=IntegerField()),
        )
        .order_by("day")
    )


# --- usage over time ----------------------------------------------------------------------


@dataclass
class UsageSeries:
    """A product's daily purchased / in use / shortage over a period (a chart's data)."""

    product: Product
    days: list[datetime.date]
    purchased: list[int]
    in_use: list[int]
    shortage: list[int]


def usage_series(
    virtual_accounts: QuerySet[VirtualAccount],
    *,
    start: datetime.date,
    end: datetime.date,
    products: Iterable[Product] | None = None,
) -> list[UsageSeries]:
    """Usage over time from the daily snapshots, one series per product, on the days that have
    snapshots (a product without a row on such a day had nothing: 0). Two queries.
    Raises ValidationError for a period over ten years (`check_period`)."""
    check_period(start, end)
    rows = list(_daily(virtual_accounts, start, end, products))
    days = sorted({row["day"] for row in rows})
    index = {day: i for i, day in enumerate(days)}
    catalogue = Product.objects.in_bulk({row["product"] for row in rows})
    series: dict[int, UsageSeries] = {}
    for row in rows:
        s = series.get(row["product"])
        if s is None:
            s = series[row["product"]] = UsageSeries(
                product=catalogue[row["product"]], days=days, purchased=[0] * len(days), in_use=[0] * len(days),
                shortage=[0] * len(days),
            )
        i = index[row["day"]]
        s.purchased[i], s.in_use[i], s.shortage[i] = row["purchased_sum"], row["in_use_sum"], row["shortage_sum"]
    return sorted(series.values(), key=lambda s: (s.product.family, s.product.sku))


# --- reconciliation -----------------------------------------------------------------------


@dataclass
class ReconciliationLine:
    """What to true up for one product over a period: its peak shortage and on how many days
    it was short (from the daily snapshots)."""

    product: Product
    peak_shortage: int = 0
    peak_day: datetime.date | None = None
    days_in_shortage: int = 0
    peak_in_use: int = 0
    purchased_at_peak: int = 0
    days_reported: int = 0

    @property
    def sku(self) -> str:
        return self.product.sku


def reconciliation(
    virtual_accounts: QuerySet[VirtualAccount], *, start: datetime.date, end: datetime.date
) -> list[ReconciliationLine]:
    """Per product over [start, end]: the peak shortage (the largest daily shortage, added up
    per VA), the first day it was reached, the days in shortage, and the peak in use. Two queries.
    Raises ValidationError for a period over ten years (`check_period`)."""
    check_period(start, end)
    rows = list(_daily(virtual_accounts, start, end))
    catalogue = Product.objects.in_bulk({row["product"] for row in rows})
    lines: dict[int, ReconciliationLine] = {}
    for row in rows:  # by day
        line = lines.setdefault(row["product"], ReconciliationLine(product=catalogue[row["product"]]))
        line.days_reported += 1
        line.peak_in_use = max(line.peak_in_use, row["in_use_sum"])
        if row["shortage_sum"] > 0:
            line.days_in_shortage += 1
        if row["shortage_sum"] > line.peak_shortage:
            line.peak_shortage, line.peak_day, line.purchased_at_peak = row["shortage_sum"], row["day"], row["purchased_sum"]
    return sorted(lines.values(), key=lambda line: (-line.peak_shortage, line.product.family, line.product.sku))
