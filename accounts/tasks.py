"""Thin Celery tasks: take ids, call one service."""
from celery import shared_task

from . import services


@shared_task(name="accounts.tasks.notification_send", bind=True, max_retries=5, default_retry_delay=30)
def notification_send_task(self, notification_id: int) -> bool:
    # The service claims a pending row (committed) before the SMTP hand-over and sends only a row
    # it claimed, so a retried or redelivered task sends nothing twice (at most once, see NotificationStatus).
    return services.notification_send(notification_id=notification_id)


@shared_task(name="accounts.tasks.notifications_redispatch")
def notifications_redispatch() -> int:
    return services.notifications_redispatch()
