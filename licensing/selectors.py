"""Reads of licensing data for pages, the API and the services: pools and their compliance
(per Virtual Account, rolled up over subtrees), entitlements, devices, tokens, PAKs, events,
usage history and reconciliation. Each answers in a fixed number of queries."""
from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Greatest
from django.utils import timezone

from accounts import permissions
from accounts.models import Event, SmartAccount, User, VirtualAccount

from .models import (
    AlertPreferences,
    ClassicLicense,
    Device,
    DeviceStatus,
    DeviceUsage,
    Entitlement,
    Product,
    RegistrationToken,
    Shortage,
    TokenStatus,
    UsageSnapshot,
)

# --- pools ------------------------------------------------------------------------------


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


def _sorted(lines: Iterable[LicenseLine]) -> list[LicenseLine]:
    return sorted(lines, key=lambda line: (line.product.family, line.product.sku))


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
    purchased, in_use = pool_totals(virtual_accounts, on=on, products=products)
    product_ids = {p for _, p in purchased} | {p for _, p in in_use}
    catalogue = Product.objects.in_bulk(product_ids)
    lines: dict[int, LicenseLine] = {}
    for key in set(purchased) | set(in_use):
        line = lines.setdefault(key[1], LicenseLine(product=catalogue[key[1]]))
        line.add_pool(purchased[key], in_use[key])
    return _sorted(lines.values())


def virtual_account_license_summary(virtual_account: VirtualAccount, *, subtree: bool = False) -> list[LicenseLine]:
    vas = virtual_account.get_descendants(include_self=True) if subtree else VirtualAccount.objects.filter(pk=virtual_account.pk)
    return license_summary(vas)


def smart_account_license_summary(smart_account: SmartAccount, *, user: User | None = None) -> list[LicenseLine]:
    """The whole account's roll-up; for a `user`, over the Virtual Accounts they may see only."""
    return license_summary(virtual_accounts_in_scope(user, smart_account=smart_account))


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


def pool_position(virtual_account: VirtualAccount, product: Product, *, on: datetime.date | None = None) -> LicenseLine:
    """One product in one VA's own pool: available = active purchased − in use by its devices."""
    return pool_positions(virtual_account, [product], on=on)[product.pk]


@dataclass
class VirtualAccountLicenses:
    """A row of the license tree: one VA's own pool and the roll-up of its subtree."""

    virtual_account: VirtualAccount
    own: list[LicenseLine] = field(default_factory=list)
    subtree: list[LicenseLine] = field(default_factory=list)

    @property
    def shortage(self) -> int:
        return sum(line.shortage for line in self.subtree)


def license_tree(
    virtual_accounts: QuerySet[VirtualAccount], *, on: datetime.date | None = None
) -> list[VirtualAccountLicenses]:
    """Per Virtual Account, in tree order: its own positions per product and the roll-up over its
    subtree (within the given VAs: a user's visible part of the tree). Four queries."""
    vas = list(virtual_accounts.order_by("tree_id", "lft"))
    purchased, in_use = pool_totals(virtual_accounts, on=on, products=None)
    catalogue = Product.objects.in_bulk({p for _, p in purchased} | {p for _, p in in_use})
    own: dict[int, dict[int, LicenseLine]] = defaultdict(dict)
    for key in set(purchased) | set(in_use):
        own[key[0]].setdefault(key[1], LicenseLine(product=catalogue[key[1]])).add_pool(purchased[key], in_use[key])
    rollup: dict[int, dict[int, LicenseLine]] = defaultdict(dict)
    by_pk = {va.pk: va for va in vas}
    # Children come after their parent in (tree_id, lft) order: walk backwards, add each VA's
    # own pools and its gathered subtree into its nearest ancestor within the set.
    for va in reversed(vas):
        mine = rollup[va.pk]
        for pid, line in own.get(va.pk, {}).items():
            mine.setdefault(pid, LicenseLine(product=line.product)).add_line(line)
        # A parent outside what the caller sees ends the roll-up there.
        parent = va.parent_id if va.parent_id in by_pk else None
        if parent is not None:
            into = rollup[parent]
            for pid, line in mine.items():
                into.setdefault(pid, LicenseLine(product=line.product)).add_line(line)
    return [
        VirtualAccountLicenses(virtual_account=va, own=_sorted(own.get(va.pk, {}).values()), subtree=_sorted(rollup[va.pk].values()))
        for va in vas
    ]


