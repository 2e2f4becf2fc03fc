"""What people type, as Hypothesis strategies, and the checks the service property tests share
(tests/<app>/test_service_properties.py).

The property every service keeps, whatever it is given: either it succeeds and what it stored
is clean (names stripped and whitespace-collapsed, within their column, no control characters),
or it raises Django's ValidationError keyed by the field at fault and writes nothing. Never a
DataError, IntegrityError, OverflowError or TypeError (a 500 behind the page or the API).
"""
from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# A test builds its world once (a function-scoped fixture) and runs each example in a savepoint.
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

WHITESPACE = " \t\n\r\x0b\x0c\u00a0\u2003\u3000\u2028"
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x1b", "\x7f", "\x80", "\x9f"]
LONG_SIZES = [99, 100, 101, 199, 200, 201, 253, 254, 255, 300, 2001, 10_000]


def _insert(text: str, extra: str, at: int) -> str:
    at = at % (len(text) + 1)
    return text[:at] + extra + text[at:]


words = st.text(
    alphabet=st.characters(categories=["L", "M", "N", "P", "S"], exclude_characters="\x00"), min_size=1, max_size=12,
)
# Names, subjects, descriptions: what a form or a JSON body may carry.
names = st.one_of(
    st.lists(words, min_size=1, max_size=4).map(" ".join),  # a sensible name, any script
    st.tuples(st.text(alphabet=WHITESPACE, max_size=3), words, st.text(alphabet=WHITESPACE, max_size=3),
              words, st.text(alphabet=WHITESPACE, max_size=3)).map("".join),  # surrounding and inner whitespace
    st.text(alphabet=WHITESPACE, max_size=6),  # whitespace only, or empty
    st.tuples(words, st.sampled_from(CONTROL), st.integers(0, 12)).map(lambda t: _insert(*t)),  # NUL, BEL, ESC, DEL…
    st.tuples(st.sampled_from(["N", "é", "字", "😀", " "]), st.sampled_from(LONG_SIZES)).map(lambda t: t[0] * t[1]),
    st.sampled_from(["\ud800", "a\udfffb"]),  # lone surrogates (a JSON body may carry "\ud800")
    st.text(max_size=40),  # anything at all
)
# Free text of several lines (a support message, a request's message, a reason).
texts = st.one_of(
    names,
    st.lists(names, min_size=1, max_size=3).map("\n".join),
    st.tuples(st.just("x"), st.sampled_from([2000, 2001, 10_000])).map(lambda t: t[0] * t[1]),
)
# Account Domain Identifiers around acme.com, and ones that are no domain at all.
domains = st.one_of(
    st.sampled_from([
        "acme.com", "ACME.COM", "Acme.Com", "acme.com.", " acme.com ", "\tacme.com\n", ".acme.com", "acme.com..",
        "exämple.com", "пример.рф", "xn--exmple-cua.com", "例え.jp", "acme", "ac me.com", "acme..com", "-acme.com",
        "acme-.com", "ac_me.com", "ada@acme.com", "", " ", "acme.com\x00", "a" * 63 + ".com", "a" * 64 + ".com",
        ".".join(["a" * 63] * 4), ".".join(["a" * 63] * 4) + "b", "١٢٣.com", "acme.co²",
    ]),
    st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){1,2}\Z"),
    st.text(max_size=30),
)


def long_email(length: int) -> str:
    """A valid address of exactly `length` characters (at most 64 before the @, labels of at most 63)."""
    domain = "com"
    while length - 1 - len(domain) > 64:
        domain = "b" * max(1, min(61, length - 1 - len(domain) - 65)) + "." + domain
    return "a" * (length - 1 - len(domain)) + "@" + domain


def emails(existing: list[str]) -> st.SearchStrategy[str]:
    """Email addresses: these registered ones as typed (case, spaces), unknown ones, overlong ones
    (a valid address may have 320 characters; the columns hold 254), and junk."""
    return st.one_of(
        st.sampled_from(existing),
        st.sampled_from(existing).map(lambda e: f"  {e.upper()} "),
        st.from_regex(r"\A[a-z]{1,10}@(acme\.com|elsewhere\.example)\Z"),
        st.sampled_from([240, 254, 255, 300, 320]).map(long_email),
        st.sampled_from(["", " ", "not-an-email", "a@b", "ada@acme.com\x00", "ada@@acme.com", "ädä@acme.com"]),
        st.text(max_size=30),
    )


# Quantities and counts as a form, a JSON body or a careless caller may give them.
quantities = st.one_of(
    st.integers(-3, 12),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**70, 10**6, 10**6 + 1]),
    st.integers(),
    st.sampled_from(["3", " 4 ", "", "x", "1e3", "-2", "٣"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
# Days, and the things a caller passes by mistake where a day is expected.
days = st.one_of(
    st.dates(),
    st.sampled_from([datetime.date.min, datetime.date.max, datetime.date(1970, 1, 1), datetime.date(9999, 12, 1)]),
)
moments = st.one_of(
    st.datetimes(timezones=st.none()),  # naive
    st.datetimes(timezones=st.just(datetime.timezone.utc)),  # aware
)


# --- checks -----------------------------------------------------------------------------------------

def normalised(value) -> str:
    """A single-line name as the services store it: whitespace collapsed to single spaces."""
    return " ".join(str(value or "").split())


def is_clean(value: str) -> bool:
    """Nothing a column should hold: control characters (NUL first) or lone surrogates."""
    return not any(unicodedata.category(c) in {"Cc", "Cs"} and c not in "\t\n\r" for c in value)


def counts(*models) -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in models}


@contextmanager
def rolled_back() -> Iterator[None]:
    """An example's writes are undone afterwards: every example sees the world as built."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def outcome(call: Callable, *, fields: set[str], models: tuple) -> object | None:
    """Call the service: its result, or None after checking that it refused with a ValidationError
    keyed by some of `fields` and wrote nothing to `models`."""
    before = counts(*models)
    try:
        return call()
    except ValidationError as exc:
        assert hasattr(exc, "error_dict"), f"not keyed by field: {exc.messages}"
        assert set(exc.message_dict) <= fields, exc.message_dict
        assert counts(*models) == before
        return None

