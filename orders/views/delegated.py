"""Delegated lines: the end customer chooses the Smart Account and Virtual Account of a line,
from the emailed link or from the list of lines waiting for them."""
from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from accounts.models import Invitation, InvitationPurpose, SmartAccountKind, SmartAccountStatus
from accounts.permissions import OPERATE
from accounts.views.invitations import invitation_page
from lib.forms import run_service
from lib.tables import table_configure, table_csv_response, wants_csv

from .. import selectors, services
from ..forms import DelegatedLineAssignForm
from ..models import OrderLine, OrderLineState
from ..tables import DelegatedLineTable
from .pickers import va_context, where_label


@require_GET
@login_required
def delegated_line_list(request: HttpRequest) -> HttpResponse:
    table = table_configure(request, DelegatedLineTable(selectors.delegated_lines_for(request.user)))
    if wants_csv(request):
        return table_csv_response(table, f"delegated-lines-{timezone.localdate().isoformat()}.csv")
    return render(request, "orders/delegated_line_list.html", {"lines": [row.record for row in table.rows], "table": table})


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
        moved = run_service(form, services.order_line_assign_delegated, refusal_on_form=True, lines=[line.pk],
                            smart_account=sa, virtual_account=va, actor=user)
        if moved:
            done = moved[0]
            what = f"{done.quantity} × {done.product.sku} (order {done.order.number}, line {done.number})"
            if done.state == OrderLineState.PROVISIONED:
                messages.success(request, f"{what} are in {where_label(sa, done.virtual_account)} now.")
            else:
                messages.success(request, f"{what} will be deposited in {where_label(sa, va)} as soon as the order ships.")
            return redirect("portal:smart_account_detail", pk=sa.pk)
    # The Virtual Accounts of the account chosen (or the only one), for the second select.
    chosen = form["smart_account"].value()
    va_select = None
    sa = next((a for a in account_list if str(a.pk) == str(chosen)), None)
    if sa is not None:
        vas = operable_vas.filter(smart_account=sa).order_by("tree_id", "lft")
        va_select = va_context(sa, vas, selected=str(form["virtual_account"].value() or ""))
    context = {
        "line": line, "form": form, "accounts": account_list, "va": va_select,
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
