"""API views of devices (flow 10: their registration, usage reports and credentials check; their
list, move and removal) and of classic licenses (PAKs: register, convert, verify a key).

Each view finds what the caller may see (404 otherwise), checks the body's shape, and calls one
service (which checks the caller's right: 403) or selector."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from accounts.api.permissions import get_visible_or_404
from accounts.models import SmartAccount, VirtualAccount
from accounts.permissions import OPERATE, VIEW
from lib.api import errors, validated_data
from licensing import selectors, services
from licensing.models import ClassicLicense, Device, Product

from .auth import DeviceSecretAuthentication, IsTheDevice
from .lookups import named_virtual_account, query_params, virtual_account_or_404
from .serializers import (
    ClassicConvertSerializer,
    ClassicLicenseFilterSerializer,
    ClassicLicenseSerializer,
    ClassicRegisterSerializer,
    ClassicRegisteredSerializer,
    DeviceFilterSerializer,
    DeviceMoveSerializer,
    DeviceRegisterSerializer,
    DeviceRegisteredSerializer,
    DeviceSerializer,
    EntitlementSerializer,
    LicenseKeyContentSerializer,
    LicenseKeyVerifySerializer,
    UsageReportSerializer,
    UsageResultSerializer,
)


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
    report counts as contact), so it also serves as the baseline of the benchmark (`bench/run/`):
    the same middleware and device authentication as a usage report, without its business logic."""

    authentication_classes = [DeviceSecretAuthentication]
    permission_classes = [IsTheDevice]

    @extend_schema(
        responses={204: OpenApiResponse(description="The device id and secret are good."), **errors(401)},
        summary="Check a device's credentials (writes nothing)",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(get=extend_schema(
    parameters=[DeviceFilterSerializer], responses={200: DeviceSerializer(many=True), **errors(400, 401, 404)},
    summary="Devices of a Virtual Account, with their usage",
))
class VirtualAccountDeviceListView(generics.ListAPIView):
    serializer_class = DeviceSerializer

    def get_queryset(self) -> QuerySet[Device]:
        va = virtual_account_or_404(self.request, self.kwargs["pk"])
        params = query_params(DeviceFilterSerializer, self.request)
        product = None
        if params.get("sku"):
            product = Product.objects.filter(sku__iexact=params["sku"].strip()).first()
            if product is None:
                raise ValidationError({"sku": f"Unknown SKU: {params['sku'].strip().upper()}."})
        scope = selectors.virtual_accounts_in_scope(self.request.user, virtual_account=va, subtree=params["subtree"])
        return selectors.devices(scope, status=params.get("status"), search=params.get("search"), product=product)


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
        target = named_virtual_account(request, data["virtual_account"], "virtual_account")
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


@extend_schema_view(get=extend_schema(
    parameters=[ClassicLicenseFilterSerializer],
    responses={200: ClassicLicenseSerializer(many=True), **errors(400, 401, 403, 404)},
    summary="Classic licenses (PAKs) of a Smart Account (account-wide roles)",
))
class SmartAccountClassicLicenseListView(generics.ListAPIView):
    serializer_class = ClassicLicenseSerializer

    def get_queryset(self) -> QuerySet[ClassicLicense]:
        # PAKs belong to the account as a whole: a VA role sees the account (403), not them.
        sa = permissions.get_account_wide_or_404(self.request.user, SmartAccount.objects.all(), pk=self.kwargs["pk"])
        return selectors.classic_licenses(sa, status=query_params(ClassicLicenseFilterSerializer, self.request).get("status"))


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
        va = named_virtual_account(request, data["virtual_account"], "virtual_account", smart_account=pak.smart_account)
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
