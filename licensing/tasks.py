"""Thin Celery tasks of the licensing app: call one service (each is safe to run again)."""
import datetime

from celery import shared_task

from . import services


@shared_task(name="licensing.tasks.usage_snapshot_take")
def usage_snapshot_take(day: str | None = None) -> int:
    # One row per VA × product and day, replaced when run again the same day.
    return services.usage_snapshot_take(day=datetime.date.fromisoformat(day) if day else None)


@shared_task(name="licensing.tasks.compliance_reconcile")
def compliance_reconcile() -> int:
    # Subscriptions that ended or started overnight move pools into or out of shortage; a
    # shortage already recorded is not announced again.
    return services.compliance_reconcile()


@shared_task(name="licensing.tasks.alerts_daily")
def alerts_daily() -> int:
    # Owed once per account and day (the outbox is unique), so a repeated run sends nothing twice.
    return services.alerts_daily_queue()
