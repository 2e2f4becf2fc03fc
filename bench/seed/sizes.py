"""How big the seeded world is: the counts at a scale, and the fixed shares and spans of time
every stage plans with."""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from .. import dataset

UTC = datetime.timezone.utc
RANDOM_SEED = 20_240_601
HISTORY_DAYS = 3 * 365          # orders were placed over the last three years
SNAPSHOT_DAYS = 30              # daily usage snapshots per pool: today and the 29 days before
BIG_ACCOUNT_DEVICE_SHARE = 0.25  # of all devices, in the big account (its busy VA included)
SILENT_SHARE = 0.08             # devices that have not reported for 30+ days
DOMAIN_APPS = ("accounts", "licensing", "orders")


class SeedRefused(RuntimeError):
    """The configured database does not look like a bench database."""


@dataclass(frozen=True)
class Sizes:
    """The counts a seed at `scale` makes (floors keep a tiny scale meaningful)."""

    scale: float
    smart_accounts: int               # customers (the big one included) and the holding account
    big_account_virtual_accounts: int  # the root DEFAULT included
    big_account_max_depth: int
    products: int
    devices: int
    usage_rows: int
    orders: int
    order_lines: int
    busy_devices: int
    held_lines: int


def sizes(scale: float = 1.0) -> Sizes:
    if not scale > 0:
        raise ValueError("The scale must be positive.")

    def scaled(count: int, floor: int) -> int:
        return max(floor, round(count * scale))

    devices = scaled(dataset.DEVICES, 100)
    big_vas = scaled(dataset.BIG_ACCOUNT_VIRTUAL_ACCOUNTS, dataset.BIG_ACCOUNT_MAX_DEPTH + 2)
    orders = scaled(dataset.ORDERS, 10)
    return Sizes(
        scale=scale,
        smart_accounts=scaled(dataset.SMART_ACCOUNTS, 6),
        big_account_virtual_accounts=big_vas,
        big_account_max_depth=dataset.BIG_ACCOUNT_MAX_DEPTH,
        products=scaled(dataset.PRODUCTS, 12),
        devices=devices,
        usage_rows=min(scaled(dataset.USAGE_ROWS, devices), devices * 4),
        orders=orders,
        order_lines=scaled(dataset.ORDER_LINES, max(60, orders)),
        busy_devices=min(scaled(dataset.BUSY_VIRTUAL_ACCOUNT_DEVICES, 10), devices // 4),
        held_lines=scaled(dataset.HELD_LINES, 3),
    )
