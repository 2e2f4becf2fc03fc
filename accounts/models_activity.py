"""The two things every app writes to: the event log (`Event`, its `EventAction` types) and the
notification outbox (`Notification`). Kept beside accounts/models.py, which re-exports them:
Django and every caller find them as `accounts.models.Event` etc."""
from django.conf import settings
from django.db import models


class EventAction(models.TextChoices):
    """What an `Event.action` says happened: `<family>.<what>`. Every action the services record
    is listed (tests/accounts/test_event_actions.py checks it); the event log's type filter
    offers these, rather than asking the log which ones it holds."""

    ACCESS_REQUEST_CREATED = "access_request.created", "Access requested"
    ACCESS_REQUEST_APPROVED = "access_request.approved", "Access request approved"
    ACCESS_REQUEST_DENIED = "access_request.denied", "Access request denied"
    ALERTS_UPDATED = "alerts.updated", "Alert settings changed"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked by staff"
    COMPLIANCE_SHORTAGE_STARTED = "compliance.shortage_started", "Shortage started"
    COMPLIANCE_SHORTAGE_CLEARED = "compliance.shortage_cleared", "Shortage cleared"
    DEVICE_REGISTERED = "device.registered", "Device registered"
    DEVICE_REREGISTERED = "device.reregistered", "Device re-registered, secret rotated"
    DEVICE_MOVED = "device.moved", "Device moved"
    DEVICE_REMOVED = "device.removed", "Device removed"
    HOLDING_ACCOUNT_CREATED = "holding_account.created", "Holding account created"
    HOLDING_ACCOUNT_MEMBER_ADDED = "holding_account.member_added", "Holding account member added"
    HOLDING_ACCOUNT_MEMBER_UPDATED = "holding_account.member_updated", "Holding account member changed"
    HOLDING_ACCOUNT_MEMBER_REMOVED = "holding_account.member_removed", "Holding account member removed"
    LICENSES_DEPOSITED = "licenses.deposited", "Licenses deposited"
    LICENSES_TRANSFERRED = "licenses.transferred", "Licenses transferred"
    ORDER_PLACED = "order.placed", "Order placed"
    ORDER_LINE_SHIPPED = "order_line.shipped", "Order line shipped"
    ORDER_LINE_PROVISIONED = "order_line.provisioned", "Order line provisioned"
    ORDER_LINE_MOVED = "order_line.moved", "Order line moved"
    ORDER_LINE_ASSIGNED = "order_line.assigned", "Order line assigned"
    PAK_ISSUED = "pak.issued", "PAK issued"
    PAK_REGISTERED = "pak.registered", "PAK registered"
    PAK_CONVERTED = "pak.converted", "PAK converted"
    PARTNER_UPDATED = "partner.updated", "Partner changed"
    ROLE_GRANTED = "role.granted", "Role granted"
    ROLE_REVOKED = "role.revoked", "Role revoked"
    SMART_ACCOUNT_REQUESTED = "smart_account.requested", "Smart Account requested"
    SMART_ACCOUNT_CREATED = "smart_account.created", "Smart Account created"
    SMART_ACCOUNT_ACTIVATED = "smart_account.activated", "Smart Account activated"
    SMART_ACCOUNT_SUSPENDED = "smart_account.suspended", "Smart Account suspended"
    SMART_ACCOUNT_REINSTATED = "smart_account.reinstated", "Smart Account reinstated"
    SMART_ACCOUNT_DEFAULT_VIRTUAL_ACCOUNT_SET = "smart_account.default_virtual_account_set", "Default Virtual Account set"
    SUBSCRIPTION_STARTED = "subscription.started", "Subscription started"
    TOKEN_CREATED = "token.created", "Token created"
    TOKEN_REVOKED = "token.revoked", "Token revoked"
    VIRTUAL_ACCOUNT_CREATED = "virtual_account.created", "Virtual Account created"
    VIRTUAL_ACCOUNT_RENAMED = "virtual_account.renamed", "Virtual Account renamed"
    VIRTUAL_ACCOUNT_MOVED = "virtual_account.moved", "Virtual Account moved"
    VIRTUAL_ACCOUNT_DELETED = "virtual_account.deleted", "Virtual Account deleted"


class Event(models.Model):
    """Append-only audit log per Smart Account."""

    smart_account = models.ForeignKey("SmartAccount", on_delete=models.CASCADE, related_name="events")
    virtual_account = models.ForeignKey(
        "VirtualAccount", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Kept as written at the time; pseudonymised when the actor closes their account.
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=60, db_index=True)  # an EventAction
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["smart_account", "-created_at"]),
            models.Index(fields=["object_type", "object_id"]),  # an object's history (order detail)
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}".strip()


class NotificationStatus(models.TextChoices):
    """Where an owed email is (`notification_send` in accounts/services/outbox.py moves it along):

    pending → sending → sent; back to pending when the SMTP server refuses it (failed after
    `MAX_SEND_ATTEMPTS`). `sending` is a worker's claim, committed before the email is handed to the SMTP
    server: a redelivered task finding it sends nothing. A claim left over (the worker died
    between the server's acceptance and recording it, or before: it cannot be told apart) is
    turned `uncertain` by the re-dispatch after the outbox's `SEND_CLAIM_TIMEOUT`: never sent again
    automatically (at most once), listed for staff, who may re-send it by hand — with the same
    Message-ID, so that a receiver that got it already can tell it is the same email."""

    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    UNCERTAIN = "uncertain", "Uncertain: interrupted, maybe sent"


class Notification(models.Model):
    """The outbox: an owed email is a row first, then sent by a Celery task, at most once
    (see NotificationStatus); every row leaves `pending` only through a worker's claim."""

    kind = models.CharField(max_length=60)
    object_key = models.CharField(max_length=100, help_text="What it is about, e.g. orders.orderline:12")
    recipient = models.EmailField()
    subject = models.CharField(max_length=250)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Sending attempts so far; also the number of the current claim")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last claimed it for sending")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_key", "recipient"], name="one_notification_per_kind_object_recipient")
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient} ({self.status})"

    @property
    def message_id(self) -> str:
        """The Message-ID header of this email, the same on every send of the row: a re-send
        after an uncertain one is recognisably the same message."""
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "portal.invalid"
        return f"<notification.{self.pk}.{self.created_at:%Y%m%d%H%M%S}@{domain}>"
