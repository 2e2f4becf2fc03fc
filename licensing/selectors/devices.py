"""Devices of a set of Virtual Accounts, with their usage per product and whether they fell silent."""
from __future__ import annotations

import datetime

from django.db.models import BooleanField, Case, F, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import VirtualAccount

from ..models import Device, DeviceStatus, DeviceUsage, Product


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
