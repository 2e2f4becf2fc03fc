"""Filters of the licensing list pages (django-filter). Each narrows a queryset that a selector
already limited to what the user may see: devices, tokens, PAKs and the event log."""
from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.forms import VirtualAccountChoiceField
from accounts.models import Event, EventAction, VirtualAccount
from accounts.validators import validate_day_in_range

from .forms import ProductChoiceField, QuickSelect, VirtualAccountSearchInput
from .models import ClassicLicense, Device, DeviceStatus, DeviceUsage, Product, RegistrationToken, TokenStatus


def _search(placeholder: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": placeholder, "type": "search"})


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


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


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# A scope with more Virtual Accounts than this gets a search box instead of a select (a select
# of 2,000 took longer to render than the event log's queries took to run).
VIRTUAL_ACCOUNT_SELECT_LIMIT = 100

# Families of event types named as the pages name them (others: the family with spaces).
EVENT_FAMILY_NAMES = {
    "alerts": "alert", "licenses": "license", "pak": "PAK", "smart_account": "Smart Account",
    "virtual_account": "Virtual Account",
}


def event_type_choices() -> list:
    """Every type of event (`EventAction`) grouped by family, the whole family first ("device.":
    every device event), families by name."""
    families: dict[str, list[tuple[str, str]]] = {}
    for action in EventAction:
        families.setdefault(action.value.split(".", 1)[0], []).append((action.value, action.label))
    choices = []
    for family, types in sorted(families.items()):
        name = EVENT_FAMILY_NAMES.get(family, family.replace("_", " "))
        choices.append((name[:1].upper() + name[1:], [(f"{family}.", f"All {name} events"), *types]))
    return choices


class EventFilterSet(django_filters.FilterSet):
    """Over `selectors.events(...)` (the account's log as the user may see it)."""

    action = django_filters.ChoiceFilter(choices=event_type_choices, method="filter_action", label="Type",
                                         empty_label="Any type", widget=QuickSelect)
    virtual_account = VirtualAccountFilter(queryset=VirtualAccount.objects.none(), method="filter_virtual_account",
                                           label="Virtual Account", empty_label="All", widget=QuickSelect)
    actor = django_filters.CharFilter(method="filter_actor", label="Actor", widget=_search("Email, or “system”"))
    since = django_filters.DateFilter(method="filter_since", label="From", widget=_date(),
                                      validators=[validate_day_in_range])
    until = django_filters.DateFilter(method="filter_until", label="Until", widget=_date(),
                                      validators=[validate_day_in_range])

    class Meta:
        model = Event
        fields: list[str] = []

    def __init__(self, *args, virtual_accounts: QuerySet[VirtualAccount], virtual_account_search_url: str, **kwargs):
        super().__init__(*args, **kwargs)
        virtual_accounts = virtual_accounts.order_by("tree_id", "lft")
        self.filters["virtual_account"].queryset = virtual_accounts
        # One query either way: the first VAs (their labels), listed if that is all of them.
        field = self.form.fields["virtual_account"]
        few = list(virtual_accounts.values_list("pk", "name", "level", named=True)[:VIRTUAL_ACCOUNT_SELECT_LIMIT + 1])
        if len(few) <= VIRTUAL_ACCOUNT_SELECT_LIMIT:
            field.widget.choices = [("", field.empty_label), *((va.pk, field.label_from_instance(va)) for va in few)]
        else:
            chosen = None
            if self.form.is_bound:
                self.form.is_valid()  # validated once; the filtering reuses it
                chosen = self.form.cleaned_data.get("virtual_account")
            field.widget = VirtualAccountSearchInput(search_url=virtual_account_search_url, chosen=chosen)

    def filter_action(self, queryset, name, value):
        return queryset.filter(action__startswith=value) if value.endswith(".") else queryset.filter(action=value)

    def filter_virtual_account(self, queryset, name, value):
        return _in_subtree(queryset, value)

    def filter_actor(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(actor_label__iexact=value) if value else queryset

    def filter_since(self, queryset, name, value):
        return queryset.filter(created_at__gte=_day_start(value))

    def filter_until(self, queryset, name, value):
        return queryset.filter(created_at__lt=_day_start(value + datetime.timedelta(days=1)))
