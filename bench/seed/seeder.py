"""The seeder: one seeded random generator, the stages in order (each planned in memory, then
written in one transaction, timed), and `seed()`, which refuses a database not named *bench*.
Each stage's planning and writing is a mixin of its own module."""
from __future__ import annotations

import datetime
import random
import sys
import time
from dataclasses import asdict

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from accounts.models import (
    Event,
    HoldingMembership,
    Invitation,
    Partner,
    PartnerMembership,
    SmartAccount,
    SmartAccountRole,
    User,
    VirtualAccount,
    VirtualAccountRole,
)
from licensing.models import (
    ClassicLicense,
    Device,
    DeviceUsage,
    Entitlement,
    Product,
    RegistrationToken,
    Shortage,
    UsageSnapshot,
)
from orders.models import Order, OrderLine, OrderLineState

from .accounts import AccountsStage
from .catalogue import CatalogueStage
from .compliance import ComplianceStage
from .db import _Db
from .devices import DevicesStage
from .events import EventsStage
from .orders import OrdersStage
from .sizes import DOMAIN_APPS, RANDOM_SEED, UTC, SeedRefused, sizes


class _Seeder(AccountsStage, CatalogueStage, DevicesStage, OrdersStage, ComplianceStage, EventsStage):
    def __init__(self, *, scale: float, stdout, progress: bool):
        self.size = sizes(scale)
        self.stdout = stdout
        self.progress = progress
        self.rng = random.Random(RANDOM_SEED)
        self.db = _Db(progress)
        self.now = timezone.now().replace(microsecond=0)
        self.today = timezone.localdate()
        self.events: list[tuple] = []
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    # -- plumbing --

    def at(self, day: datetime.date, *, hour: int | None = None) -> datetime.datetime:
        rng = self.rng
        clock = datetime.time(rng.randint(8, 18) if hour is None else hour, rng.randint(0, 59))
        moment = datetime.datetime.combine(day, clock, UTC)
        return min(moment, self.now)

    def days_ago(self, low: int, high: int) -> datetime.date:
        return self.today - datetime.timedelta(days=self.rng.randint(low, high))

    def event(self, created_at, sa_id, va_id, actor_id, actor_label, action, object_type, object_id, object_repr, detail):
        self.events.append(
            (created_at, sa_id, va_id, actor_id, actor_label or "system", action, object_type, str(object_id),
             object_repr[:300], detail)
        )

    def stage(self, name: str, plan, write, *, atomic: bool = True) -> None:
        """Plan a stage's rows in memory, then write them (in one transaction), timed together."""
        started = time.perf_counter()
        self.planned = 0
        with tqdm(desc=f"{name:<10}", unit=" rows", unit_scale=True, file=sys.stderr, disable=not self.progress,
                  leave=True, dynamic_ncols=True, mininterval=0.5) as bar:
            if plan is not None:
                plan()
            planned = time.perf_counter() - started
            bar.total = self.planned or None
            bar.refresh()
            self.db.bar = bar
            if atomic:
                with transaction.atomic():
                    write()
            else:
                write()
            self.db.bar = None
        self.seconds[name] = round(time.perf_counter() - started, 2)
        if self.stdout is not None:
            planning = f"  (planning {planned:.2f} s)" if plan else ""
            self.stdout.write(f"  {name:<10} {self.seconds[name]:7.2f} s{planning}\n")

    def run(self) -> dict:
        started = time.perf_counter()
        self.stage("wipe", None, self.wipe)
        self.stage("accounts", self.plan_people_and_accounts, self.write_people_and_accounts)
        self.stage("catalogue", self.plan_catalogue, self.write_catalogue)
        self.stage("devices", self.plan_devices, self.write_devices)
        self.stage("orders", self.plan_orders, self.write_orders)
        self.stage("compliance", None, self.write_compliance)
        self.stage("events", self.plan_events, self.write_events)
        self.stage("finish", None, self.finish)
        # VACUUM cannot run in a transaction (a test's, or a caller's): ANALYZE alone there.
        self.stage("analyze", None, self.analyze, atomic=False)
        self.count()
        total = round(time.perf_counter() - started, 2)
        return {"scale": self.size.scale, "sizes": asdict(self.size), "counts": self.counts, "seconds": self.seconds,
                "total_seconds": total}

    # -- wipe --

    def wipe(self) -> None:
        """Empty every table of the domain apps, and by cascade the rows that reference them
        (email addresses, admin log entries), restarting their ids at 1."""
        tables = sorted({
            model._meta.db_table
            for label in DOMAIN_APPS
            for model in apps.get_app_config(label).get_models(include_auto_created=True)
            if model._meta.managed and not model._meta.proxy
        })
        with connection.cursor() as cursor:
            for sql in connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True):
                cursor.execute(sql)

    # -- the end: ids, statistics, counts --

    def finish(self) -> None:
        """Sequences past the explicit ids."""
        from allauth.account.models import EmailAddress

        models = [
            User, EmailAddress, Partner, PartnerMembership, SmartAccount, VirtualAccount, HoldingMembership, Invitation,
            Event, Product, Entitlement, RegistrationToken, Device, DeviceUsage, ClassicLicense, Shortage, UsageSnapshot,
            Order, OrderLine, Partner.linked_resellers.through, OrderLine.entitlements.through,
            OrderLine.classic_licenses.through,
        ]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)

    def analyze(self) -> None:
        """Planner statistics for the new rows; on PostgreSQL outside a transaction also VACUUM, so
        that the timed reads do not pay for hint bits and index-only scans work from the start."""
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql" and not connection.in_atomic_block:
                cursor.execute("VACUUM (ANALYZE)")
            else:
                cursor.execute("ANALYZE")

    def count(self) -> None:
        for label, model in (
            ("users", User), ("partners", Partner), ("smart_accounts", SmartAccount), ("virtual_accounts", VirtualAccount),
            ("big_account_virtual_accounts", None), ("sa_roles", SmartAccountRole), ("va_roles", VirtualAccountRole),
            ("products", Product), ("tokens", RegistrationToken), ("devices", Device), ("usage_rows", DeviceUsage),
            ("entitlements", Entitlement), ("classic_licenses", ClassicLicense), ("orders", Order),
            ("order_lines", OrderLine), ("held_lines", None), ("open_shortages", None), ("shortages", Shortage),
            ("snapshots", UsageSnapshot), ("events", Event), ("invitations", Invitation),
        ):
            if label == "big_account_virtual_accounts":
                self.counts[label] = VirtualAccount.objects.filter(smart_account_id=self.big.id).count()
            elif label == "held_lines":
                self.counts[label] = OrderLine.objects.filter(state=OrderLineState.HELD).count()
            elif label == "open_shortages":
                self.counts[label] = Shortage.objects.filter(cleared_at__isnull=True).count()
            else:
                self.counts[label] = model.objects.count()


def database_name() -> str:
    return str(connection.settings_dict.get("NAME") or "")


def seed(*, scale: float = 1.0, stdout=None, force: bool = False, progress: bool = True) -> dict:
    """Wipe the domain tables of the configured database and seed the scale dataset into it.
    Refuses (SeedRefused) unless the database's name contains "bench" or `force` is given.
    Returns {"scale", "sizes", "counts", "seconds" (per stage), "total_seconds"}."""
    name = database_name()
    if "bench" not in name.lower() and not force:
        raise SeedRefused(
            f"Refusing to wipe the database {name!r}: its name does not contain 'bench' (use --force to seed it anyway)."
        )
    return _Seeder(scale=scale, stdout=stdout, progress=progress).run()