def license_tree_summary(rows: list[VirtualAccountLicenses]) -> list[LicenseLine]:
    """What `license_summary` answers over the same Virtual Accounts, from their `license_tree`
    (no query): the roll-ups of the rows whose parent is not among them (each VA is in exactly
    one such subtree) added up per product."""
    ids = {row.virtual_account.pk for row in rows}
    lines: dict[int, LicenseLine] = {}
    for row in rows:
        if row.virtual_account.parent_id in ids:
            continue
        for line in row.subtree:
            lines.setdefault(line.product.pk, LicenseLine(product=line.product)).add_line(line)
    return _sorted(lines.values())


def virtual_accounts_in_scope(
    user: User | None,
    *,
    smart_account: SmartAccount | None = None,
    virtual_account: VirtualAccount | None = None,
    subtree: bool = True,
) -> QuerySet[VirtualAccount]:
    """The Virtual Accounts a read covers: one VA (with its subtree unless `subtree=False`) or a
    whole Smart Account, narrowed to what `user` may see (None: the system, everything)."""
    qs = VirtualAccount.objects.all() if user is None else permissions.visible_virtual_accounts(user)
    if virtual_account is not None:
        if subtree:
            # The subtree as one range of `lft` (what MPTT's get_descendants does), not as
            # lft >= … AND rght <= …: PostgreSQL estimates two ranges on two columns as if they
            # were independent (a leaf's "subtree" looked like a tenth of the tree), and then
            # sorted every device of the table for a page of 25 (bench/run.py, device list).
            return qs.filter(
                smart_account_id=virtual_account.smart_account_id, tree_id=virtual_account.tree_id,
                lft__range=(virtual_account.lft, virtual_account.rght),
            )
        return qs.filter(pk=virtual_account.pk)
    if smart_account is not None:
        return qs.filter(smart_account=smart_account)
    return qs


# --- a product's detail: entitlements, devices, events ------------------------------------


def product_entitlements(
    virtual_accounts: QuerySet[VirtualAccount], product: Product, *, on: datetime.date | None = None, include_ended: bool = False
) -> QuerySet[Entitlement]:
    """The entitlements of a product in these VAs with where they came from (`source`,
    `source_ref`: the order line or PAK), annotated `is_active`; upcoming and (optionally)
    ended ones too. One query."""
    on = on or timezone.localdate()
    qs = Entitlement.objects.filter(virtual_account__in=virtual_accounts.values("pk"), product=product, quantity__gt=0)
    if not include_ended:
        qs = qs.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))
    started = Q(starts_on__isnull=True) | Q(starts_on__lte=on)
    not_ended = Q(ends_on__isnull=True) | Q(ends_on__gte=on)
    return (
        qs.select_related("virtual_account", "product")
        .annotate(is_active=Case(When(started & not_ended, then=Value(True)), default=Value(False), output_field=BooleanField()))
        .order_by("virtual_account__tree_id", "virtual_account__lft", *CONSUMPTION_ORDER)
    )


def product_devices(virtual_accounts: QuerySet[VirtualAccount], product: Product) -> QuerySet[Device]:
    """The devices in these VAs consuming a product, each annotated with `product_count`."""
    count = DeviceUsage.objects.filter(device=OuterRef("pk"), product=product).values("count")[:1]
    return (
        devices(virtual_accounts, with_usage=False)
        .annotate(product_count=Subquery(count, output_field=IntegerField()))
        .filter(product_count__gt=0)
    )


def product_events(smart_account: SmartAccount, product: Product, *, user: User | None = None) -> QuerySet[Event]:
    """The events about one product: deposits, transfers, PAKs, shortages: those whose detail
    names its SKU, at the top or in a transfer's lines. Matched in the detail's JSON text, which
    both databases write as `"sku": "…"` (SKUs hold no character JSON escapes)."""
    return events(smart_account, user=user).annotate(detail_text=Cast("detail", TextField())).filter(
        detail_text__contains=f'"sku": "{product.sku}"'
    )


# --- devices ------------------------------------------------------------------------------


