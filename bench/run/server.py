"""The server timed: gunicorn on a free loopback port with production-like settings, one request
to it, and the benchmark's users signed in to it (a session and an API key each)."""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import ROOT, BenchError

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(*, database_url: str, static_root: Path, broker_url: str | None, pg_options: str | None = None) -> dict[str, str]:
    """Production-like settings (portal/settings.py reads them): DEBUG off, manifest static files
    served by WhiteNoise, persistent DB connections, the runner's SECRET_KEY (so that the sessions
    it makes are good). Without a broker Celery runs tasks eagerly and mail goes nowhere."""
    from django.conf import settings

    env = {key: value for key, value in os.environ.items() if key not in {"CELERY_BROKER_URL", "REDIS_URL", "DEBUG"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "PYTHONUNBUFFERED": "1",
    })
    if pg_options:
        env["PGOPTIONS"] = pg_options  # libpq reads it: e.g. "-c jit=off" for every connection of the server
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
        env["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-{os.getpid()}"
    return env


class Server:
    """gunicorn serving portal.wsgi on a free loopback port, sync workers."""

    def __init__(self, *, env: dict[str, str], workers: int, workdir: Path) -> None:
        self.env, self.workers, self.workdir = env, workers, workdir
        self.port = _free_port()
        self.log = workdir / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT, env=self.env, check=True,
        )
        command = [
            sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--worker-class", "sync", "--backlog", "2048", "--timeout", "120",
            "--log-level", "warning",
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited ({self.process.returncode}): {self.log.read_text()[-2000:]}")
            try:
                status, _ = request(self.port, "GET", "/accounts/login/")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer within {timeout:.0f} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


BASE_HEADERS = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}  # behind a TLS-terminating proxy


def request(port: int, method: str, path: str, *, headers: dict | None = None, body: bytes | None = None,
            timeout: float = 120) -> tuple[int, bytes]:
    """One request on a new connection (gunicorn's sync workers close each one); (status, body).
    A redirect answers its Location as the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={**BASE_HEADERS, **(headers or {})})
        response = conn.getresponse()
        content = response.read()
        if 300 <= response.status < 400:
            content = f"redirect to {response.getheader('Location')}".encode()
        return response.status, content
    finally:
        conn.close()


# --- signing in -------------------------------------------------------------------------------


@dataclass
class Caller:
    """How a user calls: the session cookie (pages) and an API key (API)."""

    user: Any
    session_key: str
    api_key: str
    api_key_id: int

    def headers(self, kind: str) -> dict[str, str]:
        from django.conf import settings

        if kind == "api":
            return {"Authorization": f"Bearer {self.api_key}"}
        return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session_key}"}


def caller_sign_in(user) -> Caller:
    from django.conf import settings
    from django.test import Client

    from accounts import services as account_services

    client = Client()
    client.force_login(user)
    key, raw = account_services.api_key_create(user=user, name="bench run")
    return Caller(user=user, session_key=client.cookies[settings.SESSION_COOKIE_NAME].value, api_key=raw,
                  api_key_id=key.pk)


def caller_sign_out(caller: Caller) -> None:
    from django.contrib.sessions.models import Session

    from accounts.models import ApiKey

    Session.objects.filter(session_key=caller.session_key).delete()
    ApiKey.objects.filter(pk=caller.api_key_id).delete()
