"""The htmx fragments of the account pickers (customer account search, a chosen account's
Virtual Accounts) and the order form's inline "request a Smart Account" and "create your
holding account"; with the helpers the order pages share."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from accounts import permissions
from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.forms import HoldingAccountCreateForm, SmartAccountRequestForm, virtual_account_label
from accounts.models import Partner, SmartAccount, SmartAccountKind, SmartAccountStatus, VirtualAccount
from accounts.permissions import OPERATE
from accounts.selectors import account_from_search_reference, search_reference
from lib.forms import run_service
from lib.ids import id_from_text

from .. import selectors
from ..forms import clean_prefix


def partner_or_403(request: HttpRequest) -> Partner:
    partner = account_selectors.partner_of(request.user)
    if partner is None:
        raise PermissionDenied("Only partner users can place orders.")
    return partner


def where_label(sa: SmartAccount, va: VirtualAccount | None) -> str:
    return f"{sa.name} / {va.name}" if va is not None else f"{sa.name} (its default Virtual Account)"


# --- htmx fragments of the account pickers -------------------------------------------------------


def _prefix_or_400(value: str | None) -> str:
    prefix = clean_prefix(value)
    if prefix is None:
        raise ValidationError("bad prefix")
    return prefix


def va_context(sa: SmartAccount, vas, *, selected: str = "") -> dict:
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
    if not permissions.can_deposit_order_lines(request.user):
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
        context["va"] = va_context(sa, VirtualAccount.objects.filter(smart_account=sa).order_by("tree_id", "lft"))
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
                context["va"] = va_context(sa, vas)
    else:
        if not permissions.can_deposit_order_lines(request.user):
            raise PermissionDenied("Only partner users assign order lines to customer accounts.")
        if raw:  # empty: the "choose one" option, nothing chosen yet
            sa = account_from_search_reference(reference=raw, user=request.user)
            if sa is None or sa.status == SmartAccountStatus.SUSPENDED:
                raise Http404("No such account.")
            vas = VirtualAccount.objects.filter(smart_account=sa).order_by("tree_id", "lft")
            context["va"] = va_context(sa, vas)
    return render(request, "orders/_va_options.html", context)


@require_POST
@login_required
def account_request_inline(request: HttpRequest) -> HttpResponse:
    """The order form's "request a new Smart Account for the customer": the account is requested
    (flow 3, same rules as the account pages) and chosen for the line that asked."""
    partner_or_403(request)
    form = SmartAccountRequestForm(request.POST, prefix="newsa")
    prefix = clean_prefix(request.POST.get("line_prefix"))
    sa = None
    if form.is_valid():
        sa = run_service(form, account_services.smart_account_request, refusal_on_form=True, actor=request.user,
                         **form.cleaned_data)
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
        "va": va_context(sa, VirtualAccount.objects.filter(smart_account=sa).order_by("tree_id", "lft")),
        "request_form": SmartAccountRequestForm(prefix="newsa"), "message": text,
    }
    response = render(request, "orders/_account_requested.html", context)
    retarget(response, f"#{prefix}-account-results")
    reswap(response, "innerHTML")
    return trigger_client_event(response, "accountRequested", {"prefix": prefix})


@require_POST
@login_required
def holding_account_create_inline(request: HttpRequest) -> HttpResponse:
    """The order form's "create your holding account" (flow 4) for a partner that has none."""
    partner = partner_or_403(request)
    form = HoldingAccountCreateForm(request.POST, prefix="newholding")
    sa = None
    if form.is_valid():
        sa = run_service(form, account_services.holding_account_create, refusal_on_form=True,
                         name=form.cleaned_data["name"], partner=partner, actor=request.user)
    if sa is None:
        return render(request, "orders/_holding_create.html", {"holding_form": form})
    text = f"Holding account {sa.name} created. You are its first member and get an email when orders arrive in it."
    if not request.htmx:
        messages.success(request, text)
        return redirect("orders:order_place")
    response = render(request, "orders/_holding_create.html", {"created": sa, "message": text})
    return trigger_client_event(response, "holdingAccountCreated", {"id": sa.pk, "label": sa.name})