def devices(
    virtual_accounts: QuerySet[VirtualAccount],
    *,
    status: str | None = None,
    search: str | None = None,
    product: Product | None = None,
    with_usage: bool = True,
    now: datetime.datetime | None = None,
) -> QuerySet[Device]:
    """Devices of these VAs with their VA, their usage per product (prefetched) and
    `is_silent` (no report for 30 days). Filters: status reporting | silent, a search over
    serial, hostname and product id, a product in use. Two queries with usage, else one."""
    cutoff = (now or timezone.now()) - Device.SILENT_AFTER
    silent = Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=cutoff)
    qs = (
        Device.objects.filter(virtual_account__in=virtual_accounts.values("pk"))
        .select_related("virtual_account")
        .annotate(is_silent=Case(When(silent, then=Value(True)), default=Value(False), output_field=BooleanField()))
        .order_by("serial_number", "pk")
    )
    if status == DeviceStatus.SILENT:
        qs = qs.filter(silent)
    elif status == DeviceStatus.REPORTING:
        qs = qs.exclude(silent)
    if search:
        term = search.strip()
        qs = qs.filter(Q(serial_number__icontains=term) | Q(hostname__icontains=term) | Q(product_id__icontains=term))
    if product is not None:
        qs = qs.filter(pk__in=DeviceUsage.objects.filter(product=product, count__gt=0).values("device"))
    if with_usage:
        qs = qs.prefetch_related(
            Prefetch("usage", queryset=DeviceUsage.objects.filter(count__gt=0).select_related("product").order_by("product__sku"))
        )
    return qs


def silent_devices(virtual_accounts: QuerySet[VirtualAccount]) -> QuerySet[Device]:
    return devices(virtual_accounts, status=DeviceStatus.SILENT).order_by(F("last_contact_at").asc(nulls_first=True), "pk")


# --- tokens and PAKs ------------------------------------------------------------------------


def tokens(virtual_accounts: QuerySet[VirtualAccount], *, status: str | None = None) -> QuerySet[RegistrationToken]:
    """Registration tokens of these VAs, newest first, annotated `current_status`."""
    now = timezone.now()
    qs = (
        RegistrationToken.objects.filter(virtual_account__in=virtual_accounts.values("pk"))
        .select_related("virtual_account", "created_by")
        .annotate(
            current_status=Case(
                When(revoked_at__isnull=False, then=Value(TokenStatus.REVOKED)),
                When(expires_at__lte=now, then=Value(TokenStatus.EXPIRED)),
                When(max_uses__isnull=False, use_count__gte=F("max_uses"), then=Value(TokenStatus.USED_UP)),
                default=Value(TokenStatus.ACTIVE),
            )
        )
        .order_by("-created_at", "-pk")
    )
    if status:
        qs = qs.filter(current_status=status)
    return qs


def classic_licenses(smart_account: SmartAccount, *, status: str | None = None) -> QuerySet[ClassicLicense]:
    """An account's PAKs, newest first; status available | registered | converted."""
    qs = ClassicLicense.objects.filter(smart_account=smart_account).select_related("product", "converted_to")
    if status == "available":
        qs = qs.filter(registered_at__isnull=True, converted_at__isnull=True)
    elif status == "registered":
        qs = qs.filter(registered_at__isnull=False)
    elif status == "converted":
        qs = qs.filter(converted_at__isnull=False)
    return qs.order_by("-created_at", "-pk")


# --- compliance at a glance (dashboards) ----------------------------------------------------


def open_shortages(virtual_accounts: QuerySet[VirtualAccount]) -> QuerySet[Shortage]:
    """The products out of compliance now, per VA, longest-running first."""
    return (
        Shortage.objects.filter(virtual_account__in=virtual_accounts.values("pk"), cleared_at__isnull=True)
        .select_related("virtual_account", "product")
        .order_by("started_at", "pk")
    )


def subscriptions_ending(
    virtual_accounts: QuerySet[VirtualAccount], *, within_days: int = 90, on: datetime.date | None = None
) -> QuerySet[Entitlement]:
    """Active subscription entitlements ending within `within_days`, soonest first."""
    on = on or timezone.localdate()
    return (
        active_entitlements(on)
        .filter(virtual_account__in=virtual_accounts.values("pk"), ends_on__lte=on + datetime.timedelta(days=within_days))
        .select_related("virtual_account", "product")
        .order_by("ends_on", "product__sku", "pk")
    )


# --- events -----------------------------------------------------------------------------------


