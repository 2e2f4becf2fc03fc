"""Helpers of the licensing page tests: signing in, reading pages, counting queries, and filling
the Acme account (tests/licensing/conftest.py) with N of everything a list page shows."""
from __future__ import annotations

import csv
import datetime
import io

from django.utils import timezone

from ..factories import (
    ClassicLicenseFactory,
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    EventFactory,
    ProductFactory,
    RegistrationTokenFactory,
    ShortageFactory,
    UsageSnapshotFactory,
)
from ..querycount import count_queries


def html(response) -> str:
    return response.content.decode()


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
    return list(csv.DictReader(io.StringIO(body)))


def queries(client, url: str) -> int:
    """The number of queries a GET of `url` runs (asserting it answers 200)."""
    return count_queries(client, url)[0]


def grow(acme, n: int, *, start: int = 0) -> None:
    """Give each of Acme's Virtual Accounts n more products' worth of everything: entitlements
    (subscriptions ending soon), devices using them (one reporting, one silent), tokens, events,
    daily snapshots, PAKs and open shortages."""
    now = timezone.now()
    today = timezone.localdate()
    for i in range(start, start + n):
        product = ProductFactory(sku=f"GROW-{i:04d}", family=f"Family {i % 3}")
        classic = ProductFactory(sku=f"GROW-PAK-{i:04d}", classic=True, smart_equivalent=product)
        for va in (acme.root, acme.us, acme.finance, acme.europe):
            EntitlementFactory(virtual_account=va, product=product, quantity=5, starts_on=today - datetime.timedelta(days=300),
                               ends_on=today + datetime.timedelta(days=30 + i))
            device = DeviceFactory(virtual_account=va, last_contact_at=now - datetime.timedelta(days=1))
            DeviceUsageFactory(device=device, product=product, count=5)
            silent = DeviceFactory(virtual_account=va, last_contact_at=now - datetime.timedelta(days=40))
            DeviceUsageFactory(device=silent, product=product, count=2)
            RegistrationTokenFactory(virtual_account=va, max_uses=3, use_count=i % 4)
            EventFactory(smart_account=acme.account, virtual_account=va, action="device.registered",
                         detail={"serial_number": device.serial_number})
            ShortageFactory(virtual_account=va, product=product, quantity=2)
            for day in range(3):
                UsageSnapshotFactory(virtual_account=va, product=product, day=today - datetime.timedelta(days=day),
                                     purchased=5, in_use=7)
        ClassicLicenseFactory(smart_account=acme.account, product=classic, quantity=2)


