"""The outbox: emails owed (one Notification row per kind, object and recipient), handed to
Celery on commit, and sent at most once each (`notification_send`); staff re-send and the beat
re-dispatch."""
from __future__ import annotations

from datetime import timedelta
from typing import Iterable

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, models, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from ..models import Notification, NotificationStatus


def object_key(obj: models.Model) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


def notification_queue(
    *, kind: str, about: models.Model | str, recipients: Iterable[str], template: str, context: dict,
    dispatch_on_commit: bool = True,
) -> list[Notification]:
    """Owe an email to each recipient: one outbox row per (kind, object, recipient), created in
    the caller's transaction; sending is queued on commit. Owing the same twice owes it once.

    `dispatch_on_commit=False`: the caller dispatches the rows it owes together, once, on commit
    (`notification_dispatch_on_commit`): with the broker down that costs one failed publish per
    transaction, not one per kind of email."""
    key = about if isinstance(about, str) else object_key(about)
    subject, body_text, body_html = _email_render(template, context)
    created = []
    for recipient in sorted({r.strip().lower() for r in recipients if r}):
        row, is_new = Notification.objects.get_or_create(
            kind=kind,
            object_key=key,
            recipient=recipient,
            defaults={"subject": subject[:250], "body_text": body_text, "body_html": body_html},
        )
        if is_new:
            created.append(row)
    if created and dispatch_on_commit:
        notification_dispatch_on_commit(created)
    return created


def _email_render(template: str, context: dict) -> tuple[str, str, str]:
    """Subject, text body and HTML body (empty without an HTML template) of an email."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
    body_text = render_to_string(f"emails/{template}.txt", context)
    try:
        body_html = render_to_string(f"emails/{template}.html", context)
    except TemplateDoesNotExist:
        body_html = ""
    return subject, body_text, body_html


def _notifications_owed_already(rows: list[Notification]) -> set[tuple[str, str, str]]:
    """Which of these (kind, object, recipient) the outbox holds already, in one query."""
    return set(
        Notification.objects.filter(kind__in={r.kind for r in rows}, object_key__in={r.object_key for r in rows})
        .values_list("kind", "object_key", "recipient")
    )


def notification_queue_many(emails: Iterable[dict], *, dispatch_on_commit: bool = True) -> list[Notification]:
    """`notification_queue` for many emails at once, in a constant number of queries whatever
    their number: each item of `emails` holds the keyword arguments of `notification_queue`
    (`kind`, `about`, `recipients`, `template`, `context`). What the outbox holds already is
    skipped (one query), the rest is inserted together (one query per few hundred rows).

    Owing the same twice still owes it once: if a concurrent caller owes one of these rows
    between the check and the insert, the unique constraint refuses the insert and the rows are
    owed one by one instead (`get_or_create`), which skips what the other caller owed."""
    rows = []
    seen: set[tuple[str, str, str]] = set()
    for email in emails:
        key = email["about"] if isinstance(email["about"], str) else object_key(email["about"])
        subject, body_text, body_html = _email_render(email["template"], email["context"])
        for recipient in sorted({r.strip().lower() for r in email["recipients"] if r}):
            if (email["kind"], key, recipient) in seen:
                continue
            seen.add((email["kind"], key, recipient))
            rows.append(Notification(kind=email["kind"], object_key=key, recipient=recipient, subject=subject[:250],
                                     body_text=body_text, body_html=body_html))
    if not rows:
        return []
    owed = _notifications_owed_already(rows)
    rows = [r for r in rows if (r.kind, r.object_key, r.recipient) not in owed]
    if not rows:
        return []
    try:
        with transaction.atomic():
            created = Notification.objects.bulk_create(rows)
    except IntegrityError:
        created = []
        for row in rows:
            owed_row, is_new = Notification.objects.get_or_create(
                kind=row.kind, object_key=row.object_key, recipient=row.recipient,
                defaults={"subject": row.subject, "body_text": row.body_text, "body_html": row.body_html},
            )
            if is_new:
                created.append(owed_row)
    if created and dispatch_on_commit:
        notification_dispatch_on_commit(created)
    return created


def notification_dispatch_on_commit(rows: Iterable[Notification]) -> None:
    """Hand these owed rows to Celery once the caller's transaction commits."""
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(lambda: notification_dispatch(notification_ids=ids))


def notification_dispatch(*, notification_ids: Iterable[int]) -> int:
    """Hand owed rows to Celery. A broker that is down loses nothing: the rows stay
    pending and the beat task `notifications_redispatch` offers them again."""
    # By name: accounts.tasks imports this module (registered at startup, AccountsConfig.ready()).
    notification_send_task = current_app.tasks["accounts.tasks.notification_send"]
    ids = list(notification_ids)
    queued = 0
    for index, pk in enumerate(ids):
        try:
            notification_send_task.delay(pk)
            queued += 1
        except (KombuOperationalError, OSError):
            # The broker is unreachable: the rest would fail the same way, each after a connect
            # timeout, so stop here; the rows wait for re-dispatch.
            Notification.objects.filter(pk__in=ids[index:]).update(last_error="broker unavailable; waiting for re-dispatch")
            break
        except Exception:  # noqa: BLE001 — this row only (e.g. an eager run failed); re-dispatch retries it
            Notification.objects.filter(pk=pk).update(last_error="could not be queued; waiting for re-dispatch")
    return queued


