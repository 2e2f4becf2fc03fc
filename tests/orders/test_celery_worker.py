"""With a real Redis broker and a real Celery worker process (DESIGN.md §6): an order placed and
shipped through the API produces exactly the expected emails, each once; a task delivered twice
sends once.

Needs PostgreSQL (the worker, another process, reads the rows this test commits) and Redis."""
import pytest
from rest_framework.test import APIClient

from accounts.models import Notification, NotificationStatus
from accounts.tasks import notification_send_task

from ..factories import NotificationFactory
from .celery_support import real_worker, requires_real_worker  # noqa: F401 — fixture

pytestmark = [pytest.mark.redis, requires_real_worker, pytest.mark.django_db(transaction=True)]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_an_order_shipped_through_the_api_sends_exactly_the_expected_emails_through_the_worker(
    world, real_worker, smart_product, subscription_product
):
    body = {
        "end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
        "lines": [
            {"sku": smart_product.sku, "quantity": 2, "smart_account": world.globex.pk,
             "virtual_account": world.globex_finance.pk},
            {"sku": subscription_product.sku, "quantity": 1, "smart_account": world.globex.pk},
            {"sku": smart_product.sku, "quantity": 3, "smart_account": world.holding.pk},
            {"sku": smart_product.sku, "quantity": 1, "delegate_to_end_customer": True},
        ],
    }
    with real_worker.publishing():
        placed = client_for(world.rita).post("/api/v1/orders/", body, format="json")
        assert placed.status_code == 201, placed.json()
        number = placed.json()["number"]
        shipped = client_for(world.staff).post(f"/api/v1/orders/{placed.json()['id']}/ship/", {}, format="json")
        assert shipped.status_code == 200, shipped.json()

    real_worker.wait_for_emails(4)
    real_worker.settle()

    assert real_worker.sent() == [
        ("gina@globex.example", f"Licenses arrived in Globex (order {number})"),
        ("gina@globex.example", f"Subscription started: order {number}"),
        ("it@globex.example", f"Choose the Smart Account for your licenses (order {number})"),
        ("rita@resale.example", f"Order {number} shipped into your holding account Resale Holding"),
    ]
    deposited = next(m for m in real_worker.emails() if str(m["Subject"]).startswith("Licenses arrived"))
    text = deposited.get_body(("plain",)).get_content()
    assert "2 × ISR-SEC-K9" in text and "→ Globex / Finance" in text
    assert deposited.get_body(("html",)) is not None
    rows = Notification.objects.exclude(kind="test.barrier")
    assert sorted(rows.values_list("status", "attempts")) == [(NotificationStatus.SENT, 1)] * 4


def test_a_task_delivered_twice_sends_its_email_once(real_worker):
    row = NotificationFactory(recipient="ada@acme.example", subject="Licenses arrived in Acme")

    with real_worker.publishing():
        # A redelivery (acks_late after a lost worker, a retry, a second beat run) is the same message again.
        notification_send_task.delay(row.pk)
        notification_send_task.delay(row.pk)
    real_worker.settle()

    assert real_worker.sent() == [("ada@acme.example", "Licenses arrived in Acme")]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 1)
