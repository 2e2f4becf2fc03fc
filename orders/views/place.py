"""Placing an order: the order form and its lines, the service's errors next to what they name."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import HoldingAccountCreateForm, SmartAccountRequestForm
from accounts.models import SmartAccount, SmartAccountKind, VirtualAccount
from accounts.selectors import account_id_from_search_reference, search_reference
from lib.forms import form_add_service_errors
from licensing.models import Product

from .. import selectors, services
from ..forms import Assignment, OrderForm, OrderLineFormSet
from ..models import Order
from .pickers import partner_or_403, va_context


def _decorate_lines(formset, products: dict[str, Product], user) -> None:
    """What each bound line shows beside its inputs: the product found for its SKU, and the
    customer account it chose from the user's search (by its reference: never an account named
    by id) with that account's Virtual Accounts (two queries for all lines)."""
    chosen = {}
    for form in formset.forms:
        form.product_obj = products.get(str(form["product"].value() or "").strip().upper())
        if form.is_bound and form["assignment"].value() == Assignment.CUSTOMER:
            pk = account_id_from_search_reference(reference=str(form["smart_account"].value() or "").strip(), user=user)
            if pk is not None:
                chosen[form.prefix] = pk
    if not chosen:
        return
    accounts = SmartAccount.objects.filter(pk__in=set(chosen.values()), kind=SmartAccountKind.CUSTOMER).in_bulk()
    vas_of: dict[int, list[VirtualAccount]] = {}
    for va in VirtualAccount.objects.filter(smart_account__in=list(accounts)).order_by("tree_id", "lft"):
        vas_of.setdefault(va.smart_account_id, []).append(va)
    for sa in accounts.values():
        sa.search_reference = search_reference(smart_account=sa, user=user)
    for form in formset.forms:
        sa = accounts.get(chosen.get(form.prefix))
        if sa is not None:
            form.account_list = [sa]
            form.va = va_context(sa, vas_of.get(sa.pk, []), selected=str(form["virtual_account"].value() or ""))


def _place(request: HttpRequest, order_form: OrderForm, formset) -> Order | None:
    """Call order_place; its errors land on the order form, the formset, or the line they name."""
    lines = formset.lines_to_place()
    data = order_form.cleaned_data
    try:
        return services.order_place(
            actor=request.user, end_customer_name=data["end_customer_name"], end_customer_email=data["end_customer_email"],
            reseller=data.get("reseller"), lines=[form.line_spec() for form in lines],
        )
    except PermissionDenied as exc:
        order_form.add_error(None, str(exc))
    except ValidationError as exc:
        form_add_service_errors(order_form, exc, lines=lines, list_errors=formset.order_errors)
    return None


def _placed_message(order: Order) -> str:
    lines = list(order.lines.all())
    text = f"Order {order.number} is placed with {len(lines)} line{'s' if len(lines) != 1 else ''}. Vendor staff ship it next."
    delegated = sum(1 for line in lines if line.delegated)
    if delegated:
        text += f" {order.end_customer_email} got a link to choose the account for {delegated} line{'s' if delegated != 1 else ''}."
    return text


@require_http_methods(["GET", "POST"])
@login_required
def order_place(request: HttpRequest) -> HttpResponse:
    partner = partner_or_403(request)
    # Loaded once and shared by every line form (no query per line).
    holding_list = list(selectors.assignable_holding_accounts(partner).select_related("partner"))
    form_kwargs = {"holding_accounts": holding_list, "partner": partner, "user": request.user}
    order_form = OrderForm(request.POST or None, partner=partner)
    formset = OrderLineFormSet(request.POST or None, prefix="lines", form_kwargs=form_kwargs)
    formset.order_errors = []
    if request.method == "POST" and order_form.is_valid() and formset.is_valid():
        order = _place(request, order_form, formset)
        if order is not None:
            messages.success(request, _placed_message(order))
            return redirect("orders:order_detail", pk=order.pk)
    if request.method == "POST":
        messages.error(request, "The order was not placed: correct the fields marked below.")

    products = list(Product.objects.filter(is_active=True).order_by("sku").only(
        "sku", "name", "sa_required", "term_months", "license_kind"))
    _decorate_lines(formset, {p.sku.upper(): p for p in products}, request.user)
    context = {
        "partner": partner,
        "order_form": order_form,
        "formset": formset,
        "products": products,
        "holding_accounts": holding_list,
        "has_own_holding": any(sa.partner_id == partner.pk for sa in holding_list),
        "request_form": SmartAccountRequestForm(prefix="newsa"),
        "holding_form": HoldingAccountCreateForm(prefix="newholding"),
    }
    return render(request, "orders/order_place.html", context)
