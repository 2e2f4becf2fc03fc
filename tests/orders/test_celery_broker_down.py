"""Broker down ⇒ orders and shipping still succeed, quickly, and every owed email goes out once
the broker is back and the re-dispatch runs (DESIGN.md §6).

The first tests need no Redis: this process's Celery app is pointed at a port where nothing
listens (connections refused) or at a socket that accepts and never answers (a hung broker).
The last one stops a real Redis broker of its own under a real worker, and starts it again
(PostgreSQL and the redis-server program)."""
import datetime
import socket
import time
from collections.abc import Iterator

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Notification, NotificationStatus
from accounts.tasks import notification_send_task, notifications_redispatch

from .celery_support import (  # noqa: F401 — fixture
    RealWorker,
    publishing,
    redis_server,
    requires_real_worker,
    requires_redis_server,
    unused_port,
)

# A publish that fails must fail fast: refused at once, a silent broker after the socket timeout
# (2 s, CELERY_BROKER_TRANSPORT_OPTIONS), and a request tries to publish once at most (counted
# exactly below). The budgets add room for a loaded test machine; without the timeouts a silent
# broker hangs the request for good.
BUDGET_SECONDS = {"refused": 3.0, "silent": 5.0}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def order_body(world, smart_product, subscription_product) -> dict:
    """An order owing, once shipped, an email to the customer admin (licenses arrived), one to
    them again (subscription started) and one to the holding account's notified member; and on
    placing, one to the end customer (the delegated line)."""
    return {
        "end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
        "lines": [
            {"sku": smart_product.sku, "quantity": 2, "smart_account": world.globex.pk},
            {"sku": subscription_product.sku, "quantity": 1, "smart_account": world.globex.pk},
            {"sku": smart_product.sku, "quantity": 3, "smart_account": world.holding.pk},
            {"sku": smart_product.sku, "quantity": 1, "delegate_to_end_customer": True},
        ],
    }


