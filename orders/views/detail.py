"""The order list and an order's page with its history; vendor staff ship an order from it."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts import selectors as account_selectors
from accounts.event_log import event_describe
from accounts.models import Event, EventAction
from accounts.permissions import HOLD
from lib.tables import is_filtered, records_page, table_configure, table_csv_response, wants_csv

from .. import selectors, services
from ..filtersets import OrderFilterSet
from ..models import Order, OrderLine, OrderLineState
from ..tables import OrderTable


ORDERS_PER_PAGE = 25


def _order(request: HttpRequest, pk: int) -> Order:
    """An order the user may see (404 otherwise, no existence leak), with what its page shows:
    lines, their products and accounts, what they provisioned."""
    orders = selectors.orders_visible_to(request.user).prefetch_related(
        "lines__entitlements__virtual_account", "lines__classic_licenses"
    )
    return get_object_or_404(orders, pk=pk)


@require_GET
@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filterset = OrderFilterSet(request.GET or None, queryset=selectors.orders_visible_to(user), user=user)
    partner = account_selectors.partner_of(user)
    # Whose order it is matters to staff and to a distributor (its resellers' orders too).
    show_partner = permissions.sees_order_partner(user, partner)
    table = OrderTable(filterset.qs, exclude=() if show_partner else ("partner",))
    if wants_csv(request):
        return table_csv_response(table_configure(request, table), f"orders-{timezone.localdate().isoformat()}.csv")
    page_obj = records_page(table_configure(request, table, per_page=ORDERS_PER_PAGE))
    context = {
        "filterset": filterset,
        "table": table,
        "page_obj": page_obj,
        "orders": page_obj.object_list,
        "is_filtered": is_filtered(request),
        "partner": partner,
        "show_partner": show_partner,
        "delegated_count": selectors.delegated_lines_for(user).count(),
        "can_move_held_lines": permissions.can_deposit_order_lines(user),
        "can_ship": permissions.can_ship_orders(user),
    }
    return render(request, "orders/order_list.html", context)


@dataclass
class HistoryEntry:
    event: Event
    line_number: int | None
    title: str
    summary: str


def _history_entry(event: Event, line_number: int | None) -> HistoryEntry | None:
    """An event about the order or a line, in the event log's words (accounts.event_log)."""
    if event.action == EventAction.ORDER_LINE_MOVED and event.smart_account.is_holding:
        return None  # the same move is logged on both accounts; the customer's row says where it landed
    words = event_describe(event)
    return HistoryEntry(event=event, line_number=line_number, title=words.title, summary=words.details)


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
        ) if entry is not None
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
        "can_ship": permissions.can_ship_orders(request.user),
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
