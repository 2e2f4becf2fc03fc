"""What every API module shares: pagination, input parsing and the error format of DESIGN.md §5
(400 field-keyed, 401 unauthenticated, 403 forbidden, 404 unknown), in the schema and in answers.
Who may call what is not here: that is accounts.permissions (and accounts.api.permissions)."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, pagination, serializers
from rest_framework.request import Request
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


ERROR_DETAIL = inline_serializer("ApiError", fields={"detail": serializers.CharField()})
_ERRORS = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT, "Invalid input: {field: [messages]}; non_field_errors for the whole body."
    ),
    401: OpenApiResponse(ERROR_DETAIL, "Not authenticated (no or an invalid/revoked API key)."),
    403: OpenApiResponse(ERROR_DETAIL, "Authenticated, but not allowed to do this."),
    404: OpenApiResponse(ERROR_DETAIL, "Unknown, or not visible to the caller."),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for `extend_schema(responses={201: S, **errors(400, 401, 403)})`."""
    return {code: _ERRORS[code] for code in codes}


def validated_data(serializer_class: type[serializers.Serializer], request: Request, **context) -> dict:
    """The request body checked for shape and types (400 otherwise); rules are the service's job."""
    serializer = serializer_class(data=request.data, context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def validation_error_detail(exc: DjangoValidationError) -> dict:
    """A service's ValidationError as a field-keyed dict ({"field": ["message"]})."""
    if hasattr(exc, "error_dict"):
        return {field: [m for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
    return {"non_field_errors": exc.messages}


def exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]."""
    # Services raise Django's ValidationError; the API answers them as field-keyed 400s.
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError) and isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response


def not_found(request, exception):
    """The site's 404 (handler404): under /api/ a URL that names nothing (`/api/v1/devices/abc/`)
    answers like every other API 404, in JSON; pages get the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
