"""A real Celery worker for the tests that need one, a Redis server of their own, and ways to
point this process's Celery app at a broker and a queue.

`RealWorker` runs the portal's Celery app (`tests.orders.worker_app`: the portal's, plus what
a test may set through the environment) in its own process, on a queue of its own (so parallel
test processes never take each other's tasks), against the test database (so it needs
PostgreSQL: another process sees only committed rows, and SQLite's test database is in memory)
and writes the emails it sends as files, which the test reads back.

A solo worker takes its queue in order (Redis lists are FIFO), so `settle()` — one more email
sent through the worker and waited for — proves every task queued before it has run.

`RedisServer` is a `redis-server` process of the test's own, on a free port, which the test may
stop and start again (a broker outage) without touching the Redis other tests share; and whose
unacknowledged-message bookkeeping no other test's worker sweeps (Redis keeps it per database,
not per queue).
"""
from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from ..markers import ON_POSTGRES

ROOT = Path(__file__).resolve().parents[2]
SEPARATOR = b"\n" + b"-" * 79 + b"\n"
BARRIER_RECIPIENT = "barrier@tests.example"


# Mark tests that use `real_worker` with `pytest.mark.redis` (the real broker) and this.
requires_real_worker = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="a Celery worker in another process must read the rows the test commits: needs PostgreSQL "
           "(DATABASE_URL=postgres://…, as .ci/run sets)",
)


requires_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="starts and stops a Redis broker of its own: needs the redis-server program (apt-get install redis-server, "
           "as .ci/run has)",
)


def database_url() -> str:
    """The URL of the database this test runs on (pytest's `test_…` database), for another process."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{db['NAME']}"


def broker_url() -> str:
    return os.environ.get("CELERY_BROKER_URL") or os.environ["REDIS_URL"]


def unused_port() -> int:
    """A local TCP port nothing listens on (a broker that is down: connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reset_connections(app) -> None:
    # The app keeps its connection and producer pools (kombu's, shared per broker URL); drop the
    # references so that the next publish finds the pools of the URL configured now.
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def publishing(*, broker: str, queue: str) -> Iterator[None]:
    """This process's Celery app sends tasks to `broker`, queue `queue`, instead of running them
    eagerly; restored afterwards."""
    from portal.celery import app

    conf = app.conf
    # Publishing connects to `broker_write_url` when set; unlike `broker_url`, Celery does not
    # let the CELERY_BROKER_URL environment variable override it.
    saved = (conf.get("broker_write_url"), conf.task_default_queue, conf.task_always_eager)
    conf.broker_write_url, conf.task_default_queue, conf.task_always_eager = broker, queue, False
    _reset_connections(app)
    try:
        yield
    finally:
        conf.broker_write_url, conf.task_default_queue, conf.task_always_eager = saved
        _reset_connections(app)


def read_emails(directory: Path) -> list[email.message.EmailMessage]:
    """The emails Django's file backend wrote into `directory` (complete ones only)."""
    messages = []
    for path in sorted(directory.glob("*.log")):
        chunks = path.read_bytes().split(SEPARATOR)
        # The last chunk is what follows the last separator: empty, or an email still being written.
        for chunk in chunks[:-1]:
            messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
    return messages


class RealWorker:
    """A Celery worker process on its own queue, sending email into files.

    `broker`: the broker URL (default: the environment's); `queue`: another worker's queue, to
    take over from it; `pool`: "solo" (one process) or "prefork" (one child doing the tasks, a
    parent that notices when it dies); `env`: more environment for the worker (its email
    backend, TEST_CELERY_TRANSPORT_OPTIONS of worker_app). The log is at INFO: each task's
    "received" and "succeeded" lines are there for the test to read."""

    def __init__(self, tmp_path: Path, *, broker: str | None = None, queue: str | None = None, pool: str = "solo",
                 env: dict[str, str] | None = None, name: str = "worker") -> None:
        self.queue = queue or f"test-{uuid.uuid4().hex[:12]}"
        self.broker = broker or broker_url()
        self.pool = pool
        self.extra_env = env or {}
        self.mail_dir = tmp_path / "sent-emails"
        self.mail_dir.mkdir(exist_ok=True)
        self.log_path = tmp_path / f"{name}.log"
        self.name = name
        self.process: subprocess.Popen | None = None

    def start(self) -> RealWorker:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DB_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": self.broker,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            **self.extra_env,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "tests.orders.worker_app", "worker", "-P", self.pool, "-c", "1",
                 "-l", "info", "-Q", self.queue, "-n", f"{self.queue}-{self.name}@%h", "--without-gossip",
                 "--without-mingle", "--without-heartbeat"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    def wait_ready(self, *, timeout: float = 30) -> RealWorker:
        """Wait until the worker consumes its queue (it logs "ready")."""
        self.wait_until(lambda: " ready." in self.log(), timeout=timeout, what="the worker to start")
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # warm shutdown: finish the task at hand, close the connections
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the worker and all its processes at once: nothing runs its shutdown."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def publishing(self):
        """This process sends its tasks to the worker's broker and queue."""
        return publishing(broker=self.broker, queue=self.queue)

    def emails(self, *, barrier: bool = False) -> list[email.message.EmailMessage]:
        return [m for m in read_emails(self.mail_dir) if barrier or m["To"] != BARRIER_RECIPIENT]

    def sent(self) -> list[tuple[str, str]]:
        """(recipient, subject) of each email the worker sent, sorted."""
        return sorted((str(m["To"]), str(m["Subject"])) for m in self.emails())

    def finished(self, task_id: str) -> str | None:
        """What the task with this id returned, as the worker logged it ("True"), once it has."""
        marker = f"[{task_id}] succeeded in "
        for line in self.log().splitlines():
            if marker in line:
                return line.rsplit(": ", 1)[-1].strip()
        return None

    def received(self, task_id: str) -> int:
        """How many times the worker was handed the message of this task."""
        return self.log().count(f"[{task_id}] received")

    def wait_until(self, condition: Callable[[], bool], *, timeout: float = 15, what: str = "the worker") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the Celery worker exited ({self.process.returncode}):\n{self.log()}")
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; worker log:\n{self.log()}")

    def wait_for_emails(self, count: int, *, timeout: float = 15) -> None:
        self.wait_until(lambda: len(self.emails()) >= count, timeout=timeout, what=f"{count} emails")

    def settle(self, *, timeout: float = 15) -> None:
        """Wait until the worker has run every task queued so far: queue one more email behind
        them and wait for it (the solo worker takes its queue in order)."""
        from accounts.services import notification_dispatch

        from ..factories import NotificationFactory

        row = NotificationFactory(kind="test.barrier", recipient=BARRIER_RECIPIENT, subject=f"barrier {uuid.uuid4().hex}")
        with self.publishing():
            assert notification_dispatch(notification_ids=[row.pk]) == 1
        subject = row.subject
        self.wait_until(lambda: any(str(m["Subject"]) == subject for m in self.emails(barrier=True)),
                        timeout=timeout, what="the queue to drain")


class RedisServer:
    """A `redis-server` of the test's own on a free local port; no persistence, so a restart
    loses what was queued (as a broker restart may)."""

    def __init__(self, directory: Path) -> None:
        self.port = unused_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.directory.mkdir(exist_ok=True)
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 10
        while not self.is_up():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start on port {self.port}: "
                                     f"{(self.directory / 'redis.log').read_text(errors='replace')}")
            time.sleep(0.05)
        return self

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """The broker goes away: its process ends, connections to the port are refused."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """A Redis server for this test module alone (see RedisServer); tests using it are marked
    requires_redis_server."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


