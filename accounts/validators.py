"""Checks that what people type can be stored as typed, shared by the services of every app
(pages, API, admin and commands all reach them): a field-keyed ValidationError instead of a
database error (PostgreSQL refuses NUL in text, UTF-8 has no encoding for half a surrogate
pair, an email column holds 254 characters), a control character kept in a name, or a
TypeError where a day was expected and a moment given."""
from __future__ import annotations

import datetime
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

# The length of Django's EmailField (RFC 5321's limit on a path); `validate_email` alone lets
# addresses of up to 320 characters through.
EMAIL_MAX_LENGTH = 254
LINE_BREAKS = "\t\n\r"


def refuse_control_characters(text: str, *, field: str) -> str:
    """`text` as it is, or a ValidationError keyed `field` if it holds a control character
    (tabs and line breaks excepted: multi-line text keeps them) or a lone surrogate."""
    for char in text:
        if char not in LINE_BREAKS and unicodedata.category(char) in {"Cc", "Cs"}:
            raise ValidationError({field: "Remove the control characters (such as NUL) from this text."})
    return text


def clean_email(value, *, field: str = "email", message: str = "Enter a valid email address.") -> str:
    """An email address stripped and lower-case, or a ValidationError keyed `field`."""
    email = str(value or "").strip().lower()
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError({field: f"An email address has at most {EMAIL_MAX_LENGTH} characters."})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({field: message})
    return email


# Every day a caller gives (filters, periods, ship days) lies in these bounds: far from the
# calendar's ends, so a day's arithmetic (the period before it, the day after) never overflows.
EARLIEST_DAY = datetime.date(1970, 1, 1)
LATEST_DAY = datetime.date(9998, 12, 31)
DAY_OUT_OF_RANGE = f"Give a day from {EARLIEST_DAY:%Y-%m-%d} to {LATEST_DAY:%Y-%m-%d}."


def validate_day_in_range(value) -> None:
    """The one check of a given day's range, for form, filter and serializer fields alike."""
    if value is not None and not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValidationError(DAY_OUT_OF_RANGE, code="day_out_of_range")


def clean_day(value, *, field: str) -> datetime.date | None:
    """A day, or None: a date as it is; a datetime as a DateField stores it (an aware one on its
    day in the current time zone, a naive one on its own date), so that it compares with days;
    an ISO string parsed; anything else a ValidationError keyed `field`."""
    if value is None or value == "":
        return None
    if not (isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)):
        try:
            value = models.DateField().to_python(value)
        except ValidationError:
            raise ValidationError({field: "Give a day as YYYY-MM-DD."})
    try:
        validate_day_in_range(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages})
    return value
