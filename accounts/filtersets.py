"""Filters of the accounts pages (django-filter): the event log. Each narrows a queryset that a
selector already limited to what the user may see."""
from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import QuerySet

from .event_log import day_start
from .forms import VirtualAccountChoiceField
from .models import Event, EventAction, VirtualAccount
from .validators import validate_day_in_range
from .widgets import QuickSelect, VirtualAccountSearchInput


class VirtualAccountFilter(django_filters.ModelChoiceFilter):
    field_class = VirtualAccountChoiceField


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


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
    """Over `event_log.events(...)` (the account's log as the user may see it)."""

    action = django_filters.ChoiceFilter(choices=event_type_choices, method="filter_action", label="Type",
                                         empty_label="Any type", widget=QuickSelect)
    virtual_account = VirtualAccountFilter(queryset=VirtualAccount.objects.none(), method="filter_virtual_account",
                                           label="Virtual Account", empty_label="All", widget=QuickSelect)
    actor = django_filters.CharFilter(method="filter_actor", label="Actor",
                                      widget=forms.TextInput(attrs={"placeholder": "Email, or “system”", "type": "search"}))
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
        # This Virtual Account or below it.
        return queryset.filter(virtual_account__tree_id=value.tree_id, virtual_account__lft__gte=value.lft,
                               virtual_account__rght__lte=value.rght)

    def filter_actor(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(actor_label__iexact=value) if value else queryset

    def filter_since(self, queryset, name, value):
        return queryset.filter(created_at__gte=day_start(value))

    def filter_until(self, queryset, name, value):
        return queryset.filter(created_at__lt=day_start(value + datetime.timedelta(days=1)))