def timed(call) -> tuple[object, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """A 'Redis' that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    finally:
        sock.close()


@pytest.fixture
def publish_attempts(monkeypatch) -> list[int]:
    """The ids of the rows this process tried to hand to Celery (successfully or not)."""
    attempts: list[int] = []
    real_delay = notification_send_task.delay

    def delay(notification_id, *args, **kwargs):
        attempts.append(notification_id)
        return real_delay(notification_id, *args, **kwargs)

    monkeypatch.setattr(notification_send_task, "delay", delay)
    return attempts


@pytest.mark.django_db
@pytest.mark.parametrize("broker", ["refused", "silent"])
def test_placing_and_shipping_succeed_quickly_while_the_broker_is_down(
    broker, world, smart_product, subscription_product, silent_broker, publish_attempts, mailoutbox,
    django_capture_on_commit_callbacks,
):
    url = silent_broker if broker == "silent" else f"redis://127.0.0.1:{unused_port()}/0"

    def request(client, path, body):
        # The test's transaction stands in for the request's: its on-commit hand-over to Celery
        # runs, and is timed, as part of the request.
        del publish_attempts[:]
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(path, body, format="json")
        # One failed publish (then the rest wait without trying), not one per email.
        assert len(publish_attempts) == 1, publish_attempts
        return response

    with publishing(broker=url, queue="nobody-listens"):
        placed, place_seconds = timed(lambda: request(
            client_for(world.rita), "/api/v1/orders/", order_body(world, smart_product, subscription_product)))
        assert placed.status_code == 201, placed.json()
        shipped, ship_seconds = timed(lambda: request(
            client_for(world.staff), f"/api/v1/orders/{placed.json()['id']}/ship/", {}))
        assert shipped.status_code == 200, shipped.json()

    assert place_seconds < BUDGET_SECONDS[broker] and ship_seconds < BUDGET_SECONDS[broker], (place_seconds, ship_seconds)
    rows = Notification.objects.all()
    assert rows.count() == 4
    assert {(row.status, row.last_error) for row in rows} == {
        (NotificationStatus.PENDING, "broker unavailable; waiting for re-dispatch")}
    assert mailoutbox == []

    # The broker is back (tasks run eagerly here): the beat task offers the rows again, twice even; each is sent once.
    Notification.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))
    notifications_redispatch.delay()
    notifications_redispatch.delay()
    assert len(mailoutbox) == 4
    assert set(Notification.objects.values_list("status", "attempts")) == {(NotificationStatus.SENT, 1)}


@pytest.mark.django_db
def test_a_silent_broker_costs_one_timeout_per_dispatch_not_one_per_email(silent_broker):
    from ..factories import NotificationFactory

    ids = [row.pk for row in NotificationFactory.create_batch(5)]
    with publishing(broker=silent_broker, queue="nobody-listens"):
        queued, seconds = timed(lambda: account_services.notification_dispatch(notification_ids=ids))

    assert queued == 0
    assert seconds < BUDGET_SECONDS["silent"], seconds
    assert Notification.objects.filter(last_error__startswith="broker unavailable").count() == 5


@requires_real_worker
@requires_redis_server
@pytest.mark.django_db(transaction=True)
def test_orders_placed_and_shipped_while_the_broker_is_stopped_have_every_email_sent_once_when_it_is_back(
    world, tmp_path, redis_server, smart_product, subscription_product
):
    # A worker connected to a Redis of the test's own, which then stops: the worker stays up
    # (reconnecting), and the portal keeps taking orders and shipping them.
    worker = RealWorker(tmp_path, broker=redis_server.url).start().wait_ready()
    try:
        redis_server.stop()
        with worker.publishing():
            placed, place_seconds = timed(lambda: client_for(world.rita).post(
                "/api/v1/orders/", order_body(world, smart_product, subscription_product), format="json"))
            assert placed.status_code == 201, placed.json()
            shipped, ship_seconds = timed(lambda: client_for(world.staff).post(
                f"/api/v1/orders/{placed.json()['id']}/ship/", {}, format="json"))
            assert shipped.status_code == 200, shipped.json()
            # A second order, shipped line by line: another email to the customer admin.
            second = client_for(world.rita).post("/api/v1/orders/", {
                "end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
                "lines": [{"sku": smart_product.sku, "quantity": 5, "smart_account": world.globex.pk}],
            }, format="json")
            assert second.status_code == 201, second.json()
            assert client_for(world.staff).post(f"/api/v1/orders/{second.json()['id']}/ship/", {}, format="json").status_code == 200
        assert place_seconds < BUDGET_SECONDS["refused"] and ship_seconds < BUDGET_SECONDS["refused"], (place_seconds, ship_seconds)
        owed = Notification.objects.exclude(kind="test.barrier")
        assert set(owed.values_list("status", "last_error")) == {
            (NotificationStatus.PENDING, "broker unavailable; waiting for re-dispatch")}
        assert owed.count() == 5 and worker.emails() == []

        # The broker is back on the same address, empty (no persistence). Beat's re-dispatch runs
        # through the worker — twice, as when ticks pile up — and every owed email goes out once.
        redis_server.start()
        Notification.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))
        with worker.publishing():
            notifications_redispatch.delay()
            notifications_redispatch.delay()
        worker.wait_until(lambda: not owed.exclude(status=NotificationStatus.SENT).exists(), timeout=60,
                          what="every owed row sent")
        worker.settle()
        assert worker.process.poll() is None  # the same worker throughout: it rode out the outage
    finally:
        worker.stop()

    first, second = placed.json()["number"], second.json()["number"]
    assert worker.sent() == sorted([
        ("gina@globex.example", f"Licenses arrived in Globex (order {first})"),
        ("gina@globex.example", f"Licenses arrived in Globex (order {second})"),
        ("gina@globex.example", f"Subscription started: order {first}"),
        ("it@globex.example", f"Choose the Smart Account for your licenses (order {first})"),
        ("rita@resale.example", f"Order {first} shipped into your holding account Resale Holding"),
    ])
    assert sorted(owed.values_list("status", "attempts")) == [(NotificationStatus.SENT, 1)] * 5
