"""What every part of the run shares: where the project is, the goals, the load's fixed names,
the error that stops a run, and percentiles."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project: this file is bench/run/base.py

PAGE_RATIO_GOAL = 2.0  # page p50 ÷ bare SQL p50 at most
USAGE_RATIO_GOAL = 0.5  # usage req/s ÷ trivial req/s at least

LOAD_VIRTUAL_ACCOUNT_NAME = "Bench Load VA"  # made below the big account's root, reused by later runs
LOAD_SERIAL_PREFIX = "BENCH-LOAD-"
LOAD_MAX_COUNT = 4  # each report: a count of 0..4 of one product (0 drops the row)


class BenchError(RuntimeError):
    """The run cannot go on (no dataset, not PostgreSQL, the server did not start, …)."""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
