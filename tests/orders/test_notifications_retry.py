"""A retried task sends nothing twice (DESIGN.md §6): tasks are acknowledged late, so a worker
that dies mid-task has its message delivered again; the outbox row decides what is sent. (In
this process a worker's death is a SystemExit; test_celery_worker_lost.py kills real ones.)"""
import time

import pytest
from django.utils import timezone
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.locmem import EmailBackend

from accounts import services
from accounts.models import Notification, NotificationStatus
from accounts.tasks import notification_send_task

from ..concurrency import run_many, unwrap
from ..factories import NotificationFactory
from ..markers import requires_postgres


class SlowEmailBackend(EmailBackend):
    """An SMTP server that takes its time: the first sender still holds the row when the second comes."""

    def send_messages(self, messages):
        time.sleep(0.5)
        return super().send_messages(messages)


def test_celery_acknowledges_tasks_late_and_requeues_them_when_a_worker_is_lost():
    from portal.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


@pytest.mark.django_db
def test_the_send_task_run_again_for_a_sent_row_sends_nothing(mailoutbox):
    row = NotificationFactory(recipient="ada@acme.example")

    assert notification_send_task.apply(args=[row.pk]).get() is True
    assert notification_send_task.apply(args=[row.pk]).get() is False
    assert notification_send_task.apply(args=[row.pk]).get() is False

    assert [m.to for m in mailoutbox] == [["ada@acme.example"]]


@pytest.mark.django_db
def test_a_worker_that_dies_before_the_row_is_claimed_leaves_it_to_the_redelivered_task(monkeypatch, mailoutbox):
    row = NotificationFactory(recipient="ada@acme.example")

    def worker_killed(self, *args, **kwargs):
        raise SystemExit("worker lost")  # not an Exception: nothing in the service catches it

    # Killed while the SMTP server is slow to answer: the connection is opened before the claim.
    monkeypatch.setattr(EmailBackend, "open", worker_killed)
    with pytest.raises(SystemExit):
        services.notification_send(notification_id=row.pk)
    monkeypatch.undo()

    # Nothing claimed: the row is still owed, untouched.
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == (NotificationStatus.PENDING, 0, None)
    # acks_late: the broker hands the same message to the next worker; then beat offers it too.
    assert services.notification_send(notification_id=row.pk) is True
    assert services.notification_send(notification_id=row.pk) is False
    assert [m.to for m in mailoutbox] == [["ada@acme.example"]]


@pytest.mark.django_db
def test_a_worker_that_dies_during_the_hand_over_never_sends_it_again_and_leaves_it_to_staff(monkeypatch, mailoutbox):
    row = NotificationFactory(recipient="ada@acme.example")

    accept = EmailBackend.send_messages

    def accepted_then_killed(self, messages):
        accept(self, messages)  # the SMTP server has it…
        raise SystemExit("worker lost")  # …and the worker dies before recording it

    monkeypatch.setattr(EmailBackend, "send_messages", accepted_then_killed)
    with pytest.raises(SystemExit):
        services.notification_send(notification_id=row.pk)
    monkeypatch.undo()
    assert [m.to for m in mailoutbox] == [["ada@acme.example"]]

    # The claim was committed before the hand-over: the redelivered task, and beat, send nothing.
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENDING, 1)
    assert services.notification_send(notification_id=row.pk) is False
    assert services.notifications_redispatch(older_than_seconds=0) == 0
    assert len(mailoutbox) == 1

    # Once the claim is stale, the re-dispatch marks it uncertain — still never re-sent by itself.
    Notification.objects.filter(pk=row.pk).update(claimed_at=timezone.now() - services.SEND_CLAIM_TIMEOUT)
    assert services.notifications_redispatch(older_than_seconds=0) == 0
    row.refresh_from_db()
    assert row.status == NotificationStatus.UNCERTAIN and "may or may not" in row.last_error
    assert len(mailoutbox) == 1

    # Staff find it did not arrive and re-send it: the same Message-ID, so a receiver can tell.
    assert services.notification_retry(notification_ids=[row.pk]) == [row.pk]
    assert len(mailoutbox) == 2
    assert mailoutbox[0].message()["Message-ID"] == mailoutbox[1].message()["Message-ID"] == row.message_id
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_row_at_once_send_it_once(settings):
    settings.EMAIL_BACKEND = f"{__name__}.SlowEmailBackend"
    mail.outbox = []
    row = NotificationFactory(recipient="ada@acme.example")

    results = unwrap(run_many(lambda: services.notification_send(notification_id=row.pk), 2, timeout=20))

    assert sorted(results) == [False, True]
    assert [m.to for m in mail.outbox] == [["ada@acme.example"]]
    assert Notification.objects.get(pk=row.pk).attempts == 1
