"""A product's detail over a set of Virtual Accounts: its entitlements (and where they came
from), the devices consuming it and the events that name it."""
from __future__ import annotations

import datetime

from django.db.models import BooleanField, Case, IntegerField, OuterRef, Q, QuerySet, Subquery, TextField, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.event_log import events
from accounts.models import Event, SmartAccount, User, VirtualAccount

from ..models import Device, DeviceUsage, Entitlement, Product
from .devices import devices
from .pools import CONSUMPTION_ORDER


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
