"""Run jobs at the same moment, for the race tests on a real PostgreSQL.

Each job runs in a thread of its own, so on a database connection of its own (Django keeps one
per thread); a barrier releases the threads together, so that the jobs really overlap. Each
thread closes its connections when its job is done, or they would stay open and keep
pytest-django from dropping the test database.

A test using these needs `@requires_postgres` (SQLite serialises every write, so the race does
not arise there) and `@pytest.mark.django_db(transaction=True)` (the threads must see the rows the
test made, which a test wrapped in one transaction never commits).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connections


def run_at_once(*jobs: Callable[[], Any], timeout: float = 60) -> list:
    """Run each job in its own thread, released together by a barrier, and wait for them all.

    Returns, in the order of `jobs`, each job's result or the exception it raised, for the test to
    assert who won and how the others lost. Fails the test if any job is still running after
    `timeout` seconds (a deadlock, or a lock never released).
    """
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout)
            outcomes[index] = job()
        except Exception as exc:  # noqa: BLE001 — reported to the test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(index, job), name=f"run_at_once-{index}", daemon=True)
        for index, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    hung = [index for index, thread in enumerate(threads) if thread.is_alive()]
    assert not hung, f"jobs {hung} of {len(jobs)} still running after {timeout}s: hung"
    return outcomes


def run_many(job: Callable[[], Any], count: int, timeout: float = 60) -> list:
    """`run_at_once` with the same job in `count` threads."""
    return run_at_once(*[job] * count, timeout=timeout)


def unwrap(outcomes: list) -> list:
    """The outcomes of `run_at_once`, raising the first exception among them: for a race in which
    no job may fail, so that a failure shows its own traceback."""
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
    return outcomes
