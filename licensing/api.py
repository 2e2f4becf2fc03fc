"""API views of the licensing app: the catalogue, pools and transfers, tokens, devices (their
registration and usage reports), PAKs, the event log, usage history and reconciliation.

Each view finds what the caller may see (404 otherwise), checks the body's shape, and calls one
service (which checks the caller's right: 403) or selector."""
from __future__ import annotations

import datetime

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from accounts.models import Event, SmartAccount, VirtualAccount
from accounts.api_permissions import IsStaffOrReadOnly, get_visible_or_404
from accounts.permissions import ADMINISTER, OPERATE, VIEW
from lib.api import errors, validated_data

from . import selectors, services
from .api_auth import DeviceSecretAuthentication, IsTheDevice
from .models import ClassicLicense, Device, LicenseKind, Product, RegistrationToken
from .serializers import (
    AlertPreferencesSerializer,
    AlertPreferencesUpdateSerializer,
    ClassicConvertSerializer,
    ClassicLicenseFilterSerializer,
    ClassicLicenseSerializer,
    ClassicRegisteredSerializer,
    ClassicRegisterSerializer,
    DeviceFilterSerializer,
    DeviceMoveSerializer,
    DeviceRegisteredSerializer,
    DeviceRegisterSerializer,
    DeviceSerializer,
    EntitlementSerializer,
    EventFilterSerializer,
    EventSerializer,
    LicenseFilterSerializer,
    LicenseKeyContentSerializer,
    LicenseKeyVerifySerializer,
    LicenseLineSerializer,
    LicenseTransferResultSerializer,
    LicenseTransferSerializer,
    PeriodSerializer,
    ProductCreateSerializer,
    ProductSerializer,
    ReconciliationLineSerializer,
    TokenCreatedSerializer,
    TokenCreateSerializer,
    TokenFilterSerializer,
    TokenSerializer,
    UsageReportSerializer,
    UsageResultSerializer,
    UsageSeriesSerializer,
)

# --- helpers ------------------------------------------------------------------------------------


