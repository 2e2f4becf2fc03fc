"""The DESIGN.md §6 scale dataset that `make bench` times, seeded fast: every row is planned in
Python from one seeded random generator and written with COPY on PostgreSQL (batched INSERTs
elsewhere); what the app keeps derived (open shortages, daily snapshots) comes from its own
selectors and services. Sizes and the names the timer looks up are in `bench/dataset.py`.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from accounts.models import (
    Event,
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    Partner,
    PartnerKind,
    PartnerMembership,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    SmartAccountStatus,
    User,
    VirtualAccount,
    VirtualAccountRole,
)
from lib.dates import add_months
from licensing.models import (
    ClassicLicense,
    Device,
    DeviceUsage,
    Entitlement,
    EntitlementSource,
    LicenseKind,
    Product,
    RegistrationToken,
    Shortage,
    UsageSnapshot,
)
from orders.models import Order, OrderLine, OrderLineState

from . import dataset

UTC = datetime.timezone.utc
RANDOM_SEED = 20_240_601
HISTORY_DAYS = 3 * 365          # orders were placed over the last three years
SNAPSHOT_DAYS = 30              # daily usage snapshots per pool: today and the 29 days before
BIG_ACCOUNT_DEVICE_SHARE = 0.25  # of all devices, in the big account (its busy VA included)
SILENT_SHARE = 0.08             # devices that have not reported for 30+ days
DOMAIN_APPS = ("accounts", "licensing", "orders")


class SeedRefused(RuntimeError):
    """The configured database does not look like a bench database."""


# --- sizes ------------------------------------------------------------------------------------


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


# --- small helpers ----------------------------------------------------------------------------


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _allocate(total: int, weights: Sequence[float], cap: int | None = None) -> list[int]:
    """`total` split over `weights` in proportion (largest remainders), none above `cap`."""
    n = len(weights)
    if n == 0 or total <= 0:
        return [0] * n
    counts = [0] * n
    open_ = list(range(n))
    left = total
    while left > 0 and open_:
        weight = sum(weights[i] for i in open_) or 1.0
        shares = [(left * weights[i] / weight, i) for i in open_]
        given = 0
        for share, i in shares:
            whole = int(share)
            if cap is not None:
                whole = min(whole, cap - counts[i])
            counts[i] += whole
            given += whole
        rest = left - given
        for _, i in sorted(shares, key=lambda s: (s[0] - int(s[0])), reverse=True):
            if rest <= 0:
                break
            if cap is None or counts[i] < cap:
                counts[i] += 1
                rest -= 1
        left = rest
        if cap is not None:
            open_ = [i for i in open_ if counts[i] < cap]
    return counts


def _cuts(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` positive integers at random."""
    if parts <= 1:
        return [total]
    points = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *points], [*points, total])]


class _Db:
    """Writes rows to a model's table: COPY on PostgreSQL, executemany elsewhere. Rows are
    tuples in the order of `fields` (model field names; foreign keys as ids)."""

    def __init__(self, progress: bool):
        self.postgres = connection.vendor == "postgresql"
        self.progress = progress
        self.bar: tqdm | None = None

    def load(self, model, fields: Sequence[str], rows: Iterable[Sequence]) -> int:
        meta = model._meta
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
        written = 0
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        written += 1
                        if written % 10_000 == 0 and self.bar is not None:
                            self.bar.update(10_000)
            else:
                sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
                batch: list[tuple] = []
                for row in rows:
                    batch.append(tuple(_portable(value) for value in row))
                    written += 1
                    if len(batch) == 5_000:
                        cursor.executemany(sql, batch)
                        batch = []
                        if self.bar is not None:
                            self.bar.update(5_000)
                if batch:
                    cursor.executemany(sql, batch)
        if self.bar is not None:
            self.bar.update(written % (10_000 if self.postgres else 5_000))
        return written


