"""What every API module shares: pagination, input parsing with its limits (JSON depth, list caps)
and the error format of DESIGN.md §5 (400 field-keyed, 401 unauthenticated, 403 forbidden, 404
unknown, 409 a lost race to retry, 413 a body too large), in the schema and in answers.
Who may call what is not here: that is accounts.permissions (and accounts.api.permissions)."""
from __future__ import annotations

import re

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
    ValidationError as DjangoValidationError,
)
from django.db import OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, pagination, parsers, relations, serializers, status
from rest_framework.request import Request
from rest_framework.utils import json


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


# --- input limits -------------------------------------------------------------------------------

MAX_JSON_DEPTH = 20  # the deepest body the API takes is 3 levels ({"lines": [{...}]})
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_AS_PARENTHESES = bytes.maketrans(b"[{]}", b"(())")
_STRING = re.compile(rb'"[^"]*"')


def json_nested_too_deeply(text: str, limit: int) -> bool:
    """Whether `text`'s arrays and objects nest more than `limit` deep. Looked at before parsing,
    with bytes operations only (fast on large bodies): Python's json recurses once per level (a
    RecursionError on deep input), and what it would build is work spent on a body to refuse.
    Unbalanced brackets are not JSON: left to the parser to say why."""
    # Escapes first (a `\\` or `\"` says nothing about structure), then keep only quotes and
    # brackets; strings without brackets become `""`, dropped cheaply; the rest by a regex.
    kept = (text.encode("utf-8", "surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
            .translate(_AS_PARENTHESES, _NOT_STRUCTURE).replace(b'""', b""))
    if b'"' in kept:
        kept = _STRING.sub(b"", kept)
    for _ in range(limit):  # each round removes the innermost level
        shorter = kept.replace(b"()", b"")
        if not shorter or len(shorter) == len(kept):
            return False
        kept = shorter
    return True


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a nesting limit: a body nested deeper than MAX_JSON_DEPTH is a 400
    (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
        except UnicodeError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        if json_nested_too_deeply(text, MAX_JSON_DEPTH):
            raise exceptions.ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.")
        try:
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:  # unbalanced and deep (`[` x 100,000): not JSON either
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None


class BoundedListField(serializers.ListField):
    """A ListField whose `max_length` is checked before any item is (DRF checks it after
    validating every item: 70,000 items cost their work before the cap refused them)."""

    def to_internal_value(self, data):
        if self.max_length is not None and isinstance(data, (list, tuple)) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class BoundedManyRelatedField(relations.ManyRelatedField):
    """`many=True` ids with a cap checked before any id is looked up (one query per id)."""

    default_error_messages = {"max_length": "Ensure this field has no more than {max_length} elements."}

    def __init__(self, *, max_length: int, **kwargs):
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, (list, tuple)) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


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


# --- errors -------------------------------------------------------------------------------------

MAX_ERRORS_SHOWN = 5  # per list of problems: the first few and the count, never a megabyte of them
_INDEXED_KEY = re.compile(r"^(?P<field>[^.]+)\.(?P<index>\d+)\.")


def _trimmed(detail):
    """An error body naming at most MAX_ERRORS_SHOWN problems per list, with the count of them all.

    Lists of problems come as lists of messages, as a list serializer's {index: errors}, or as a
    service's `lines.<index>.<field>` keys; the count goes where the list's own errors go."""
    if isinstance(detail, list):
        if len(detail) <= MAX_ERRORS_SHOWN:
            return detail
        return [*detail[:MAX_ERRORS_SHOWN], f"… and {len(detail) - MAX_ERRORS_SHOWN} more ({len(detail)} in all)."]
    if not isinstance(detail, dict):
        return detail
    groups: dict[str, list] = {}  # where the count goes → the keys of one list's items
    for key in detail:
        match = None if isinstance(key, int) else _INDEXED_KEY.match(key)
        if isinstance(key, int) or match:
            groups.setdefault("non_field_errors" if match is None else match["field"], []).append(key)
    dropped = {key for keys in groups.values() for key in keys[MAX_ERRORS_SHOWN:]}
    trimmed = {key: _trimmed(value) for key, value in detail.items() if key not in dropped}
    for where, keys in groups.items():
        if len(keys) > MAX_ERRORS_SHOWN:
            note = f"{len(keys)} items have problems; the first {MAX_ERRORS_SHOWN} are shown."
            trimmed[where] = [*trimmed.get(where, []), note]
    return trimmed


RETRY_AFTER_SECONDS = 1
# PostgreSQL's serialization_failure, deadlock_detected and lock_not_available: the request lost a
# race and changed nothing; the same request again will most likely pass.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
CONFLICT_MESSAGE = "A concurrent change got in the way and nothing was saved. Please try again."


def is_retryable_conflict(exc: BaseException) -> bool:
    """Whether `exc` is the database giving up on a race (Django's OperationalError wrapping the
    driver's error, which carries the SQLSTATE)."""
    if not isinstance(exc, OperationalError):
        return False
    return any(getattr(e, "sqlstate", None) in RETRYABLE_SQLSTATES for e in (exc, exc.__cause__))


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = CONFLICT_MESSAGE
    default_code = "conflict"


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the server accepts."
    default_code = "too_large"


def exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]."""
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES (this module's JSONParser)
    # as it loads.
    from rest_framework.views import exception_handler as drf_exception_handler

    # Services raise Django's ValidationError; the API answers them as field-keyed 400s.
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    # Django's answer to these would be its HTML 400 page.
    elif isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge()
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = exceptions.ParseError(str(exc))
    elif is_retryable_conflict(exc):
        exc = Conflict()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        if isinstance(response.data, list):
            response.data = {"non_field_errors": response.data}
        response.data = _trimmed(response.data)
    if response is not None and isinstance(exc, Conflict):
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def conflict_response() -> JsonResponse:
    """The API's 409 for a lost race outside DRF's handler (portal.middleware)."""
    response = JsonResponse({"detail": CONFLICT_MESSAGE}, status=409)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def not_found(request, exception):
    """The site's 404 (handler404): under /api/ a URL that names nothing (`/api/v1/devices/abc/`)
    answers like every other API 404, in JSON; pages get the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
