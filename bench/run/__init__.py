"""The timer of DESIGN.md §6: the key pages and API endpoints timed on a real gunicorn server on
loopback, each next to the bare SQL (psycopg) that answers the same question, in the same run;
then device usage reporting under concurrent load, next to a trivial endpoint of the same server
behind the same middleware and device authentication, with the totals checked afterwards.

`run()` is called by `manage.py bench_run` against a database the seeder (`manage.py bench_seed`)
filled; it finds the objects by the names of `bench/dataset.py`. Results go to
`<out_dir>/latest.{json,md}` and a dated copy, so that runs can be compared.

How it measures, and why so:
- Pages: one client, sequential requests (warm-up first) → p50/p95 of the wall time from sending
  the request to the last byte. The server runs with production settings (DEBUG off, manifest
  static files, persistent DB connections); the runner signs its users in by making a session in
  the database (the server shares the runner's SECRET_KEY, so it accepts it), API endpoints are
  called with a personal API key (`accounts.services.api_key_create`), as API clients do.
- Queries per request: counted in this process with Django's test client (same URL, same user,
  same database) under `CaptureQueriesContext`: the timed server never runs with DEBUG on.
- Bare SQL: one psycopg connection (autocommit, no server-side prepared statements — as Django
  uses psycopg), each statement executed N times with all rows fetched. Each statement answers
  the page's question for the benchmark's users (who hold a Smart Account role or are partner
  admins), checks the right to see it, and counts what the page counts; see `BARE_SQL`.
- Usage load: `clients` threads, each reporting absolute usage counts for its own device (one
  device per thread, so that the last acknowledged report of each device is known) for a bounded
  time; then the same threads against `GET /api/v1/devices/{id}/ping/` (the same device
  authentication, no business logic). Ratio = usage req/s ÷ ping req/s.

The package: `base` (goals, BenchError, percentiles), `bare_sql` (the statements), `targets`
(the dataset and what is timed), `server` (gunicorn, requests, signing in), `measure` (query
counts, HTTP and SQL timings), `load` (the usage load), `report` (tables and files), `main`
(`run()`). This module re-exports the interface; the modules import each other, never this package.
"""
from .bare_sql import ACTIVE_ENTITLEMENT, BARE_SQL, HOLDING_ACCOUNTS, SA_ROLE, sql_connect, sql_params
from .base import (
    LOAD_MAX_COUNT,
    LOAD_SERIAL_PREFIX,
    LOAD_VIRTUAL_ACCOUNT_NAME,
    PAGE_RATIO_GOAL,
    ROOT,
    USAGE_RATIO_GOAL,
    BenchError,
    percentile,
)
from .load import LoadDevice, LoadPool, load_check, load_pool_prepare, load_run, usage_load
from .main import default_workers, run
from .measure import InProcess, count_queries, time_http, time_sql
from .report import render_markdown, render_text, results_write, table_rows
from .server import BASE_HEADERS, Caller, Server, caller_sign_in, caller_sign_out, request, server_env
from .targets import Dataset, Target, dataset_find, targets

__all__ = [
    # base
    "ROOT", "PAGE_RATIO_GOAL", "USAGE_RATIO_GOAL", "LOAD_VIRTUAL_ACCOUNT_NAME", "LOAD_SERIAL_PREFIX", "LOAD_MAX_COUNT",
    "BenchError", "percentile",
    # bare_sql
    "SA_ROLE", "ACTIVE_ENTITLEMENT", "HOLDING_ACCOUNTS", "BARE_SQL", "sql_params", "sql_connect",
    # targets
    "Dataset", "dataset_find", "Target", "targets",
    # server
    "server_env", "Server", "BASE_HEADERS", "request", "Caller", "caller_sign_in", "caller_sign_out",
    # measure
    "InProcess", "count_queries", "time_http", "time_sql",
    # load
    "LoadDevice", "LoadPool", "load_pool_prepare", "load_run", "load_check", "usage_load",
    # report
    "table_rows", "render_text", "render_markdown", "results_write",
    # main
    "default_workers", "run",
]
