"""API views of what happened in a Smart Account: its usage history and reconciliation; and its
alert preferences (its event log is accounts.api.views_events).

Each view finds what the caller may see (404 otherwise), checks the body's shape, and calls one
service (which checks the caller's right: 403) or selector."""
from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import SmartAccount, VirtualAccount
from accounts.permissions import ADMINISTER
from lib.api import errors, validated_data
from licensing import selectors, services

from .lookups import named_virtual_account, query_params, smart_account_or_404
from .serializers import (
    AlertPreferencesSerializer,
    AlertPreferencesUpdateSerializer,
    PeriodSerializer,
    ReconciliationLineSerializer,
    UsageSeriesSerializer,
)


def _period_scope(request: Request, sa: SmartAccount) -> tuple[QuerySet[VirtualAccount], datetime.date, datetime.date]:
    params = query_params(PeriodSerializer, request)
    end = params.get("end") or timezone.localdate()
    start = params.get("start") or end - datetime.timedelta(days=30)
    if start > end:
        raise ValidationError({"start": "The start comes on or before the end."})
    if params.get("virtual_account") is not None:
        va = named_virtual_account(request, params["virtual_account"], "virtual_account", smart_account=sa)
        scope = selectors.virtual_accounts_in_scope(request.user, virtual_account=va)
    else:
        scope = selectors.virtual_accounts_in_scope(request.user, smart_account=sa)
    return scope, start, end


@extend_schema_view(get=extend_schema(
    parameters=[PeriodSerializer], responses={200: ReconciliationLineSerializer(many=True), **errors(400, 401, 404)},
    summary="Reconciliation: peak shortage per product in a period",
))
class SmartAccountReconciliationView(generics.ListAPIView):
    """Per product over a period, from the daily snapshots: the peak shortage (to true up) and
    the days in shortage. Largest peak first."""

    serializer_class = ReconciliationLineSerializer

    def get_queryset(self) -> list:
        sa = smart_account_or_404(self.request, self.kwargs["pk"])
        scope, start, end = _period_scope(self.request, sa)
        return selectors.reconciliation(scope, start=start, end=end)


@extend_schema_view(get=extend_schema(
    parameters=[PeriodSerializer], responses={200: UsageSeriesSerializer(many=True), **errors(400, 401, 404)},
    summary="Daily usage per product over a period",
))
class SmartAccountUsageHistoryView(generics.ListAPIView):
    """Usage over time per product from the daily snapshots (a chart's data)."""

    serializer_class = UsageSeriesSerializer

    def get_queryset(self) -> list:
        sa = smart_account_or_404(self.request, self.kwargs["pk"])
        scope, start, end = _period_scope(self.request, sa)
        return selectors.usage_series(scope, start=start, end=end)


# --- alerts -------------------------------------------------------------------------------------


class AlertPreferencesView(APIView):
    @extend_schema(
        responses={200: AlertPreferencesSerializer, **errors(401, 403, 404)},
        summary="Alert preferences of an account (SA admins)",
    )
    def get(self, request: Request, pk: int) -> Response:
        # Account settings and their recipients: SA admins, as on the page (DESIGN.md §3).
        sa = smart_account_or_404(request, pk, ADMINISTER)
        return Response(AlertPreferencesSerializer(selectors.alert_preferences(sa)).data)

    @extend_schema(
        request=AlertPreferencesUpdateSerializer, responses={200: AlertPreferencesSerializer, **errors(400, 401, 403, 404)},
        summary="Change an account's alerts and extra recipients (SA admins)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        sa = smart_account_or_404(request, pk, ADMINISTER)
        data = validated_data(AlertPreferencesUpdateSerializer, request)
        preferences = services.alert_preferences_update(smart_account=sa, actor=request.user, **data)
        return Response(AlertPreferencesSerializer(preferences).data)
