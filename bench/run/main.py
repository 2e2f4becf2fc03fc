"""`run()`: check the database, start the server, time every target next to its bare SQL, run
the usage load, and write the results."""
from __future__ import annotations

import datetime
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from .bare_sql import BARE_SQL, sql_connect
from .base import PAGE_RATIO_GOAL, BenchError
from .load import usage_load
from .measure import count_queries, time_http, time_sql
from .report import _fmt, _git_commit, render_text, results_write
from .server import Server, caller_sign_in, caller_sign_out, server_env
from .targets import dataset_find, targets

def _check_database(database_url: str) -> str:
    """This process must talk to the database it times (the query counts are taken here)."""
    import dj_database_url
    from django.db import connection

    wanted = dj_database_url.parse(database_url)
    have = connection.settings_dict
    if connection.vendor != "postgresql" or not wanted["ENGINE"].endswith("postgresql"):
        raise BenchError("The benchmark needs PostgreSQL: set DATABASE_URL=postgres://… for the command.")
    same = (wanted["NAME"], wanted.get("HOST") or "", str(wanted.get("PORT") or "")) == (
        have["NAME"], have.get("HOST") or "", str(have.get("PORT") or ""))
    if not same:
        raise BenchError(f"DATABASE_URL of this process ({have['NAME']}) is not the database to time ({wanted['NAME']}).")
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise BenchError(f"{have['NAME']} has unapplied migrations: run manage.py migrate first.")
    return have["NAME"]


def default_workers() -> int:
    """Sync workers: one per core plus one, so that a worker waiting on PostgreSQL leaves the
    core to another (PostgreSQL and the load clients share the same cores)."""
    return (os.cpu_count() or 1) + 1


def run(
    *,
    database_url: str,
    out_dir: str | Path,
    requests_per_page: int = 30,
    warmup: int = 3,
    load_seconds: float = 10,
    clients: int = 32,
    workers: int | None = None,
    broker_url: str | None = None,
    only: list[str] | None = None,
    skip_load: bool = False,
    profile: bool = False,
    pg_options: str | None = None,
    stdout: TextIO = sys.stdout,
) -> dict:
    """Time every target and the usage load; write `<out_dir>/latest.{json,md}` and a dated copy;
    return the result. `only`: names of targets to time (default all); `profile`: write a cProfile
    of each target that misses its goal to `<out_dir>/profiles/<name>.txt` (in this process);
    `pg_options`: PostgreSQL options for the server's and the bare SQL's connections (e.g.
    "-c jit=off", to see what the JIT costs)."""
    name = _check_database(database_url)
    if pg_options:
        # The in-process requests (query counts) then run with the same options as the server's.
        from django.db import connection

        os.environ["PGOPTIONS"] = pg_options
        connection.close()
    workers = workers or default_workers()
    say = lambda text: (stdout.write(text + "\n"), stdout.flush())  # noqa: E731
    ds = dataset_find()
    say(f"dataset in {name}: " + ", ".join(f"{k} {v}" for k, v in ds.counts.items()))
    chosen = [t for t in targets(ds) if not only or t.name in only]
    workdir = Path(tempfile.mkdtemp(prefix="bench-run-"))
    env = server_env(database_url=database_url, static_root=workdir / "static", broker_url=broker_url,
                     pg_options=pg_options)
    server = Server(env=env, workers=workers, workdir=workdir)
    callers = {"admin": caller_sign_in(ds.admin), "partner": caller_sign_in(ds.partner_admin)}
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": _git_commit(),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in os.getloadavg()]},
        "database": name,
        "dataset": ds.counts,
        "server": {"workers": workers, "worker_class": "sync", "broker": "eager" if not broker_url else "broker",
                   "pg_options": pg_options or ""},
        "settings": {"requests_per_page": requests_per_page, "warmup": warmup, "load_seconds": load_seconds,
                     "clients": clients},
        "pages": [],
    }
    try:
        say(f"starting gunicorn ({workers} workers) …")
        server.start()
        with sql_connect(database_url, pg_options) as conn:
            with conn.cursor() as cursor:
                cursor.execute("SHOW server_version")
                result["machine"]["postgres"] = cursor.fetchone()[0]
            for target in chosen:
                caller = callers[target.user]
                headers = caller.headers(target.kind)
                http_times = time_http(server.port, target.path, headers, n=requests_per_page, warmup=warmup)
                app = count_queries("GET", target.path, headers=headers)
                sql_times = time_sql(conn, BARE_SQL[target.sql], target.sql_params, n=max(requests_per_page, 20),
                                     warmup=warmup)
                ratio = round(http_times["p50_ms"] / sql_times["p50_ms"], 1) if sql_times["p50_ms"] else None
                row = {
                    "name": target.name, "title": target.title, "kind": target.kind, "path": target.path,
                    "user": target.user, "sql": target.sql, "bytes": http_times["bytes"],
                    "p50_ms": http_times["p50_ms"], "p95_ms": http_times["p95_ms"], "queries": app.queries,
                    "in_process_ms": app.total_ms, "in_process_db_ms": app.db_ms,
                    "sql_rows": sql_times["rows"], "sql_p50_ms": sql_times["p50_ms"],
                    "sql_p95_ms": sql_times["p95_ms"], "ratio": ratio,
                    "goal_met": ratio is not None and ratio <= PAGE_RATIO_GOAL,
                }
                result["pages"].append(row)
                if profile and not row["goal_met"]:
                    count_queries("GET", target.path, headers=headers,
                                  profile_to=Path(out_dir) / "profiles" / f"{target.name}.txt")
                say(f"  {target.name:22} p50 {row['p50_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms  {app.queries:3d} queries "
                    f"(in-process {app.total_ms:.1f} ms, of it DB {app.db_ms:.1f} ms)  SQL p50 {row['sql_p50_ms']:7.2f} ms  "
                    f"ratio {_fmt(ratio)}")
        if not skip_load and clients > 0:
            result["usage"] = usage_load(ds, server, clients=clients, seconds=load_seconds, say=say)
            result["usage"]["workers"] = workers
        result["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        server.stop()
        if server.log.exists():
            tail = server.log.read_text(errors="replace")[-4000:]
            if tail.strip():
                result["server"]["log_tail"] = tail
        for caller in callers.values():
            caller_sign_out(caller)
        shutil.rmtree(workdir, ignore_errors=True)
    say("")
    say(render_text(result))
    for path in results_write(result, Path(out_dir)):
        say(f"wrote {path}")
    return result