def query_params(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    """The query string checked for types (400, field-keyed, otherwise)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _virtual_account(request: Request, pk: int, capability=VIEW) -> VirtualAccount:
    return get_visible_or_404(request, VirtualAccount.objects.select_related("smart_account"), capability, pk=pk)


def _smart_account(request: Request, pk: int, capability=VIEW) -> SmartAccount:
    return get_visible_or_404(request, SmartAccount.objects.all(), capability, pk=pk)


def _named_virtual_account(request: Request, pk: int, field: str, smart_account: SmartAccount | None = None) -> VirtualAccount:
    """A Virtual Account named in a body or query string: one the caller may see, else a
    field-keyed 400 (the same for unknown and invisible ones: no existence leak)."""
    qs = selectors.virtual_accounts_in_scope(request.user, smart_account=smart_account).select_related("smart_account")
    va = qs.filter(pk=pk).first()
    if va is None:
        raise ValidationError({field: f"No Virtual Account {pk}" + (f" in {smart_account.name}." if smart_account else ".")})
    return va


def _filter_lines(lines: list[selectors.LicenseLine], params: dict) -> list[selectors.LicenseLine]:
    if params.get("family"):
        lines = [line for line in lines if line.product.family.lower() == params["family"].strip().lower()]
    if params.get("status"):
        lines = [line for line in lines if line.status == params["status"]]
    return lines


# --- the catalogue ------------------------------------------------------------------------------


class ProductFilterSet(django_filters.FilterSet):
    family = django_filters.CharFilter(lookup_expr="iexact")
    license_kind = django_filters.ChoiceFilter(choices=LicenseKind.choices)
    sa_required = django_filters.BooleanFilter()
    is_active = django_filters.BooleanFilter()
    search = django_filters.CharFilter(method="filter_search", label="SKU, name or family contains")

    class Meta:
        model = Product
        fields = ["family", "license_kind", "sa_required", "is_active"]

    def filter_search(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value) | Q(family__icontains=value))


class ProductListView(generics.ListAPIView):
    """The catalogue: read by every signed-in user, extended by staff."""

    permission_classes = [IsAuthenticated, IsStaffOrReadOnly]
    serializer_class = ProductSerializer
    queryset = Product.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProductFilterSet

    @extend_schema(responses={200: ProductSerializer(many=True), **errors(400, 401)}, summary="The product catalogue")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ProductCreateSerializer, responses={201: ProductSerializer, **errors(400, 401, 403)},
        summary="Add a product (staff)",
    )
    def post(self, request: Request) -> Response:
        product = services.product_create(actor=request.user, **validated_data(ProductCreateSerializer, request))
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailView(generics.RetrieveAPIView):
    serializer_class = ProductSerializer
    queryset = Product.objects.all()

    @extend_schema(responses={200: ProductSerializer, **errors(401, 404)}, summary="One product")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


# --- pools and transfers (flow 9) ---------------------------------------------------------------


class VirtualAccountLicenseListView(generics.ListAPIView):
    """A Virtual Account's own pool per product; `?subtree=1` rolls up its subtree (each VA's
    pool stays its own: one VA's surplus never covers another's shortage)."""

    serializer_class = LicenseLineSerializer

    def get_queryset(self) -> list:
        va = _virtual_account(self.request, self.kwargs["pk"])
        params = query_params(LicenseFilterSerializer, self.request)
        scope = selectors.virtual_accounts_in_scope(self.request.user, virtual_account=va, subtree=params["subtree"])
        return _filter_lines(selectors.license_summary(scope), params)

    @extend_schema(
        parameters=[LicenseFilterSerializer], responses={200: LicenseLineSerializer(many=True), **errors(400, 401, 404)},
        summary="Licenses of a Virtual Account (?subtree=1 with its subtree)",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class SmartAccountLicenseListView(generics.ListAPIView):
    """The account's licenses per product, over the Virtual Accounts the caller may see."""

    serializer_class = LicenseLineSerializer

    def get_queryset(self) -> list:
        sa = _smart_account(self.request, self.kwargs["pk"])
        params = query_params(LicenseFilterSerializer, self.request)
        return _filter_lines(selectors.smart_account_license_summary(sa, user=self.request.user), params)

    @extend_schema(
        parameters=[LicenseFilterSerializer], responses={200: LicenseLineSerializer(many=True), **errors(400, 401, 404)},
        summary="Licenses of a Smart Account",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class LicenseTransferView(APIView):
    @extend_schema(
        request=LicenseTransferSerializer, responses={201: LicenseTransferResultSerializer, **errors(400, 401, 403)},
        summary="Move licenses between Virtual Accounts of one Smart Account (all lines or none)",
    )
    def post(self, request: Request) -> Response:
        data = validated_data(LicenseTransferSerializer, request)
        source = _named_virtual_account(request, data["from_virtual_account"], "from_virtual_account")
        target = _named_virtual_account(request, data["to_virtual_account"], "to_virtual_account")
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


class VirtualAccountTokenListView(generics.ListAPIView):
    """A Virtual Account's registration tokens (users up): list, and create one (its secret is
    in the answer this once)."""

    serializer_class = TokenSerializer

    def get_queryset(self) -> QuerySet[RegistrationToken]:
        va = _virtual_account(self.request, self.kwargs["pk"], OPERATE)
        params = query_params(TokenFilterSerializer, self.request)
        return selectors.tokens(VirtualAccount.objects.filter(pk=va.pk), status=params.get("status"))

    @extend_schema(
        parameters=[TokenFilterSerializer], responses={200: TokenSerializer(many=True), **errors(400, 401, 403, 404)},
        summary="Registration tokens of a Virtual Account",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=TokenCreateSerializer, responses={201: TokenCreatedSerializer, **errors(400, 401, 403, 404)},
        summary="Create a registration token (shown once)",
    )
    def post(self, request: Request, pk: int) -> Response:
        va = _virtual_account(request, pk, OPERATE)
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


# --- devices (flow 10) --------------------------------------------------------------------------


class DeviceRegisterView(APIView):
    """A device registers with a token, or registers again with its current secret: the one in
    the body is its credential (no user, no session, no CSRF). 201 for a new device; 200 when the
    serial was registered already in that Virtual Account (the same device, a new secret)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=DeviceRegisterSerializer, auth=[],
        responses={201: DeviceRegisteredSerializer, 200: DeviceRegisteredSerializer, **errors(400)},
        summary="Register a device with a registration token (or again with its current secret)",
        description="Send `token` or `device_secret`, not both. With `token`: a new serial number in the token's "
                    "Virtual Account is a new device (201); a serial registered there already is the same device, "
                    "its secret rotated (the old one stops working) and hostname and product id updated (200). "
                    "Either uses the token once, so the token must be active with a use left (else 400, `token`). "
                    "With `device_secret`, the device's current secret, and its `serial_number`: the device "
                    "registers again without a token use (200), its secret rotated all the same (else 400, "
                    "`device_secret`). Every re-registration is recorded in the account's event log "
                    "(`device.reregistered`).",
    )
    def post(self, request: Request) -> Response:
        device, secret, created = services.device_register(**validated_data(DeviceRegisterSerializer, request))
        body = {"device_id": device.pk, "device_secret": secret, "virtual_account": device.virtual_account_id,
                "virtual_account_name": device.virtual_account.name, "created": created}
        return Response(DeviceRegisteredSerializer(body).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class DeviceUsageView(APIView):
    """The device reports its current usage with its secret (`Authorization: Bearer`)."""

    authentication_classes = [DeviceSecretAuthentication]
    permission_classes = [IsTheDevice]

    @extend_schema(
        request=UsageReportSerializer, responses={200: UsageResultSerializer, **errors(400, 401)},
        summary="Report a device's usage (absolute counts, replacing its last report)",
    )
    def post(self, request: Request, pk: int) -> Response:
        data = validated_data(UsageReportSerializer, request)
        statuses = services.device_report_usage(device=request.auth, usage=[dict(item) for item in data["usage"]])
        return Response(UsageResultSerializer({"licenses": [{"sku": sku, "status": s} for sku, s in statuses]}).data)


class DeviceCredentialsCheckView(APIView):
    """A device checks its credentials (its id and secret) without reporting anything: 204 when
    they are good, 401 otherwise. It writes nothing (not even `last_contact_at`: only a usage
    report counts as contact), so it also serves as the baseline of the benchmark (`bench/run.py`):
    the same middleware and device authentication as a usage report, without its business logic."""

    authentication_classes = [DeviceSecretAuthentication]
    permission_classes = [IsTheDevice]

    @extend_schema(
        responses={204: OpenApiResponse(description="The device id and secret are good."), **errors(401)},
        summary="Check a device's credentials (writes nothing)",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT)


class VirtualAccountDeviceListView(generics.ListAPIView):
    serializer_class = DeviceSerializer

    def get_queryset(self) -> QuerySet[Device]:
        va = _virtual_account(self.request, self.kwargs["pk"])
        params = query_params(DeviceFilterSerializer, self.request)
        product = None
        if params.get("sku"):
            product = Product.objects.filter(sku__iexact=params["sku"].strip()).first()
            if product is None:
                raise ValidationError({"sku": f"Unknown SKU: {params['sku'].strip().upper()}."})
        scope = selectors.virtual_accounts_in_scope(self.request.user, virtual_account=va, subtree=params["subtree"])
        return selectors.devices(scope, status=params.get("status"), search=params.get("search"), product=product)

    @extend_schema(
        parameters=[DeviceFilterSerializer], responses={200: DeviceSerializer(many=True), **errors(400, 401, 404)},
        summary="Devices of a Virtual Account, with their usage",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class DeviceDetailView(APIView):
    def _device(self, request: Request, pk: int, capability=VIEW) -> Device:
        found = get_visible_or_404(request, Device.objects.select_related("virtual_account__smart_account"), capability, pk=pk)
        return found

    def _body(self, pk: int) -> dict:
        device = selectors.devices(VirtualAccount.objects.all()).get(pk=pk)
        return DeviceSerializer(device).data

    @extend_schema(responses={200: DeviceSerializer, **errors(401, 404)}, summary="One device, with its usage")
    def get(self, request: Request, pk: int) -> Response:
        self._device(request, pk)
        return Response(self._body(pk))

    @extend_schema(
        request=DeviceMoveSerializer, responses={200: DeviceSerializer, **errors(400, 401, 403, 404)},
        summary="Move a device to another Virtual Account of its Smart Account",
    )
    def patch(self, request: Request, pk: int) -> Response:
        device = self._device(request, pk, OPERATE)
        data = validated_data(DeviceMoveSerializer, request)
        target = _named_virtual_account(request, data["virtual_account"], "virtual_account")
        services.device_move(device=device, virtual_account=target, actor=request.user)
        return Response(self._body(pk))

    @extend_schema(
        responses={204: OpenApiResponse(description="Removed; its usage is freed."), **errors(400, 401, 403, 404)},
        summary="Remove a device (frees its usage)",
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.device_remove(device=self._device(request, pk, OPERATE), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- classic licenses (PAKs) ----------------------------------------------------------------


class SmartAccountClassicLicenseListView(generics.ListAPIView):
    serializer_class = ClassicLicenseSerializer

    def get_queryset(self) -> QuerySet[ClassicLicense]:
        # PAKs belong to the account as a whole: a VA role sees the account (403), not them.
        sa = permissions.get_account_wide_or_404(self.request.user, SmartAccount.objects.all(), pk=self.kwargs["pk"])
        return selectors.classic_licenses(sa, status=query_params(ClassicLicenseFilterSerializer, self.request).get("status"))

    @extend_schema(
        parameters=[ClassicLicenseFilterSerializer],
        responses={200: ClassicLicenseSerializer(many=True), **errors(400, 401, 403, 404)},
        summary="Classic licenses (PAKs) of a Smart Account (account-wide roles)",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


def _pak(request: Request, pk: int) -> ClassicLicense:
    return get_visible_or_404(request, ClassicLicense.objects.select_related("product", "smart_account"), OPERATE, pk=pk)


class ClassicLicenseRegisterView(APIView):
    @extend_schema(
        request=ClassicRegisterSerializer, responses={200: ClassicRegisteredSerializer, **errors(400, 401, 403, 404)},
        summary="Register a PAK to a device serial: its node-locked license key",
    )
    def post(self, request: Request, pk: int) -> Response:
        pak = _pak(request, pk)
        data = validated_data(ClassicRegisterSerializer, request)
        key = services.classic_license_register(pak=pak, serial_number=data["serial_number"], actor=request.user)
        content = services.classic_license_verify(key)
        return Response(ClassicRegisteredSerializer(
            {"pak": pak.pak, "serial_number": content["serial_number"], "license_key": key}
        ).data)


class ClassicLicenseConvertView(APIView):
    @extend_schema(
        request=ClassicConvertSerializer, responses={201: EntitlementSerializer, **errors(400, 401, 403, 404)},
        summary="Convert a PAK to smart entitlements in a Virtual Account",
    )
    def post(self, request: Request, pk: int) -> Response:
        pak = _pak(request, pk)
        data = validated_data(ClassicConvertSerializer, request)
        va = _named_virtual_account(request, data["virtual_account"], "virtual_account", smart_account=pak.smart_account)
        entitlement = services.classic_license_convert(pak=pak, virtual_account=va, actor=request.user)
        return Response(EntitlementSerializer(entitlement).data, status=status.HTTP_201_CREATED)


class LicenseKeyVerifyView(APIView):
    """Anyone holding a license key may check it was issued by this portal (and for which device)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=LicenseKeyVerifySerializer, auth=[], responses={200: LicenseKeyContentSerializer, **errors(400)},
        summary="Verify a classic license key",
    )
    def post(self, request: Request) -> Response:
        data = validated_data(LicenseKeyVerifySerializer, request)
        content = services.classic_license_verify(data["license_key"], serial_number=data.get("serial_number"))
        return Response(LicenseKeyContentSerializer(content).data)


