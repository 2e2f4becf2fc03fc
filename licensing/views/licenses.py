"""Licenses per product (the list, its CSV export, one product's pools) and moving licenses
between Virtual Accounts (flow 9)."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from accounts.models import VirtualAccount
from lib.csv import csv_response
from lib.forms import form_add_service_errors
from lib.ids import id_from_text
from lib.tables import is_filtered, table_configure

from .. import selectors, services
from ..forms import LicenseFilterForm, TransferForm, TransferLineFormSet
from ..models import LicenseKind, Product
from ..tables import LicenseTable
from .scope import Scope, export_name, page_scope, paginate


@dataclass
class TreeRow:
    """A row of the license tree: a Virtual Account's subtree summed over the products shown."""

    virtual_account: VirtualAccount
    depth: int
    purchased: int
    in_use: int
    available: int
    shortage: int
    own_purchased: int
    own_in_use: int
    products: int

    # What templates/licensing/_line_usage.html reads of a line.
    @property
    def sku(self) -> str:
        return self.virtual_account.name

    @property
    def usage_percent(self) -> int:
        return selectors.LicenseLine(product=None, purchased=self.purchased, in_use=self.in_use).usage_percent


def _tree_rows(tree: list[selectors.VirtualAccountLicenses], keep) -> list[TreeRow]:
    base = min((row.virtual_account.level for row in tree), default=0)
    rows = []
    for row in tree:
        subtree = [line for line in row.subtree if keep(line)]
        own = [line for line in row.own if keep(line)]
        rows.append(TreeRow(
            virtual_account=row.virtual_account, depth=row.virtual_account.level - base,
            purchased=sum(line.purchased for line in subtree), in_use=sum(line.in_use for line in subtree),
            available=sum(line.available for line in subtree), shortage=sum(line.shortage for line in subtree),
            own_purchased=sum(line.purchased for line in own), own_in_use=sum(line.in_use for line in own),
            products=len(subtree),
        ))
    return rows


def _license_lines(
    request: HttpRequest, scope: Scope, lines: list[selectors.LicenseLine] | None = None
) -> tuple[LicenseFilterForm, list[selectors.LicenseLine], list]:
    if lines is None:
        lines = selectors.license_summary(scope.virtual_accounts)
    form = LicenseFilterForm(request.GET or None, families=sorted({line.product.family for line in lines}))
    return form, form.filter(lines), lines


