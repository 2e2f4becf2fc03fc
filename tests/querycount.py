"""The one query-count helper of the suite (DESIGN.md §6: a list's cost does not grow with its data).

`count_queries` measures one request; `at_two_sizes` grows the data from nothing to SIZES[0] and
then to SIZES[1] rows, measures the same request at each size and returns both counts;
`assert_constant` fails when they differ and prints them for the log."""
from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext

SIZES = (2, 20)


def count_queries(client, url: str, *, method: str = "get", data=None, status: int = 200) -> tuple[int, object]:
    """(queries run, response) of one request, asserting its status. A streamed body is read
    inside the measurement, since its rows are fetched while it streams."""
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {})
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    assert response.status_code == status, (url, response.status_code)
    return len(ctx.captured_queries), response


def at_two_sizes(client, grow: Callable[[int, int], None], url, *, data=None, method: str = "get",
                 status: int = 200, check: Callable | None = None) -> tuple[int, int]:
    """grow(start, stop) adds rows start..stop-1; the request is measured at each of SIZES rows.
    `url` and `data` may be callables (evaluated after growing); check(response, size) proves that
    the answer really holds the rows measured."""
    counts = []
    done = 0
    for size in SIZES:
        grow(done, size)
        done = size
        queries, response = count_queries(client, url() if callable(url) else url,
                                          data=data() if callable(data) else data, method=method, status=status)
        if check is not None:
            check(response, size)
        counts.append(queries)
    return counts[0], counts[1]


def assert_constant(small: int, large: int, what: str) -> None:
    print(f"QUERY-COUNT {what}: {small} / {large}")
    assert small == large, f"{what}: {small} queries with {SIZES[0]} rows, {large} with {SIZES[1]}"
