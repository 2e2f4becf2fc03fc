"""Pages of the licensing app (mounted under /licensing/): per Smart Account (`sa/<id>/…`) or per
Virtual Account with its subtree (`va/<id>/…`): the dashboard, licenses per product and their
transfer, registration tokens, devices, classic licenses (PAKs), the event log, reconciliation
and alert preferences. Each view finds what the user may see (404 otherwise), binds a form, calls
one service (which checks the right to act: 403) or selector, and redirects with a message."""
from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts import selectors as account_selectors
from accounts.models import SmartAccount, SmartAccountKind, User, VirtualAccount
from accounts.permissions import ADMINISTER, OPERATE, VIEW
from lib.csv import csv_response
from lib.forms import run_service
from lib.ids import id_from_text

from . import selectors, services
from .filtersets import ClassicLicenseFilterSet, DeviceFilterSet, EventFilterSet, TokenFilterSet
from .forms import (
    AlertPreferencesForm,
    ClassicLicenseConvertForm,
    ClassicLicenseRegisterForm,
    DeviceMoveForm,
    LicenseFilterForm,
    PeriodForm,
    TokenCreateForm,
    TransferForm,
    TransferLineFormSet,
)
from .models import ClassicLicense, Device, DeviceUsage, LicenseKind, Product, RegistrationToken
from .templatetags.licensing_ui import event_summary

PER_PAGE = 25
EVENTS_PER_PAGE = 50
VA_SUGGESTIONS = 20  # names a Virtual Account search box suggests at a time
NEW_TOKEN_SESSION_KEY = "licensing_new_token"
DASHBOARD_PERIODS = (30, 90, 365)


# --- the scope of a page: a whole Smart Account, or a Virtual Account and its subtree -----------


class ScopeUrls:
    """`urls.device_list` in templates: the page of that name for a Virtual Account's subtree
    (`va_pk`) or a whole account (pages that exist only account-wide fall back to it)."""

    def __init__(self, *, sa_pk: int, va_pk: int | None = None) -> None:
        self.sa_pk, self.va_pk = sa_pk, va_pk

    def __getitem__(self, name: str) -> str:
        if self.va_pk is not None:
            try:
                return reverse(f"licensing:{name}", kwargs={"va_pk": self.va_pk})
            except NoReverseMatch:
                pass
        return reverse(f"licensing:{name}", kwargs={"sa_pk": self.sa_pk})


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    icon: str
    url: str
    account_url: str


# The pages of a scope, as tabs: (key, label, icon, URL name).
TABS = [
    ("dashboard", "Dashboard", "speedometer2", "dashboard"),
    ("licenses", "Licenses", "key", "license_list"),
    ("devices", "Devices", "hdd-network", "device_list"),
    ("tokens", "Tokens", "ticket-perforated", "token_list"),
    ("paks", "PAKs", "upc-scan", "classic_license_list"),
    ("events", "Events", "journal-text", "event_list"),
    ("reconciliation", "Reconciliation", "clipboard-data", "reconciliation"),
    ("alerts", "Alerts", "bell", "alert_preferences"),
]
ACCOUNT_ONLY_TABS = {"paks", "alerts"}