# A claim older than this is a worker that died mid-send (see NotificationStatus). Longer than
# any honest hand-over to the SMTP server; a send that does finish later is still recorded.
SEND_CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_SEND_ATTEMPTS = 10


def notification_send(*, notification_id: int) -> bool:
    """Send one owed email at most once; returns whether this call sent it.

    1. Only a `pending` row is sent: a sent, failed, uncertain row, or one another worker has
       claimed, is left alone (a redelivered or duplicated task sends nothing).
    2. The SMTP connection is opened before the row is claimed: a worker that dies while the
       server is slow to answer has claimed nothing, and the redelivered task sends the email.
    3. The claim (`pending` → `sending`, attempt n) is committed on its own, before the email
       is handed over: whatever happens to this worker now, no other sends it.
    4. After the hand-over the row is `sent`; if the server refused it, `pending` again with the
       error (`failed` after ten attempts) — each only if claim n is still the row's.

    A worker that dies during step 4 leaves its claim: the re-dispatch turns it `uncertain`
    after SEND_CLAIM_TIMEOUT, for staff (at most once: the server may well have the email)."""
    if not Notification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING).exists():
        return False
    connection = get_connection()
    try:
        connection.open()
    except Exception as exc:  # noqa: BLE001 — the server is unreachable: nothing was claimed or sent
        _notification_attempt_failed(notification_id, exc, claim=None)
        return False
    try:
        with transaction.atomic():
            row = Notification.objects.select_for_update().filter(pk=notification_id, status=NotificationStatus.PENDING).first()
            if row is None:
                return False  # another worker claimed it while this one connected
            row.status, row.claimed_at, row.attempts = NotificationStatus.SENDING, timezone.now(), row.attempts + 1
            row.save(update_fields=["status", "claimed_at", "attempts"])
        message = EmailMultiAlternatives(
            row.subject, row.body_text, settings.DEFAULT_FROM_EMAIL, [row.recipient],
            headers={"Message-ID": row.message_id}, connection=connection,
        )
        if row.body_html:
            message.attach_alternative(row.body_html, "text/html")
        try:
            message.send()
        except Exception as exc:  # noqa: BLE001 — refused: not sent; the next dispatch retries
            _notification_attempt_failed(notification_id, exc, claim=row.attempts)
            return False
    finally:
        connection.close()
    _claimed(notification_id, row.attempts).update(status=NotificationStatus.SENT, sent_at=timezone.now(), last_error="")
    return True


def _claimed(notification_id: int, claim: int):
    """The row, if claim number `claim` is still its own (a late send after its claim was
    found stale and marked uncertain is still recorded; a staff re-send is a new claim)."""
    return Notification.objects.filter(
        pk=notification_id, attempts=claim, status__in=[NotificationStatus.SENDING, NotificationStatus.UNCERTAIN]
    )


def _notification_attempt_failed(notification_id: int, exc: Exception, *, claim: int | None) -> None:
    """An attempt the SMTP server refused (or could not be reached for): the row is owed again,
    or given up after MAX_SEND_ATTEMPTS."""
    with transaction.atomic():
        if claim is None:
            row = Notification.objects.select_for_update().filter(pk=notification_id, status=NotificationStatus.PENDING).first()
            if row is None:
                return
            row.attempts += 1
        else:
            row = _claimed(notification_id, claim).select_for_update().first()
            if row is None:
                return
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        row.status = NotificationStatus.FAILED if row.attempts >= MAX_SEND_ATTEMPTS else NotificationStatus.PENDING
        row.claimed_at = None
        row.save(update_fields=["attempts", "last_error", "status", "claimed_at"])


def notification_retry(*, notification_ids: Iterable[int]) -> list[int]:
    """Staff re-send: the unsent rows among these (pending, failed, or uncertain — staff have
    decided it did not arrive) go out again; sent rows and rows being sent right now are left
    alone. The sender only sends pending rows, so the others are made pending for one more
    attempt (their attempt count is kept: another failure marks them failed again). An
    uncertain row goes with its Message-ID of the first time. Returns the ids offered."""
    unsent = Notification.objects.filter(
        pk__in=list(notification_ids),
        status__in=[NotificationStatus.PENDING, NotificationStatus.FAILED, NotificationStatus.UNCERTAIN],
    )
    ids = list(unsent.values_list("pk", flat=True))
    unsent.exclude(status=NotificationStatus.PENDING).update(status=NotificationStatus.PENDING, claimed_at=None)
    if ids:
        notification_dispatch(notification_ids=ids)
    return ids


def notification_claims_expire(*, older_than: timedelta = SEND_CLAIM_TIMEOUT) -> int:
    """Turn the claims of workers that died mid-send `uncertain` (never re-sent by themselves;
    staff decide). Returns how many."""
    return Notification.objects.filter(
        status=NotificationStatus.SENDING, claimed_at__lte=timezone.now() - older_than
    ).update(status=NotificationStatus.UNCERTAIN,
             last_error="The sending worker stopped mid-send: the SMTP server may or may not have accepted it.")


def notifications_redispatch(*, older_than_seconds: int = 30, claim_timeout: timedelta = SEND_CLAIM_TIMEOUT) -> int:
    """Offer again every row still pending after a while (e.g. the broker was down, or a
    message was lost with it), and mark the stale claims of dead workers uncertain."""
    notification_claims_expire(older_than=claim_timeout)
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        Notification.objects.filter(status=NotificationStatus.PENDING, created_at__lte=cutoff).values_list("pk", flat=True)[:1000]
    )
    return notification_dispatch(notification_ids=ids)
