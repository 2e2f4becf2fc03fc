"""Middleware of the portal's own."""
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """Nothing the portal renders may be kept by a browser or a proxy cache.

    Pages and answers carry PAK codes, license keys, token and key secrets, order prices and
    account names; one rule for all is safer than a decorator someone forgets on the next page
    that shows one. A view that sets its own Cache-Control keeps it. Static files are answered by
    WhiteNoise before this runs (it sits after WhiteNoise), with their own long-lived headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
