"""`Authorization: Bearer <api key>` for users (keys stored hashed)."""
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts import permissions
from accounts.models import ApiKey


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="ignore").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        now = timezone.now()
        key = (
            ApiKey.objects.select_related("user")
            .filter(key_hash=ApiKey.hash(header[1]), revoked_at__isnull=True, user__is_active=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .annotate(user_email_verified=permissions.email_verified_of("user"))
            .first()
        )
        if key is None:
            return None if request.path.startswith("/api/v1/devices/") else self._fail()
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.user._email_verified = key.user_email_verified  # acting needs it: known without a query
        return key.user, key

    def _fail(self):
        raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeySchema(OpenApiAuthenticationExtension):
    """Documents `Authorization: Bearer <api key>` in the OpenAPI schema (registered on import,
    which settings' DEFAULT_AUTHENTICATION_CLASSES makes happen before any schema is built)."""

    target_class = "accounts.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer", "description": "A personal API key: `Authorization: Bearer slp_…`."}


def require_recent_authentication(request) -> None:
    """Minting a lasting credential or closing the account needs proof that the owner is at the
    keyboard: a session that re-authenticated (password or MFA, through allauth) within the last
    few minutes. An API key is never enough (a leaked key must not breed new ones)."""
    from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate

    if isinstance(request.auth, ApiKey) or not did_recently_reauthenticate(request._request):
        raise exceptions.PermissionDenied(
            "Confirm it is you first: sign in to the portal in a browser and re-authenticate at "
            "/accounts/reauthenticate/ (password or two-factor code), then repeat this request with "
            "that session within five minutes."
        )