@require_GET
@login_required
def license_list(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = page_scope(request, sa_pk, va_pk)
    # The per-product table is the tree's total: the pools are summed once, not twice.
    license_tree = selectors.license_tree(scope.virtual_accounts)
    form, lines, all_lines = _license_lines(request, scope, selectors.license_tree_summary(license_tree))
    family = form.cleaned_data.get("family") if form.is_bound and form.is_valid() else ""
    tree = _tree_rows(license_tree, keep=lambda line: not family or line.product.family == family)
    for line in lines:
        line.row_class = "table-danger" if line.shortage else ""
    table = table_configure(request, LicenseTable(lines, caption=f"Licenses per product in {scope.label}"))
    context = {
        "scope": scope, "active": "licenses", "form": form, "lines": lines, "has_lines": bool(all_lines), "table": table,
        "is_filtered": is_filtered(request), "tree": tree if len(tree) > 1 else [],
        "totals": {
            "products": len(lines), "shortage": sum(1 for line in lines if line.shortage),
            "purchased": sum(line.purchased for line in lines), "in_use": sum(line.in_use for line in lines),
        },
        "export_query": request.GET.urlencode(),
    }
    return render(request, "licensing/license_list.html", context)


@require_GET
@login_required
def license_export(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> StreamingHttpResponse:
    scope = page_scope(request, sa_pk, va_pk)
    _, lines, _ = _license_lines(request, scope)
    lines = [row.record for row in table_configure(request, LicenseTable(lines)).rows]  # in the page's sort
    header = ["sku", "name", "family", "purchased", "in_use", "available", "shortage", "status"]
    rows = ([line.sku, line.product.name, line.product.family, line.purchased, line.in_use, line.available,
             line.shortage, line.status] for line in lines)
    return csv_response(export_name(scope, "licenses"), header, rows)


@require_GET
@login_required
def license_detail(request: HttpRequest, product_pk: int, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = page_scope(request, sa_pk, va_pk)
    product = get_object_or_404(Product, pk=product_pk)
    purchased, in_use = selectors.pool_totals(scope.virtual_accounts, on=None, products=[product])
    keys = set(purchased) | set(in_use)
    by_pk = VirtualAccount.objects.in_bulk({va_id for va_id, _ in keys})
    pools = []
    total = selectors.LicenseLine(product=product)
    for key in keys:
        line = selectors.LicenseLine(product=product)
        line.add_pool(purchased[key], in_use[key])
        total.add_line(line)
        pools.append((by_pk[key[0]], line))
    pools.sort(key=lambda pair: (pair[0].tree_id, pair[0].lft))
    show_ended = request.GET.get("ended") == "1"
    entitlements = selectors.product_entitlements(scope.virtual_accounts, product, include_ended=show_ended)
    events = selectors.product_events(scope.smart_account, product, user=request.user)
    if scope.virtual_account is not None:
        events = events.filter(virtual_account__in=scope.virtual_accounts.values("pk"))
    context = {
        "scope": scope, "active": "licenses", "product": product, "total": total, "pools": pools,
        "entitlements": list(entitlements[:200]), "entitlement_limit": 200, "show_ended": show_ended,
        "page_obj": paginate(request, selectors.product_devices(scope.virtual_accounts, product)),
        "events": list(events[:20]),
    }
    return render(request, "licensing/license_detail.html", context)


# --- moving licenses and devices between Virtual Accounts (flow 9) ------------------------------


def _transfer_products(virtual_accounts: QuerySet[VirtualAccount]) -> QuerySet[Product]:
    """Smart products with active licenses somewhere in these Virtual Accounts."""
    held = selectors.active_entitlements().filter(virtual_account__in=virtual_accounts.values("pk")).values("product")
    return Product.objects.filter(license_kind=LicenseKind.SMART, pk__in=held).order_by("family", "sku")


def _available_in(va: VirtualAccount | None) -> list[selectors.LicenseLine]:
    if va is None:
        return []
    return [line for line in selectors.license_summary(VirtualAccount.objects.filter(pk=va.pk)) if line.available > 0]


@require_http_methods(["GET", "POST"])
@login_required
def license_transfer(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = page_scope(request, sa_pk, va_pk)
    operable = scope.operable_in_account
    if not operable.exists():
        raise permissions.refusal(request.user, "You may not move licenses in this account.")
    products = _transfer_products(operable)
    initial_from = scope.virtual_account.pk if scope.virtual_account else request.GET.get("from")
    form = TransferForm(request.POST or None, virtual_accounts=operable, initial={"from_virtual_account": initial_from})
    # Choosing the source shows what it has to spare (htmx).
    form.fields["from_virtual_account"].widget.attrs.update({
        "hx-get": scope.url["license_transfer_available"], "hx-trigger": "change", "hx-target": "#transfer-available",
    })
    initial_lines = []
    if request.GET.get("product"):
        initial_lines = [{"product": request.GET["product"]}]
    formset = TransferLineFormSet(request.POST or None, prefix="lines", form_kwargs={"products": products},
                                  initial=initial_lines)
    # `&`, not `and`: both are validated, so every error shows at once.
    if request.method == "POST" and form.is_valid() & formset.is_valid():
        lines = [(f, f.cleaned_data["product"], f.cleaned_data["quantity"]) for f in formset.forms if not f.is_blank]
        source, target = form.cleaned_data["from_virtual_account"], form.cleaned_data["to_virtual_account"]
        try:
            created = services.license_transfer(
                from_virtual_account=source, to_virtual_account=target,
                lines=[(product, quantity) for _, product, quantity in lines], actor=request.user,
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc, lines=[line_form for line_form, _, _ in lines],
                                    line_fields={"sku": "product"})
        else:
            moved: dict[str, int] = {}
            for entitlement in created:
                moved[entitlement.product.sku] = moved.get(entitlement.product.sku, 0) + entitlement.quantity
            what = ", ".join(f"{quantity} × {sku}" for sku, quantity in moved.items())
            messages.success(request, f"Moved {what} from {source.name} to {target.name}.")
            return redirect(scope.url["license_list"])
    source = None
    if form.is_bound:
        source = form.cleaned_data.get("from_virtual_account") if hasattr(form, "cleaned_data") else None
    elif initial_from:
        source = operable.filter(pk=pk).first() if (pk := id_from_text(initial_from)) else None
    context = {
        "scope": scope, "active": "licenses", "form": form, "formset": formset, "has_products": products.exists(),
        "source": source, "available": _available_in(source),
    }
    return render(request, "licensing/license_transfer.html", context)


@require_GET
@login_required
def license_transfer_available(request: HttpRequest, sa_pk: int) -> HttpResponse:
    """htmx: what the chosen source Virtual Account has available to move."""
    scope = page_scope(request, sa_pk, None)
    source = None
    value = request.GET.get("from_virtual_account", "")
    if (pk := id_from_text(value)) is not None:
        source = scope.operable_in_account.filter(pk=pk).first()
    return render(request, "licensing/_transfer_available.html", {"source": source, "available": _available_in(source)})
