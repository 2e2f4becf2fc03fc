"""Filters of the orders pages and API (django-filter): the order list, the holding-account
inbox, and the API's order list. Each filter narrows the already-narrowed queryset (what the
user may see)."""
from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from accounts.models import SmartAccount, SmartAccountKind
from accounts.permissions import HOLD, reachable_holding_accounts, visible_smart_accounts
from accounts.selectors import partner_of
from accounts.validators import validate_day_in_range
from lib.ids import MAX_ID

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
    mine = assignable_holding_accounts(partner_of(user))
    return reachable_holding_accounts(user, own=mine).select_related("partner").order_by("partner__name", "name")


class OrderFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderLineState.choices, method="filter_status", label="Status",
                                         empty_label="Any status")
    customer = django_filters.CharFilter(method="filter_customer", label="Customer",
                                         widget=_text_input("Name, email or domain"))
    holding_account = HoldingAccountFilter(queryset=SmartAccount.objects.none(), method="filter_holding_account",
                                           label="Holding account", empty_label="Any")
    product = django_filters.CharFilter(method="filter_product", label="Product", widget=_text_input("SKU or name"))
    placed_from = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__gte", label="Placed from",
                                            widget=forms.DateInput(attrs={"type": "date"}),
                                            validators=[validate_day_in_range])
    placed_to = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__lte", label="Placed until",
                                          widget=forms.DateInput(attrs={"type": "date"}),
                                          validators=[validate_day_in_range])

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


# --- the API's order list (GET /api/v1/orders/) ---------------------------------------------------


class IdFilter(django_filters.NumberFilter):
    """An id in a query string: a whole number from 1 to the largest key the database holds, else
    a field-keyed 400 (a bigger one would overflow the lookup: an OverflowError on SQLite, a 500).
    The bounds are in the OpenAPI schema too."""

    field_class = forms.IntegerField

    def __init__(self, *args, help_text: str = "", **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, help_text=help_text, **kwargs)
        extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID,
                             "description": help_text})(self)


class OrderApiFilterForm(forms.Form):
    """The filterset's form, with the check that spans two of its fields."""

    def clean(self) -> dict:
        data = super().clean()
        if data.get("placed_after") and data.get("placed_before") and data["placed_after"] > data["placed_before"]:
            self.add_error("placed_before", "Comes on or after `placed_after`.")
        return data


class OrderApiFilterSet(django_filters.FilterSet):
    """The filters of GET /api/v1/orders/ (through DjangoFilterBackend): a bad value is a
    field-keyed 400. The line filters (holding_account, state, smart_account, sku) together pick
    the orders with one line matching all of them (one EXISTS), so they are applied together."""

    holding_account = IdFilter(help_text="Lines assigned to, held in or moved out of this holding account.")
    state = django_filters.ChoiceFilter(choices=OrderLineState.choices, help_text="Lines in this state.")
    smart_account = IdFilter(help_text="Lines assigned to this Smart Account.")
    sku = django_filters.CharFilter(help_text="Lines of this product (SKU, case-insensitive).")
    placed_after = django_filters.DateFilter(validators=[validate_day_in_range],
                                             help_text="Placed on or after this day (UTC).")
    placed_before = django_filters.DateFilter(validators=[validate_day_in_range],
                                              help_text="Placed on or before this day (UTC).")
    number = django_filters.CharFilter(help_text="The order number (exact, case-insensitive).")

    class Meta:
        model = Order
        fields: list[str] = []
        form = OrderApiFilterForm

    def filter_queryset(self, queryset: QuerySet[Order]) -> QuerySet[Order]:
        data = self.form.cleaned_data
        line = Q()
        if data.get("holding_account") is not None:
            line &= Q(smart_account_id=data["holding_account"]) | Q(held_in_id=data["holding_account"])
        if data.get("state"):
            line &= Q(state=data["state"])
        if data.get("smart_account") is not None:
            line &= Q(smart_account_id=data["smart_account"])
        if (data.get("sku") or "").strip():
            line &= Q(product__sku__iexact=data["sku"].strip())
        if line:
            queryset = queryset.filter(Exists(OrderLine.objects.filter(line, order=OuterRef("pk"))))
        if data.get("placed_after"):
            queryset = queryset.filter(placed_at__date__gte=data["placed_after"])
        if data.get("placed_before"):
            queryset = queryset.filter(placed_at__date__lte=data["placed_before"])
        if (data.get("number") or "").strip():
            queryset = queryset.filter(number__iexact=data["number"].strip())
        return queryset
