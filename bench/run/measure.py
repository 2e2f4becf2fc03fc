"""Measuring one target: its queries counted in this process (Django's test client), its wall
time over HTTP, and its bare SQL's time."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .base import BenchError, _ms, percentile
from .server import request

def _in_process_settings():
    """What the in-process test client needs whatever this process's settings are: any host,
    plain static files (no manifest to look up), no redirect to https."""
    from django.test.utils import override_settings

    return override_settings(
        ALLOWED_HOSTS=["*"], SECURE_SSL_REDIRECT=False,
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                  "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
    )


@dataclass
class InProcess:
    """One request through the Django test client in this process: its status, its queries,
    and where its time went (the queries' time as the database driver saw it; the rest is
    Python: middleware, ORM, templates or serializers)."""

    status: int
    queries: int
    total_ms: float
    db_ms: float


def count_queries(method: str, path: str, *, headers: dict[str, str], body: bytes | None = None,
                  warm: bool = True, profile_to: Path | None = None) -> InProcess:
    """One request through the Django test client, in this process, against the same database,
    its queries counted; with `warm`, sent once before to fill the caches (content types, site).
    `profile_to`: also write a cProfile of three more requests there (cumulative, top 60)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items() if name != "Cookie"}
    client = Client()
    if "Cookie" in headers:
        name, _, value = headers["Cookie"].partition("=")
        client.cookies[name] = value
    kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
    with _in_process_settings():
        if warm:
            client.generic(method, path, **kwargs, **extra)
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.generic(method, path, **kwargs, **extra)
            total = time.perf_counter() - started
        if profile_to is not None:
            import cProfile
            import io
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(3):
                client.generic(method, path, **kwargs, **extra)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
            profile_to.parent.mkdir(parents=True, exist_ok=True)
            profile_to.write_text(f"{method} {path}: three requests\n\n{out.getvalue()}")
    db = sum(float(q.get("time") or 0) for q in ctx.captured_queries)
    return InProcess(status=response.status_code, queries=len(ctx.captured_queries), total_ms=_ms(total), db_ms=_ms(db))


# --- timing -----------------------------------------------------------------------------------


def time_http(port: int, path: str, headers: dict[str, str], *, n: int, warmup: int) -> dict:
    status, size, samples = 0, 0, []
    for i in range(warmup + n):
        started = time.perf_counter()
        status, body = request(port, "GET", path, headers=headers)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {body[:300]!r}")
        size = len(body)
        if i >= warmup:
            samples.append(elapsed)
    return {"status": status, "bytes": size, "p50_ms": _ms(percentile(samples, 50)), "p95_ms": _ms(percentile(samples, 95))}


def time_sql(conn, sql: str, params: dict, *, n: int, warmup: int) -> dict:
    samples, rows = [], []
    with conn.cursor() as cursor:
        for i in range(warmup + n):
            started = time.perf_counter()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            elapsed = time.perf_counter() - started
            if i >= warmup:
                samples.append(elapsed)
    return {"rows": len(rows), "p50_ms": _ms(percentile(samples, 50)), "p95_ms": _ms(percentile(samples, 95))}
