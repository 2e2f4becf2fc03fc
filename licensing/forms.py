"""Forms of the licensing pages: shape and type only; the rules (availability, expiry limits,
recipients within the account's domain, who may do what) live in licensing.services."""
from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from accounts.forms import VirtualAccountChoiceField
from accounts.models import VirtualAccount
from accounts.validators import validate_day_in_range

from .models import AlertPreferences, Device, Product
from .services import TOKEN_DEFAULT_DAYS, TOKEN_MAX_DAYS


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Product) -> str:
        return f"{obj.sku} — {obj.name}"


def _tree_order(virtual_accounts: QuerySet[VirtualAccount]) -> QuerySet[VirtualAccount]:
    return virtual_accounts.order_by("tree_id", "lft")


# --- licenses ---------------------------------------------------------------------------------


STATUS_CHOICES = [("", "Any status"), ("in_compliance", "In compliance"), ("shortage", "Shortage")]


class LicenseFilterForm(forms.Form):
    """Filters of a license list (its rows are computed per product, not a queryset)."""

    family = forms.ChoiceField(required=False, label="Family")
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label="Status")
    q = forms.CharField(required=False, label="Product", max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": "SKU or name", "type": "search"}))

    def __init__(self, *args, families: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["family"].choices = [("", "Any family")] + [(f, f) for f in families]

    def filter(self, lines: list) -> list:
        """The lines that pass the filters (all of them when the form is not valid)."""
        if not self.is_valid():
            return lines
        family, status, q = (self.cleaned_data.get(k) for k in ("family", "status", "q"))
        if family:
            lines = [line for line in lines if line.product.family == family]
        if status:
            lines = [line for line in lines if line.status == status]
        if q:
            q = q.strip().lower()
            lines = [line for line in lines if q in line.product.sku.lower() or q in line.product.name.lower()]
        return lines


class TransferForm(forms.Form):
    from_virtual_account = VirtualAccountChoiceField(queryset=VirtualAccount.objects.none(), label="From Virtual Account")
    to_virtual_account = VirtualAccountChoiceField(queryset=VirtualAccount.objects.none(), label="To Virtual Account")

    def __init__(self, *args, virtual_accounts: QuerySet[VirtualAccount], **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("from_virtual_account", "to_virtual_account"):
            self.fields[name].queryset = _tree_order(virtual_accounts)

    def clean(self):
        data = super().clean()
        if data.get("from_virtual_account") and data.get("from_virtual_account") == data.get("to_virtual_account"):
            self.add_error("to_virtual_account", "Choose a Virtual Account other than the one the licenses are in.")
        return data


class TransferLineForm(forms.Form):
    product = ProductChoiceField(queryset=Product.objects.none(), required=False, label="Product",
                                 empty_label="— Choose a product —")
    quantity = forms.IntegerField(required=False, min_value=1, label="Quantity")

    def __init__(self, *args, products: QuerySet[Product], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products

    def clean(self):
        data = super().clean()
        product, quantity = data.get("product"), data.get("quantity")
        if product and quantity is None and "quantity" not in self.errors:
            self.add_error("quantity", "How many?")
        if quantity and not product and "product" not in self.errors:
            self.add_error("product", "Choose the product to move.")
        return data

    @property
    def is_blank(self) -> bool:
        return not (self.cleaned_data.get("product") or self.cleaned_data.get("quantity"))


class BaseTransferLineFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if all(form.is_blank for form in self.forms):
            raise ValidationError("Choose at least one product and quantity to transfer.")


TransferLineFormSet = forms.formset_factory(
    TransferLineForm, formset=BaseTransferLineFormSet, extra=3, max_num=50, validate_max=True
)


# --- tokens -----------------------------------------------------------------------------------


class TokenCreateForm(forms.Form):
    virtual_account = VirtualAccountChoiceField(queryset=VirtualAccount.objects.none(), label="Virtual Account",
                                                help_text="Devices registering with this token join its pool.")
    description = forms.CharField(max_length=200, required=False,
                                  help_text="What it is for, e.g. “Branch routers, Berlin”.")
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=TOKEN_MAX_DAYS, initial=TOKEN_DEFAULT_DAYS, label="Expires after (days)",
        help_text=f"1 to {TOKEN_MAX_DAYS} days.",
    )
    max_uses = forms.IntegerField(min_value=1, required=False, label="Maximum uses",
                                  help_text="How many devices may register with it; empty for no limit.")

    def __init__(self, *args, virtual_accounts: QuerySet[VirtualAccount], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["virtual_account"].queryset = _tree_order(virtual_accounts)


# --- devices ----------------------------------------------------------------------------------


class DeviceMoveForm(forms.Form):
    devices = forms.ModelMultipleChoiceField(queryset=Device.objects.none(), widget=forms.MultipleHiddenInput)
    virtual_account = VirtualAccountChoiceField(queryset=VirtualAccount.objects.none(), label="Move to Virtual Account",
                                                help_text="Their usage moves to that Virtual Account's pool.")

    def __init__(self, *args, devices: QuerySet[Device], virtual_accounts: QuerySet[VirtualAccount], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["devices"].queryset = devices
        self.fields["virtual_account"].queryset = _tree_order(virtual_accounts)


# --- classic licenses (PAKs) --------------------------------------------------------------------


class ClassicLicenseRegisterForm(forms.Form):
    serial_number = forms.CharField(max_length=100, label="Device serial number",
                                    help_text="The license key works on this device only.")


class ClassicLicenseConvertForm(forms.Form):
    virtual_account = VirtualAccountChoiceField(queryset=VirtualAccount.objects.none(), label="Into Virtual Account")

    def __init__(self, *args, virtual_accounts: QuerySet[VirtualAccount], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["virtual_account"].queryset = _tree_order(virtual_accounts)


# --- reports ----------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    """A reporting period (reconciliation): the last 30 days unless chosen."""

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From",
                            validators=[validate_day_in_range])
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Until",
                          validators=[validate_day_in_range])
    virtual_account = VirtualAccountChoiceField(queryset=VirtualAccount.objects.none(), required=False,
                                                label="Virtual Account", empty_label="All (with subtrees)")

    def __init__(self, *args, virtual_accounts: QuerySet[VirtualAccount] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if virtual_accounts is None:
            del self.fields["virtual_account"]
        else:
            self.fields["virtual_account"].queryset = _tree_order(virtual_accounts)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data  # a day out of range: no period to work out
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - datetime.timedelta(days=29)
        if start > end:
            self.add_error("start", "The start comes on or before the end.")
        # The ten-year cap is the selector's rule (selectors.check_period): the view runs it.
        data["start"], data["end"] = start, end
        return data


# --- alerts -----------------------------------------------------------------------------------


class AlertPreferencesForm(forms.Form):
    insufficient_licenses = forms.BooleanField(required=False, label="Insufficient licenses",
                                               help_text="A product goes into shortage, and back into compliance.")
    silent_devices = forms.BooleanField(required=False, label="Devices silent for 30 days")
    expiring_subscriptions = forms.BooleanField(required=False, label="Subscriptions expiring",
                                                help_text="A reminder before a subscription ends, at the windows below.")
    expiry_windows = forms.CharField(
        max_length=100, label="Remind before a subscription ends (days)",
        help_text="Up to 5 numbers of days from 1 to 365; the default is <code>90, 30, 7</code>.",
    )
    holding_lines_waiting = forms.BooleanField(required=False, label="Holding-account lines waiting",
                                               help_text="Holding accounts: a weekly digest of the lines waiting to be moved.")
    daily_summary = forms.BooleanField(required=False, label="Daily summary email",
                                       help_text="Shortages, silent devices and renewals, once a day when there is any.")
    extra_recipients = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Extra recipients",
        help_text="Besides the account's admins; one email address per line, within the account's domain.",
    )

    @classmethod
    def initial_from(cls, preferences: AlertPreferences) -> dict:
        return {
            "insufficient_licenses": preferences.insufficient_licenses,
            "silent_devices": preferences.silent_devices,
            "expiring_subscriptions": preferences.expiring_subscriptions,
            "expiry_windows": ", ".join(str(d) for d in preferences.expiry_windows or []),
            "holding_lines_waiting": preferences.holding_lines_waiting,
            "daily_summary": preferences.daily_summary,
            "extra_recipients": "\n".join(preferences.extra_recipients or []),
        }
