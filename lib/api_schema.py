"""The OpenAPI schema generator of the API (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]): drf-spectacular's,
plus the 404s, 409s, 413s and 415s that operations answer without their views saying so. Kept apart from
lib.api, which DRF imports while rest_framework.generics is still loading."""
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.relations import ManyRelatedField

from .api import ERROR_DETAIL, RETRY_AFTER_SECONDS

_PAGE_NOT_FOUND = OpenApiResponse(
    ERROR_DETAIL, "Unknown, or not visible to the caller; or a page beyond the last (`Invalid page.`)."
)
_PATH_NAMES_NOTHING = OpenApiResponse(ERROR_DETAIL, "The URL names nothing (e.g. an id that is not a number).")
_UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(
    ERROR_DETAIL, "A body in a media type the API does not read (it reads JSON, form and multipart bodies)."
)

_BODY_TOO_LARGE = OpenApiResponse(ERROR_DETAIL, "The body is larger than the server accepts.")
_CONFLICT = OpenApiResponse(
    ERROR_DETAIL,
    "A concurrent change got in the way (a deadlock, a serialization failure or a lock not available); "
    f"nothing was saved. Send the same request again after `Retry-After` seconds ({RETRY_AFTER_SECONDS}).",
)
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before sending the request again.",
                                "schema": {"type": "integer"}}}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(openapi.AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # A list's cap (`many=True, max_length=`) is part of the contract: drf-spectacular shows it
        # for a ListField only.
        max_length = getattr(field, "max_length", None)
        if isinstance(field, (serializers.ListSerializer, ManyRelatedField)) and max_length is not None \
                and schema.get("type") == "array":
            schema["maxItems"] = max_length
        return schema

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
            # A body over DATA_UPLOAD_MAX_MEMORY_SIZE (lib.api.exception_handler).
            responses["413"] = self._get_response_for_code(_BODY_TOO_LARGE, "413", direction=direction)
        # A write can lose a race in the database: 409 with Retry-After (lib.api.exception_handler).
        if self.method in WRITES and "409" not in responses:
            responses["409"] = self._get_response_for_code(_CONFLICT, "409", direction=direction)
            responses["409"]["headers"] = _RETRY_AFTER
        return responses
