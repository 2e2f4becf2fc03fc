"""The API's side of accounts.permissions: DRF permission classes and the object lookup every
API view starts with (invisible → 404, visible but not allowed → 403)."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from rest_framework import permissions as drf_permissions
from rest_framework.request import Request

from accounts.permissions import VIEW, Capability, get_or_404, is_staff


class IsStaff(drf_permissions.BasePermission):
    """Vendor staff only (anonymous callers get 401 before this is asked)."""

    message = "Only vendor staff may do this."

    def has_permission(self, request, view) -> bool:
        return is_staff(request.user)


class IsStaffOrReadOnly(IsStaff):
    """Any authenticated user reads; only staff write (the catalogue, partners)."""

    def has_permission(self, request, view) -> bool:
        return request.method in drf_permissions.SAFE_METHODS or super().has_permission(request, view)


def get_visible_or_404(request: Request, queryset: QuerySet, capability: Capability = VIEW, **lookup):
    """The object the caller may see (404 otherwise, even if it exists), then 403 unless the
    caller may also do `capability` on it (accounts.permissions.get_or_404, for the API)."""
    try:
        return get_or_404(request.user, queryset, capability, **lookup)
    except (ValueError, ValidationError):
        # A malformed id (e.g. "abc" for an integer or UUID key) names nothing.
        raise Http404("Not found.")
