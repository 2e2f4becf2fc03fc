"""API view of the event log: a Smart Account's events as the caller may see them, filtered."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics

from accounts import permissions
from accounts.event_log import events
from accounts.models import Event, SmartAccount, VirtualAccount
from lib.api import errors

from .permissions import get_visible_or_404
from .serializers_events import EventFilterSerializer, EventSerializer


@extend_schema_view(get=extend_schema(
    parameters=[EventFilterSerializer], responses={200: EventSerializer(many=True), **errors(400, 401, 404)},
    summary="The event log of a Smart Account",
))
class SmartAccountEventListView(generics.ListAPIView):
    """The account's event log as the caller may see it (VA roles: their subtree's events), newest first."""

    serializer_class = EventSerializer

    def get_queryset(self) -> QuerySet[Event]:
        sa = get_visible_or_404(self.request, SmartAccount.objects.all(), pk=self.kwargs["pk"])
        filters = EventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)  # 400, field-keyed
        params = filters.validated_data
        va = None
        if params.get("virtual_account") is not None:
            va = _named_virtual_account(self.request.user, params["virtual_account"], sa)
        return events(
            sa, user=self.request.user, action=params.get("action"), virtual_account=va, actor=params.get("actor"),
            since=params.get("since"), until=params.get("until"),
        )


def _named_virtual_account(user, pk: int, smart_account: SmartAccount) -> VirtualAccount:
    """The Virtual Account the query string names: one of the account's the caller may see, else a
    field-keyed 400 (the same for unknown and invisible ones: no existence leak)."""
    va = permissions.visible_virtual_accounts(user).filter(smart_account=smart_account, pk=pk).first()
    if va is None:
        raise ValidationError({"virtual_account": f"No Virtual Account {pk} in {smart_account.name}."})
    return va
