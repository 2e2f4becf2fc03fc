"""Middleware of the portal's own."""
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers

from lib.api import RETRY_AFTER_SECONDS, conflict_response, is_retryable_conflict


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


class ConflictMiddleware:
    """A request that lost a race in the database (a deadlock, a serialization failure, a lock not
    available) changed nothing and will most likely pass if sent again: a 409 with `Retry-After`,
    never a 500. The API's views answer it themselves (lib.api.exception_handler); this catches it
    everywhere else: pages (a 409 page) and any API path outside DRF (JSON)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_retryable_conflict(exception):
            return None
        if request.path.startswith("/api/"):
            return conflict_response()
        # Rendered without a request context, as the 500 page is: the database just failed us.
        response = HttpResponse(render_to_string("409.html"), status=409)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
