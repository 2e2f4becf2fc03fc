"""A worker killed mid-task, with a real Celery worker and broker (DESIGN.md §6): the task is
delivered again (acks_late; reject_on_worker_lost when the worker's child dies, the broker's
visibility timeout when the whole worker does) and nothing is sent twice.

The email backend is the worker's file backend, held by the test at a point of the send
(tests/orders/worker_app.py): while connecting to the SMTP server (nothing claimed yet: the
redelivered task sends it, once), or after the server accepted the email and before the outbox
recorded it (the claim was committed first: the redelivered task sends nothing, and the row is
left `uncertain` for staff rather than sent twice).

Needs PostgreSQL (the worker reads the rows this test commits) and the redis-server program:
the module runs a Redis of its own, so that no other test's worker sweeps its unacknowledged
messages, nor its workers theirs."""
import os
import signal
from datetime import timedelta

import pytest

from accounts import services
from accounts.models import Notification, NotificationStatus
from accounts.tasks import notification_send_task

from ..factories import NotificationFactory
from .celery_support import (  # noqa: F401 — fixture
    Holds,
    RealWorker,
    redis_server,
    requires_real_worker,
    requires_redis_server,
    worker_env,
)

pytestmark = [requires_real_worker, requires_redis_server, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def holds(tmp_path_factory) -> Holds:
    return Holds(tmp_path_factory.mktemp("holds"))


@pytest.fixture(scope="module")
def prefork_worker(django_db_setup, tmp_path_factory, redis_server, holds):
    """One worker for the module whose child is killed: its parent survives and gets the task back."""
    worker = RealWorker(tmp_path_factory.mktemp("prefork"), broker=redis_server.url, pool="prefork", env=holds.env)
    worker.start().wait_ready()
    try:
        yield worker
    finally:
        for point in ("open", "accepted"):
            holds.release(point)
        worker.stop()


def send_through(worker: RealWorker, row) -> str:
    with worker.publishing():
        return notification_send_task.delay(row.pk).id


def killed(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def test_a_worker_child_killed_while_connecting_to_smtp_has_the_task_redelivered_and_sends_once(prefork_worker, holds):
    worker = prefork_worker
    row = NotificationFactory(recipient="ada@acme.example", subject="Licenses arrived in Acme")
    holds.hold("open")
    try:
        task_id = send_through(worker, row)
        pid = holds.wait_held("open", worker)
        row.refresh_from_db()
        assert (row.status, row.attempts) == (NotificationStatus.PENDING, 0)  # nothing claimed yet

        killed(pid)
    finally:
        holds.release("open")
    worker.wait_until(lambda: worker.finished(task_id) is not None, what="the redelivered task")

    assert worker.received(task_id) == 2  # requeued when its process died, and run again
    assert "WorkerLostError" in worker.log()
    assert worker.finished(task_id) == "True"
    assert [(m["To"], m["Subject"]) for m in worker.emails() if m["Subject"] == row.subject] == [
        ("ada@acme.example", "Licenses arrived in Acme")]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 1)


def test_a_worker_killed_after_the_smtp_server_accepted_the_email_never_sends_it_twice(prefork_worker, holds):
    worker = prefork_worker
    row = NotificationFactory(recipient="bea@acme.example", subject="Subscription started: order SO-1")
    holds.hold("accepted")
    try:
        task_id = send_through(worker, row)
        pid = holds.wait_held("accepted", worker)
        # The server has the email; the outbox has the worker's claim, committed before the hand-over.
        assert [m["To"] for m in worker.emails() if m["Subject"] == row.subject] == ["bea@acme.example"]
        row.refresh_from_db()
        assert (row.status, row.attempts) == (NotificationStatus.SENDING, 1)

        killed(pid)
    finally:
        holds.release("accepted")
    worker.wait_until(lambda: worker.finished(task_id) is not None, what="the redelivered task")

    # Delivered again, the task finds the claim and sends nothing.
    assert worker.received(task_id) == 2
    assert worker.finished(task_id) == "False"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == (NotificationStatus.SENDING, 1, None)
    # Beat's re-dispatch does not offer it either; once the claim is stale it marks it uncertain,
    # for staff to decide — at most once: never sent again by itself.
    with worker.publishing():
        assert services.notifications_redispatch(older_than_seconds=0) == 0
        assert services.notifications_redispatch(older_than_seconds=0, claim_timeout=timedelta(0)) == 0
    worker.settle()
    row.refresh_from_db()
    assert row.status == NotificationStatus.UNCERTAIN
    assert [m["To"] for m in worker.emails() if m["Subject"] == row.subject] == ["bea@acme.example"]


def test_a_worker_killed_outright_mid_task_has_the_task_taken_over_by_the_next_worker_and_sends_once(
    tmp_path, redis_server, holds
):
    row = NotificationFactory(recipient="cy@acme.example", subject="Your access request was approved")
    first = RealWorker(tmp_path, broker=redis_server.url, env=holds.env, name="first").start()
    holds.hold("open")
    try:
        task_id = send_through(first, row)
        holds.wait_held("open", first)
        first.kill()  # the whole worker, at once: no warm shutdown, nothing acknowledged or requeued
    finally:
        holds.release("open")
        first.kill()
    assert Notification.objects.get(pk=row.pk).status == NotificationStatus.PENDING

    # The next worker on the queue takes over the message its predecessor held unacknowledged
    # (after the visibility timeout: an hour in production, a second here).
    successor = RealWorker(
        tmp_path, broker=redis_server.url, queue=first.queue, name="successor",
        env={**holds.env, **worker_env(visibility_timeout=1, unacked_restore_interval=1, unacked_restore_throttle=1)},
    ).start()
    try:
        successor.wait_until(lambda: successor.finished(task_id) is not None, timeout=30, what="the taken-over task")
        assert successor.finished(task_id) == "True"
    finally:
        successor.stop()

    assert [(m["To"], m["Subject"]) for m in successor.emails()] == [("cy@acme.example", "Your access request was approved")]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 1)
