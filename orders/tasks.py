"""Thin Celery tasks of the orders app: take ids (or nothing), call one service.

Each is safe to retry or repeat: what it owes goes to the outbox, unique per kind, object and
recipient, and the outbox sends a row once (accounts.services.notification_send)."""
from celery import shared_task

from . import services


@shared_task(name="orders.tasks.subscription_expiry_reminders")
def subscription_expiry_reminders() -> int:
    # Owed once per line and window (the outbox is unique), so a retried or repeated run sends nothing twice.
    return services.subscription_reminders_queue()


@shared_task(name="orders.tasks.holding_accounts_weekly_digest")
def holding_accounts_weekly_digest() -> int:
    # Owed once per holding account and ISO week (the week is in the outbox key): beat runs it
    # on Mondays; a re-run, a retry or a catch-up after beat was down owes nothing new.
    return services.holding_digests_queue()
