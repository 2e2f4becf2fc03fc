"""API views of the catalogue, license pools and transfers (flow 9), and registration tokens
(flow 10).

Each view finds what the caller may see (404 otherwise), checks the body's shape, and calls one
service (which checks the caller's right: 403) or selector."""
from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.permissions import get_visible_or_404, power_required
from accounts.models import VirtualAccount
from accounts.permissions import OPERATE, Power
from lib.api import errors, validated_data
from licensing import selectors, services
from licensing.filtersets import ProductFilterSet
from licensing.models import Product, RegistrationToken

from .lookups import named_virtual_account, query_params, smart_account_or_404, virtual_account_or_404
from .serializers import (
    LicenseFilterSerializer,
    LicenseLineSerializer,
    LicenseTransferResultSerializer,
    LicenseTransferSerializer,
    ProductCreateSerializer,
    ProductSerializer,
    TokenCreateSerializer,
    TokenCreatedSerializer,
    TokenFilterSerializer,
    TokenSerializer,
)


@extend_schema_view(get=extend_schema(
    responses={200: ProductSerializer(many=True), **errors(400, 401)}, summary="The product catalogue",
))
class ProductListView(generics.ListAPIView):
    """The catalogue: read by every signed-in user, extended by catalogue staff."""

    permission_classes = [IsAuthenticated, power_required(Power.CATALOGUE, reads_open=True)]
    serializer_class = ProductSerializer
    queryset = Product.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProductFilterSet

    @extend_schema(
        request=ProductCreateSerializer, responses={201: ProductSerializer, **errors(400, 401, 403)},
        summary="Add a product (staff)",
    )
    def post(self, request: Request) -> Response:
        product = services.product_create(actor=request.user, **validated_data(ProductCreateSerializer, request))
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(responses={200: ProductSerializer, **errors(401, 404)}, summary="One product"))
class ProductDetailView(generics.RetrieveAPIView):
    serializer_class = ProductSerializer
    queryset = Product.objects.all()


# --- pools and transfers (flow 9) ---------------------------------------------------------------


def _filter_lines(lines: list[selectors.LicenseLine], params: dict) -> list[selectors.LicenseLine]:
    if params.get("family"):
        lines = [line for line in lines if line.product.family.lower() == params["family"].strip().lower()]
    if params.get("status"):
        lines = [line for line in lines if line.status == params["status"]]
    return lines


@extend_schema_view(get=extend_schema(
    parameters=[LicenseFilterSerializer], responses={200: LicenseLineSerializer(many=True), **errors(400, 401, 404)},
    summary="Licenses of a Virtual Account (?subtree=1 with its subtree)",
))
class VirtualAccountLicenseListView(generics.ListAPIView):
    """A Virtual Account's own pool per product; `?subtree=1` rolls up its subtree (each VA's
    pool stays its own: one VA's surplus never covers another's shortage)."""

    serializer_class = LicenseLineSerializer

    def get_queryset(self) -> list:
        va = virtual_account_or_404(self.request, self.kwargs["pk"])
        params = query_params(LicenseFilterSerializer, self.request)
        scope = selectors.virtual_accounts_in_scope(self.request.user, virtual_account=va, subtree=params["subtree"])
        return _filter_lines(selectors.license_summary(scope), params)


@extend_schema_view(get=extend_schema(
    parameters=[LicenseFilterSerializer], responses={200: LicenseLineSerializer(many=True), **errors(400, 401, 404)},
    summary="Licenses of a Smart Account",
))
class SmartAccountLicenseListView(generics.ListAPIView):
    """The account's licenses per product, over the Virtual Accounts the caller may see."""

    serializer_class = LicenseLineSerializer

    def get_queryset(self) -> list:
        sa = smart_account_or_404(self.request, self.kwargs["pk"])
        params = query_params(LicenseFilterSerializer, self.request)
        return _filter_lines(selectors.smart_account_license_summary(sa, user=self.request.user), params)


class LicenseTransferView(APIView):
    @extend_schema(
        request=LicenseTransferSerializer, responses={201: LicenseTransferResultSerializer, **errors(400, 401, 403)},
        summary="Move licenses between Virtual Accounts of one Smart Account (all lines or none)",
        description=(
            "All lines move or none does. A refused line answers 400 with its errors keyed "
            "`lines.<i>.<field>`, where `<i>` is the line's 0-based position in `lines` and `<field>` is "
            "`sku`, `quantity` or `non_field_errors` (for example `lines.2.quantity`: not enough free "
            "licenses of that product in the source)."
        ),
    )
    def post(self, request: Request) -> Response:
        data = validated_data(LicenseTransferSerializer, request)
        source = named_virtual_account(request, data["from_virtual_account"], "from_virtual_account")
        target = named_virtual_account(request, data["to_virtual_account"], "to_virtual_account")
        created = services.license_transfer(
            from_virtual_account=source, to_virtual_account=target, lines=[dict(line) for line in data["lines"]],
            actor=request.user,
        )
        merged: dict[str, int] = {}
        for entitlement in created:
            merged[entitlement.product.sku] = merged.get(entitlement.product.sku, 0) + entitlement.quantity
        body = {
            "from_virtual_account": source.pk, "to_virtual_account": target.pk,
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in merged.items()],
            "entitlements": created,
        }
        return Response(LicenseTransferResultSerializer(body).data, status=status.HTTP_201_CREATED)


# --- tokens (flow 10) ---------------------------------------------------------------------------


@extend_schema_view(get=extend_schema(
    parameters=[TokenFilterSerializer], responses={200: TokenSerializer(many=True), **errors(400, 401, 403, 404)},
    summary="Registration tokens of a Virtual Account",
))
class VirtualAccountTokenListView(generics.ListAPIView):
    """A Virtual Account's registration tokens (users up): list, and create one (its secret is
    in the answer this once)."""

    serializer_class = TokenSerializer

    def get_queryset(self) -> QuerySet[RegistrationToken]:
        va = virtual_account_or_404(self.request, self.kwargs["pk"], OPERATE)
        params = query_params(TokenFilterSerializer, self.request)
        return selectors.tokens(VirtualAccount.objects.filter(pk=va.pk), status=params.get("status"))

    @extend_schema(
        request=TokenCreateSerializer, responses={201: TokenCreatedSerializer, **errors(400, 401, 403, 404)},
        summary="Create a registration token (shown once)",
    )
    def post(self, request: Request, pk: int) -> Response:
        va = virtual_account_or_404(request, pk, OPERATE)
        token, raw = services.token_create(virtual_account=va, actor=request.user, **validated_data(TokenCreateSerializer, request))
        token.token = raw
        return Response(TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    def _token(self, request: Request, pk: int) -> RegistrationToken:
        qs = RegistrationToken.objects.select_related("virtual_account__smart_account", "created_by")
        return get_visible_or_404(request, qs, OPERATE, pk=pk)

    @extend_schema(responses={200: TokenSerializer, **errors(401, 403, 404)}, summary="One registration token")
    def get(self, request: Request, pk: int) -> Response:
        return Response(TokenSerializer(self._token(request, pk)).data)

    @extend_schema(
        responses={204: OpenApiResponse(description="Revoked."), **errors(400, 401, 403, 404)},
        summary="Revoke a registration token",
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.token_revoke(token=self._token(request, pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
