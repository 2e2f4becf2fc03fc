"""Compliance at a glance: open shortages and subscriptions ending soon, the customer dashboard
of a set of Virtual Accounts, and the compliance of several accounts at once (account lists)."""
from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.event_log import events
from accounts.models import Event, SmartAccount, User, VirtualAccount

from ..models import Device, Entitlement, Shortage
from .devices import silent_devices
from .licenses import license_summary, virtual_accounts_in_scope
from .pools import LicenseLine, active_entitlements
from .snapshots import UsageSeries, usage_series


# --- what needs attention -----------------------------------------------------------------


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


# --- one dashboard ------------------------------------------------------------------------


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


# --- many accounts at once ----------------------------------------------------------------


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