@dataclass
class Scope:
    user: User
    smart_account: SmartAccount
    virtual_account: VirtualAccount | None
    # The Virtual Accounts the page covers, narrowed to those the user may see.
    virtual_accounts: QuerySet[VirtualAccount] = field(repr=False)

    @property
    def kwargs(self) -> dict:
        return {"va_pk": self.virtual_account.pk} if self.virtual_account else {"sa_pk": self.smart_account.pk}

    @property
    def url(self) -> ScopeUrls:
        return ScopeUrls(sa_pk=self.smart_account.pk, va_pk=self.virtual_account.pk if self.virtual_account else None)

    @cached_property
    def tabs(self) -> list[Tab]:
        here, account = self.url, ScopeUrls(sa_pk=self.smart_account.pk)
        tabs = []
        for key, label, icon, name in TABS:
            if key in ACCOUNT_ONLY_TABS and (self.virtual_account is not None or not self.sees_account_wide):
                continue
            if key == "alerts" and not self.is_sa_admin:
                continue
            if key == "tokens" and not self.can_operate:
                continue  # tokens are for those who may register devices here (users up), as in the API
            tabs.append(Tab(key=key, label=label, icon=icon, url=here[name], account_url=account[name]))
        return tabs

    @property
    def is_account(self) -> bool:
        return self.virtual_account is None

    @property
    def label(self) -> str:
        if self.virtual_account is None:
            return self.smart_account.name
        return f"{self.smart_account.name} / {self.virtual_account.name}"

    @cached_property
    def path(self) -> list[VirtualAccount]:
        """The Virtual Accounts above this one (names, for the breadcrumbs)."""
        if self.virtual_account is None:
            return []
        return list(self.virtual_account.get_ancestors())

    @cached_property
    def operable(self) -> QuerySet[VirtualAccount]:
        """The Virtual Accounts of the scope in which the user may act (tokens, devices)."""
        return permissions.visible_virtual_accounts(self.user, OPERATE).filter(pk__in=self.virtual_accounts.values("pk"))

    @cached_property
    def operable_in_account(self) -> QuerySet[VirtualAccount]:
        """The account's Virtual Accounts in which the user may act (targets of moves and transfers)."""
        return permissions.visible_virtual_accounts(self.user, OPERATE).filter(smart_account=self.smart_account)

    @cached_property
    def can_operate(self) -> bool:
        return self.operable.exists()

    @cached_property
    def is_sa_admin(self) -> bool:
        return permissions.can(self.user, ADMINISTER, self.smart_account)

    @cached_property
    def sees_account_wide(self) -> bool:
        """The account's PAKs (and, for SA admins, its alert settings): not for VA roles."""
        return permissions.sees_account_wide_data(self.user, self.smart_account)


def _scope(request: HttpRequest, sa_pk: int | None, va_pk: int | None) -> Scope:
    user = request.user
    if va_pk is not None:
        va = permissions.get_or_404(user, VirtualAccount.objects.select_related("smart_account"), VIEW, pk=va_pk)
        sa = va.smart_account
        vas = selectors.virtual_accounts_in_scope(user, virtual_account=va)
    else:
        va = None
        sa = permissions.get_or_404(user, SmartAccount.objects.all(), VIEW, pk=sa_pk)
        vas = selectors.virtual_accounts_in_scope(user, smart_account=sa)
    if sa.kind == SmartAccountKind.HOLDING:
        # Holding accounts hold order lines, not pools: nothing is consumed there.
        raise Http404("A holding account has no licenses in use; see its held order lines.")
    return Scope(user=user, smart_account=sa, virtual_account=va, virtual_accounts=vas)


def _page(request: HttpRequest, queryset, per_page: int = PER_PAGE):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def _next_or(request: HttpRequest, fallback: str) -> str:
    """Where to go back to after an action: the page that posted it (same site only)."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def _is_filtered(request: HttpRequest) -> bool:
    return any(value for key, value in request.GET.items() if key != "page")


# --- CSV exports ------------------------------------------------------------------------------


def _export_name(scope: Scope, what: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", scope.label).strip("-").lower() or "account"
    return f"{slug}-{what}-{timezone.localdate().isoformat()}.csv"


# --- the index and the dashboards -------------------------------------------------------------


@require_GET
@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The user's customer accounts with their compliance; straight to the account if just one."""
    accounts = permissions.visible(request.user, SmartAccount).filter(kind=SmartAccountKind.CUSTOMER).order_by("name", "pk")
    page_obj = _page(request, accounts)
    if page_obj.paginator.count == 1:
        return redirect("licensing:license_list", sa_pk=page_obj.object_list[0].pk)
    rows = selectors.accounts_compliance(request.user, page_obj.object_list)
    return render(request, "licensing/account_list.html", {"rows": rows, "page_obj": page_obj})


def _tree_top(rows: list[selectors.VirtualAccountLicenses]) -> list[tuple[selectors.VirtualAccountLicenses, bool]]:
    """The top of a (visible) tree and the level below it, with licenses: a dashboard's "by
    Virtual Account", as (row, is_child)."""
    ids = {row.virtual_account.pk for row in rows}
    top = {row.virtual_account.pk for row in rows if row.virtual_account.parent_id not in ids}
    return [
        (row, row.virtual_account.pk not in top) for row in rows
        if row.subtree and (row.virtual_account.pk in top or row.virtual_account.parent_id in top)
    ]