@contextmanager
def _bulk_load(*models) -> Iterator[None]:
    """On PostgreSQL, load these tables the way pg_restore does: without their secondary indexes,
    unique and foreign-key constraints, which are put back afterwards (an index built once and a
    foreign key validated by one join are far cheaper than their row-by-row upkeep). The DDL is
    transactional: if anything fails, the constraints come back with the rollback."""
    if connection.vendor != "postgresql":
        yield
        return
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        # Rows written earlier in this transaction (a caller's or a test's) have their deferred
        # foreign-key checks pending, and a table with pending checks cannot be altered: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT conrelid::regclass::text, quote_ident(conname), contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u') ORDER BY contype DESC, conname",
            [tables],
        )
        constraints = cursor.fetchall()  # unique ones first: put back before the foreign keys
        cursor.execute(
            "SELECT quote_ident(i.indexname), i.indexdef FROM pg_indexes i"
            " WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) AND NOT EXISTS ("
            "   SELECT 1 FROM pg_constraint c"
            "   WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"
            " ORDER BY i.indexname",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _, _ in constraints:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, _, definition in constraints:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def _portable(value):
    """A value as Django's non-PostgreSQL backends store it."""
    if isinstance(value, datetime.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, bool):
        return int(value)
    return value


def _detail(**values) -> str:
    # json.dumps' default separators, as Django's JSONField writes them (the product history
    # page searches the text of `detail` for '"sku": "…"').
    return json.dumps(values)


# --- the plan ---------------------------------------------------------------------------------


@dataclass
class _Account:
    id: int
    name: str
    domain: str
    kind: str
    status: str
    partner_id: int | None
    contact_id: int | None
    requested_by_id: int | None
    created_at: datetime.datetime
    activated_at: datetime.datetime | None
    admin_id: int | None  # the SA admin (or, for a new account, its contact)
    admin_email: str
    root_id: int = 0
    va_ids: list[int] | None = None


class _VA:
    __slots__ = ("id", "account", "parent", "name", "level", "lft", "rght", "tree_id", "children", "created_at", "leaf_only")

    def __init__(self, account: _Account, parent: _VA | None, name: str):
        self.id = 0
        self.account = account
        self.parent = parent
        self.name = name
        self.level = 0 if parent is None else parent.level + 1
        self.lft = self.rght = 0
        self.tree_id = account.id
        self.children: list[_VA] = []
        self.created_at = account.created_at
        self.leaf_only = False
        if parent is not None:
            parent.children.append(self)


class _Line:
    __slots__ = ("id", "order", "number", "product", "quantity", "sa", "va", "delegated", "state", "shipped_on",
                 "starts_on", "ends_on", "held_in", "provisioned_at", "end_sa", "day", "kind")

    def __init__(self, *, product, quantity, sa, va, state, day, end_sa, kind, delegated=False, shipped=True,
                 held_in=None):
        self.id = 0
        self.order = None
        self.number = 0
        self.product = product
        self.quantity = quantity
        self.sa = sa
        self.va = va
        self.delegated = delegated
        self.state = state
        self.day = day
        self.end_sa = end_sa
        self.kind = kind  # active | expired | classic | held | booked | delegated | new_account
        self.held_in = held_in
        self.shipped_on = day if shipped else None
        self.starts_on = self.ends_on = None
        if shipped and product.term:
            self.starts_on = day
            self.ends_on = add_months(day, product.term)
        self.provisioned_at = None


@dataclass
class _Product:
    id: int
    sku: str
    name: str
    family: str
    kind: str
    term: int | None
    sa_required: bool
    weight: float
    smart_equivalent_id: int | None = None


class _Order:
    __slots__ = ("id", "number", "lines", "placed_at", "end_sa", "placed_by", "reseller_id")

    def __init__(self, lines: list[_Line], end_sa: _Account):
        self.id = 0
        self.number = ""
        self.lines = lines
        self.end_sa = end_sa
        self.placed_at = None
        self.placed_by = None
        self.reseller_id = None


FAMILIES = (
    ("Switching", "SW"), ("Routing", "RT"), ("Wireless", "WL"), ("Security", "SEC"),
    ("Collaboration", "COL"), ("Data Center", "DC"), ("IoT", "IOT"), ("Cloud", "CLD"),
)
TIERS = ("Essentials", "Advantage", "Premier")
SUBSCRIPTION_TERMS = (12, 36, 12, 60, 24)
TEAM_NAMES = ("Engineering", "Finance", "Lab", "Operations", "Sales", "Support", "Warehouse")
LEVEL_NAMES = ("Region", "Country", "Area", "Site", "Building", "Floor")
# The share of the big account's non-root VAs at each level below the root (1..6).
LEVEL_SHARES = (0.004, 0.03, 0.1, 0.24, 0.36, 0.266)
USAGE_COUNTS = (1, 1, 1, 1, 1, 1, 2, 2, 4, 8, 16, 24, 48)
LINE_QUANTITIES = (1, 2, 5, 10, 10, 24, 48, 100)


class _Seeder:
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

    # -- people, partners, accounts, trees, roles --

    def plan_people_and_accounts(self) -> None:
        rng, size = self.rng, self.size
        self.users: list[tuple] = []  # (id, email, name, is_staff, date_joined)

        def user(email: str, name: str, *, staff: bool = False, joined: datetime.datetime | None = None) -> int:
            uid = len(self.users) + 1
            self.users.append((uid, email, name, staff, joined or self.now - datetime.timedelta(days=1200)))
            return uid

        self.staff_id = user("shipping@bench-vendor.example", "Bench Shipping Desk", staff=True)
        self.partner_admin_id = user(dataset.PARTNER_ADMIN, "Bench Partner Admin")
        self.order_desk = [self.partner_admin_id] + [
            user(f"orders{n}@bench-partner.example", f"Bench Order Desk {n}") for n in range(1, 5)
        ]
        self.partners = [(1, dataset.PARTNER_NAME, PartnerKind.DISTRIBUTOR)]
        self.partners += [(1 + n, f"Bench Reseller {n:02d}", PartnerKind.RESELLER) for n in range(1, 6)]
        self.memberships = [(self.partner_admin_id, 1, True)] + [(uid, 1, False) for uid in self.order_desk[1:]]
        for pid, name, _ in self.partners[1:]:
            self.memberships.append((user(f"admin@reseller{pid - 1:02d}.example", f"{name} Admin"), pid, True))
        self.resellers = [pid for pid, _, kind in self.partners if kind == PartnerKind.RESELLER]

        founded = self.now - datetime.timedelta(days=HISTORY_DAYS + 100)
        big_admin = user(dataset.BIG_ACCOUNT_ADMIN, "Bench Big Admin")
        self.big = _Account(
            1, dataset.BIG_ACCOUNT_NAME, dataset.BIG_ACCOUNT_DOMAIN, SmartAccountKind.CUSTOMER, SmartAccountStatus.ACTIVE,
            None, big_admin, big_admin, founded, founded, big_admin, dataset.BIG_ACCOUNT_ADMIN,
        )
        self.holding = _Account(
            2, dataset.HOLDING_ACCOUNT_NAME, "", SmartAccountKind.HOLDING, SmartAccountStatus.ACTIVE, 1, None,
            self.partner_admin_id, founded, founded, None, "",
        )
        self.accounts = [self.big, self.holding]
        self.customers = [self.big]
        for k in range(1, size.smart_accounts - 1):
            # Every tenth account shares the previous one's domain (several accounts per domain).
            domain = f"customer{k - 1 if k % 10 == 0 else k:03d}.example"
            status = SmartAccountStatus.ACTIVE
            if k % 33 == 3:
                status = SmartAccountStatus.NEW
            elif k % 97 == 50:
                status = SmartAccountStatus.SUSPENDED
            created = founded + datetime.timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
            admin_email = f"admin.{k:03d}@{domain}"
            admin = user(admin_email, f"Customer {k:03d} Admin", joined=created)
            by_partner = status == SmartAccountStatus.NEW or k % 5 == 0
            account = _Account(
                len(self.accounts) + 1, f"Bench Customer {k:03d}", domain, SmartAccountKind.CUSTOMER, status,
                1 if by_partner else None, admin, self.order_desk[k % len(self.order_desk)] if by_partner else admin,
                created, None if status == SmartAccountStatus.NEW else created, admin, admin_email,
            )
            self.accounts.append(account)
            self.customers.append(account)
        self.pool_accounts = [a for a in self.customers if a.status != SmartAccountStatus.NEW]
        self.new_accounts = [a for a in self.customers if a.status == SmartAccountStatus.NEW]

        # Trees: the big one level by level, the others shallow.
        self.vas: list[_VA] = []
        self.busy = self.plan_big_tree()
        for account in self.accounts[1:]:
            root = _VA(account, None, VirtualAccount.ROOT_NAME)
            if account.kind == SmartAccountKind.CUSTOMER and account.status != SmartAccountStatus.NEW:
                for team in sorted(rng.sample(TEAM_NAMES, rng.choice((0, 1, 2, 2, 3, 3, 4, 5)))):
                    child = _VA(account, root, team)
                    if rng.random() < 0.3:
                        for letter in "AB"[: rng.randint(1, 2)]:
                            _VA(account, child, f"Team {letter}")
            self.number_tree(root)
        self.va_by_id = {va.id: va for va in self.vas}

        # Roles.
        perms = {
            (p.content_type.model, p.codename): p.pk
            for p in Permission.objects.filter(content_type__app_label="accounts").select_related("content_type")
        }
        self.sa_roles: list[tuple] = []
        self.va_roles: list[tuple] = []

        def grant(account: _Account, user_id: int, role: str, *, va: _VA | None = None) -> None:
            granted = account.created_at + datetime.timedelta(minutes=5 + len(self.sa_roles) % 50)
            row_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            if va is None:
                self.sa_roles.append((row_id, user_id, perms[("smartaccount", role)], account.id, account.admin_id, granted))
            else:
                self.va_roles.append((row_id, user_id, perms[("virtualaccount", role)], va.id, account.admin_id, granted))

        grant(self.big, big_admin, Role.SA_ADMIN)
        grant(self.big, user(f"ops@{dataset.BIG_ACCOUNT_DOMAIN}", "Bench Big Operations"), Role.SA_USER)
        grant(self.big, user(f"auditor@{dataset.BIG_ACCOUNT_DOMAIN}", "Bench Big Auditor"), Role.SA_VIEWER)
        for n, region in enumerate(self.root_of(self.big).children, start=1):
            region_admin = user(f"region{n:02d}@{dataset.BIG_ACCOUNT_DOMAIN}", f"{region.name} Admin")
            grant(self.big, region_admin, Role.VA_ADMIN, va=region)
        for account in self.customers[1:]:
            if account.status == SmartAccountStatus.NEW:
                continue  # its contact becomes admin on activation
            grant(account, account.admin_id, Role.SA_ADMIN)
            if account.id % 3 == 0:
                local = account.admin_email.split("@")[0].replace("admin", "user")
                grant(account, user(f"{local}@{account.domain}", f"{account.name} User"), Role.SA_USER)
        self.email_of = {uid: email for uid, email, *_ in self.users}
        self.holding_members = [(self.holding.id, self.partner_admin_id, True), (self.holding.id, self.order_desk[1], False)]
        self.planned = (2 * len(self.users) + len(self.partners) + len(self.resellers) + len(self.memberships)
                        + len(self.accounts) + len(self.vas) + len(self.sa_roles) + len(self.va_roles)
                        + len(self.holding_members) + len(self.new_accounts))

    def root_of(self, account: _Account) -> _VA:
        return self.va_by_id[account.root_id]

    def plan_big_tree(self) -> _VA:
        """The big account's tree: `big_account_virtual_accounts` nodes, the deepest at level 6,
        sized by level like a real organisation (regions, countries, areas, sites, buildings,
        floors); the busy VA is an extra leaf among the areas."""
        rng, size, account = self.rng, self.size, self.big
        depth = size.big_account_max_depth
        root = _VA(account, None, VirtualAccount.ROOT_NAME)
        below = size.big_account_virtual_accounts - 2  # the root and the busy VA aside
        per_level = _allocate(below, LEVEL_SHARES[:depth])
        for i in range(depth):  # every level has a node (the tree reaches the full depth)
            if per_level[i] == 0:
                donor = max(range(depth), key=lambda j: per_level[j])
                per_level[donor] -= 1
                per_level[i] += 1
        levels: list[list[_VA]] = [[root]]
        busy = None
        for index, count in enumerate(per_level):
            parents = [p for p in levels[-1] if not p.leaf_only]
            prefix = LEVEL_NAMES[index]
            width = max(2, len(str(count)))
            layer = []
            for n in range(1, count + 1):
                # The first node of a level hangs under the first parent, so the chain reaches depth 6.
                parent = parents[0] if n == 1 else rng.choice(parents)
                layer.append(_VA(account, parent, f"{prefix} {n:0{width}d}"))
            if index == 2:  # level 3: the busy VA, a leaf under a country
                busy = _VA(account, parents[-1], dataset.BUSY_VIRTUAL_ACCOUNT_NAME)
                busy.leaf_only = True
                layer.append(busy)
            levels.append(layer)
        if busy is None:  # a tree too shallow for level 3 (never with the floors in `sizes`)
            busy = _VA(account, root, dataset.BUSY_VIRTUAL_ACCOUNT_NAME)
        self.number_tree(root)
        return busy

    def number_tree(self, root: _VA) -> None:
        """MPTT numbers, as django-mptt would give them: children in name order (the model's
        `order_insertion_by`), one tree per account (`tree_id` = the account's id); ids in lft order."""
        counter = 0
        stack: list[tuple[_VA, bool]] = [(root, False)]
        ordered = []
        while stack:
            node, done = stack.pop()
            counter += 1
            if done:
                node.rght = counter
                continue
            node.lft = counter
            node.id = len(self.vas) + 1
            self.vas.append(node)
            ordered.append(node)
            stack.append((node, True))
            for child in sorted(node.children, key=lambda c: c.name, reverse=True):
                stack.append((child, False))
        account = root.account
        account.root_id = root.id
        account.va_ids = [node.id for node in ordered]
        for n, node in enumerate(ordered):
            if node.parent is not None:
                node.created_at = account.created_at + datetime.timedelta(minutes=10 + n)

    def write_people_and_accounts(self) -> None:
        from allauth.account.models import EmailAddress

        db = self.db
        password = make_password(dataset.PASSWORD)  # hashed once: every bench user has this password
        db.load(User, ("id", "email", "name", "password", "is_staff", "is_superuser", "is_active", "date_joined"),
                ((uid, email, name, password, staff, False, True, joined) for uid, email, name, staff, joined in self.users))
        db.load(EmailAddress, ("user", "email", "verified", "primary"),
                ((uid, email, True, True) for uid, email, *_ in self.users))
        db.load(Partner, ("id", "name", "kind", "created_at"),
                ((pid, name, kind, self.big.created_at) for pid, name, kind in self.partners))
        db.load(Partner.linked_resellers.through, ("from_partner", "to_partner"), ((1, pid) for pid in self.resellers))
        db.load(PartnerMembership, ("user", "partner", "is_admin", "created_at"),
                ((uid, pid, admin, self.big.created_at) for uid, pid, admin in self.memberships))
        # The default VA references a VA written just after: the constraint is checked at commit.
        db.load(SmartAccount, ("id", "name", "domain", "kind", "status", "partner", "contact", "requested_by",
                               "default_virtual_account", "created_at", "activated_at"),
                ((a.id, a.name, a.domain, a.kind, a.status, a.partner_id, a.contact_id, a.requested_by_id, a.root_id,
                  a.created_at, a.activated_at) for a in self.accounts))
        db.load(VirtualAccount, ("id", "smart_account", "parent", "name", "description", "created_at", "lft", "rght",
                                 "tree_id", "level"),
                ((va.id, va.account.id, va.parent.id if va.parent else None, va.name, "", va.created_at, va.lft, va.rght,
                  va.tree_id, va.level) for va in self.vas))
        fields = ("id", "user", "permission", "content_object", "granted_by", "granted_at")
        db.load(SmartAccountRole, fields, self.sa_roles)
        db.load(VirtualAccountRole, fields, self.va_roles)
        db.load(HoldingMembership, ("smart_account", "user", "notify", "created_at"),
                ((sa, uid, notify, self.holding.created_at) for sa, uid, notify in self.holding_members))
        db.load(Invitation, ("key", "purpose", "email", "smart_account", "object_key", "created_at", "expires_at"),
                ((_sha(f"bench-activation-{a.id}")[:43], InvitationPurpose.ACTIVATE_ACCOUNT, a.admin_email, a.id, "",
                  a.created_at, a.created_at + datetime.timedelta(days=14)) for a in self.new_accounts))

    # -- the catalogue --

    def plan_catalogue(self) -> None:
        rng, count = self.rng, self.size.products
        classic = max(2, round(count * 0.05))
        smart = count - classic
        subscriptions = round(smart * 0.4)
        self.products: list[_Product] = []
        for n in range(1, count + 1):
            family, code = FAMILIES[(n - 1) % len(FAMILIES)]
            tier = TIERS[(n // len(FAMILIES)) % len(TIERS)]
            if n > smart:
                kind, term = LicenseKind.CLASSIC, None
                sku, name = f"BN-{code}-{n:04d}-K9", f"{family} {tier} right-to-use {n:04d}, PAK"
            elif n <= subscriptions:
                kind, term = LicenseKind.SMART, SUBSCRIPTION_TERMS[n % len(SUBSCRIPTION_TERMS)]
                years = term // 12
                sku, name = f"BN-{code}-{n:04d}-{years}Y", f"{family} {tier} {n:04d}, {years} year{'s' if years > 1 else ''}"
            else:
                kind, term = LicenseKind.SMART, None
                sku, name = f"BN-{code}-{n:04d}", f"{family} {tier} {n:04d}, perpetual"
            # Popularity falls off with rank: a few products are everywhere, most are niche.
            weight = 1.0 / (1 + rng.random() * count) ** 0.7
            sa_required = kind == LicenseKind.SMART and n % 3 == 0
            self.products.append(_Product(n, sku, name, family, kind, term, sa_required, weight))
        self.smart = [p for p in self.products if p.kind == LicenseKind.SMART]
        self.classic = [p for p in self.products if p.kind == LicenseKind.CLASSIC]
        by_family = defaultdict(list)
        for p in self.smart:
            by_family[p.family].append(p)
        for p in self.classic:
            if by_family[p.family] and p.id % 2:
                p.smart_equivalent_id = by_family[p.family][0].id
        self.planned = len(self.products)

    def write_catalogue(self) -> None:
        self.db.load(Product, ("id", "sku", "name", "family", "license_kind", "term_months", "sa_required", "is_active",
                               "smart_equivalent"),
                     ((p.id, p.sku, p.name, p.family, p.kind, p.term, p.sa_required, True, p.smart_equivalent_id)
                      for p in sorted(self.products, key=lambda p: p.smart_equivalent_id is not None)))

    # -- devices and usage --

    def plan_devices(self) -> None:
        """Devices per VA (the busy VA a fixed share, a quarter of all in the big account), each
        using 1–4 of its VA's usual products; `in_use` per (VA, product) as the app sums it."""
        rng, size = self.rng, self.size
        busy = self.busy
        big_others = [self.va_by_id[i] for i in self.big.va_ids if i != busy.id]
        holders = rng.sample(big_others, max(1, round(len(big_others) * 0.6)))
        # No other VA of the big account comes near the busy one (at most half its devices).
        cap = max(1, size.busy_devices // 2)
        big_total = max(0, min(round(size.devices * BIG_ACCOUNT_DEVICE_SHARE) - size.busy_devices, cap * len(holders)))
        per_va: dict[int, int] = {busy.id: size.busy_devices}
        weights = [rng.lognormvariate(0, 1) for _ in holders]
        for va, n in zip(holders, _allocate(big_total, weights, cap=cap)):
            per_va[va.id] = n
        others = [
            (self.va_by_id[i], account_weight * rng.lognormvariate(0, 0.7))
            for account in self.pool_accounts if account is not self.big
            for account_weight in (rng.lognormvariate(0, 1.2),)
            for i in account.va_ids
        ]
        rest = size.devices - sum(per_va.values())
        for (va, _), n in zip(others, _allocate(rest, [w for _, w in others])):
            per_va[va.id] = n
        assert sum(per_va.values()) == size.devices, "devices allocated"

        # Each VA uses a handful of products; the busy VA many.
        smart_weights = [p.weight for p in self.smart]
        self.profiles: dict[int, list[_Product]] = {}
        for va_id, n in per_va.items():
            if n == 0:
                continue
            k = min(len(self.smart), 24 if va_id == busy.id else rng.randint(4, 10))
            chosen: dict[int, _Product] = {}
            while len(chosen) < k:
                for p in rng.choices(self.smart, weights=smart_weights, k=k - len(chosen)):
                    chosen[p.id] = p
            self.profiles[va_id] = sorted(chosen.values(), key=lambda p: p.id)

        # One registration token per VA with devices, valid for a year some years ago (the devices
        # registered with it then), and a fresh one in the busy VA.
        self.tokens: list[tuple] = []
        self.token_of: dict[int, int] = {}
        windows: dict[int, datetime.datetime] = {}
        for va_id in sorted(va_id for va_id, n in per_va.items() if n):
            created = self.now - datetime.timedelta(days=rng.uniform(400, HISTORY_DAYS - 60))
            token_id = len(self.tokens) + 1
            self.tokens.append((token_id, va_id, "Devices", f"slrt_{token_id:07d}", _sha(f"bench-token-{token_id}"),
                                self.va_by_id[va_id].account.admin_id, created, created + datetime.timedelta(days=365),
                                None, per_va[va_id]))
            self.token_of[va_id] = token_id
            windows[va_id] = created
        token_id = len(self.tokens) + 1
        self.tokens.append((token_id, busy.id, "New switches", f"slrt_{token_id:07d}", _sha(f"bench-token-{token_id}"),
                            self.big.admin_id, self.now - datetime.timedelta(days=5),
                            self.now + datetime.timedelta(days=25), 500, 0))

        # Devices, with how many products each uses (adjusted so the usage rows come out exact).
        self.devices: list[tuple] = []
        caps: list[int] = []
        device_id = 0
        silent_before = self.now - datetime.timedelta(days=31)
        for va_id in sorted(per_va):
            for _ in range(per_va[va_id]):
                device_id += 1
                registered = windows[va_id] + datetime.timedelta(days=rng.uniform(0, 365))
                if rng.random() < SILENT_SHARE:
                    contact = registered + (silent_before - registered) * rng.uniform(0.5, 1.0)
                else:
                    contact = self.now - datetime.timedelta(hours=rng.uniform(0, 20))
                self.devices.append((device_id, va_id, registered, contact))
                caps.append(min(4, len(self.profiles[va_id])))
        uses = [min(cap, rng.choice((1, 2, 2, 3, 3, 3, 4, 4))) for cap in caps]
        diff = size.usage_rows - sum(uses)
        order = list(range(len(uses)))
        while diff:
            rng.shuffle(order)
            moved = False
            for i in order:
                if diff > 0 and uses[i] < caps[i]:
                    uses[i] += 1
                    diff -= 1
                    moved = True
                elif diff < 0 and uses[i] > 1:
                    uses[i] -= 1
                    diff += 1
                    moved = True
                if not diff:
                    break
            if not moved:
                break
        self.usage: list[tuple] = []
        self.in_use: dict[tuple[int, int], int] = defaultdict(int)
        for (device_id, va_id, _, contact), n in zip(self.devices, uses):
            for product in rng.sample(self.profiles[va_id], n):
                count = rng.choice(USAGE_COUNTS)
                self.usage.append((device_id, product.id, count, contact))
                self.in_use[(va_id, product.id)] += count
        self.planned = len(self.tokens) + len(self.devices) + len(self.usage)

    def write_devices(self) -> None:
        with _bulk_load(RegistrationToken, Device, DeviceUsage):
            self._write_devices()

    def _write_devices(self) -> None:
        db = self.db
        db.load(RegistrationToken, ("id", "virtual_account", "description", "prefix", "token_hash", "created_by",
                                    "created_at", "expires_at", "max_uses", "use_count"), self.tokens)
        va_by_id, token_of = self.va_by_id, self.token_of
        db.load(Device, ("id", "virtual_account", "serial_number", "product_id", "hostname", "secret_hash",
                         "registered_with", "registered_at", "last_contact_at"),
                ((device_id, va_id, f"BNC{device_id:08d}", f"BN-HW-{device_id % 97:02d}",
                  f"dev-{device_id:06d}.{va_by_id[va_id].account.domain}", _sha(f"bench-device-{device_id}"),
                  token_of[va_id], registered, contact)
                 for device_id, va_id, registered, contact in self.devices))
        db.load(DeviceUsage, ("device", "product", "count", "updated_at"), self.usage)

    # -- orders, their lines, and what shipping them deposited --

    def plan_orders(self) -> None:
        rng, size, today = self.rng, self.size, self.today
        lines: list[_Line] = []
        pool_vas = [self.va_by_id[i] for a in self.pool_accounts for i in a.va_ids]
        customer_weights = [4.0 if a is self.big else rng.lognormvariate(0, 1) for a in self.customers]

        def end_customer() -> _Account:
            return rng.choices(self.customers, weights=customer_weights)[0]

        product_weights = [p.weight for p in self.products]

        def orderable() -> _Product:
            return rng.choices(self.products, weights=product_weights)[0]

        def active_day(product: _Product) -> datetime.date:
            """A ship day from which a subscription of this product is still running (for 14+ days)."""
            low = today - datetime.timedelta(days=HISTORY_DAYS - 20)
            if product.term:
                low = max(low, add_months(today, -product.term) + datetime.timedelta(days=15))
            return low + datetime.timedelta(days=rng.randint(0, max(0, (today - low).days - 1)))

        # What each pool holds: most pools have licenses to spare, some exactly enough, some too few.
        targets: dict[tuple[int, int], int] = {}
        for (va_id, product_id), used in sorted(self.in_use.items()):
            r = rng.random()
            if r < 0.015:
                targets[(va_id, product_id)] = 0
            elif r < 0.09:
                targets[(va_id, product_id)] = int(used * rng.uniform(0.5, 0.95))
            elif r < 0.2:
                targets[(va_id, product_id)] = used
            else:
                targets[(va_id, product_id)] = used + max(1, round(used * rng.uniform(0.05, 0.6)))
        # The busy VA: its two most used products short, the next exactly covered, the rest spare.
        busy_used = sorted(
            ((used, pid) for (va_id, pid), used in self.in_use.items() if va_id == self.busy.id), reverse=True
        )
        for rank, (used, pid) in enumerate(busy_used):
            targets[(self.busy.id, pid)] = (used // 2, used // 2, used)[rank] if rank < 3 else used + max(1, used // 4)
        # Licenses bought and not (yet) used, also in VAs without devices.
        for va in pool_vas:
            used_here = {p.id for p in self.profiles.get(va.id, ())}
            if rng.random() < (0.5 if used_here else 0.3):
                for p in rng.sample(self.smart, rng.randint(1, 3)):
                    if p.id not in used_here:
                        targets[(va.id, p.id)] = rng.randint(5, 200)

        held = size.held_lines
        booked = round(size.order_lines * 0.05)
        delegated = round(size.order_lines * 0.015)
        new_account = round(size.order_lines * 0.01) if self.new_accounts else 0
        classic = round(size.order_lines * 0.03)
        short_terms = [p for p in self.smart if p.term and p.term <= 24]
        expired = round(size.order_lines * 0.05) if short_terms else 0
        active = size.order_lines - held - booked - delegated - new_account - classic - expired
        if active < 1:
            raise ValueError("Too few order lines for this scale.")

        # Active lines: at least one per pool that holds licenses, the rest spread by pool size.
        pools = sorted((key for key, q in targets.items() if q > 0), key=lambda key: (key[0], key[1]))
        rng.shuffle(pools)
        covered, self.manual = pools[:active], pools[active:]  # pools beyond the lines: opening balances
        extra = _allocate(active - len(covered), [targets[k] - 1 for k in covered]) if covered else []
        product_by_id = {p.id: p for p in self.products}
        for key, more in zip(covered, extra or [0] * len(covered)):
            va_id, product_id = key
            va, product = self.va_by_id[va_id], product_by_id[product_id]
            for quantity in _cuts(targets[key], min(1 + more, targets[key]), rng):
                lines.append(_Line(product=product, quantity=quantity, sa=va.account, va=va,
                                   state=OrderLineState.PROVISIONED, day=active_day(product), end_sa=va.account,
                                   kind="active"))
        missing = active - len([line for line in lines if line.kind == "active"])
        for _ in range(missing):  # only when quantities were too small to split that far
            key = rng.choice(covered)
            targets[key] += 1
            va, product = self.va_by_id[key[0]], product_by_id[key[1]]
            lines.append(_Line(product=product, quantity=1, sa=va.account, va=va, state=OrderLineState.PROVISIONED,
                               day=active_day(product), end_sa=va.account, kind="active"))
        self.targets = targets
        # Subscriptions that ran out (not counted in any pool today).
        for _ in range(expired):
            product, va = rng.choice(short_terms), rng.choice(pool_vas)
            latest = add_months(today, -product.term) - datetime.timedelta(days=15)
            day = latest - datetime.timedelta(days=rng.randint(0, max(0, HISTORY_DAYS - 20 - (today - latest).days)))
            lines.append(_Line(product=product, quantity=rng.choice(LINE_QUANTITIES), sa=va.account, va=va,
                               state=OrderLineState.PROVISIONED, day=day, end_sa=va.account, kind="expired"))
        # Classic products: shipped as PAKs into the account.
        for _ in range(classic):
            account = rng.choice(self.pool_accounts)
            lines.append(_Line(product=rng.choice(self.classic), quantity=rng.choice(LINE_QUANTITIES), sa=account, va=None,
                               state=OrderLineState.PROVISIONED, day=self.days_ago(20, HISTORY_DAYS - 20), end_sa=account,
                               kind="classic"))
        # Moved out of the holding account, or assigned by the end customer, before they were provisioned.
        for line in lines:
            r = rng.random()
            if r < 0.02:
                line.held_in = self.holding
            elif r < 0.07:
                line.delegated = True
        # Waiting in the holding account (some for longer than the stale limit).
        for _ in range(held):
            lines.append(_Line(product=orderable(), quantity=rng.choice(LINE_QUANTITIES), sa=self.holding, va=None,
                               state=OrderLineState.HELD, day=self.days_ago(1, 120), end_sa=end_customer(), kind="held",
                               held_in=self.holding))
        # Shipped, delegated to the end customer, who has not chosen an account yet.
        for _ in range(delegated):
            lines.append(_Line(product=orderable(), quantity=rng.choice(LINE_QUANTITIES), sa=None, va=None, delegated=True,
                               state=OrderLineState.AWAITING_ACCOUNT, day=self.days_ago(1, 60), end_sa=end_customer(),
                               kind="delegated"))
        # Shipped into accounts that are not activated yet.
        for _ in range(new_account):
            account = rng.choice(self.new_accounts)
            lines.append(_Line(product=orderable(), quantity=rng.choice(LINE_QUANTITIES), sa=account,
                               va=self.root_of(account) if rng.random() < 0.5 else None,
                               state=OrderLineState.AWAITING_ACCOUNT, day=self.days_ago(1, 60), end_sa=account,
                               kind="new_account"))
        # Booked: placed in the last month, not shipped yet (some delegated, some to new accounts).
        for _ in range(booked):
            account = end_customer()
            r = rng.random()
            va = None
            if r < 0.25:
                sa, is_delegated = None, True
            else:
                sa, is_delegated = account, False
                if rng.random() < 0.5:
                    va = self.va_by_id[rng.choice(account.va_ids)]
            lines.append(_Line(product=orderable(), quantity=rng.choice(LINE_QUANTITIES), sa=sa, va=va,
                               delegated=is_delegated, state=OrderLineState.BOOKED, day=self.days_ago(0, 30),
                               end_sa=account, kind="booked", shipped=False))
        assert len(lines) == size.order_lines, (len(lines), size.order_lines)

        # Orders: each end customer's lines, by date, cut into orders of a few lines.
        by_customer: dict[int, list[_Line]] = defaultdict(list)
        for line in lines:
            by_customer[line.end_sa.id].append(line)
        buckets = sorted(by_customer)
        order_counts = _allocate(size.orders, [len(by_customer[b]) for b in buckets])
        # Every bucket has an order and no more orders than lines.
        for i, b in enumerate(buckets):
            order_counts[i] = max(1, min(order_counts[i], len(by_customer[b])))
        surplus = sum(order_counts) - size.orders
        index = sorted(range(len(buckets)), key=lambda i: len(by_customer[buckets[i]]) - order_counts[i], reverse=True)
        while surplus:
            before = surplus
            for i in index:
                if surplus > 0 and order_counts[i] > 1:
                    order_counts[i] -= 1
                    surplus -= 1
                elif surplus < 0 and order_counts[i] < len(by_customer[buckets[i]]):
                    order_counts[i] += 1
                    surplus += 1
                if not surplus:
                    break
            if surplus == before:
                raise ValueError("Fewer orders than end customers at this scale.")
        account_by_id = {a.id: a for a in self.accounts}
        orders: list[_Order] = []
        for b, n in zip(buckets, order_counts):
            bucket = sorted(by_customer[b], key=lambda line: line.day)
            start = 0
            for part in _cuts(len(bucket), n, rng):
                orders.append(_Order(bucket[start:start + part], account_by_id[b]))
                start += part
        for order in orders:
            first = min(line.day for line in order.lines)
            order.placed_at = self.at(first - datetime.timedelta(days=rng.randint(0, 3)))
            order.placed_by = rng.choice(self.order_desk)
            order.reseller_id = rng.choice(self.resellers) if rng.random() < 0.1 else None
        orders.sort(key=lambda o: o.placed_at)
        line_id = 0
        for n, order in enumerate(orders, start=1):
            order.id, order.number = n, f"SO-{100000 + n}"
            for number, line in enumerate(order.lines, start=1):
                line_id += 1
                line.id, line.order, line.number = line_id, order, number
                if line.state == OrderLineState.PROVISIONED:
                    line.provisioned_at = max(self.at(line.day, hour=12), order.placed_at)
                    if line.held_in is not None or line.delegated:  # waited before it was moved
                        waited = datetime.timedelta(days=rng.randint(1, 20))
                        line.provisioned_at = min(line.provisioned_at + waited, self.now)
        self.orders = orders
        self.lines = [line for order in orders for line in order.lines]
        self.planned = len(orders) + 3 * len(self.lines)

    def write_orders(self) -> None:
        through = (OrderLine.entitlements.through, OrderLine.classic_licenses.through)
        with _bulk_load(Order, OrderLine, Entitlement, ClassicLicense, *through):
            self._write_orders()

    def _write_orders(self) -> None:
        db = self.db
        db.load(Order, ("id", "number", "partner", "reseller", "placed_by", "end_customer_name", "end_customer_email",
                        "placed_at"),
                ((o.id, o.number, 1, o.reseller_id, o.placed_by, o.end_sa.name, o.end_sa.admin_email, o.placed_at)
                 for o in self.orders))
        db.load(OrderLine, ("id", "order", "number", "product", "quantity", "smart_account", "virtual_account", "delegated",
                            "state", "shipped_on", "starts_on", "ends_on", "held_in", "provisioned_at"),
                ((line.id, line.order.id, line.number, line.product.id, line.quantity, line.sa.id if line.sa else None,
                  line.va.id if line.va else None, line.delegated, line.state, line.shipped_on, line.starts_on, line.ends_on,
                  line.held_in.id if line.held_in else None, line.provisioned_at) for line in self.lines))
        # What shipping deposited: an entitlement per smart line, a PAK per classic line.
        entitlements, line_entitlements, paks, line_paks = [], [], [], []
        for line in self.lines:
            if line.state != OrderLineState.PROVISIONED:
                continue
            reference = f"{line.order.number} line {line.number}"
            if line.product.kind == LicenseKind.SMART:
                entitlement_id = len(entitlements) + 1
                entitlements.append((entitlement_id, line.va.id, line.product.id, line.quantity, line.starts_on, line.ends_on,
                                     EntitlementSource.ORDER, reference, line.provisioned_at))
                line_entitlements.append((line.id, entitlement_id))
            else:
                pak_id = len(paks) + 1
                paks.append((pak_id, line.sa.id, line.product.id, f"BP{pak_id:06d}-{_sha(reference)[:5].upper()}",
                             line.quantity, reference, line.provisioned_at, "", ""))
                line_paks.append((line.id, pak_id))
        for va_id, product_id in self.manual:  # opening balances of the pools no order line covers
            entitlements.append((len(entitlements) + 1, va_id, product_id, self.targets[(va_id, product_id)], None,
                                 None, EntitlementSource.MANUAL, "Opening balance", self.va_by_id[va_id].created_at))
        db.load(Entitlement, ("id", "virtual_account", "product", "quantity", "starts_on", "ends_on", "source", "source_ref",
                              "created_at"), entitlements)
        db.load(OrderLine.entitlements.through, ("orderline", "entitlement"), line_entitlements)
        db.load(ClassicLicense, ("id", "smart_account", "product", "pak", "quantity", "source_ref", "created_at",
                                 "device_serial", "license_key"), paks)
        db.load(OrderLine.classic_licenses.through, ("orderline", "classiclicense"), line_paks)
        # The links emailed to end customers for the lines they have to place.
        db.load(Invitation, ("key", "purpose", "email", "object_key", "created_at", "expires_at"),
                ((_sha(f"bench-line-{line.id}")[:43], InvitationPurpose.ASSIGN_ORDER_LINE, line.order.end_sa.admin_email,
                  f"{OrderLine._meta.label_lower}:{line.id}", line.order.placed_at,
                  line.order.placed_at + datetime.timedelta(days=14))
                 for line in self.lines if line.delegated and line.sa is None))

    # -- derived: shortages and snapshots, from the app's own reads and services --

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

    # -- the event log --

    def plan_events(self) -> None:
        ev, email, staff = self.event, self.email_of, self.staff_id
        staff_email = email[staff]
        for a in self.accounts:
            if a.kind == SmartAccountKind.HOLDING:
                ev(a.created_at, a.id, None, a.requested_by_id, email[a.requested_by_id], "holding_account.created",
                   "smartaccount", a.id, f"{a.name} (holding account)", _detail())
            elif a.status == SmartAccountStatus.NEW:
                ev(a.created_at, a.id, None, a.requested_by_id, email[a.requested_by_id], "smart_account.requested",
                   "smartaccount", a.id, f"{a.name} ({a.domain})", _detail(contact=a.admin_email))
            else:
                ev(a.created_at, a.id, None, a.admin_id, email[a.admin_id], "smart_account.created", "smartaccount", a.id,
                   f"{a.name} ({a.domain})", _detail())
        for va in self.vas:
            if va.parent is not None:
                a = va.account
                ev(va.created_at, a.id, va.id, a.admin_id, email.get(a.admin_id), "virtual_account.created",
                   "virtualaccount", va.id, f"{a.name} / {va.name}", _detail(parent=va.parent.name))
        grants = [(row, False) for row in self.sa_roles] + [(row, True) for row in self.va_roles]
        accounts = {a.id: a for a in self.accounts}
        codename = dict(Permission.objects.filter(content_type__app_label="accounts").values_list("pk", "codename"))
        for (row_id, user_id, perm, target, granted_by, granted), on_va in grants:
            va = self.va_by_id[target] if on_va else None
            a = va.account if va else accounts[target]
            ev(granted, a.id, va.id if va else None, granted_by, email.get(granted_by), "role.granted",
               "smartaccountrole" if not on_va else "virtualaccountrole", row_id,
               f"{email[user_id]}: {codename[perm]} on {a.name if va is None else f'{a.name} / {va.name}'}",
               _detail(user=email[user_id], role=codename[perm], scope="account" if va is None else va.name))
        va_by_id = self.va_by_id
        for device_id, va_id, registered, _ in self.devices:
            va = va_by_id[va_id]
            hostname = f"dev-{device_id:06d}.{va.account.domain}"
            ev(registered, va.account.id, va_id, None, "system", "device.registered", "device", device_id,
               f"{hostname} (BN-HW-{device_id % 97:02d})",
               _detail(serial_number=f"BNC{device_id:08d}", hostname=hostname, product_id=f"BN-HW-{device_id % 97:02d}",
                       token=f"slrt_{self.token_of[va_id]:07d}"))
        for order in self.orders:
            by_account: dict[int, list[_Line]] = defaultdict(list)
            for line in order.lines:
                # A delegated line names no account when it is placed; a held one its holding account.
                target = line.held_in if line.held_in is not None else None if line.delegated else line.sa
                if target is not None:
                    by_account[target.id].append(line)
            for sa_id, lines in by_account.items():
                # A line parked in the holding account named no VA of the customer's yet.
                vas = {None if sa_id == self.holding.id else line.va.id if line.va else None for line in lines}
                ev(order.placed_at, sa_id, vas.pop() if len(vas) == 1 else None, order.placed_by, email[order.placed_by],
                   "order.placed", "order", order.id, f"{order.number} for {order.end_sa.name}",
                   _detail(order=order.number, partner=dataset.PARTNER_NAME, end_customer=order.end_sa.name,
                           lines=[{"line": line.number, "sku": line.product.sku, "quantity": line.quantity}
                                  for line in lines]))
            for line in order.lines:
                repr_ = f"{order.number}/{line.number}: {line.quantity} × {line.product.sku}"
                detail = {"order": order.number, "line": line.number, "sku": line.product.sku, "quantity": line.quantity}
                if line.state == OrderLineState.PROVISIONED:
                    if line.held_in is not None:
                        ev(self.at(line.day, hour=9), line.held_in.id, None, staff, staff_email, "order_line.shipped",
                           "orderline", line.id, repr_, _detail(**detail, shipped_on=line.day.isoformat(), state="held"))
                        who = order.placed_by
                        ev(line.provisioned_at, line.sa.id, line.va.id if line.va else None, who, email[who],
                           "order_line.moved", "orderline", line.id, repr_,
                           _detail(**detail, **{"from": dataset.HOLDING_ACCOUNT_NAME, "partner": dataset.PARTNER_NAME,
                                                "to": line.sa.name, "domain": line.sa.domain}))
                    if line.delegated:
                        who = line.sa.admin_id
                        ev(line.provisioned_at, line.sa.id, line.va.id if line.va else None, who, email[who],
                           "order_line.assigned", "orderline", line.id, repr_, _detail(**detail, by="end customer"))
                    ev(line.provisioned_at, line.sa.id, line.va.id if line.va else None, staff, staff_email,
                       "order_line.provisioned", "orderline", line.id, repr_, _detail(**detail))
                elif line.state in (OrderLineState.HELD, OrderLineState.AWAITING_ACCOUNT) and line.sa is not None:
                    ev(self.at(line.day, hour=9), line.sa.id, line.va.id if line.va else None, staff, staff_email,
                       "order_line.shipped", "orderline", line.id, repr_,
                       _detail(**detail, shipped_on=line.day.isoformat(), state=line.state))
        product_by_id = {p.id: p for p in self.products}
        for started, va_id, product_id, shortage_id, missing, bought, used in self.shortages:
            va, product = va_by_id[va_id], product_by_id[product_id]
            ev(started, va.account.id, va_id, None, "system", "compliance.shortage_started", "shortage", shortage_id,
               f"Shortage of {product.sku} in {va.name} since {started:%Y-%m-%d} (open)",
               _detail(sku=product.sku, product=product.name, virtual_account_name=va.name, purchased=bought,
                       in_use=used, shortage=missing, cause="usage reported"))
        self.events.sort(key=lambda e: e[0])
        self.planned = len(self.events)

    def write_events(self) -> None:
        with _bulk_load(Event):
            self.db.load(Event, ("created_at", "smart_account", "virtual_account", "actor", "actor_label", "action",
                                 "object_type", "object_id", "object_repr", "detail"), self.events)

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


# --- after seeding: do the pages show it? -------------------------------------------------------


@dataclass
class PageCheck:
    url: str
    user: str
    status: int
    seconds: float
    missing: list[str]

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.missing


def compliance_disagreements() -> int:
    """Pools whose open-shortage record disagrees with what they hold and use: what
    `licensing.services.compliance_reconcile` would settle (0 after a consistent seed)."""
    from licensing import selectors as licensing_selectors

    scope = VirtualAccount.objects.filter(smart_account__kind=SmartAccountKind.CUSTOMER)
    purchased, in_use = licensing_selectors.pool_totals(scope, on=None, products=None)
    short_now = {key for key in set(purchased) | set(in_use) if in_use[key] > purchased[key]}
    recorded = set(
        Shortage.objects.filter(virtual_account__in=scope.values("pk"), cleared_at__isnull=True)
        .values_list("virtual_account_id", "product_id")
    )
    return len(short_now ^ recorded)


def check_pages() -> list[PageCheck]:
    """Fetch the timed pages as their users, with the test client: each must answer 200 and show
    real data (the busy VA, one of its SKUs and serials, the newest order, a held line, the newest event)."""
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse
    from django.utils.html import escape

    from orders.selectors import held_lines_for

    big_admin = User.objects.get(email=dataset.BIG_ACCOUNT_ADMIN)
    partner_admin = User.objects.get(email=dataset.PARTNER_ADMIN)
    big = SmartAccount.objects.get(name=dataset.BIG_ACCOUNT_NAME, kind=SmartAccountKind.CUSTOMER)
    busy = VirtualAccount.objects.get(smart_account=big, name=dataset.BUSY_VIRTUAL_ACCOUNT_NAME)
    sku = (
        DeviceUsage.objects.filter(device__virtual_account=busy).order_by("product__family", "product__sku")
        .values_list("product__sku", flat=True).first()
    )
    serial = (
        Device.objects.filter(virtual_account=busy).order_by("serial_number").values_list("serial_number", flat=True).first()
    )
    newest_order = Order.objects.filter(partner__name=dataset.PARTNER_NAME).order_by("-placed_at", "-id").first()
    held = held_lines_for(partner_admin).first()
    newest_event = Event.objects.filter(smart_account=big).order_by("-created_at", "-id").first()
    pages = [
        # The tree loads on demand: ?open= unfolds the path down to the busy VA.
        (big_admin, reverse("portal:smart_account_detail", args=[big.pk]) + f"?open={busy.pk}", [busy.name, big.name]),
        (big_admin, reverse("licensing:license_list", kwargs={"va_pk": busy.pk}), [busy.name, sku]),
        (big_admin, reverse("licensing:device_list", kwargs={"va_pk": busy.pk}), [serial]),
        (big_admin, reverse("licensing:event_list", kwargs={"sa_pk": big.pk}),
         [newest_event.action if newest_event else "?"]),
        (partner_admin, reverse("orders:order_list"), [newest_order.number if newest_order else "?"]),
        (partner_admin, reverse("orders:held_line_list"),
         [dataset.HOLDING_ACCOUNT_NAME, held.order.number if held else "?", held.product.sku if held else "?"]),
    ]
    results = []
    client = Client()
    with override_settings(ALLOWED_HOSTS=["*"]):
        for user, url, expected in pages:
            client.force_login(user)
            started = time.perf_counter()
            response = client.get(url)
            seconds = time.perf_counter() - started
            content = response.content.decode(errors="replace")
            missing = [text for text in expected if not text or escape(text) not in content]
            results.append(PageCheck(url, user.email, response.status_code, round(seconds, 3), missing))
    return results
