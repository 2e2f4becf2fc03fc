"""Forms of the orders pages: shape and type only; the rules live in orders.services."""
from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from accounts.forms import virtual_account_label
from accounts.models import Partner, PartnerKind, SmartAccount, VirtualAccount
from accounts.selectors import account_id_from_search_reference
from lib.ids import id_from_text

# The prefix of a form whose account picker is filled by htmx ("lines-0", "move", "assign"):
# it names the inputs and the ids the fragments swap into, so only these characters.
PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}(-\d{1,4})?$")


def clean_prefix(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if PREFIX_RE.match(value) else None


class Assignment(models.TextChoices):
    CUSTOMER = "customer", "A customer's Smart Account"
    HOLDING = "holding", "A holding account"
    DELEGATE = "delegate", "Let the end customer choose"


class HoldingAccountChoiceField(forms.ModelChoiceField):
    """With `use_accounts(list)`, choices come from a list loaded once per page and shared by
    every line of the formset: neither rendering nor validating a line runs a query."""

    def __init__(self, *args, own_partner: Partner | None = None, **kwargs):
        self.own_partner = own_partner
        self._by_pk: dict[int, SmartAccount] | None = None
        super().__init__(*args, **kwargs)

    def use_accounts(self, accounts: list[SmartAccount]) -> None:
        self._by_pk = {sa.pk: sa for sa in accounts}
        self.choices = [("", self.empty_label)] + [(sa.pk, self.label_from_instance(sa)) for sa in accounts]

    def to_python(self, value):
        if self._by_pk is None or value in self.empty_values:
            return super().to_python(value)
        try:
            return self._by_pk[int(value)]
        except (KeyError, TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")

    def label_from_instance(self, obj: SmartAccount) -> str:
        if self.own_partner is not None and obj.partner_id != self.own_partner.pk:
            return f"{obj.name} ({obj.partner.name})"
        return obj.name


class VirtualAccountField(forms.ModelChoiceField):
    def label_from_instance(self, obj: VirtualAccount) -> str:
        return virtual_account_label(obj)


class SearchReferenceField(forms.Field):
    """The customer account chosen from the user's own search, posted as the search result's
    signed reference (not the id: what the pages show of a chosen account, its name and Virtual
    Accounts, must not be had by trying ids). Cleans to the account's id without a query; the
    services check the account itself. Set `user` (the form does) before cleaning."""

    widget = forms.HiddenInput
    default_error_messages = {"invalid": "Find the customer's Smart Account and choose it from the search results."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = None

    def to_python(self, value) -> int | None:
        value = str(value).strip() if value is not None else ""
        if not value:
            return None
        pk = None
        if self.user is not None and len(value) <= 500:
            pk = account_id_from_search_reference(reference=value, user=self.user)
        if pk is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return pk


class IdListField(forms.Field):
    """Ids from checkboxes sharing one name (`?lines=3&lines=7`)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        if not isinstance(value, (list, tuple)):
            value = [value]
        ids = []
        for item in value:
            pk = id_from_text(str(item).strip())
            if pk is None:
                raise ValidationError("Choose lines from the list.")
            ids.append(pk)
        return sorted(set(ids))

    def validate(self, value: list[int]) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


# --- placing an order ------------------------------------------------------------------------


class OrderForm(forms.Form):
    end_customer_name = forms.CharField(max_length=200, label="End customer name",
                                        help_text="The company the licenses are for.")
    end_customer_email = forms.EmailField(
        label="End-customer contact email",
        help_text="If you let the end customer choose where a line goes, the link is sent to this address.",
    )
    reseller = forms.ModelChoiceField(
        queryset=Partner.objects.none(), required=False, label="Ordering for a reseller",
        empty_label="— No: for our own customer —",
        help_text="A distributor ordering through one of its linked resellers names it here.",
    )

    def __init__(self, *args, partner: Partner, **kwargs):
        super().__init__(*args, **kwargs)
        if partner.kind == PartnerKind.DISTRIBUTOR:
            self.fields["reseller"].queryset = partner.linked_resellers.order_by("name")
        else:
            del self.fields["reseller"]


class OrderLineForm(forms.Form):
    """One line: a product (by SKU), a quantity, and where it goes."""

    product = forms.CharField(
        max_length=60, required=False, label="Product",
        widget=forms.TextInput(attrs={"list": "product-options", "autocomplete": "off", "placeholder": "SKU, e.g. C9300-DNA-E",
                                      "class": "line-product"}),
    )
    quantity = forms.IntegerField(min_value=1, required=False, initial=1, label="Quantity",
                                  widget=forms.NumberInput(attrs={"min": 1}))
    assignment = forms.ChoiceField(choices=Assignment.choices, required=False, widget=forms.RadioSelect,
                                   label="Where the licenses go")
    account_search = forms.CharField(max_length=253, required=False, label="Find the customer's Smart Account")
    smart_account = SearchReferenceField(required=False)
    virtual_account = forms.IntegerField(required=False, widget=forms.HiddenInput)
    holding_account = HoldingAccountChoiceField(queryset=SmartAccount.objects.none(), required=False,
                                                label="Holding account", empty_label="— Choose a holding account —")

    # Where order_place's per-line fields are shown on this form.
    SERVICE_FIELDS = {"sku": "product", "product": "product", "quantity": "quantity",
                      "virtual_account": "virtual_account", "delegate_to_end_customer": "assignment"}

    def __init__(self, *args, holding_accounts=None, partner: Partner | None = None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["smart_account"].user = user
        holding = self.fields["holding_account"]
        holding.own_partner = partner
        if isinstance(holding_accounts, list):
            holding.use_accounts(holding_accounts)
        else:
            holding.queryset = holding_accounts if holding_accounts is not None else SmartAccount.objects.none()
        # Shown by the page (filled by htmx), not by includes/form_field.html.
        self.fields["account_search"].widget.attrs.update({"type": "search", "autocomplete": "off",
                                                           "placeholder": "Exact domain (acme.com) or account name"})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("assignment")
        if kind != Assignment.CUSTOMER:
            # A choice left in the hidden customer panel (a stale reference) is not this line's.
            self.errors.pop("smart_account", None)
        elif not data.get("smart_account") and "smart_account" not in self.errors:
            self.add_error("smart_account", "Find the customer's Smart Account and choose it, or request a new one.")
        if kind == Assignment.HOLDING and not data.get("holding_account") and "holding_account" not in self.errors:
            self.add_error("holding_account", "Choose a holding account.")
        return data

    def line_spec(self) -> dict[str, Any]:
        """The line as order_place takes it."""
        data = self.cleaned_data
        spec: dict[str, Any] = {"sku": data.get("product") or "", "quantity": data.get("quantity")}
        kind = data.get("assignment")
        if kind == Assignment.CUSTOMER:
            spec["smart_account"] = data.get("smart_account")
            spec["virtual_account"] = data.get("virtual_account")
        elif kind == Assignment.HOLDING and data.get("holding_account") is not None:
            spec["smart_account"] = data["holding_account"].pk
        elif kind == Assignment.DELEGATE:
            spec["delegate_to_end_customer"] = True
        return spec

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """order_place's errors about this line, each next to the field it is about."""
        kind = self.cleaned_data.get("assignment")
        for field, messages in errors.items():
            if field == "smart_account":
                target = {Assignment.CUSTOMER: "smart_account", Assignment.HOLDING: "holding_account"}.get(kind, "assignment")
            else:
                target = self.SERVICE_FIELDS.get(field)
            self.add_error(target, messages)


class BaseOrderLineFormSet(forms.BaseFormSet):
    def lines_to_place(self) -> list[OrderLineForm]:
        """The lines the partner filled in, in order: removed and untouched blank lines left out."""
        return [
            form for form in self.forms
            if form.has_changed() and not (self.can_delete and self._should_delete_form(form))
        ]


OrderLineFormSet = forms.formset_factory(
    OrderLineForm, formset=BaseOrderLineFormSet, extra=1, can_delete=True, max_num=500, absolute_max=500,
)


# --- moving lines, choosing an account for a delegated line ----------------------------------


class LineMoveForm(forms.Form):
    """Held lines (ticked in the inbox) and the customer account they go to."""

    lines = IdListField(error_messages={"required": "Tick the lines to move."})
    account_search = forms.CharField(max_length=253, required=False, label="Find the customer's Smart Account")
    smart_account = SearchReferenceField(required=False)
    virtual_account = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # "Move anyway": the user was shown that some lines were ordered for another customer.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["smart_account"].user = user

    def clean_smart_account(self) -> int:
        value = self.cleaned_data.get("smart_account")
        if not value:
            raise ValidationError("Find the customer's Smart Account and choose it.")
        return value


class DelegatedLineAssignForm(forms.Form):
    """The end customer picks one of their accounts (where they may add licenses) and a Virtual Account."""

    smart_account = forms.ModelChoiceField(queryset=SmartAccount.objects.none(), label="Smart Account",
                                           empty_label="— Choose one of your accounts —")
    virtual_account = VirtualAccountField(queryset=VirtualAccount.objects.none(), required=False, label="Virtual Account")

    def __init__(self, *args, accounts, virtual_accounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["smart_account"].queryset = accounts
        self.fields["virtual_account"].queryset = virtual_accounts
