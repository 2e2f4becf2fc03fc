"""API views of the orders app (DESIGN.md §5, flows 5–8): place orders, list and read the orders
the caller may see, ship them (staff), move held or delegated lines to a customer account.

Each view finds what the caller may see (orders.selectors: invisible → 404), checks the body's
shape, and calls one service — the same ones the pages, the admin and the commands call."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from lib.api import errors, validated_data, validation_error_detail
from orders import services
from orders.filtersets import OrderApiFilterSet
from orders.models import Order, OrderLine
from orders.selectors import LINE_RELATED, delegated_lines_for, order_history, orders_visible_to

from .serializers import (
    DelegatedLineSerializer,
    MovedLinesSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderLineMoveSerializer,
    OrderSerializer,
    OrderShipSerializer,
)


LINE_ERRORS = (
    "Errors are field-keyed; an error about one line is keyed `lines.<index>.<field>` (0-based index into "
    "`lines`, field as sent: `sku`, `quantity`, `smart_account`, `virtual_account`, `delegate_to_end_customer`, "
    "or `non_field_errors`), e.g. `{\"lines.1.smart_account\": [\"C9300-DNA-E requires a Smart Account: …\"]}`. "
    "Every error of every line is reported at once."
)


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors ({"lines": [{}, {"quantity": [...]}]}) as the flat keys the services
    use ({"lines.1.quantity": [...]}): one error format for shape and rules alike."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            if not prefix:
                name = str(key)
            elif key == "non_field_errors" and "." not in prefix:
                name = prefix  # about the field as a whole ("lines" is not a list): keyed by the field
            else:
                name = f"{prefix}.{key}"
            flat.update(flatten_errors(value, name))
        return flat
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            if item:
                flat.update(flatten_errors(item, f"{prefix}.{index}"))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


def visible_order(request: Request, pk: int) -> Order:
    """An order the caller may see (404 otherwise: no existence leak)."""
    return get_object_or_404(orders_visible_to(request.user), pk=pk)


@extend_schema_view(get=extend_schema(
    responses={200: OrderSerializer(many=True), **errors(400, 401)},
    summary="Orders you may see, with their lines",
    description="Staff see every order; partner users their partner's orders, the orders naming their partner as "
                "reseller and (distributors) their linked resellers' orders; holding-account members the orders "
                "with a line in their holding account. The line filters (`holding_account`, `state`, "
                "`smart_account`, `sku`) pick the orders with a line matching all of them, e.g. "
                "`?holding_account=7&state=held`: the orders waiting in holding account 7. Each order comes "
                "with all its lines.",
))
class OrderListView(generics.ListAPIView):
    """Orders the caller may see, newest first; partner users place new ones (flow 5)."""

    serializer_class = OrderSerializer
    # The query string is checked by the filterset's fields (bounds included): a field-keyed 400.
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderApiFilterSet

    def get_queryset(self) -> QuerySet[Order]:
        # Three queries for any page: the count, the orders (with partner, reseller, placer) and their lines.
        return orders_visible_to(self.request.user)

    @extend_schema(
        request=OrderCreateSerializer, responses={201: OrderSerializer, **errors(400, 401, 403)},
        summary="Place an order for an end customer (partner users)",
        description="Each line goes to a customer Smart Account (+ Virtual Account), a holding account, or is "
                    "delegated to the end-customer contact, who is emailed a link to choose their account. A line of "
                    "an `sa_required` product must be assigned or delegated. A distributor names the linked "
                    "`reseller` it orders for and may park lines in its own holding accounts or its linked "
                    "resellers'. " + LINE_ERRORS,
    )
    def post(self, request: Request) -> Response:
        serializer = OrderCreateSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            raise ValidationError(flatten_errors(serializer.errors))
        data = serializer.validated_data
        lines = [
            {
                "sku": line["sku"], "quantity": line["quantity"], "smart_account": line.get("smart_account"),
                "virtual_account": line.get("virtual_account"),
                "delegate_to_end_customer": line.get("delegate_to_end_customer", False),
            }
            for line in data["lines"]
        ]
        order = services.order_place(
            actor=request.user, end_customer_name=data["end_customer_name"],
            end_customer_email=data["end_customer_email"], reseller=data.get("reseller"), lines=lines,
        )
        return Response(OrderSerializer(orders_visible_to(request.user).get(pk=order.pk)).data,
                        status=status.HTTP_201_CREATED)


class OrderDetailView(APIView):
    @extend_schema(
        responses={200: OrderDetailSerializer, **errors(401, 404)},
        summary="One order with its lines and its history",
        description="`events`: every event about the order or one of its lines, oldest first (the order page's "
                    "history). A move out of a holding account is logged on both accounts.",
    )
    def get(self, request: Request, pk: int) -> Response:
        order = visible_order(request, pk)
        numbers = {str(line.pk): line.number for line in order.lines.all()}
        history = list(order_history(order))
        for event in history:
            event.line_number = numbers.get(event.object_id) if event.object_type == OrderLine._meta.model_name else None
        order.history = history
        return Response(OrderDetailSerializer(order).data)


class OrderShipView(APIView):
    @extend_schema(
        request=OrderShipSerializer, responses={200: OrderSerializer, **errors(400, 401, 403, 404)},
        summary="Ship an order's lines (staff)",
        description="Ships every line not shipped yet, or the given `lines` — all or none: a line shipped already, or "
                    "going to a suspended account, stops the call (400, naming it). Into an active customer account "
                    "a line is provisioned at once; into a `new` one when it is activated; into a holding account it "
                    "is `held`. Subscriptions start on the ship date. The emails go out through the outbox. "
                    "Orders you may not see are 404; others may see but not ship them (403).",
    )
    def post(self, request: Request, pk: int) -> Response:
        order = visible_order(request, pk)
        if not permissions.can_ship_orders(request.user):
            raise PermissionDenied("Only vendor staff can ship orders.")
        data = validated_data(OrderShipSerializer, request)
        services.order_ship(order=order, actor=request.user, lines=data.get("lines"), shipped_on=data.get("shipped_on"))
        return Response(OrderSerializer(orders_visible_to(request.user).get(pk=order.pk)).data)


@extend_schema_view(get=extend_schema(
    responses={200: DelegatedLineSerializer(many=True), **errors(401)},
    summary="Lines waiting for you to choose their account (the delegated end-customer contact)",
    description="Newest order first. Pass their ids to `POST /api/v1/order-lines/move/` with an active account "
                "where you are an admin or user.",
))
class DelegatedLineListView(generics.ListAPIView):
    """Lines delegated to the caller (the orders' end-customer contact) whose account is not chosen yet."""

    serializer_class = DelegatedLineSerializer

    def get_queryset(self) -> QuerySet[OrderLine]:
        return delegated_lines_for(self.request.user)


class OrderLineMoveView(APIView):
    @extend_schema(
        request=OrderLineMoveSerializer,
        responses={
            200: MovedLinesSerializer,
            400: OpenApiResponse(
                description="Invalid input, or some line cannot move: then nothing moved. `lines` names each failed "
                            "line and why; `failed_lines` maps each failed line id to its reason, e.g. "
                            "`{\"lines\": [\"Line 12 (SO-100003 line 1): already provisioned in Globex.\"], "
                            "\"failed_lines\": {\"12\": \"already provisioned in Globex\"}}`."
            ),
            **errors(401, 403),
        },
        summary="Move lines to an active customer Smart Account (holding-account members; the delegated contact)",
        description="Held lines move out of a holding account you are a member of; delegated lines whose account is "
                    "not chosen yet move by their end-customer contact into an account where they are an admin or "
                    "user. Provisioned there once: moving a line twice, or two people at once, deposits it once. All "
                    "or nothing. 403 when the only problem is your right to move lines you can see.",
    )
    def post(self, request: Request) -> Response:
        data = validated_data(OrderLineMoveSerializer, request)
        try:
            moved = services.order_line_move_to_account(
                lines=data["lines"], smart_account=data["smart_account"],
                virtual_account=data.get("virtual_account"), actor=request.user,
            )
        except DjangoValidationError as exc:
            body = validation_error_detail(exc)
            failed = getattr(exc, "failed_lines", None)
            if failed:
                body["failed_lines"] = {str(line_id): reason for line_id, reason in sorted(failed.items())}
            raise ValidationError(body)
        lines = (
            OrderLine.objects.filter(pk__in=[line.pk for line in moved])
            .select_related("order", *LINE_RELATED).order_by("order_id", "number")
        )
        return Response(MovedLinesSerializer({"lines": lines}).data)
