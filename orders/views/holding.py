"""The holding-account inbox: held lines, and moving ticked lines to a customer account (a
page that shows what lands where, then the move, all or nothing)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from accounts import selectors as account_selectors
from accounts.models import SmartAccount, SmartAccountKind, VirtualAccount
from accounts.permissions import HOLD
from accounts.selectors import search_reference
from lib.tables import is_filtered, records_page, table_configure, table_csv_response, wants_csv

from .. import selectors, services
from ..filtersets import HeldLineFilterSet
from ..selectors import holding_stale_days
from ..forms import LineMoveForm
from ..tables import HeldLineTable
from .pickers import where_label


LINES_PER_PAGE = 50


@require_GET
@login_required
def held_line_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    filterset = HeldLineFilterSet(request.GET or None, queryset=selectors.held_lines_for(user), user=user)
    table = HeldLineTable(filterset.qs)
    if wants_csv(request):
        return table_csv_response(table_configure(request, table), f"held-lines-{timezone.localdate().isoformat()}.csv")
    # Sorted as a whole, the lines stay grouped by holding account (one table each).
    page_obj = records_page(table_configure(request, table, per_page=LINES_PER_PAGE,
                                            keep_first=("smart_account__name", "smart_account_id")))
    today, stale_days = timezone.localdate(), holding_stale_days()
    rows = []
    groups: dict[int, list] = {}
    for line in page_obj.object_list:
        line.age = selectors.held_line_age(line, today, stale_days)
        line.row_class = "held-row table-warning held-stale" if line.age.stale else "held-row"
        rows.append(line.age)
        groups.setdefault(line.smart_account_id, []).append(line)
    context = {
        "filterset": filterset,
        "page_obj": page_obj,
        "rows": rows,
        "groups": [
            {"account": lines[0].smart_account, "count": len(lines),
             "table": HeldLineTable(lines, sorted_by=table.order_by, caption=f"Held lines in {lines[0].smart_account.name}")}
            for lines in groups.values()
        ],
        "stale_days": stale_days,
        "stale_count": sum(1 for row in rows if row.stale),
        # Whether there is any holding account to hold lines in (asked only when nothing is listed).
        "has_holding_account": bool(rows) or permissions.visible_smart_accounts(user, HOLD).exists(),
        "is_filtered": is_filtered(request),
        "partner": account_selectors.partner_of(user),
    }
    return render(request, "orders/held_line_list.html", context)


def _chosen(request: HttpRequest, data: dict) -> tuple[SmartAccount | None, dict]:
    """The customer account of a move (None unless a customer's) and the chosen lines the user may see, by id."""
    sa = SmartAccount.objects.filter(pk=data.get("smart_account"), kind=SmartAccountKind.CUSTOMER).first()
    lines = {line.pk: line for line in selectors.order_lines_visible_to(request.user).filter(pk__in=data.get("lines") or [])}
    return sa, lines


def _render_move(request: HttpRequest, form: LineMoveForm, *, failures: dict[int, str] | None = None,
                 error: str = "", chosen: tuple[SmartAccount | None, dict] | None = None,
                 asked: bool = False) -> HttpResponse:
    data = form.cleaned_data
    ids = data.get("lines") or []
    sa, lines = chosen or _chosen(request, data)
    va = None
    if sa is not None and data.get("virtual_account"):
        va = VirtualAccount.objects.filter(pk=data["virtual_account"], smart_account=sa).first()
    today, stale_days = timezone.localdate(), holding_stale_days()
    failures = failures or {}
    mismatches = {m.line.pk: m for m in selectors.customer_mismatches(lines.values(), sa)} if sa is not None else {}
    rows = []
    for line_id in ids:
        line = lines.get(line_id)
        rows.append({
            "id": line_id,
            "row": selectors.held_line_age(line, today, stale_days) if line is not None else None,
            "failure": failures.get(line_id) or ("" if line is not None else "no such order line"),
            "mismatch": mismatches.get(line_id),
        })
    if sa is not None:
        sa.search_reference = search_reference(smart_account=sa, user=request.user)  # posted on confirming
    movable_ids = [row["id"] for row in rows if not row["failure"]]
    context = {
        # Not "smart_account": base.html would show it as the user's current account.
        "form": form, "rows": rows, "target": sa, "virtual_account": va,
        "default_va": sa.default_virtual_account if sa is not None else None,
        "failures": failures, "error": error,
        "movable_ids": movable_ids,
        # Lines for another customer: moved only after "Move anyway"; the others can go alone.
        "mismatch_count": sum(1 for row in rows if row["mismatch"] and not row["failure"]),
        "matching_ids": [pk for pk in movable_ids if pk not in mismatches],
        "asked": asked,  # Move was pressed, but lines for another customer were not confirmed
    }
    return render(request, "orders/held_line_move.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def held_line_move(request: HttpRequest) -> HttpResponse:
    """Ticked held lines → a customer account: first a page that shows what lands where, then
    (confirmed) the move, all or nothing."""
    if request.method == "GET":
        return redirect("orders:held_line_list")
    if not permissions.can_deposit_order_lines(request.user):
        raise PermissionDenied("Only members of a partner's holding account move its lines.")
    form = LineMoveForm(request.POST, prefix="move", user=request.user)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("orders:held_line_list")
    data = form.cleaned_data
    if request.POST.get("confirm") != "1":
        return _render_move(request, form)
    if not data.get("confirmed"):
        # Lines ordered for another customer move only once the user has seen that and confirmed.
        sa, lines = chosen = _chosen(request, data)
        if sa is not None and selectors.customer_mismatches(lines.values(), sa):
            return _render_move(request, form, chosen=chosen, asked=True)
    try:
        moved = services.order_line_move_from_holding(
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
    where = where_label(sa, moved[0].virtual_account) if len({line.virtual_account_id for line in moved}) == 1 else sa.name
    messages.success(
        request,
        f"Moved {len(moved)} line{'s' if len(moved) != 1 else ''} to {where}. "
        f"The licenses are in the account now and its admins were told.",
    )
    return redirect("orders:held_line_list")
