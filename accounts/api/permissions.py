"""The API's side of accounts.permissions: DRF permission classes and the object lookup every
API view starts with (invisible → 404, visible but not allowed → 403)."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from rest_framework import permissions as drf_permissions
from rest_framework.request import Request

from accounts.permissions import VIEW, Capability, Power, get_or_404, has_power


class _PowerRequired(drf_permissions.BasePermission):
    """Vendor staff holding one power (accounts.permissions_vendor: a Django permission, not
    `is_staff` alone); anonymous callers get 401 before this is asked."""

    power: Power
    reads_open = False  # True: any authenticated caller reads, only the power writes

    def has_permission(self, request, view) -> bool:
        if self.reads_open and request.method in drf_permissions.SAFE_METHODS:
            return True
        return has_power(request.user, self.power)


def power_required(power: Power, *, reads_open: bool = False) -> type[drf_permissions.BasePermission]:
    """The DRF permission class for `power` (e.g. `power_required(Power.CATALOGUE, reads_open=True)`)."""
    return type(f"Requires{power.name.title()}Power", (_PowerRequired,), {
        "power": power, "reads_open": reads_open,
        "message": f"Only vendor staff with the {power.value} permission may do this.",
    })


def get_visible_or_404(request: Request, queryset: QuerySet, capability: Capability = VIEW, **lookup):
    """The object the caller may see (404 otherwise, even if it exists), then 403 unless the
    caller may also do `capability` on it (accounts.permissions.get_or_404, for the API)."""
    try:
        return get_or_404(request.user, queryset, capability, **lookup)
    except (ValueError, ValidationError):
        # A malformed id (e.g. "abc" for an integer or UUID key) names nothing.
        raise Http404("Not found.")
