"""The outbox (DESIGN.md §2, §6): an owed email is a row first, sent once, never lost."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from accounts import services
from accounts.models import Notification, NotificationStatus
from tests.factories import NotificationFactory, SupportMessageFactory

pytestmark = pytest.mark.django_db


class BrokenEmailBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


BROKEN_BACKEND = f"{__name__}.BrokenEmailBackend"


def owe_reply(message, recipients=("una@customer.example",)):
    return services.notification_queue(
        kind="support_case.reply", about=message, recipients=list(recipients), template="support_case_reply",
        context={"case": message.case, "message": message},
    )


def test_queue_creates_one_row_per_kind_object_and_recipient_even_if_called_twice(
    mailoutbox, django_capture_on_commit_callbacks
):
    message = SupportMessageFactory(from_staff=True, body="We re-sent your licenses.")

    with django_capture_on_commit_callbacks(execute=True):
        first = owe_reply(message, ["una@customer.example", "Una@Customer.example ", "bob@customer.example"])
    with django_capture_on_commit_callbacks(execute=True):
        second = owe_reply(message, ["una@customer.example", "bob@customer.example"])

    assert len(first) == 2 and second == []
    rows = Notification.objects.filter(kind="support_case.reply", object_key=f"accounts.supportmessage:{message.pk}")
    assert sorted(rows.values_list("recipient", flat=True)) == ["bob@customer.example", "una@customer.example"]
    assert sorted(m.to[0] for m in mailoutbox) == ["bob@customer.example", "una@customer.example"]
    assert "We re-sent your licenses." in mailoutbox[0].body
    assert set(rows.values_list("status", flat=True)) == {NotificationStatus.SENT}


def owe_replies_many(messages, recipients=("una@customer.example", "bob@customer.example")):
    return services.notification_queue_many(
        {"kind": "support_case.reply", "about": message, "recipients": list(recipients), "template": "support_case_reply",
         "context": {"case": message.case, "message": message}}
        for message in messages
    )


def test_queue_many_owes_each_kind_object_and_recipient_once_and_sends_them(mailoutbox, django_capture_on_commit_callbacks):
    one, two = SupportMessageFactory(), SupportMessageFactory()
    owe_reply(one, ["una@customer.example"])  # owed already

    with django_capture_on_commit_callbacks(execute=True):
        created = owe_replies_many([one, two, two])

    assert sorted((row.object_key, row.recipient) for row in created) == [
        (f"accounts.supportmessage:{one.pk}", "bob@customer.example"),
        (f"accounts.supportmessage:{two.pk}", "bob@customer.example"),
        (f"accounts.supportmessage:{two.pk}", "una@customer.example"),
    ]
    assert all(row.pk for row in created)
    assert Notification.objects.count() == 4
    assert len(mailoutbox) == 3  # the three new rows, sent on commit
    assert owe_replies_many([one, two]) == []


def test_queue_many_skips_what_a_concurrent_caller_owed_between_its_check_and_its_insert(monkeypatch):
    message = SupportMessageFactory()
    owe_reply(message, ["una@customer.example"])
    # The check runs before the other caller's insert: it sees nothing owed.
    monkeypatch.setattr(services.outbox, "_notifications_owed_already", lambda rows: set())

    created = owe_replies_many([message])

    assert [row.recipient for row in created] == ["bob@customer.example"]
    assert Notification.objects.filter(recipient="una@customer.example").count() == 1


def test_queue_owes_the_same_email_about_another_object_again():
    one, two = SupportMessageFactory(), SupportMessageFactory()

    owe_reply(one)
    owe_reply(two)

    assert Notification.objects.count() == 2


def test_nothing_is_sent_before_the_transaction_commits(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        owe_reply(SupportMessageFactory())

    assert len(callbacks) == 1
    assert mailoutbox == []
    assert Notification.objects.get().status == NotificationStatus.PENDING


def test_send_sends_a_pending_row_once(mailoutbox):
    row = NotificationFactory(recipient="ada@acme.example", subject="Licenses arrived", body_html="<p>Licenses arrived</p>")

    assert services.notification_send(notification_id=row.pk) is True
    assert services.notification_send(notification_id=row.pk) is False

    assert len(mailoutbox) == 1
    assert (mailoutbox[0].to, mailoutbox[0].subject) == (["ada@acme.example"], "Licenses arrived")
    assert mailoutbox[0].alternatives[0][1] == "text/html"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 1)
    assert row.sent_at is not None


def test_the_send_task_run_twice_sends_once(mailoutbox):
    from accounts.tasks import notification_send_task

    row = NotificationFactory()

    notification_send_task.delay(row.pk)
    notification_send_task.delay(row.pk)

    assert len(mailoutbox) == 1


def test_sending_an_unknown_row_sends_nothing(mailoutbox):
    assert services.notification_send(notification_id=987654) is False
    assert mailoutbox == []


def test_a_failing_email_backend_leaves_the_row_pending_with_the_error(settings, mailoutbox):
    row = NotificationFactory()
    settings.EMAIL_BACKEND = BROKEN_BACKEND

    assert services.notification_send(notification_id=row.pk) is False

    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)
    assert "refused the connection" in row.last_error
    assert row.sent_at is None

    # The server is back: the next attempt delivers it.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.notification_send(notification_id=row.pk) is True
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)
    assert len(mailoutbox) == 1


def test_a_row_that_keeps_failing_is_given_up_after_ten_attempts(settings):
    row = NotificationFactory(attempts=9)
    settings.EMAIL_BACKEND = BROKEN_BACKEND

    services.notification_send(notification_id=row.pk)

    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, 10)


def test_redispatch_reoffers_old_pending_rows_only(mailoutbox):
    old = NotificationFactory(recipient="old@customer.example")
    fresh = NotificationFactory(recipient="fresh@customer.example")
    sent = NotificationFactory(recipient="sent@customer.example", status=NotificationStatus.SENT)
    failed = NotificationFactory(recipient="failed@customer.example", status=NotificationStatus.FAILED)
    Notification.objects.filter(pk__in=[old.pk, sent.pk, failed.pk]).update(created_at=timezone.now() - timedelta(minutes=5))

    offered = services.notifications_redispatch(older_than_seconds=30)

    assert offered == 1
    assert [m.to for m in mailoutbox] == [["old@customer.example"]]
    assert Notification.objects.get(pk=old.pk).status == NotificationStatus.SENT
    assert Notification.objects.get(pk=fresh.pk).status == NotificationStatus.PENDING

    # Offered again, nothing is sent twice.
    assert services.notifications_redispatch(older_than_seconds=30) == 0
    assert len(mailoutbox) == 1


def test_a_broker_that_is_down_loses_nothing(monkeypatch, mailoutbox, django_capture_on_commit_callbacks):
    from accounts import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(tasks.notification_send_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        [row] = owe_reply(SupportMessageFactory())

    row.refresh_from_db()
    assert row.status == NotificationStatus.PENDING and "broker unavailable" in row.last_error
    assert mailoutbox == []

    # The broker is back; the beat task offers the row again and it is sent, once.
    monkeypatch.undo()
    Notification.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    tasks.notifications_redispatch.delay()
    tasks.notifications_redispatch.delay()

    assert len(mailoutbox) == 1
    assert Notification.objects.get(pk=row.pk).status == NotificationStatus.SENT


def test_retrying_makes_failed_rows_pending_again_and_leaves_sent_rows_alone(mailoutbox):
    failed = NotificationFactory(status=NotificationStatus.FAILED, attempts=10)
    sent = NotificationFactory(status=NotificationStatus.SENT)

    offered = services.notification_retry(notification_ids=[failed.pk, sent.pk])

    assert offered == [failed.pk]
    failed.refresh_from_db()
    assert failed.status == NotificationStatus.SENT and failed.attempts == 11
    assert len(mailoutbox) == 1


class UnreachableEmailBackend(BaseEmailBackend):
    """An SMTP server that cannot be reached: the connection fails to open."""

    def open(self):
        raise ConnectionRefusedError("SMTP server refused the connection")

    def send_messages(self, email_messages):  # pragma: no cover — never reached
        raise AssertionError("sent without a connection")


def test_an_unreachable_email_server_claims_nothing_and_leaves_the_row_owed(settings, mailoutbox):
    row = NotificationFactory()
    settings.EMAIL_BACKEND = f"{__name__}.UnreachableEmailBackend"

    assert services.notification_send(notification_id=row.pk) is False

    row.refresh_from_db()
    assert (row.status, row.attempts, row.claimed_at) == (NotificationStatus.PENDING, 1, None)
    assert "refused the connection" in row.last_error


def test_every_send_of_a_row_carries_the_same_message_id(mailoutbox):
    row = NotificationFactory()

    services.notification_send(notification_id=row.pk)

    assert mailoutbox[0].message()["Message-ID"] == row.message_id
    assert row.message_id.startswith(f"<notification.{row.pk}.") and row.message_id.endswith("@portal.example>")
    assert NotificationFactory().message_id != row.message_id


def test_a_row_claimed_by_a_worker_is_not_sent_by_another_nor_offered_again(mailoutbox):
    row = NotificationFactory(status=NotificationStatus.SENDING, attempts=1, claimed_at=timezone.now())
    Notification.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    assert services.notification_send(notification_id=row.pk) is False
    assert services.notifications_redispatch() == 0
    assert services.notification_retry(notification_ids=[row.pk]) == []

    assert mailoutbox == []
    assert Notification.objects.get(pk=row.pk).status == NotificationStatus.SENDING


def test_a_stale_claim_becomes_uncertain_and_is_never_sent_again_by_itself(mailoutbox):
    stale = NotificationFactory(status=NotificationStatus.SENDING, attempts=1,
                                claimed_at=timezone.now() - services.SEND_CLAIM_TIMEOUT - timedelta(seconds=1))
    fresh = NotificationFactory(status=NotificationStatus.SENDING, attempts=1, claimed_at=timezone.now())

    services.notifications_redispatch()
    services.notifications_redispatch()

    assert Notification.objects.get(pk=stale.pk).status == NotificationStatus.UNCERTAIN
    assert Notification.objects.get(pk=fresh.pk).status == NotificationStatus.SENDING
    assert services.notification_send(notification_id=stale.pk) is False
    assert mailoutbox == []


def test_a_send_that_finishes_after_its_claim_was_found_stale_is_recorded_as_sent(monkeypatch, mailoutbox):
    from django.core.mail.backends.locmem import EmailBackend

    row = NotificationFactory()
    accept = EmailBackend.send_messages

    def slow_server(self, messages):
        # Meanwhile the re-dispatch found the claim stale.
        Notification.objects.filter(pk=row.pk).update(claimed_at=timezone.now() - services.SEND_CLAIM_TIMEOUT)
        services.notification_claims_expire()
        assert Notification.objects.get(pk=row.pk).status == NotificationStatus.UNCERTAIN
        return accept(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", slow_server)

    assert services.notification_send(notification_id=row.pk) is True
    row.refresh_from_db()
    assert (row.status, row.attempts, len(mailoutbox)) == (NotificationStatus.SENT, 1, 1)


def test_staff_re_send_of_an_uncertain_row_goes_once_with_its_first_message_id(mailoutbox):
    row = NotificationFactory(status=NotificationStatus.UNCERTAIN, attempts=1)

    assert services.notification_retry(notification_ids=[row.pk]) == [row.pk]
    assert services.notification_retry(notification_ids=[row.pk]) == []

    assert len(mailoutbox) == 1 and mailoutbox[0].message()["Message-ID"] == row.message_id
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)
