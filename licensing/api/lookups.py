"""What the licensing API views share: the query string checked by a serializer, and the
Smart or Virtual Account a URL or a body names, found among those the caller may see."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from rest_framework import serializers
from rest_framework.request import Request

from accounts.api.permissions import get_visible_or_404
from accounts.models import SmartAccount, VirtualAccount
from accounts.permissions import VIEW
from licensing import selectors


def query_params(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    """The query string checked for types (400, field-keyed, otherwise)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def virtual_account_or_404(request: Request, pk: int, capability=VIEW) -> VirtualAccount:
    return get_visible_or_404(request, VirtualAccount.objects.select_related("smart_account"), capability, pk=pk)


def smart_account_or_404(request: Request, pk: int, capability=VIEW) -> SmartAccount:
    return get_visible_or_404(request, SmartAccount.objects.all(), capability, pk=pk)


def named_virtual_account(request: Request, pk: int, field: str, smart_account: SmartAccount | None = None) -> VirtualAccount:
    """A Virtual Account named in a body or query string: one the caller may see, else a
    field-keyed 400 (the same for unknown and invisible ones: no existence leak)."""
    qs = selectors.virtual_accounts_in_scope(request.user, smart_account=smart_account).select_related("smart_account")
    va = qs.filter(pk=pk).first()
    if va is None:
        raise ValidationError({field: f"No Virtual Account {pk}" + (f" in {smart_account.name}." if smart_account else ".")})
    return va