class Holds:
    """The test's side of worker_app.PausingFileBackend: hold a worker at a point of its send,
    find the process held there, release it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        return {"EMAIL_BACKEND": "tests.orders.worker_app.PausingFileBackend", "EMAIL_PAUSE_DIR": str(self.directory)}

    def hold(self, point: str) -> None:
        (self.directory / f"at-{point}").unlink(missing_ok=True)
        (self.directory / f"hold-{point}").touch()

    def release(self, point: str) -> None:
        (self.directory / f"hold-{point}").unlink(missing_ok=True)

    def wait_held(self, point: str, worker: RealWorker, *, timeout: float = 15) -> int:
        """The id of the process held at `point`, once one is."""
        marker = self.directory / f"at-{point}"
        worker.wait_until(marker.exists, timeout=timeout, what=f"a send held at {point}")
        return int(marker.read_text())


def worker_env(**transport_options) -> dict[str, str]:
    """Environment for RealWorker(env=…): extra broker transport options (see worker_app)."""
    return {"TEST_CELERY_TRANSPORT_OPTIONS": json.dumps(transport_options)}


@pytest.fixture
def real_worker(transactional_db, tmp_path) -> Iterator[RealWorker]:
    """A started worker on its own queue (tests using it are marked redis + requires_postgres +
    django_db(transaction=True)); stopped, and its queue deleted, afterwards."""
    worker = RealWorker(tmp_path).start()
    try:
        yield worker
    finally:
        worker.stop()
        import redis

        with contextlib.suppress(Exception):
            client = redis.Redis.from_url(worker.broker, socket_connect_timeout=1, socket_timeout=2)
            # The queue's lists (one per priority) and kombu's binding tables all carry its unique name.
            keys = list(client.scan_iter(match=f"*{worker.queue}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