def events(
    smart_account: SmartAccount,
    *,
    user: User | None = None,
    action: str | None = None,
    virtual_account: VirtualAccount | None = None,
    actor: str | None = None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet[Event]:
    """The account's event log as `user` may see it, newest first. `action`: exact, or a prefix
    ending in "." or "*" (`device.` = every device event); `virtual_account`: that VA and its
    subtree; `actor`: an email (or "system"); `since`/`until`: dates, inclusive."""
    if user is None or permissions.sees_whole_account(user, smart_account):
        # No per-row check for account-wide readers: on a big log it cost ten times the count.
        qs = Event.objects.filter(smart_account=smart_account)
    else:
        qs = permissions.visible(user, Event).filter(smart_account=smart_account)
    if action:
        action = action.strip()
        qs = qs.filter(action__startswith=action.rstrip("*")) if action.endswith((".", "*")) else qs.filter(action=action)
    if virtual_account is not None:
        qs = qs.filter(
            virtual_account__tree_id=virtual_account.tree_id, virtual_account__lft__gte=virtual_account.lft,
            virtual_account__rght__lte=virtual_account.rght, virtual_account__smart_account=smart_account,
        )
    if actor:
        qs = qs.filter(actor_label__iexact=actor.strip())
    if since:
        qs = qs.filter(created_at__gte=_day_start(since))
    if until:
        qs = qs.filter(created_at__lt=_day_start(until + datetime.timedelta(days=1)))
    return qs.select_related("virtual_account").order_by("-created_at", "-id")


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# --- history: usage over time and reconciliation ------------------------------------------


@dataclass
class UsageSeries:
    """A product's daily purchased / in use / shortage over a period (a chart's data)."""

    product: Product
    days: list[datetime.date]
    purchased: list[int]
    in_use: list[int]
    shortage: list[int]


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


PERIOD_MAX_DAYS = 3660  # a history period is at most ten years


def check_period(start: datetime.date, end: datetime.date) -> None:
    """A usage/reconciliation period is at most ten years (ValidationError keyed `start`)."""
    if (end - start).days > PERIOD_MAX_DAYS:
        raise ValidationError({"start": "A period is at most ten years."})


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


# --- alerts ---------------------------------------------------------------------------------


def alert_preferences(smart_account: SmartAccount) -> AlertPreferences:
    """The account's alert preferences (the defaults, unsaved, if it never changed them)."""
    return AlertPreferences.objects.filter(smart_account=smart_account).first() or AlertPreferences(smart_account=smart_account)


def alert_preferences_of(smart_account_ids: Iterable[int]) -> dict[int, AlertPreferences]:
    """The alert preferences of each of these accounts, in one query: {account id: preferences},
    the defaults (unsaved) for an account that never changed them."""
    ids = {pk for pk in smart_account_ids if pk is not None}
    saved = {p.smart_account_id: p for p in AlertPreferences.objects.filter(smart_account_id__in=ids)} if ids else {}
    return {pk: saved.get(pk) or AlertPreferences(smart_account_id=pk) for pk in ids}


# --- dashboards: compliance at a glance --------------------------------------------------------


@dataclass
class ComplianceDashboard:
    """What a customer dashboard shows for a set of Virtual Accounts (an account, or a VA and
    its subtree): the pool per product, the products in shortage (with the VAs short and since
    when), subscriptions ending soon, silent devices, recent events and usage over time."""

    lines: list[LicenseLine]
    shortages: list[Shortage]
    ending: list[Entitlement]
    ending_count: int
    silent: list[Device]
    silent_count: int
    device_count: int
    events: list[Event]
    series: list[UsageSeries]
    start: datetime.date
    end: datetime.date
    ending_within_days: int

    @property
    def shortage_lines(self) -> list[LicenseLine]:
        return [line for line in self.lines if line.shortage > 0]

    @property
    def shortage_count(self) -> int:
        return len(self.shortage_lines)

    @property
    def in_compliance(self) -> bool:
        return not self.shortage_lines

    @property
    def purchased(self) -> int:
        return sum(line.purchased for line in self.lines)

    @property
    def in_use(self) -> int:
        return sum(line.in_use for line in self.lines)

    def shortages_of(self, line: LicenseLine) -> list[Shortage]:
        return [s for s in self.shortages if s.product_id == line.product.pk]

    @property
    def shortage_rows(self) -> list[tuple[LicenseLine, list[Shortage]]]:
        """Each product short now, with the open shortage records of the VAs that are short."""
        return [(line, self.shortages_of(line)) for line in self.shortage_lines]

    def chart(self, *, max_products: int = 6) -> dict:
        """The chart's data (json_script): days, and per product its in-use and purchased lines.
        The products shown: those short on the last day first, then the most used."""
        series = sorted(
            self.series,
            key=lambda s: (-(s.shortage[-1] if s.shortage else 0), -(s.in_use[-1] if s.in_use else 0), s.product.sku),
        )[:max_products]
        days = self.series[0].days if self.series else []
        return {
            "labels": [day.isoformat() for day in days],
            "products": [
                {"sku": s.product.sku, "name": s.product.name, "in_use": s.in_use, "purchased": s.purchased,
                 "shortage": s.shortage}
                for s in series
            ],
        }


def compliance_dashboard(
    smart_account: SmartAccount,
    virtual_accounts: QuerySet[VirtualAccount],
    *,
    user: User | None,
    virtual_account: VirtualAccount | None = None,
    days: int = 30,
    ending_within_days: int = 90,
    limit: int = 5,
    on: datetime.date | None = None,
) -> ComplianceDashboard:
    """A dashboard over these Virtual Accounts (`virtual_account`: the top of the subtree they
    are, for the event log). Lists are cut at `limit` rows (with their counts). About fifteen
    queries, whatever the data."""
    on = on or timezone.localdate()
    silent = silent_devices(virtual_accounts)
    ending = subscriptions_ending(virtual_accounts, within_days=ending_within_days, on=on)
    return ComplianceDashboard(
        lines=license_summary(virtual_accounts, on=on),
        shortages=list(open_shortages(virtual_accounts)[:200]),
        ending=list(ending[:limit]),
        ending_count=ending.count(),
        silent=list(silent[:limit]),
        silent_count=silent.count(),
        device_count=Device.objects.filter(virtual_account__in=virtual_accounts.values("pk")).count(),
        events=list(events(smart_account, user=user, virtual_account=virtual_account)[:limit]),
        series=usage_series(virtual_accounts, start=on - datetime.timedelta(days=days - 1), end=on),
        start=on - datetime.timedelta(days=days - 1),
        end=on,
        ending_within_days=ending_within_days,
    )


@dataclass
class AccountCompliance:
    """One account's compliance in a list of accounts: the SKUs short now (open shortages),
    silent devices and subscriptions ending soon, over the Virtual Accounts the user sees."""

    smart_account: SmartAccount
    shortage_skus: list[str] = field(default_factory=list)
    silent_devices: int = 0
    subscriptions_ending: int = 0

    @property
    def in_compliance(self) -> bool:
        return not self.shortage_skus


def accounts_compliance(
    user: User | None, smart_accounts: Iterable[SmartAccount], *, ending_within_days: int = 90,
    on: datetime.date | None = None,
) -> list[AccountCompliance]:
    """Compliance of several accounts at once (the index of accounts, the portal dashboard),
    in the order given. Three queries, whatever the number of accounts."""
    accounts = list(smart_accounts)
    on = on or timezone.localdate()
    rows = {sa.pk: AccountCompliance(smart_account=sa) for sa in accounts}
    if not rows:
        return []
    vas = virtual_accounts_in_scope(user).filter(smart_account__in=list(rows)).values("pk")
    short = (
        Shortage.objects.filter(virtual_account__in=vas, cleared_at__isnull=True)
        .values_list("virtual_account__smart_account", "product__sku").distinct().order_by("product__sku")
    )
    for sa_id, sku in short:
        if sku not in rows[sa_id].shortage_skus:
            rows[sa_id].shortage_skus.append(sku)
    cutoff = timezone.now() - Device.SILENT_AFTER
    silent = (
        Device.objects.filter(virtual_account__in=vas)
        .filter(Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=cutoff))
        .order_by().values("virtual_account__smart_account").annotate(n=Count("pk"))
    )
    for row in silent:
        rows[row["virtual_account__smart_account"]].silent_devices = row["n"]
    ending = (
        active_entitlements(on)
        .filter(virtual_account__in=vas, ends_on__lte=on + datetime.timedelta(days=ending_within_days))
        .order_by().values("virtual_account__smart_account").annotate(n=Count("pk"))
    )
    for row in ending:
        rows[row["virtual_account__smart_account"]].subscriptions_ending = row["n"]
    return [rows[sa.pk] for sa in accounts]