# --- the event log, usage history, reconciliation ---------------------------------------------


class SmartAccountEventListView(generics.ListAPIView):
    """The account's event log as the caller may see it (VA roles: their subtree's events), newest first."""

    serializer_class = EventSerializer

    def get_queryset(self) -> QuerySet[Event]:
        sa = _smart_account(self.request, self.kwargs["pk"])
        params = query_params(EventFilterSerializer, self.request)
        va = None
        if params.get("virtual_account") is not None:
            va = _named_virtual_account(self.request, params["virtual_account"], "virtual_account", smart_account=sa)
        return selectors.events(
            sa, user=self.request.user, action=params.get("action"), virtual_account=va, actor=params.get("actor"),
            since=params.get("since"), until=params.get("until"),
        )

    @extend_schema(
        parameters=[EventFilterSerializer], responses={200: EventSerializer(many=True), **errors(400, 401, 404)},
        summary="The event log of a Smart Account",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


def _period_scope(request: Request, sa: SmartAccount) -> tuple[QuerySet[VirtualAccount], datetime.date, datetime.date]:
    params = query_params(PeriodSerializer, request)
    end = params.get("end") or timezone.localdate()
    start = params.get("start") or end - datetime.timedelta(days=30)
    if start > end:
        raise ValidationError({"start": "The start comes on or before the end."})
    if params.get("virtual_account") is not None:
        va = _named_virtual_account(request, params["virtual_account"], "virtual_account", smart_account=sa)
        scope = selectors.virtual_accounts_in_scope(request.user, virtual_account=va)
    else:
        scope = selectors.virtual_accounts_in_scope(request.user, smart_account=sa)
    return scope, start, end


class SmartAccountReconciliationView(generics.ListAPIView):
    """Per product over a period, from the daily snapshots: the peak shortage (to true up) and
    the days in shortage. Largest peak first."""

    serializer_class = ReconciliationLineSerializer

    def get_queryset(self) -> list:
        sa = _smart_account(self.request, self.kwargs["pk"])
        scope, start, end = _period_scope(self.request, sa)
        return selectors.reconciliation(scope, start=start, end=end)

    @extend_schema(
        parameters=[PeriodSerializer], responses={200: ReconciliationLineSerializer(many=True), **errors(400, 401, 404)},
        summary="Reconciliation: peak shortage per product in a period",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class SmartAccountUsageHistoryView(generics.ListAPIView):
    """Usage over time per product from the daily snapshots (a chart's data)."""

    serializer_class = UsageSeriesSerializer

    def get_queryset(self) -> list:
        sa = _smart_account(self.request, self.kwargs["pk"])
        scope, start, end = _period_scope(self.request, sa)
        return selectors.usage_series(scope, start=start, end=end)

    @extend_schema(
        parameters=[PeriodSerializer], responses={200: UsageSeriesSerializer(many=True), **errors(400, 401, 404)},
        summary="Daily usage per product over a period",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


# --- alerts -------------------------------------------------------------------------------------


class AlertPreferencesView(APIView):
    @extend_schema(
        responses={200: AlertPreferencesSerializer, **errors(401, 403, 404)},
        summary="Alert preferences of an account (SA admins)",
    )
    def get(self, request: Request, pk: int) -> Response:
        # Account settings and their recipients: SA admins, as on the page (DESIGN.md §3).
        sa = _smart_account(request, pk, ADMINISTER)
        return Response(AlertPreferencesSerializer(selectors.alert_preferences(sa)).data)

    @extend_schema(
        request=AlertPreferencesUpdateSerializer, responses={200: AlertPreferencesSerializer, **errors(400, 401, 403, 404)},
        summary="Change an account's alerts and extra recipients (SA admins)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        sa = _smart_account(request, pk, ADMINISTER)
        data = validated_data(AlertPreferencesUpdateSerializer, request)
        preferences = services.alert_preferences_update(smart_account=sa, actor=request.user, **data)
        return Response(AlertPreferencesSerializer(preferences).data)
