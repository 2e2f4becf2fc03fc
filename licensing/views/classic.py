"""Classic licenses (PAKs) of an account: the list, one PAK, registering it to a device and
converting it to smart licenses."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from accounts.models import SmartAccountKind
from accounts.permissions import OPERATE, VIEW
from lib.forms import run_service
from lib.tables import is_filtered, records_page, table_configure, table_csv_response, wants_csv

from .. import selectors, services
from ..filtersets import ClassicLicenseFilterSet
from ..forms import ClassicLicenseConvertForm, ClassicLicenseRegisterForm
from ..models import ClassicLicense
from ..tables import ClassicLicenseTable
from .scope import PER_PAGE, export_name, page_scope


@require_GET
@login_required
def classic_license_list(request: HttpRequest, sa_pk: int) -> HttpResponse:
    scope = page_scope(request, sa_pk, None)
    if not scope.sees_account_wide:
        raise PermissionDenied("Classic licenses belong to the account as a whole: they need a role on the whole account.")
    filterset = ClassicLicenseFilterSet(request.GET or None, queryset=selectors.classic_licenses(scope.smart_account))
    table = ClassicLicenseTable(filterset.qs)
    if wants_csv(request):
        return table_csv_response(table_configure(request, table), export_name(scope, "paks"))
    context = {
        "scope": scope, "active": "paks", "filterset": filterset, "table": table,
        "page_obj": records_page(table_configure(request, table, per_page=PER_PAGE)),
        "is_filtered": is_filtered(request), "can_operate": permissions.can(request.user, OPERATE, scope.smart_account),
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
    scope = page_scope(request, pak.smart_account_id, None)
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
    scope = page_scope(request, pak.smart_account_id, None)
    return render(request, "licensing/classic_license_register.html", {"scope": scope, "active": "paks", "pak": pak, "form": form})


@require_http_methods(["GET", "POST"])
@login_required
def classic_license_convert(request: HttpRequest, pk: int) -> HttpResponse:
    pak = _pak(request, pk, OPERATE)
    if pak.registered_at or pak.converted_at:
        messages.info(request, f"PAK {pak.pak} is {'registered' if pak.registered_at else 'converted'} already.")
        return redirect("licensing:classic_license_detail", pk=pak.pk)
    scope = page_scope(request, pak.smart_account_id, None)
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
