"""The OpenAPI schema generator of the API (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]): drf-spectacular's,
plus the 404s and 415s that operations answer without their views saying so. Kept apart from
lib.api, which DRF imports while rest_framework.generics is still loading."""
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse

from .api import ERROR_DETAIL

_PAGE_NOT_FOUND = OpenApiResponse(
    ERROR_DETAIL, "Unknown, or not visible to the caller; or a page beyond the last (`Invalid page.`)."
)
_PATH_NAMES_NOTHING = OpenApiResponse(ERROR_DETAIL, "The URL names nothing (e.g. an id that is not a number).")
_UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(
    ERROR_DETAIL, "A body in a media type the API does not read (it reads JSON, form and multipart bodies)."
)


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        # A paginated list answers 404 `Invalid page.` for a page out of range (DRF's PageNumberPagination).
        if self.method == "GET" and self._is_list_view() and self._get_paginator() is not None:
            responses["404"] = self._get_response_for_code(_PAGE_NOT_FOUND, "404", direction=direction)
        # A path whose id does not fit the URL pattern (`/devices/abc/`) resolves to no view: 404
        # (lib.api.not_found), even where the view itself answers 401 for an unknown id.
        elif "{" in self.path and "404" not in responses:
            responses["404"] = self._get_response_for_code(_PATH_NAMES_NOTHING, "404", direction=direction)
        # DRF answers 415 for a body it has no parser for (or sent without a Content-Type).
        if self.method in {"POST", "PUT", "PATCH"} and self.get_request_serializer() is not None:
            responses["415"] = self._get_response_for_code(_UNSUPPORTED_MEDIA_TYPE, "415", direction=direction)
        return responses