@require_GET
@login_required
def dashboard(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = _scope(request, sa_pk, va_pk)
    try:
        days = int(request.GET.get("days", DASHBOARD_PERIODS[0]))
    except ValueError:
        days = DASHBOARD_PERIODS[0]
    days = days if days in DASHBOARD_PERIODS else DASHBOARD_PERIODS[0]
    data = selectors.compliance_dashboard(
        scope.smart_account, scope.virtual_accounts, user=request.user, virtual_account=scope.virtual_account, days=days,
    )
    context = {
        "scope": scope, "active": "dashboard", "data": data, "days": days, "periods": DASHBOARD_PERIODS,
        "tree": _tree_top(selectors.license_tree(scope.virtual_accounts)),
    }
    return render(request, "licensing/dashboard.html", context)


# --- licenses per product -----------------------------------------------------------------------


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
    scope = _scope(request, sa_pk, va_pk)
    # The per-product table is the tree's total: the pools are summed once, not twice.
    license_tree = selectors.license_tree(scope.virtual_accounts)
    form, lines, all_lines = _license_lines(request, scope, selectors.license_tree_summary(license_tree))
    family = form.cleaned_data.get("family") if form.is_bound and form.is_valid() else ""
    tree = _tree_rows(license_tree, keep=lambda line: not family or line.product.family == family)
    context = {
        "scope": scope, "active": "licenses", "form": form, "lines": lines, "has_lines": bool(all_lines),
        "is_filtered": _is_filtered(request), "tree": tree if len(tree) > 1 else [],
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
    scope = _scope(request, sa_pk, va_pk)
    _, lines, _ = _license_lines(request, scope)
    header = ["sku", "name", "family", "purchased", "in_use", "available", "shortage", "status"]
    rows = ([line.sku, line.product.name, line.product.family, line.purchased, line.in_use, line.available,
             line.shortage, line.status] for line in lines)
    return csv_response(_export_name(scope, "licenses"), header, rows)


@require_GET
@login_required
def license_detail(request: HttpRequest, product_pk: int, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = _scope(request, sa_pk, va_pk)
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
        "page_obj": _page(request, selectors.product_devices(scope.virtual_accounts, product)),
        "events": list(events[:20]),
    }
    return render(request, "licensing/license_detail.html", context)


# --- moving licenses and devices between Virtual Accounts (flow 9) ------------------------------


def _transfer_products(virtual_accounts: QuerySet[VirtualAccount]) -> QuerySet[Product]:
    """Smart products with active licenses somewhere in these Virtual Accounts."""
    held = selectors.active_entitlements().filter(virtual_account__in=virtual_accounts.values("pk")).values("product")
    return Product.objects.filter(license_kind=LicenseKind.SMART, pk__in=held).order_by("family", "sku")


_LINE_NUMBER = re.compile(r"^Line (\d+): ")
_SKU_PREFIX = re.compile(r"^([A-Z0-9][A-Z0-9._/+=-]*): ")


def _transfer_errors(exc: ValidationError, form: TransferForm, lines: list) -> None:
    """Put the service's refusals next to what they are about: the line whose product (or
    position) they name, else the Virtual Account fields, else the top of the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        for message in errors:
            if key in ("from_virtual_account", "to_virtual_account"):
                form.add_error(key, message)
                continue
            placed = False
            number = _LINE_NUMBER.match(message)
            if number and 1 <= int(number.group(1)) <= len(lines):
                lines[int(number.group(1)) - 1][0].add_error("quantity", message[number.end():])
                placed = True
            sku = _SKU_PREFIX.match(message)
            if sku and not placed:
                for line_form, product, _ in lines:
                    if product.sku == sku.group(1):
                        line_form.add_error("quantity", message[sku.end():])
                        placed = True
            if not placed:
                form.add_error(None, message)


def _available_in(va: VirtualAccount | None) -> list[selectors.LicenseLine]:
    if va is None:
        return []
    return [line for line in selectors.license_summary(VirtualAccount.objects.filter(pk=va.pk)) if line.available > 0]


@require_http_methods(["GET", "POST"])
@login_required
def license_transfer(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = _scope(request, sa_pk, va_pk)
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
            _transfer_errors(exc, form, lines)
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
    scope = _scope(request, sa_pk, None)
    source = None
    value = request.GET.get("from_virtual_account", "")
    if (pk := id_from_text(value)) is not None:
        source = scope.operable_in_account.filter(pk=pk).first()
    return render(request, "licensing/_transfer_available.html", {"source": source, "available": _available_in(source)})


# --- registration tokens (flow 10) ----------------------------------------------------------------


def _render_tokens(request: HttpRequest, scope: Scope, *, form: TokenCreateForm | None = None, status: int = 200) -> HttpResponse:
    operable_ids = set(scope.operable.values_list("pk", flat=True))
    if not operable_ids:
        raise permissions.refusal(request.user, "Registration tokens are for those who may register devices here.")
    # A token is a pool's secret: listed where the user may operate (users up), as in the API.
    tokens = selectors.tokens(scope.operable)
    filterset = TokenFilterSet(request.GET or None, queryset=tokens)
    page_obj = _page(request, filterset.qs)
    if form is None and operable_ids:
        default = scope.virtual_account.pk if scope.virtual_account and scope.virtual_account.pk in operable_ids else None
        if default is None and len(operable_ids) == 1:
            default = next(iter(operable_ids))
        form = TokenCreateForm(virtual_accounts=scope.operable, initial={"virtual_account": default})
    for token in page_obj.object_list:
        token.can_revoke = token.current_status != "revoked"
    context = {
        "scope": scope, "active": "tokens", "filterset": filterset, "page_obj": page_obj, "form": form,
        "is_filtered": _is_filtered(request), "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
        # SITE_URL, not the request's Host header: devices are configured from what this page says.
        "register_url": settings.SITE_URL + reverse("api:device_register"),
    }
    return render(request, "licensing/token_list.html", context, status=status)


@require_GET
@never_cache
@login_required
def token_list(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    return _render_tokens(request, _scope(request, sa_pk, va_pk))


@require_POST
@never_cache
@login_required
def token_create(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = _scope(request, sa_pk, va_pk)
    if not scope.can_operate:
        raise permissions.refusal(request.user, "You may not create registration tokens here.")
    form = TokenCreateForm(request.POST, virtual_accounts=scope.operable)
    if form.is_valid():
        data = form.cleaned_data
        result = run_service(
            form, services.token_create, virtual_account=data["virtual_account"], description=data["description"],
            expires_in_days=data["expires_in_days"], max_uses=data["max_uses"], actor=request.user,
        )
        if result is not None:
            token, raw = result
            request.session[NEW_TOKEN_SESSION_KEY] = {
                "id": token.pk, "token": raw, "virtual_account": token.virtual_account.name,
                "expires_at": token.expires_at.isoformat(), "description": token.description,
            }
            messages.success(request, f"Registration token created in {token.virtual_account.name}. "
                                      "Copy it now: it is shown only once.")
            return redirect(scope.url["token_list"])
    return _render_tokens(request, scope, form=form)


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = permissions.get_or_404(
        request.user, RegistrationToken.objects.select_related("virtual_account__smart_account"), OPERATE, pk=pk
    )
    try:
        services.token_revoke(token=token, actor=request.user)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Token {token.prefix}… is revoked: no device can register with it any more. "
                                  "Devices registered with it stay.")
    fallback = reverse("licensing:token_list", kwargs={"sa_pk": token.virtual_account.smart_account_id})
    return redirect(_next_or(request, fallback))


# --- devices (flow 10) ----------------------------------------------------------------------------


@require_GET
@login_required
def device_list(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = _scope(request, sa_pk, va_pk)
    # DISTINCT: the products in use, not every usage row of the scope (PostgreSQL then compares
    # each product with a few ids instead of thousands of rows).
    in_use = (
        DeviceUsage.objects.filter(device__virtual_account__in=scope.virtual_accounts.values("pk"))
        .values("product").distinct()
    )
    products = Product.objects.filter(license_kind=LicenseKind.SMART, pk__in=in_use).order_by("sku")
    filterset = DeviceFilterSet(request.GET or None, queryset=selectors.devices(scope.virtual_accounts),
                                virtual_accounts=scope.virtual_accounts, products=products)
    page_obj = _page(request, filterset.qs)
    operable_ids = set(scope.operable.values_list("pk", flat=True))
    for device in page_obj.object_list:
        device.can_operate = device.virtual_account_id in operable_ids
    context = {
        "scope": scope, "active": "devices", "filterset": filterset, "page_obj": page_obj,
        "is_filtered": _is_filtered(request), "can_operate": bool(operable_ids),
    }
    return render(request, "licensing/device_list.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def device_move(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    """Move one or several devices (chosen on the device list) to another Virtual Account: all
    of them or none."""
    scope = _scope(request, sa_pk, va_pk)
    if not scope.can_operate:
        raise permissions.refusal(request.user, "You may not move devices here.")
    movable = Device.objects.filter(virtual_account__in=scope.operable.values("pk")).select_related("virtual_account")
    if request.method == "POST":
        form = DeviceMoveForm(request.POST, devices=movable, virtual_accounts=scope.operable_in_account)
    else:
        chosen = [value for value in request.GET.getlist("device") if value.isdigit()]
        form = DeviceMoveForm(initial={"devices": chosen}, devices=movable, virtual_accounts=scope.operable_in_account)
        if not chosen:
            messages.info(request, "Choose the devices to move on the device list first.")
            return redirect(scope.url["device_list"])
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["virtual_account"]
        devices = [d for d in form.cleaned_data["devices"] if d.virtual_account_id != target.pk]
        try:
            with transaction.atomic():
                for device in devices:
                    services.device_move(device=device, virtual_account=target, actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            if devices:
                names = ", ".join(d.serial_number for d in devices[:5]) + (" …" if len(devices) > 5 else "")
                messages.success(request, f"Moved {len(devices)} device{'s' if len(devices) != 1 else ''} ({names}) to "
                                          f"{target.name}; their usage now counts in its pool.")
            else:
                messages.info(request, f"Those devices are in {target.name} already.")
            return redirect(scope.url["device_list"])
    chosen_ids = [str(v) for v in (form.data.getlist("devices") if form.is_bound else form.initial.get("devices", []))]
    chosen = list(movable.filter(pk__in=[pk for v in chosen_ids if (pk := id_from_text(v))]).order_by("serial_number")[:200])
    if not chosen and request.method == "GET":
        raise Http404("None of those devices can be moved by you.")
    return render(request, "licensing/device_move.html", {"scope": scope, "active": "devices", "form": form, "devices": chosen})


@require_POST
@login_required
def device_remove(request: HttpRequest, pk: int) -> HttpResponse:
    device = permissions.get_or_404(request.user, Device.objects.select_related("virtual_account__smart_account"), OPERATE, pk=pk)
    try:
        services.device_remove(device=device, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Device {device.serial_number} removed from {device.virtual_account.name}; "
                                  "its license usage is freed.")
    fallback = reverse("licensing:device_list", kwargs={"sa_pk": device.virtual_account.smart_account_id})
    return redirect(_next_or(request, fallback))


# --- classic licenses (PAKs) -------------------------------------------------------------------


@require_GET
@login_required
def classic_license_list(request: HttpRequest, sa_pk: int) -> HttpResponse:
    scope = _scope(request, sa_pk, None)
    if not scope.sees_account_wide:
        raise PermissionDenied("Classic licenses belong to the account as a whole: they need a role on the whole account.")
    filterset = ClassicLicenseFilterSet(request.GET or None, queryset=selectors.classic_licenses(scope.smart_account))
    context = {
        "scope": scope, "active": "paks", "filterset": filterset, "page_obj": _page(request, filterset.qs),
        "is_filtered": _is_filtered(request), "can_operate": permissions.can(request.user, OPERATE, scope.smart_account),
    }
    return render(request, "licensing/classic_license_list.html", context)


def _pak(request: HttpRequest, pk: int, capability=VIEW) -> ClassicLicense:
    qs = ClassicLicense.objects.select_related("product__smart_equivalent", "smart_account", "converted_to")
    pak = permissions.get_or_404(request.user, qs, capability, pk=pk)
    if pak.smart_account.kind == SmartAccountKind.HOLDING:
        raise Http404("PAKs live in customer accounts.")
    return pak


@require_GET
@never_cache
@login_required
def classic_license_detail(request: HttpRequest, pk: int) -> HttpResponse:
    pak = _pak(request, pk)
    scope = _scope(request, pak.smart_account_id, None)
    content = None
    if pak.license_key:
        try:
            content = services.classic_license_verify(pak.license_key)
        except ValidationError:
            # Signed with another secret key (the portal's key was rotated): still show the key.
            content = {"serial_number": pak.device_serial, "sku": pak.product.sku, "quantity": pak.quantity, "issued": ""}
    context = {
        "scope": scope, "active": "paks", "pak": pak, "content": content,
        "can_operate": permissions.can(request.user, OPERATE, pak.smart_account),
    }
    return render(request, "licensing/classic_license_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def classic_license_register(request: HttpRequest, pk: int) -> HttpResponse:
    pak = _pak(request, pk, OPERATE)
    if pak.registered_at or pak.converted_at:
        messages.info(request, f"PAK {pak.pak} is {'registered' if pak.registered_at else 'converted'} already.")
        return redirect("licensing:classic_license_detail", pk=pak.pk)
    form = ClassicLicenseRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key = run_service(form, services.classic_license_register, pak=pak, actor=request.user,
                          serial_number=form.cleaned_data["serial_number"])
        if key is not None:
            messages.success(request, f"PAK {pak.pak} is registered to device {form.cleaned_data['serial_number']}. "
                                      "Install the license key below on that device.")
            return redirect("licensing:classic_license_detail", pk=pak.pk)
    scope = _scope(request, pak.smart_account_id, None)
    return render(request, "licensing/classic_license_register.html", {"scope": scope, "active": "paks", "pak": pak, "form": form})


@require_http_methods(["GET", "POST"])
@login_required
def classic_license_convert(request: HttpRequest, pk: int) -> HttpResponse:
    pak = _pak(request, pk, OPERATE)
    if pak.registered_at or pak.converted_at:
        messages.info(request, f"PAK {pak.pak} is {'registered' if pak.registered_at else 'converted'} already.")
        return redirect("licensing:classic_license_detail", pk=pak.pk)
    scope = _scope(request, pak.smart_account_id, None)
    form = ClassicLicenseConvertForm(request.POST or None, virtual_accounts=scope.operable_in_account,
                                     initial={"virtual_account": pak.smart_account.default_virtual_account_id})
    if request.method == "POST" and pak.product.smart_equivalent is not None and form.is_valid():
        va = form.cleaned_data["virtual_account"]
        entitlement = run_service(form, services.classic_license_convert, pak=pak, virtual_account=va, actor=request.user)
        if entitlement is not None:
            messages.success(request, f"PAK {pak.pak} converted: {entitlement.quantity} × {entitlement.product.sku} "
                                      f"are now smart licenses in {va.name}.")
            return redirect("licensing:license_list", va_pk=va.pk)
    context = {"scope": scope, "active": "paks", "pak": pak, "form": form}
    return render(request, "licensing/classic_license_convert.html", context)


# --- the event log ------------------------------------------------------------------------------


def _events(request: HttpRequest, scope: Scope) -> EventFilterSet:
    base = selectors.events(scope.smart_account, user=request.user, virtual_account=scope.virtual_account)
    return EventFilterSet(request.GET or None, queryset=base.select_related("virtual_account", "actor"),
                          virtual_accounts=scope.virtual_accounts,
                          virtual_account_search_url=scope.url["virtual_account_search"])


@require_GET
@login_required
def event_list(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = _scope(request, sa_pk, va_pk)
    filterset = _events(request, scope)
    context = {
        "scope": scope, "active": "events", "filterset": filterset, "page_obj": _page(request, filterset.qs, EVENTS_PER_PAGE),
        "is_filtered": _is_filtered(request), "export_query": request.GET.urlencode(),
    }
    return render(request, "licensing/event_list.html", context)


@require_GET
@login_required
def event_export(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> StreamingHttpResponse:
    scope = _scope(request, sa_pk, va_pk)
    filterset = _events(request, scope)
    header = ["time", "type", "virtual_account", "actor", "summary", "object", "detail"]
    rows = (
        [timezone.localtime(e.created_at).isoformat(timespec="seconds"), e.action,
         e.virtual_account.name if e.virtual_account else "", e.actor_label, event_summary(e), e.object_repr,
         _json(e.detail)]
        for e in filterset.qs.iterator(chunk_size=2000)
    )
    return csv_response(_export_name(scope, "events"), header, rows)


def _json(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)


# --- a filter's Virtual Account, found by name ---------------------------------------------------


@require_GET
@login_required
def virtual_account_search(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    """The suggestions of a filter's Virtual Account box (htmx, licensing.forms.VirtualAccountSearchInput):
    the scope's Virtual Accounts the user may see whose name contains `q`, the first few in tree order."""
    scope = _scope(request, sa_pk, va_pk)
    query = request.GET.get("q", "")[:100].strip()
    found = account_selectors.virtual_accounts_named_like(scope.virtual_accounts, query, limit=VA_SUGGESTIONS + 1)
    context = {"virtual_accounts": found[:VA_SUGGESTIONS], "more": len(found) > VA_SUGGESTIONS, "query": query}
    return render(request, "licensing/_virtual_account_options.html", context)


# --- reconciliation (flow 11) ------------------------------------------------------------------


def _reconciliation(request: HttpRequest, scope: Scope) -> tuple[PeriodForm, list, datetime.date, datetime.date]:
    data = request.GET if request.GET else None
    form = PeriodForm(data, virtual_accounts=scope.virtual_accounts)
    end = timezone.localdate()
    start = end - datetime.timedelta(days=29)
    vas = scope.virtual_accounts
    if form.is_bound and form.is_valid():
        va = form.cleaned_data.get("virtual_account")
        if va is not None:
            vas = selectors.virtual_accounts_in_scope(request.user, virtual_account=va)
        period = form.cleaned_data["start"], form.cleaned_data["end"]
        lines = run_service(form, selectors.reconciliation, virtual_accounts=vas, start=period[0], end=period[1])
        if lines is not None:
            return form, lines, *period
        vas = scope.virtual_accounts  # the period was refused: the default period, as for any invalid form
    elif not form.is_bound:
        form = PeriodForm(initial={"start": start, "end": end}, virtual_accounts=scope.virtual_accounts)
    return form, selectors.reconciliation(vas, start=start, end=end), start, end


@require_GET
@login_required
def reconciliation(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = _scope(request, sa_pk, va_pk)
    form, lines, start, end = _reconciliation(request, scope)
    context = {
        "scope": scope, "active": "reconciliation", "form": form, "lines": lines, "start": start, "end": end,
        "period_days": (end - start).days + 1, "short_lines": [line for line in lines if line.peak_shortage],
        "export_query": request.GET.urlencode(),
    }
    return render(request, "licensing/reconciliation.html", context)


@require_GET
@login_required
def reconciliation_export(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> StreamingHttpResponse:
    scope = _scope(request, sa_pk, va_pk)
    _, lines, start, end = _reconciliation(request, scope)
    header = ["sku", "name", "family", "peak_shortage", "peak_day", "purchased_at_peak", "peak_in_use",
              "days_in_shortage", "days_reported", "period_start", "period_end"]
    rows = ([line.sku, line.product.name, line.product.family, line.peak_shortage,
             line.peak_day.isoformat() if line.peak_day else "", line.purchased_at_peak, line.peak_in_use,
             line.days_in_shortage, line.days_reported, start.isoformat(), end.isoformat()] for line in lines)
    return csv_response(_export_name(scope, f"reconciliation-{start.isoformat()}-{end.isoformat()}"), header, rows)


# --- alerts and email preferences ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def alert_preferences(request: HttpRequest, sa_pk: int) -> HttpResponse:
    scope = _scope(request, sa_pk, None)
    if not scope.is_sa_admin:
        raise permissions.refusal(request.user, "Only the account's admins change its alerts.")
    preferences = selectors.alert_preferences(scope.smart_account)
    form = AlertPreferencesForm(request.POST or None, initial=AlertPreferencesForm.initial_from(preferences))
    if request.method == "POST" and form.is_valid():
        saved = run_service(form, services.alert_preferences_update, smart_account=scope.smart_account,
                            actor=request.user, **form.cleaned_data)
        if saved is not None:
            messages.success(request, "Alert and email preferences saved.")
            return redirect("licensing:alert_preferences", sa_pk=scope.smart_account.pk)
    context = {"scope": scope, "active": "alerts", "form": form, "preferences": preferences}
    return render(request, "licensing/alert_preferences.html", context)
