"""What runs inside the test workers of celery_support.RealWorker (`celery -A tests.orders.worker_app`):
the portal's own Celery app, with two things a test can set through the environment.

- TEST_CELERY_TRANSPORT_OPTIONS (JSON): extra broker transport options, e.g. a short
  `visibility_timeout`, so that a worker started after another was killed takes over the
  message the dead one held (Redis redelivers an unacknowledged message only after it).
- EMAIL_BACKEND=tests.orders.worker_app.PausingFileBackend and EMAIL_PAUSE_DIR: Django's file
  backend, which a test can hold at two points of a send, to kill the worker right there.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.filebased import EmailBackend as FileBackend

from portal.celery import app

__all__ = ["app", "PausingFileBackend"]

_extra = json.loads(os.environ.get("TEST_CELERY_TRANSPORT_OPTIONS") or "{}")
if _extra:
    app.conf.broker_transport_options = {**app.conf.broker_transport_options, **_extra}


class PausingFileBackend(FileBackend):
    """The file backend, held by the test where it says:

    - `<EMAIL_PAUSE_DIR>/hold-open` exists: opening the connection waits (an SMTP server slow
      to greet: nothing sent, and the outbox row not yet claimed);
    - `hold-accepted` exists: after the email is written (the SMTP server has accepted it),
      returning waits (the worker has not recorded it yet).

    While held it writes `at-open` / `at-accepted` holding its process id, for the test to kill."""

    def open(self):
        if self.stream is None:
            self._hold("open")
        return super().open()

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        self._hold("accepted")
        return sent

    def _hold(self, point: str) -> None:
        folder = Path(getattr(settings, "EMAIL_PAUSE_DIR", "") or os.environ.get("EMAIL_PAUSE_DIR", ""))
        if not folder.name or not (folder / f"hold-{point}").exists():
            return
        (folder / f"at-{point}").write_text(str(os.getpid()))
        deadline = time.monotonic() + 60  # a test that forgot to release (or kill) us
        while (folder / f"hold-{point}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
