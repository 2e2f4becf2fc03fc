"""Devices (flow 10): the list, moving devices to another Virtual Account, and removing one."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts.permissions import OPERATE
from lib.forms import form_add_service_errors
from lib.ids import id_from_text
from lib.tables import is_filtered, records_page, table_configure, table_csv_response, wants_csv

from .. import selectors, services
from ..filtersets import DeviceFilterSet
from ..forms import DeviceMoveForm
from ..models import Device, DeviceUsage, LicenseKind, Product
from ..tables import DeviceTable
from .scope import PER_PAGE, export_name, next_or, page_scope


@require_GET
@login_required
def device_list(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = page_scope(request, sa_pk, va_pk)
    # DISTINCT: the products in use, not every usage row of the scope (PostgreSQL then compares
    # each product with a few ids instead of thousands of rows).
    in_use = (
        DeviceUsage.objects.filter(device__virtual_account__in=scope.virtual_accounts.values("pk"))
        .values("product").distinct()
    )
    products = Product.objects.filter(license_kind=LicenseKind.SMART, pk__in=in_use).order_by("sku")
    filterset = DeviceFilterSet(request.GET or None, queryset=selectors.devices(scope.virtual_accounts),
                                virtual_accounts=scope.virtual_accounts, products=products)
    operable_ids = set(scope.operable.values_list("pk", flat=True))
    table = DeviceTable(filterset.qs, exclude=() if operable_ids else ("choose", "actions"))
    if wants_csv(request):
        return table_csv_response(table_configure(request, table), export_name(scope, "devices"))
    page_obj = records_page(table_configure(request, table, per_page=PER_PAGE))
    for device in page_obj.object_list:
        device.can_operate = device.virtual_account_id in operable_ids
    context = {
        "scope": scope, "active": "devices", "filterset": filterset, "page_obj": page_obj, "table": table,
        "is_filtered": is_filtered(request), "can_operate": bool(operable_ids),
    }
    return render(request, "licensing/device_list.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def device_move(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    """Move one or several devices (chosen on the device list) to another Virtual Account: all
    of them or none."""
    scope = page_scope(request, sa_pk, va_pk)
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
            form_add_service_errors(form, exc)
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
    return redirect(next_or(request, fallback))
