"""Filters of the orders pages (django-filter): the order list and the holding-account inbox.
Each filter is one condition on the already-narrowed queryset (what the user may see)."""
from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import SmartAccount, SmartAccountKind
from accounts.permissions import HOLD, is_staff, visible_smart_accounts
from accounts.services import partner_of

from .forms import HoldingAccountChoiceField
from .models import Order, OrderLine, OrderLineState
from .selectors import assignable_holding_accounts, holding_stale_days

# Order.status: the least advanced state among the lines wins, in this order.
STATUS_PRECEDENCE = (OrderLineState.BOOKED, OrderLineState.AWAITING_ACCOUNT, OrderLineState.HELD, OrderLineState.PROVISIONED)


def _text_input(placeholder: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": placeholder, "type": "search"})


class HoldingAccountFilter(django_filters.ModelChoiceFilter):
    field_class = HoldingAccountChoiceField


def _holding_accounts_for(user) -> QuerySet[SmartAccount]:
    """The holding accounts a user can filter orders by: staff all; partner users their
    partner's (and a distributor's resellers') and those they are a member of."""
    if is_staff(user):
        return SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING).select_related("partner").order_by("name")
    mine = assignable_holding_accounts(partner_of(user)).values("pk")
    member = visible_smart_accounts(user, HOLD).values("pk")
    return (
        SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING).filter(Q(pk__in=mine) | Q(pk__in=member))
        .select_related("partner").order_by("partner__name", "name")
    )


class OrderFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderLineState.choices, method="filter_status", label="Status",
                                         empty_label="Any status")
    customer = django_filters.CharFilter(method="filter_customer", label="Customer",
                                         widget=_text_input("Name, email or domain"))
    holding_account = HoldingAccountFilter(queryset=SmartAccount.objects.none(), method="filter_holding_account",
                                           label="Holding account", empty_label="Any")
    product = django_filters.CharFilter(method="filter_product", label="Product", widget=_text_input("SKU or name"))
    placed_from = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__gte", label="Placed from",
                                            widget=forms.DateInput(attrs={"type": "date"}))
    placed_to = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__lte", label="Placed until",
                                          widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Order
        fields: list[str] = []

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.filters["holding_account"]
        field.queryset = _holding_accounts_for(user)
        field.extra["own_partner"] = partner_of(user)

    @staticmethod
    def _lines(*conditions, **lookups) -> Exists:
        return Exists(OrderLine.objects.filter(*conditions, order=OuterRef("pk"), **lookups))

    def filter_status(self, queryset, name, value):
        # The derived status: a line in this state and none in a less advanced one.
        if value not in STATUS_PRECEDENCE:
            return queryset
        condition = Q(self._lines(state=value))
        for earlier in STATUS_PRECEDENCE[: STATUS_PRECEDENCE.index(value)]:
            condition &= ~Q(self._lines(state=earlier))
        return queryset.filter(condition)

    def filter_customer(self, queryset, name, value):
        text = value.strip()
        if not text:
            return queryset
        in_account = self._lines(Q(smart_account__name__icontains=text) | Q(smart_account__domain__iexact=text.lower()),
                                 smart_account__kind=SmartAccountKind.CUSTOMER)
        return queryset.filter(
            Q(end_customer_name__icontains=text) | Q(end_customer_email__icontains=text) | Q(in_account)
        )

    def filter_holding_account(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(self._lines(Q(smart_account=value) | Q(held_in=value)))

    def filter_product(self, queryset, name, value):
        text = value.strip()
        if not text:
            return queryset
        return queryset.filter(self._lines(Q(product__sku__iexact=text) | Q(product__name__icontains=text)
                                           | Q(product__sku__istartswith=text)))


class HeldLineFilterSet(django_filters.FilterSet):
    holding_account = HoldingAccountFilter(queryset=SmartAccount.objects.none(), field_name="smart_account",
                                           label="Holding account", empty_label="All my holding accounts")
    product = django_filters.CharFilter(method="filter_product", label="Product", widget=_text_input("SKU or name"))
    age = django_filters.ChoiceFilter(method="filter_age", label="Age", empty_label="Any age", choices=[])

    class Meta:
        model = OrderLine
        fields: list[str] = []

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["holding_account"].queryset = visible_smart_accounts(user, HOLD).select_related("partner").order_by("name")
        days = holding_stale_days()
        self.filters["age"].extra["choices"] = [
            ("stale", f"Held over {days} days"),
            ("recent", f"Held {days} days or less"),
        ]

    def filter_product(self, queryset, name, value):
        text = value.strip()
        if not text:
            return queryset
        return queryset.filter(Q(product__sku__istartswith=text) | Q(product__name__icontains=text))

    def filter_age(self, queryset, name, value):
        limit = timezone.localdate() - datetime.timedelta(days=holding_stale_days())
        if value == "stale":
            return queryset.filter(shipped_on__lt=limit)
        if value == "recent":
            return queryset.filter(shipped_on__gte=limit)
        return queryset
