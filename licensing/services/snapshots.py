"""Daily usage snapshots: each customer pool's purchased and in-use count per product, the data
of usage history and reconciliation (`selectors.snapshots`)."""
from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import SmartAccountKind, VirtualAccount

from .. import selectors
from ..models import UsageSnapshot


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
