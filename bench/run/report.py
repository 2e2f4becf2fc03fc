"""The results: the table as text and Markdown, and the files written (latest and a dated copy)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .base import PAGE_RATIO_GOAL, ROOT, USAGE_RATIO_GOAL

def _git_commit() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table_rows(result: dict) -> tuple[list[str], list[list[str]]]:
    # "its queries ms": the page's own queries' time, measured in-process (one request): what of
    # the page's time is spent in the database, next to the bare SQL's.
    header = ["page / endpoint", "p50 ms", "p95 ms", "queries", "its queries ms", "SQL p50 ms", "SQL p95 ms", "ratio",
              f"≤ {PAGE_RATIO_GOAL:g}"]
    rows = [
        [f"{p['title']}", _fmt(p["p50_ms"]), _fmt(p["p95_ms"]), _fmt(p["queries"]), _fmt(p.get("in_process_db_ms")),
         _fmt(p["sql_p50_ms"], 2), _fmt(p["sql_p95_ms"], 2), _fmt(p["ratio"]), "yes" if p["goal_met"] else "NO"]
        for p in result["pages"]
    ]
    return header, rows


def render_text(result: dict) -> str:
    header, rows = table_rows(result)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    out = [line(header), line(["-" * w for w in widths]), *[line(r) for r in rows]]
    u = result.get("usage")
    if u:
        out += [
            "",
            f"usage reports: {u['usage']['rps']} req/s (p50 {u['usage']['p50_ms']} ms, {u['usage_queries']} queries)  "
            f"trivial (ping): {u['trivial']['rps']} req/s (p50 {u['trivial']['p50_ms']} ms, {u['trivial_queries']} queries)",
            f"ratio {u['ratio']} (goal ≥ {USAGE_RATIO_GOAL:g}: {'met' if u['goal_met'] else 'MISSED'}); "
            f"{u['clients']} clients × {u['seconds']:g} s, {u['workers']} workers; lost updates: {u['lost_updates']}; "
            f"failed requests: {u['usage']['failed'] + u['trivial']['failed']}; "
            f"shortages started: {u['checks']['shortages_started_during_run']}",
        ]
    return "\n".join(out)


def render_markdown(result: dict) -> str:
    header, rows = table_rows(result)
    m = result["machine"]
    ds = result["dataset"]
    out = [
        f"# Benchmark {result['date']}",
        "",
        f"Commit `{result['git']['commit'][:12]}`{' (dirty)' if result['git']['dirty'] else ''}, database "
        f"`{result['database']}`, {m['cores']} cores, load average before {m['loadavg_before']}, "
        f"gunicorn {result['server']['workers']} sync workers"
        + (f", PostgreSQL options `{result['server']['pg_options']}`" if result["server"].get("pg_options") else "")
        + f"; {result['settings']['requests_per_page']} timed requests per page after {result['settings']['warmup']} "
        f"warm-up. \"its queries ms\": the page's own queries' time, measured in-process on one request.",
        "",
        "Dataset: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in ds.items()) + ".",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
        *["| " + " | ".join(r) + " |" for r in rows],
    ]
    u = result.get("usage")
    if u:
        out += [
            "",
            "| usage load | req/s | p50 ms | p95 ms | queries | failed |",
            "|---|---:|---:|---:|---:|---:|",
            f"| usage reports (POST …/usage/) | {u['usage']['rps']} | {u['usage']['p50_ms']} | {u['usage']['p95_ms']} | "
            f"{u['usage_queries']} | {u['usage']['failed']} |",
            f"| trivial (GET …/ping/) | {u['trivial']['rps']} | {u['trivial']['p50_ms']} | {u['trivial']['p95_ms']} | "
            f"{u['trivial_queries']} | {u['trivial']['failed']} |",
            "",
            f"Ratio {u['ratio']} (goal ≥ {USAGE_RATIO_GOAL:g}: {'met' if u['goal_met'] else '**missed**'}), "
            f"{u['clients']} clients × {u['seconds']:g} s; lost updates **{u['lost_updates']}**; "
            f"shortages started during the run {u['checks']['shortages_started_during_run']}; "
            f"machine CPU busy {u['usage']['machine_cpu_busy_percent']} % (usage) / "
            f"{u['trivial']['machine_cpu_busy_percent']} % (trivial).",
        ]
    return "\n".join(out) + "\n"


def results_write(result: dict, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = result["date"].replace(":", "").replace("-", "")[:15]  # 20250101T120000
    written = []
    text_json = json.dumps(result, indent=2, default=str) + "\n"
    text_md = render_markdown(result)
    for stem in ("latest", stamp):
        for suffix, text in ((".json", text_json), (".md", text_md)):
            path = out_dir / f"{stem}{suffix}"
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
            written.append(path)
    return written
