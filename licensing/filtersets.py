"""Filters of the licensing list pages (django-filter). Each narrows a queryset that a selector
already limited to what the user may see: devices, tokens and PAKs (the event log's filters are
accounts.filtersets); and the API's product catalogue."""
from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from accounts.forms import VirtualAccountChoiceField
from accounts.models import VirtualAccount

from .forms import ProductChoiceField
from .models import (
    ClassicLicense,
    Device,
    DeviceStatus,
    DeviceUsage,
    LicenseKind,
    Product,
    RegistrationToken,
    TokenStatus,
)


def _search(placeholder: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": placeholder, "type": "search"})


class VirtualAccountFilter(django_filters.ModelChoiceFilter):
    field_class = VirtualAccountChoiceField


class ProductFilter(django_filters.ModelChoiceFilter):
    field_class = ProductChoiceField


def _in_subtree(queryset: QuerySet, va: VirtualAccount, prefix: str = "virtual_account__") -> QuerySet:
    """Rows in this Virtual Account or below it."""
    return queryset.filter(**{f"{prefix}tree_id": va.tree_id, f"{prefix}lft__gte": va.lft, f"{prefix}rght__lte": va.rght})


class DeviceFilterSet(django_filters.FilterSet):
    """Over `selectors.devices(...)`, which annotates `is_silent`."""

    status = django_filters.ChoiceFilter(choices=DeviceStatus.choices, method="filter_status", label="Status",
                                         empty_label="Any status")
    product = ProductFilter(queryset=Product.objects.none(), method="filter_product", label="Uses product",
                            empty_label="Any product")
    virtual_account = VirtualAccountFilter(queryset=VirtualAccount.objects.none(), method="filter_virtual_account",
                                           label="Virtual Account", empty_label="All")
    q = django_filters.CharFilter(method="filter_search", label="Search", widget=_search("Serial, hostname or product ID"))

    class Meta:
        model = Device
        fields: list[str] = []

    def __init__(self, *args, virtual_accounts: QuerySet[VirtualAccount], products: QuerySet[Product], **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["virtual_account"].queryset = virtual_accounts.order_by("tree_id", "lft")
        self.filters["product"].queryset = products

    def filter_status(self, queryset, name, value):
        return queryset.filter(is_silent=(value == DeviceStatus.SILENT)) if value else queryset

    def filter_product(self, queryset, name, value):
        return queryset.filter(pk__in=DeviceUsage.objects.filter(product=value, count__gt=0).values("device"))

    def filter_virtual_account(self, queryset, name, value):
        return _in_subtree(queryset, value)

    def filter_search(self, queryset, name, value):
        term = value.strip()
        if not term:
            return queryset
        return queryset.filter(Q(serial_number__icontains=term) | Q(hostname__icontains=term) | Q(product_id__icontains=term))


class TokenFilterSet(django_filters.FilterSet):
    """Over `selectors.tokens(...)`, which annotates `current_status`."""

    status = django_filters.ChoiceFilter(choices=TokenStatus.choices, field_name="current_status", label="Status",
                                         empty_label="Any status")

    class Meta:
        model = RegistrationToken
        fields: list[str] = []


class ClassicLicenseFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[("available", "Available"), ("registered", "Registered"), ("converted", "Converted")],
        method="filter_status", label="Status", empty_label="Any status",
    )
    q = django_filters.CharFilter(method="filter_search", label="Search", widget=_search("PAK, SKU or serial"))

    class Meta:
        model = ClassicLicense
        fields: list[str] = []

    def filter_status(self, queryset, name, value):
        if value == "available":
            return queryset.filter(registered_at__isnull=True, converted_at__isnull=True)
        if value == "registered":
            return queryset.filter(registered_at__isnull=False)
        if value == "converted":
            return queryset.filter(converted_at__isnull=False)
        return queryset

    def filter_search(self, queryset, name, value):
        term = value.strip()
        if not term:
            return queryset
        return queryset.filter(Q(pak__icontains=term) | Q(product__sku__icontains=term) | Q(device_serial__icontains=term))


class ProductFilterSet(django_filters.FilterSet):
    """The catalogue's filters (GET /api/v1/products/)."""

    family = django_filters.CharFilter(lookup_expr="iexact")
    license_kind = django_filters.ChoiceFilter(choices=LicenseKind.choices)
    sa_required = django_filters.BooleanFilter()
    is_active = django_filters.BooleanFilter()
    search = django_filters.CharFilter(method="filter_search", label="SKU, name or family contains")

    class Meta:
        model = Product
        fields = ["family", "license_kind", "sa_required", "is_active"]

    def filter_search(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value) | Q(family__icontains=value))
