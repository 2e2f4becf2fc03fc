"""The ids a row can have: whole numbers from 1 to the database's largest integer key. A bigger
one names nothing, and in an `IN (…)` lookup overflows it (an OverflowError on SQLite: a 500)."""
from __future__ import annotations

from collections.abc import Iterable

from django.db.models import BigIntegerField

MAX_ID = BigIntegerField.MAX_BIGINT


def is_storable_id(pk: int) -> bool:
    return 0 < pk <= MAX_ID


def storable_ids(ids: Iterable[int]) -> set[int]:
    """The ids that a row could have; the others are left out."""
    return {pk for pk in ids if is_storable_id(pk)}


def id_from_text(value) -> int | None:
    """An id from a URL or a query string ("42"), or None if the text cannot be one."""
    text = str(value)
    if not (text.isascii() and text.isdigit()):  # isdigit() alone takes "²", which int() refuses
        return None
    pk = int(text)
    return pk if is_storable_id(pk) else None
