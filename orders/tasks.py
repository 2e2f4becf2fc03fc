"""Thin Celery tasks of the orders app: take ids, call one service."""
from celery import shared_task

from . import services


@shared_task(name="orders.tasks.subscription_expiry_reminders")
def subscription_expiry_reminders() -> int:
    # Owed once per line and window (the outbox is unique), so a retried or repeated run sends nothing twice.
    return services.subscription_reminders_queue()
