"""Pages of the orders app (mounted under /orders/): place an order, the order list and an
order's detail (staff ship from it), the holding-account inbox with its bulk move, and the end
customer's choice of account for delegated lines. Each view binds a form, calls one service and
redirects; the htmx fragments (account search, Virtual Account options, the inline account
forms) only feed the forms. Who may see what comes from orders.selectors and accounts.permissions."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts import services as account_services
from accounts.forms import HoldingAccountCreateForm, SmartAccountRequestForm, virtual_account_label
from accounts.models import (
    Event,
    Invitation,
    InvitationPurpose,
    Partner,
    SmartAccount,
    SmartAccountKind,
    SmartAccountStatus,
    VirtualAccount,
)
from accounts.permissions import HOLD, OPERATE
from accounts.selectors import account_from_search_reference, account_id_from_search_reference, search_reference
from accounts.views import invitation_page
from lib.forms import line_errors, run_service
from lib.ids import id_from_text
from licensing.models import Product

from . import selectors, services
from .filtersets import HeldLineFilterSet, OrderFilterSet
from .selectors import holding_stale_days
from .forms import (
    Assignment,
    DelegatedLineAssignForm,
    LineMoveForm,
    OrderForm,
    OrderLineFormSet,
    clean_prefix,
)
from .models import Order, OrderLine, OrderLineState

ORDERS_PER_PAGE = 25
LINES_PER_PAGE = 50


def _partner_or_403(request: HttpRequest) -> Partner:
    partner = account_services.partner_of(request.user)
    if partner is None:
        raise PermissionDenied("Only partner users can place orders.")
    return partner


def _may_deposit(user) -> bool:
    """Partner users (and staff) pick customer accounts to deposit into: by design they need no
    role there, and see only names, domains and Virtual Account names."""
    return permissions.is_staff(user) or permissions.is_partner_user(user)


def _order(request: HttpRequest, pk: int) -> Order:
    """An order the user may see (404 otherwise, no existence leak), with what its page shows:
    lines, their products and accounts, what they provisioned."""
    orders = selectors.orders_visible_to(request.user).prefetch_related(
        "lines__entitlements__virtual_account", "lines__classic_licenses"
    )
    return get_object_or_404(orders, pk=pk)


def _where(sa: SmartAccount, va: VirtualAccount | None) -> str:
    return f"{sa.name} / {va.name}" if va is not None else f"{sa.name} (its default Virtual Account)"


# --- the order list and an order -------------------------------------------------------------


@require_GET
@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filterset = OrderFilterSet(request.GET or None, queryset=selectors.orders_visible_to(user), user=user)
    page_obj = Paginator(filterset.qs, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    partner = account_services.partner_of(user)
    context = {
        "filterset": filterset,
        "page_obj": page_obj,
        "orders": page_obj.object_list,
        "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
        "partner": partner,
        # Whose order it is matters to staff and to a distributor (its resellers' orders too).
        "show_partner": permissions.sees_order_partner(user, partner),
        "delegated_count": selectors.delegated_lines_for(user).count(),
    }
    return render(request, "orders/order_list.html", context)


@dataclass
class HistoryEntry:
    event: Event
    line_number: int | None
    title: str
    summary: str


def _history_entry(event: Event, line_number: int | None) -> HistoryEntry:
    """An event about the order or a line, in words."""
    d = event.detail or {}
    titles = {
        "order.placed": "Order placed",
        "order_line.shipped": "Shipped",
        "subscription.started": "Subscription started",
        "order_line.provisioned": "Licenses deposited",
        "order_line.moved": "Moved out of the holding account",
        "order_line.assigned": "Account chosen by the end customer",
    }
    title = titles.get(event.action, event.action.replace("_", " ").replace(".", " ").capitalize())
    where = event.smart_account.name + (f" / {event.virtual_account.name}" if event.virtual_account_id else "")
    if event.action == "order.placed":
        numbers = [str(item.get("line")) for item in d.get("lines") or []]
        summary = f"line{'s' if len(numbers) != 1 else ''} {', '.join(numbers)} for {where}"
    elif event.action == "order_line.shipped":
        summary = f"on {d.get('shipped_on', '')} to {where}"
    elif event.action == "subscription.started":
        summary = f"runs {d.get('starts_on', '')} to {d.get('ends_on', '')}"
    elif event.action == "order_line.moved":
        summary = f"from {d.get('from', '')} to {d.get('to', '')}"
        if event.smart_account.is_holding:
            # The same move is logged on both accounts; the customer's row says where it landed.
            return HistoryEntry(event=event, line_number=line_number, title="", summary="")
    elif event.action == "order_line.provisioned":
        summary = f"{d.get('quantity', '')} × {d.get('sku', '')} in {where}"
    else:
        summary = where
    return HistoryEntry(event=event, line_number=line_number, title=title, summary=summary)


@require_GET
@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    lines = list(order.lines.all())
    line_numbers = {str(line.pk): line.number for line in lines}
    events = selectors.order_history(order)
    history = [
        entry for entry in (
            _history_entry(e, line_numbers.get(e.object_id) if e.object_type == OrderLine._meta.model_name else None)
            for e in events
        ) if entry.title
    ]
    # PAK codes are the account's secrets: shown to those who see the account as a whole (not to a VA role).
    account_ids = {line.smart_account_id for line in lines if line.smart_account_id}
    viewable = set(
        permissions.account_wide_smart_accounts(request.user).filter(pk__in=account_ids).values_list("pk", flat=True)
    ) if account_ids else set()
    for line in lines:
        line.account_viewable = line.smart_account_id in viewable
    held_in = {line.smart_account_id for line in lines if line.state == OrderLineState.HELD}
    context = {
        "order": order,
        "lines": lines,
        "history": history,
        "booked_count": sum(1 for line in lines if line.state == OrderLineState.BOOKED),
        # Held lines the user may move out (a member of their holding account) are one click away.
        "can_move_held": bool(held_in) and permissions.visible_smart_accounts(request.user, HOLD).filter(pk__in=held_in).exists(),
    }
    return render(request, "orders/order_detail.html", context)


@require_POST
@login_required
def order_ship(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    if not permissions.can_ship_orders(request.user):
        raise PermissionDenied("Only vendor staff ship orders.")
    try:
        shipped = services.order_ship(order=order, actor=request.user)
    except ValidationError as exc:
        messages.error(request, "Nothing was shipped: " + " ".join(exc.messages))
        return redirect("orders:order_detail", pk=order.pk)
    states = Counter(line.get_state_display().lower() for line in shipped)
    summary = ", ".join(f"{count} {state}" for state, count in states.items())
    messages.success(request, f"Shipped {len(shipped)} line{'s' if len(shipped) != 1 else ''} of {order.number} ({summary}).")
    return redirect("orders:order_detail", pk=order.pk)


# --- placing an order ---------------------------------------------------------------------------


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
            form.va = _va_context(sa, vas_of.get(sa.pk, []), selected=str(form["virtual_account"].value() or ""))


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
        if not hasattr(exc, "error_dict"):
            order_form.add_error(None, exc.messages)
            return None
        for key, errors in exc.message_dict.items():
            if key.startswith("lines."):
                continue
            if key == "lines":
                formset.order_errors.extend(errors)
            else:
                order_form.add_error(key if key in order_form.fields else None, errors)
        for index, errors in line_errors(exc).items():
            if index < len(lines):
                lines[index].add_service_errors(errors)
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
    partner = _partner_or_403(request)
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


# --- htmx fragments of the account pickers -------------------------------------------------------


def _prefix_or_400(value: str | None) -> str:
    prefix = clean_prefix(value)
    if prefix is None:
        raise ValidationError("bad prefix")
    return prefix


def _va_context(sa: SmartAccount, vas, *, selected: str = "") -> dict:
    """A Virtual Account select: names only (indented by depth), the account's default chosen
    unless the form already chose one."""
    vas = list(vas)
    if not any(str(va.pk) == selected for va in vas):
        default = next((va for va in vas if va.pk == sa.default_virtual_account_id), vas[0] if vas else None)
        selected = str(default.pk) if default is not None else ""
    return {"account": sa, "options": [(str(va.pk), virtual_account_label(va)) for va in vas], "selected": selected}


@require_GET
@login_required
def account_search(request: HttpRequest) -> HttpResponse:
    """Customer accounts matching a search, as the select of a line (or of a move)."""
    if not _may_deposit(request.user):
        raise PermissionDenied("Only partner users assign order lines to customer accounts.")
    try:
        prefix = _prefix_or_400(request.GET.get("prefix"))
    except ValidationError:
        return HttpResponseBadRequest("Bad prefix.")
    purpose = "move" if request.GET.get("purpose") == "move" else "order"
    query = request.GET.get(f"{prefix}-account_search", "").strip()
    if len(query) < 2:
        query = ""  # too short to search: say nothing yet
    accounts = list(selectors.customer_accounts_matching(request.user, query, active_only=purpose == "move"))
    for sa in accounts:
        # The select posts this, not the id: what follows (the Virtual Account names) needs the search.
        sa.search_reference = search_reference(smart_account=sa, user=request.user)
    context = {"prefix": prefix, "accounts": accounts, "query": query, "purpose": purpose, "oob": True,
               "selected": accounts[0].pk if len(accounts) == 1 else None}
    if len(accounts) == 1:
        sa = accounts[0]
        context["va"] = _va_context(sa, VirtualAccount.objects.filter(smart_account=sa).order_by("tree_id", "lft"))
    return render(request, "orders/_account_options.html", context)


@require_GET
@login_required
def virtual_account_options(request: HttpRequest) -> HttpResponse:
    """The Virtual Accounts of the account chosen in a picker: all their names for a partner
    depositing into an account found by their own search (the select sends the search result's
    reference; a bare id, or an altered, expired or someone else's reference, is a 404); only
    those the user may add licenses to for an end customer (by id: their own accounts)."""
    try:
        prefix = _prefix_or_400(request.GET.get("prefix"))
    except ValidationError:
        return HttpResponseBadRequest("Bad prefix.")
    raw = str(request.GET.get(f"{prefix}-smart_account") or "").strip()
    context = {"prefix": prefix, "va": None}
    if request.GET.get("purpose") == "operate":
        if (pk := id_from_text(raw)) is not None:
            sa = permissions.visible_smart_accounts(request.user, OPERATE).filter(
                pk=pk, kind=SmartAccountKind.CUSTOMER).first()
            if sa is not None:
                vas = permissions.visible_virtual_accounts(request.user, OPERATE).filter(smart_account=sa).order_by("tree_id", "lft")
                context["va"] = _va_context(sa, vas)
    else:
        if not _may_deposit(request.user):
            raise PermissionDenied("Only partner users assign order lines to customer accounts.")
        if raw:  # empty: the "choose one" option, nothing chosen yet
            sa = account_from_search_reference(reference=raw, user=request.user)
            if sa is None or sa.status == SmartAccountStatus.SUSPENDED:
                raise Http404("No such account.")
            vas = VirtualAccount.objects.filter(smart_account=sa).order_by("tree_id", "lft")
            context["va"] = _va_context(sa, vas)
    return render(request, "orders/_va_options.html", context)


@require_POST
@login_required
def account_request_inline(request: HttpRequest) -> HttpResponse:
    """The order form's "request a new Smart Account for the customer": the account is requested
    (flow 3, same rules as the account pages) and chosen for the line that asked."""
    _partner_or_403(request)
    form = SmartAccountRequestForm(request.POST, prefix="newsa")
    prefix = clean_prefix(request.POST.get("line_prefix"))
    sa = None
    if form.is_valid():
        try:
            sa = run_service(form, account_services.smart_account_request, actor=request.user, **form.cleaned_data)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
    if sa is None:
        return render(request, "orders/_account_request_form.html", {"request_form": form, "line_prefix": prefix or ""})
    text = (f"Smart Account {sa.name} ({sa.domain}) was requested; {sa.contact.email} got an email to activate it. "
            "Lines assigned to it are delivered once it is active.")
    if not request.htmx or prefix is None:
        messages.success(request, text)
        return redirect("orders:order_place")
    sa.search_reference = search_reference(smart_account=sa, user=request.user)
    context = {
        "prefix": prefix, "accounts": [sa], "selected": sa.pk, "purpose": "order", "oob": True,
        "va": _va_context(sa, VirtualAccount.objects.filter(smart_account=sa).order_by("tree_id", "lft")),
        "request_form": SmartAccountRequestForm(prefix="newsa"), "message": text,
    }
    response = render(request, "orders/_account_requested.html", context)
    response["HX-Retarget"] = f"#{prefix}-account-results"
    response["HX-Reswap"] = "innerHTML"
    response["HX-Trigger"] = json.dumps({"accountRequested": {"prefix": prefix}})
    return response


@require_POST
@login_required
def holding_account_create_inline(request: HttpRequest) -> HttpResponse:
    """The order form's "create your holding account" (flow 4) for a partner that has none."""
    partner = _partner_or_403(request)
    form = HoldingAccountCreateForm(request.POST, prefix="newholding")
    sa = None
    if form.is_valid():
        try:
            sa = run_service(form, account_services.holding_account_create, name=form.cleaned_data["name"],
                             partner=partner, actor=request.user)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
    if sa is None:
        return render(request, "orders/_holding_create.html", {"holding_form": form})
    text = f"Holding account {sa.name} created. You are its first member and get an email when orders arrive in it."
    if not request.htmx:
        messages.success(request, text)
        return redirect("orders:order_place")
    response = render(request, "orders/_holding_create.html", {"created": sa, "message": text})
    response["HX-Trigger"] = json.dumps({"holdingAccountCreated": {"id": sa.pk, "label": sa.name}})
    return response


# --- the holding-account inbox -------------------------------------------------------------------


@require_GET
@login_required
def held_line_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filterset = HeldLineFilterSet(request.GET or None, queryset=selectors.held_lines_for(user), user=user)
    page_obj = Paginator(filterset.qs, LINES_PER_PAGE).get_page(request.GET.get("page"))
    today, stale_days = timezone.localdate(), holding_stale_days()
    rows = [selectors.held_line_age(line, today, stale_days) for line in page_obj.object_list]
    context = {
        "filterset": filterset,
        "page_obj": page_obj,
        "rows": rows,
        "stale_days": stale_days,
        "stale_count": sum(1 for row in rows if row.stale),
        # Whether there is any holding account to hold lines in (asked only when nothing is listed).
        "has_holding_account": bool(rows) or permissions.visible_smart_accounts(user, HOLD).exists(),
        "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
        "partner": account_services.partner_of(user),
    }
    return render(request, "orders/held_line_list.html", context)


def _render_move(request: HttpRequest, form: LineMoveForm, *, failures: dict[int, str] | None = None,
                 error: str = "") -> HttpResponse:
    data = form.cleaned_data
    ids = data.get("lines") or []
    sa = SmartAccount.objects.filter(pk=data.get("smart_account"), kind=SmartAccountKind.CUSTOMER).first()
    va = None
    if sa is not None and data.get("virtual_account"):
        va = VirtualAccount.objects.filter(pk=data["virtual_account"], smart_account=sa).first()
    today, stale_days = timezone.localdate(), holding_stale_days()
    lines = {line.pk: line for line in selectors.order_lines_visible_to(request.user).filter(pk__in=ids)}
    failures = failures or {}
    rows = []
    for line_id in ids:
        line = lines.get(line_id)
        rows.append({
            "id": line_id,
            "row": selectors.held_line_age(line, today, stale_days) if line is not None else None,
            "failure": failures.get(line_id) or ("" if line is not None else "no such order line"),
        })
    if sa is not None:
        sa.search_reference = search_reference(smart_account=sa, user=request.user)  # posted on confirming
    context = {
        "form": form, "rows": rows, "smart_account": sa, "virtual_account": va,
        "default_va": sa.default_virtual_account if sa is not None else None,
        "failures": failures, "error": error,
        "movable_ids": [row["id"] for row in rows if not row["failure"]],
    }
    return render(request, "orders/held_line_move.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def held_line_move(request: HttpRequest) -> HttpResponse:
    """Ticked held lines → a customer account: first a page that shows what lands where, then
    (confirmed) the move, all or nothing."""
    if request.method == "GET":
        return redirect("orders:held_line_list")
    if not _may_deposit(request.user):
        raise PermissionDenied("Only members of a partner's holding account move its lines.")
    form = LineMoveForm(request.POST, prefix="move", user=request.user)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("orders:held_line_list")
    data = form.cleaned_data
    if request.POST.get("confirm") != "1":
        return _render_move(request, form)
    try:
        moved = services.order_line_move_to_account(
            lines=data["lines"], smart_account=data["smart_account"], virtual_account=data.get("virtual_account"),
            actor=request.user,
        )
    except ValidationError as exc:
        failures = getattr(exc, "failed_lines", None) or {}
        if failures:
            messages.error(request, f"Nothing was moved: {len(failures)} of {len(data['lines'])} lines cannot move (see below).")
            return _render_move(request, form, failures=failures)
        text = " ".join(exc.messages)
        messages.error(request, f"Nothing was moved: {text}")
        return _render_move(request, form, error=text)
    sa = moved[0].smart_account
    where = _where(sa, moved[0].virtual_account) if len({line.virtual_account_id for line in moved}) == 1 else sa.name
    messages.success(
        request,
        f"Moved {len(moved)} line{'s' if len(moved) != 1 else ''} to {where}. "
        f"The licenses are in the account now and its admins were told.",
    )
    return redirect("orders:held_line_list")


# --- delegated lines: the end customer chooses the account ----------------------------------------


@require_GET
@login_required
def delegated_line_list(request: HttpRequest) -> HttpResponse:
    lines = list(selectors.delegated_lines_for(request.user))
    return render(request, "orders/delegated_line_list.html", {"lines": lines})


def _delegated_line_page(request: HttpRequest, line: OrderLine) -> HttpResponse:
    user = request.user
    accounts = permissions.visible_smart_accounts(user, OPERATE).filter(
        kind=SmartAccountKind.CUSTOMER, status=SmartAccountStatus.ACTIVE).order_by("name")
    operable_vas = permissions.visible_virtual_accounts(user, OPERATE)
    account_list = list(accounts)
    initial = {"smart_account": account_list[0].pk} if len(account_list) == 1 else {}
    form = DelegatedLineAssignForm(request.POST or None, prefix="assign", accounts=accounts,
                                   virtual_accounts=operable_vas, initial=initial)
    # Choosing the account loads its Virtual Accounts (those the user may add licenses to).
    form.fields["smart_account"].widget.attrs.update({
        "hx-get": reverse("orders:virtual_account_options"), "hx-trigger": "change", "hx-target": "#assign-va",
        "hx-vals": json.dumps({"prefix": "assign", "purpose": "operate"}),
    })
    if request.method == "POST" and form.is_valid():
        sa, va = form.cleaned_data["smart_account"], form.cleaned_data["virtual_account"]
        try:
            moved = run_service(form, services.order_line_move_to_account, lines=[line.pk], smart_account=sa,
                                virtual_account=va, actor=user)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            moved = None
        if moved:
            done = moved[0]
            what = f"{done.quantity} × {done.product.sku} (order {done.order.number}, line {done.number})"
            if done.state == OrderLineState.PROVISIONED:
                messages.success(request, f"{what} are in {_where(sa, done.virtual_account)} now.")
            else:
                messages.success(request, f"{what} will be deposited in {_where(sa, va)} as soon as the order ships.")
            return redirect("portal:smart_account_detail", pk=sa.pk)
    # The Virtual Accounts of the account chosen (or the only one), for the second select.
    chosen = form["smart_account"].value()
    va_context = None
    sa = next((a for a in account_list if str(a.pk) == str(chosen)), None)
    if sa is not None:
        vas = operable_vas.filter(smart_account=sa).order_by("tree_id", "lft")
        va_context = _va_context(sa, vas, selected=str(form["virtual_account"].value() or ""))
    context = {
        "line": line, "form": form, "accounts": account_list, "va": va_context,
        "create_url": f"{reverse('accounts:smart_account_create')}?{urlencode({'next': request.path})}",
    }
    return render(request, "orders/delegated_line_assign.html", context)


@require_http_methods(["GET", "POST"])
@invitation_page(InvitationPurpose.ASSIGN_ORDER_LINE)
def delegated_line_assign(request: HttpRequest, invitation: Invitation, token: str) -> HttpResponse:
    """The emailed link of a delegated line (via /invite/<token>/): only its contact, once."""
    line = selectors.line_for_invitation(invitation)
    if line is None or line.smart_account_id is not None or not line.delegated:
        return render(request, "accounts/invitation_invalid.html",
                      {"message": "The account for this order line was chosen already."}, status=410)
    return _delegated_line_page(request, line)


@require_http_methods(["GET", "POST"])
@login_required
def delegated_line_choose(request: HttpRequest, pk: int) -> HttpResponse:
    """The same choice from the list of lines waiting for the signed-in contact."""
    line = get_object_or_404(selectors.delegated_lines_for(request.user), pk=pk)
    return _delegated_line_page(request, line)
