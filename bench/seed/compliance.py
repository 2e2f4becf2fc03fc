"""Stage "compliance": the shortages and daily usage snapshots the app keeps derived, from the
app's own reads of what the earlier stages wrote."""
from __future__ import annotations

import datetime

from accounts.models import SmartAccountKind, VirtualAccount
from licensing.models import Shortage, UsageSnapshot

from .db import _bulk_load
from .sizes import SNAPSHOT_DAYS


class ComplianceStage:
    """Part of `seeder._Seeder`: writes the compliance stage (after the orders)."""

    def write_compliance(self) -> None:
        from licensing import selectors as licensing_selectors

        rng = self.rng
        scope = VirtualAccount.objects.filter(smart_account__kind=SmartAccountKind.CUSTOMER)
        purchased, in_use = licensing_selectors.pool_totals(scope, on=self.today, products=None)
        self.shortages: list[tuple] = []
        shortage_rows = []
        for key in sorted(set(purchased) | set(in_use)):
            missing = in_use[key] - purchased[key]
            if missing > 0:
                started = self.now - datetime.timedelta(days=rng.uniform(1, 90))
                shortage_rows.append((len(shortage_rows) + 1, key[0], key[1], started, None, missing))
                self.shortages.append((started, key[0], key[1], len(shortage_rows), missing, purchased[key], in_use[key]))
            elif rng.random() < 0.03:  # short once, settled since
                started = self.now - datetime.timedelta(days=rng.uniform(120, 400))
                shortage_rows.append((len(shortage_rows) + 1, key[0], key[1], started,
                                      started + datetime.timedelta(days=rng.uniform(2, 60)), rng.randint(1, 20)))
        # Today's snapshot, as the hourly task (`usage_snapshot_take`) writes it from the same
        # totals, and the month before it (usage ramping up).
        snapshots = (
            (va_id, product_id, self.today - datetime.timedelta(days=back), purchased[(va_id, product_id)],
             in_use[(va_id, product_id)] if back == 0
             else max(0, round(in_use[(va_id, product_id)] * (1 - back / 60) * rng.uniform(0.97, 1.0))))
            for va_id, product_id in sorted(set(purchased) | set(in_use))
            for back in range(SNAPSHOT_DAYS)
        )
        with _bulk_load(Shortage, UsageSnapshot):
            self.db.load(Shortage, ("id", "virtual_account", "product", "started_at", "cleared_at", "quantity"),
                         shortage_rows)
            self.db.load(UsageSnapshot, ("virtual_account", "product", "day", "purchased", "in_use"), snapshots)
