"""The overview pages: the user's customer accounts, a scope's compliance dashboard, the
reconciliation of a period (flow 11) and the account's alert and email preferences."""
from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from accounts.models import SmartAccount, SmartAccountKind
from lib.csv import csv_response
from lib.forms import run_service
from lib.tables import records_page, table_configure, table_csv_response, wants_csv

from .. import selectors, services
from ..forms import AlertPreferencesForm, PeriodForm
from ..tables import AccountComplianceTable
from .scope import PER_PAGE, Scope, export_name, page_scope


DASHBOARD_PERIODS = (30, 90, 365)


@require_GET
@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The user's customer accounts with their compliance; straight to the account if just one."""
    accounts = permissions.visible(request.user, SmartAccount).filter(kind=SmartAccountKind.CUSTOMER).order_by("name", "pk")
    table = AccountComplianceTable(accounts)
    if wants_csv(request):
        records = [row.record for row in table_configure(request, table).rows]
        for row in selectors.accounts_compliance(request.user, records):  # three queries for them all
            row.smart_account.compliance = row
        return table_csv_response(table, f"accounts-compliance-{timezone.localdate().isoformat()}.csv")
    page_obj = records_page(table_configure(request, table, per_page=PER_PAGE))
    if page_obj.paginator.count == 1:
        return redirect("licensing:license_list", sa_pk=page_obj.object_list[0].pk)
    rows = selectors.accounts_compliance(request.user, page_obj.object_list)
    for row in rows:
        row.smart_account.compliance = row
    return render(request, "licensing/account_list.html", {"rows": rows, "page_obj": page_obj, "table": table})


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
    scope = page_scope(request, sa_pk, va_pk)
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
    scope = page_scope(request, sa_pk, va_pk)
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
    scope = page_scope(request, sa_pk, va_pk)
    _, lines, start, end = _reconciliation(request, scope)
    header = ["sku", "name", "family", "peak_shortage", "peak_day", "purchased_at_peak", "peak_in_use",
              "days_in_shortage", "days_reported", "period_start", "period_end"]
    rows = ([line.sku, line.product.name, line.product.family, line.peak_shortage,
             line.peak_day.isoformat() if line.peak_day else "", line.purchased_at_peak, line.peak_in_use,
             line.days_in_shortage, line.days_reported, start.isoformat(), end.isoformat()] for line in lines)
    return csv_response(export_name(scope, f"reconciliation-{start.isoformat()}-{end.isoformat()}"), header, rows)


# --- alerts and email preferences ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def alert_preferences(request: HttpRequest, sa_pk: int) -> HttpResponse:
    scope = page_scope(request, sa_pk, None)
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
