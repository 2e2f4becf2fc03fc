"""`Authorization: Bearer <device secret>` for a device's own endpoints (secrets stored hashed).

The secret is matched together with the device id of the URL: a secret is good for its own
device only, and a wrong id or secret is the same 401 (no hint which one was wrong)."""
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from licensing import services
from licensing.models import Device


class DeviceSecretAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="ignore").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        kwargs = (getattr(request, "parser_context", None) or {}).get("kwargs") or {}
        device = services.device_authenticate(device_id=kwargs.get("pk"), secret=header[1])
        if device is None:
            raise exceptions.AuthenticationFailed("Unknown device, or not its device secret.")
        # A device is not a user: request.user stays anonymous; request.auth is the device.
        return AnonymousUser(), device

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="device"'


class IsTheDevice(permissions.BasePermission):
    """The request was authenticated with the secret of the device the URL names."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Device)


class DeviceSecretSchema(OpenApiAuthenticationExtension):
    """Documents the device secret in the OpenAPI schema (registered on import)."""

    target_class = "licensing.api.auth.DeviceSecretAuthentication"
    name = "deviceSecret"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http", "scheme": "bearer",
            "description": "The device secret returned by POST /api/v1/devices/register/: `Authorization: Bearer sld_…`.",
        }
