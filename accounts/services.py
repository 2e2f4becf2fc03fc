"""Every write of the accounts app: users, partners, Smart/Virtual Accounts, roles, access
requests, invitations, support cases, and the event log and outbox every app writes to.

Each service is keyword-only, atomic, takes `actor=` (None = the system), checks the actor's
right through `accounts.permissions`, validates with field-keyed ValidationErrors, records an
Event and queues its emails on commit."""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Iterable

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from . import permissions
from .models import (
    SA_ROLES,
    VA_ROLES,
    AccessRequest,
    AccessRequestStatus,
    ApiKey,
    Event,
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    Notification,
    NotificationStatus,
    Partner,
    PartnerKind,
    PartnerMembership,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    SmartAccountStatus,
    SupportCase,
    SupportCaseStatus,
    SupportMessage,
    User,
    VirtualAccount,
    VirtualAccountRole,
    normalise_domain,
)
from .permissions import ADMINISTER, STRUCTURE, VIEW
from .selectors import INVITATION_LINK_SALT, invitation_from_link
from .signals import smart_account_activated
from .validators import clean_email, refuse_control_characters

# --- shared helpers: events and the outbox ----------------------------------------------


def object_key(obj: models.Model) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


def event_record(
    *,
    smart_account: SmartAccount,
    action: str,
    actor: User | None = None,
    virtual_account: VirtualAccount | None = None,
    obj: models.Model | None = None,
    detail: dict | None = None,
) -> Event:
    """Append one row to the account's event log."""
    return Event.objects.create(
        smart_account=smart_account,
        virtual_account=virtual_account,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.email if actor is not None and actor.pk else "system",
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:300] if obj is not None else "",
        detail=detail or {},
    )


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


def _require(actor: User | None, capability, obj) -> None:
    if actor is not None:
        permissions.require(actor, capability, obj, f"You may not {capability.value} here.")


def _user_by_email(email: str, *, field: str = "email") -> User:
    email = clean_email(email, field=field)
    user = User.objects.filter(email__iexact=email, is_active=True, closed_at__isnull=True).first()
    if user is None:
        raise ValidationError({field: f"No registered user has the email address {email}."})
    return user


def _clean_name(name: str, *, field: str = "name", max_length: int = 100) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({field: "A name is required."})
    if len(name) > max_length:
        raise ValidationError({field: f"At most {max_length} characters."})
    return refuse_control_characters(name, field=field)


def _clean_text(text: str | None, *, field: str, max_length: int) -> str:
    """Free text (a description, a message): at most `max_length` characters kept, no control characters."""
    return refuse_control_characters((text or "")[:max_length], field=field)


def _clean_domain(domain: str, *, field: str = "domain") -> str:
    domain = normalise_domain(domain)
    labels = domain.split(".")
    valid = (
        len(domain) <= 253
        and len(labels) >= 2
        and all(0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii() for label in labels)
        and not any(label.startswith("-") or label.endswith("-") for label in labels)
    )
    if not valid:
        raise ValidationError({field: "Enter a domain such as acme.com."})
    return domain


def user_is_verified(user: User) -> bool:
    return permissions.is_verified(user)  # the rule lives in accounts.permissions


def _require_verified(actor: User) -> None:
    permissions.require_verified(actor)


# --- users, API keys, partners ----------------------------------------------------------


@transaction.atomic
def user_create(*, email: str, password: str, name: str = "", actor: User | None = None, is_staff: bool = False) -> User:
    """A registered user with a verified email (staff onboarding, demo data)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.password_validation import validate_password

    email = clean_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A user with this email address already exists."})
    name = refuse_control_characters(" ".join((name or "").split())[:150], field="name")
    user = User(email=email, name=name, is_staff=is_staff)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages})
    user.set_password(password)
    user.save()
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


API_KEY_MAX_DAYS = 365


def _clean_expiry_days(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        days = int(value)
    except (TypeError, ValueError, OverflowError):
        days = 0
    if isinstance(value, float) and not value.is_integer() or not 1 <= days <= API_KEY_MAX_DAYS:
        raise ValidationError({"expires_in_days": f"A whole number of days from 1 to {API_KEY_MAX_DAYS}, or empty for no expiry."})
    return days


@transaction.atomic
def api_key_create(*, user: User, name: str, expires_in_days: int | None = None) -> tuple[ApiKey, str]:
    """A new API key; the raw key is returned once and never stored. Callers ask for a recent
    re-authentication first (a session left open must not mint a lasting credential)."""
    days = _clean_expiry_days(expires_in_days)
    raw = "slp_" + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        user=user, name=_clean_name(name or "API key"), prefix=raw[:12], key_hash=ApiKey.hash(raw),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: User) -> None:
    if key.user_id != actor.pk:
        raise PermissionDenied("Not your API key.")
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason="Revoked by you."
    )


# Why every credential of a user stops at once (the profile and the email say it).
CREDENTIALS_REVOKED_BECAUSE = {
    "password_changed": "Your password was changed.",
    "password_reset": "Your password was reset.",
    "mfa_removed": "Two-factor authentication was turned off.",
}


@transaction.atomic
def api_credentials_revoke_all(*, user: User, because: str) -> int:
    """A password change or reset, or turning MFA off, ends every API key of the user: whoever
    held the old password (or a key made with it) keeps nothing. The user is emailed once per
    occasion. Returns how many keys stopped."""
    reason = CREDENTIALS_REVOKED_BECAUSE[because]
    now = timezone.now()
    revoked = list(ApiKey.objects.select_for_update().filter(user=user, revoked_at__isnull=True).order_by("pk"))
    ApiKey.objects.filter(pk__in=[k.pk for k in revoked]).update(revoked_at=now, revoked_reason=reason)
    if revoked:
        notification_queue(
            kind="api_keys_revoked", about=f"accounts.user:{user.pk}:{now.isoformat()}", recipients=[user.email],
            template="api_keys_revoked", context={"user": user, "reason": reason, "keys": revoked},
        )
    return len(revoked)


@transaction.atomic
def partner_create(*, name: str, kind: str, distributor: Partner | None = None, actor: User | None = None) -> Partner:
    name = _clean_name(name, max_length=200)
    if kind not in PartnerKind.values:
        raise ValidationError({"kind": "Choose reseller or distributor."})
    if Partner.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A partner with this name already exists."})
    if distributor is not None:
        if kind != PartnerKind.RESELLER:
            raise ValidationError({"distributor": "Only a reseller is linked to a distributor."})
        if distributor.kind != PartnerKind.DISTRIBUTOR:
            raise ValidationError({"distributor": f"{distributor.name} is not a distributor."})
    partner = Partner.objects.create(name=name, kind=kind)
    if distributor is not None:
        distributor.linked_resellers.add(partner)
    return partner


def _require_partner_admin(actor: User | None, partner: Partner) -> None:
    # None is the system (a command, a task); staff and the partner's admins pass (permissions).
    if actor is not None and not permissions.can_manage_partner(actor, partner):
        raise permissions.refusal(actor, "Only a partner admin may manage its members.")


def _check_partner_keeps_an_admin(membership: PartnerMembership, *, field: str, message: str) -> None:
    """Refuse to let `membership` stop being an admin (removed, demoted, its user closed) when it
    is its partner's last. The partner's admin rows are locked first (in pk order), so two
    admins going at once cannot both pass."""
    admins = list(
        PartnerMembership.objects.select_for_update().filter(partner_id=membership.partner_id, is_admin=True)
        .order_by("pk").values_list("pk", flat=True)
    )
    if admins == [membership.pk]:
        raise ValidationError({field: message})


@transaction.atomic
def partner_member_add(*, partner: Partner, email: str, is_admin: bool = False, actor: User | None) -> PartnerMembership:
    """Put a registered user in a partner directly: vendor staff (the Django admin) and the system
    (commands, demo data) only. Partner admins invite instead (`partner_member_invite`): nobody
    joins a partner without accepting."""
    if actor is not None and not permissions.is_staff(actor):
        raise PermissionDenied("Partner admins invite members; they join by accepting the invitation.")
    user = _user_by_email(email)
    existing = PartnerMembership.objects.filter(user=user).select_related("partner").first()
    if existing is not None and existing.partner_id != partner.pk:
        raise ValidationError({"email": f"{user.email} already belongs to partner {existing.partner.name}."})
    if existing is not None and existing.is_admin and not is_admin:
        if not PartnerMembership.objects.filter(partner=partner, is_admin=True).exclude(pk=existing.pk).exists():
            raise ValidationError({"is_admin": "A partner keeps at least one admin."})
    membership, _ = PartnerMembership.objects.update_or_create(user=user, defaults={"partner": partner, "is_admin": is_admin})
    return membership


@transaction.atomic
def partner_member_remove(*, membership: PartnerMembership, actor: User | None) -> None:
    _require_partner_admin(actor, membership.partner)
    # Whoever removes them (the admin leaving, staff), the last admin stays.
    _check_partner_keeps_an_admin(membership, field="email", message="A partner keeps at least one admin.")
    HoldingMembership.objects.filter(user=membership.user, smart_account__partner=membership.partner).delete()
    membership.delete()


def partner_of(user: User) -> Partner | None:
    membership = getattr(user, "partner_membership", None) if user.is_authenticated else None
    return membership.partner if membership else None


# --- invitations (signed, expiring, single-use links) -----------------------------------

def invitation_create(
    *, purpose: str, email: str, smart_account: SmartAccount | None = None, about: models.Model | None = None,
    **fields,
) -> tuple[Invitation, str]:
    """A new invitation and its signed URL path. `fields`: more columns of the invitation (a
    partner invitation's `partner`, `partner_admin`, `invited_by`)."""
    invitation = Invitation.objects.create(
        key=secrets.token_urlsafe(24),
        purpose=purpose,
        email=email.lower(),
        smart_account=smart_account,
        object_key=object_key(about) if about is not None else "",
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
        **fields,
    )
    return invitation, f"/invite/{invitation_token(invitation)}/"


def invitation_token(invitation: Invitation) -> str:
    """The signed token of an invitation's link (what /invite/<token>/ carries)."""
    return signing.dumps(invitation.key, salt=INVITATION_LINK_SALT)


def invitation_use(*, invitation: Invitation) -> None:
    """Mark used; conditional so two concurrent uses cannot both succeed."""
    if Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(used_at=timezone.now()) != 1:
        raise ValidationError("This link has already been used.")


# --- partner membership invitations -----------------------------------------------------


def partner_invitations_pending(*, partner: Partner | None = None) -> models.QuerySet[Invitation]:
    """A partner's invitations that may still be accepted (every partner's without one), newest first."""
    qs = Invitation.objects.filter(
        purpose=InvitationPurpose.JOIN_PARTNER, partner__isnull=False, used_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if partner is not None:
        qs = qs.filter(partner=partner)
    return qs.select_related("invited_by").order_by("-created_at", "-pk")


@transaction.atomic
def partner_member_invite(*, partner: Partner, email: str, is_admin: bool = False, actor: User | None) -> Invitation:
    """Invite an email address to join the partner (as a partner admin with `is_admin`): a signed,
    expiring, single-use link is emailed, and its addressee joins by accepting it.

    The answer is the same whoever the address belongs to (nobody yet, a user, a member of
    another partner): the partner learns nothing of them before they accept. Inviting an
    address again replaces its pending invitation (a fresh link and expiry) and sends that."""
    _require_partner_admin(actor, partner)
    email = clean_email(email)
    # Its own members the partner sees already: saying so tells it nothing new.
    if PartnerMembership.objects.filter(partner=partner, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {partner.name}."})
    Partner.objects.select_for_update().filter(pk=partner.pk).first()  # one pending invitation per address
    now = timezone.now()
    partner_invitations_pending(partner=partner).filter(email=email).update(expires_at=now)
    invitation, path = invitation_create(
        purpose=InvitationPurpose.JOIN_PARTNER, email=email, partner=partner, partner_admin=bool(is_admin),
        invited_by=actor if actor is not None and actor.pk else None,
    )
    notification_queue(
        kind="partner.invitation", about=invitation, recipients=[email], template="partner_invitation",
        context={"partner": partner, "invitation": invitation, "invited_by": invitation.invited_by,
                 "link": settings.SITE_URL + path},
    )
    return invitation


@transaction.atomic
def partner_invitation_revoke(*, invitation: Invitation, actor: User | None) -> None:
    """Withdraw a pending invitation: its link stops working (as if expired)."""
    _require_partner_admin(actor, invitation.partner)
    now = timezone.now()
    Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)


def _partner_invitation(token: str, actor: User) -> Invitation:
    """The partner invitation of a link, for its addressee only, their address verified."""
    try:
        invitation = invitation_from_link(token=token, purpose=InvitationPurpose.JOIN_PARTNER, user=actor)
    except ValidationError as exc:
        raise ValidationError({"token": exc.messages})
    _require_verified(actor)
    return invitation


def _partner_invitation_use(invitation: Invitation) -> None:
    """Used up once, and only while still valid: conditional, so that two accepts, or an
    accept and a revoke, at the same moment cannot both succeed."""
    now = timezone.now()
    if not Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now):
        used = Invitation.objects.filter(pk=invitation.pk, used_at__isnull=False).exists()
        raise ValidationError({"token": "This link has already been used." if used
                               else "This link is invalid or has expired."})


@transaction.atomic
def partner_invitation_accept(*, token: str, actor: User) -> PartnerMembership:
    """The invitee joins the partner, as member or admin as offered. Only the addressee, with
    that address verified, and not while they belong to a partner (they leave it first)."""
    invitation = _partner_invitation(token, actor)
    # A user's accepts one at a time: of two invitations accepted at once, one partner is joined.
    User.objects.select_for_update().filter(pk=actor.pk).first()
    current = PartnerMembership.objects.filter(user=actor).select_related("partner").first()
    if current is not None:
        # Told to the invitee only: the inviting partner never learns it.
        raise ValidationError(f"You already belong to {current.partner.name}. Leave it first, then open this "
                              "link again.")
    _partner_invitation_use(invitation)
    return PartnerMembership.objects.create(partner=invitation.partner, user=actor, is_admin=invitation.partner_admin)


@transaction.atomic
def partner_invitation_decline(*, token: str, actor: User) -> Invitation:
    """The invitee says no: the link is used up and nothing else changes."""
    invitation = _partner_invitation(token, actor)
    _partner_invitation_use(invitation)
    return invitation


# --- Smart Accounts ---------------------------------------------------------------------


def _smart_account_with_root(**fields) -> SmartAccount:
    sa = SmartAccount.objects.create(**fields)
    root = VirtualAccount.objects.create(smart_account=sa, name=VirtualAccount.ROOT_NAME)
    sa.default_virtual_account = root
    sa.save(update_fields=["default_virtual_account"])
    return sa


def _check_customer_name_free(name: str, domain: str) -> None:
    if SmartAccount.objects.filter(kind=SmartAccountKind.CUSTOMER, domain=domain, name__iexact=name).exists():
        raise ValidationError({"name": f"A Smart Account named {name} already exists for {domain}."})


@transaction.atomic
def smart_account_create(*, name: str, domain: str, actor: User) -> SmartAccount:
    """Flow 2: a verified user creates an account for their own email's domain; active at once,
    the creator is its SA admin."""
    _require_verified(actor)
    name = _clean_name(name, max_length=200)
    domain = _clean_domain(domain)
    if domain != actor.email_domain:
        raise ValidationError({"domain": f"You can create an account only for your own domain ({actor.email_domain})."})
    _check_customer_name_free(name, domain)
    sa = _smart_account_with_root(
        name=name, domain=domain, kind=SmartAccountKind.CUSTOMER, status=SmartAccountStatus.ACTIVE,
        requested_by=actor, contact=actor, activated_at=timezone.now(),
    )
    event_record(smart_account=sa, action="smart_account.created", actor=actor, obj=sa)
    _role_set(user=actor, role=Role.SA_ADMIN, target=sa, smart_account=sa, actor=actor)
    return sa


@transaction.atomic
def smart_account_request(*, name: str, domain: str, contact_email: str, actor: User) -> SmartAccount:
    """Flow 3: a partner user requests an account for a customer. The contact must be a
    registered user of exactly that domain; the account stays `new` until they activate it."""
    _require_verified(actor)
    partner = partner_of(actor)
    if not (permissions.is_partner_user(actor) or permissions.is_staff(actor)):
        raise PermissionDenied("Only partner users can request an account on a customer's behalf.")
    name = _clean_name(name, max_length=200)
    domain = _clean_domain(domain)
    contact = _user_by_email(contact_email, field="contact_email")
    if contact.email_domain != domain:
        raise ValidationError(
            {"contact_email": f"The contact's email domain ({contact.email_domain}) must be the account's domain ({domain})."}
        )
    _check_customer_name_free(name, domain)
    sa = _smart_account_with_root(
        name=name, domain=domain, kind=SmartAccountKind.CUSTOMER, status=SmartAccountStatus.NEW,
        partner=partner, contact=contact, requested_by=actor,
    )
    event_record(smart_account=sa, action="smart_account.requested", actor=actor, obj=sa, detail={"contact": contact.email})
    _, url = invitation_create(purpose=InvitationPurpose.ACTIVATE_ACCOUNT, email=contact.email, smart_account=sa)
    notification_queue(
        kind="smart_account.activation", about=sa, recipients=[contact.email], template="smart_account_activation",
        context={"smart_account": sa, "requested_by": actor, "partner": partner, "link": settings.SITE_URL + url},
    )
    return sa


@transaction.atomic
def smart_account_activate(
    *, smart_account: SmartAccount, actor: User | None, grant_partner_role: str | None = None
) -> SmartAccount:
    """`new` → `active`, by the named contact (or staff). The contact becomes SA admin and may
    grant the requesting partner user a role in the same step. Lines waiting for the account
    are provisioned (orders listens to `smart_account_activated`)."""
    sa = SmartAccount.objects.select_for_update().get(pk=smart_account.pk)
    if actor is not None and not permissions.can_activate(actor, sa):
        raise permissions.refusal(actor, "Only the account's named contact can activate it.")
    if sa.status != SmartAccountStatus.NEW:
        raise ValidationError({"status": f"Only a new account can be activated; this one is {sa.status}."})
    if grant_partner_role and grant_partner_role not in SA_ROLES:
        raise ValidationError({"grant_partner_role": "Choose sa_admin, sa_user or sa_viewer."})
    sa.status = SmartAccountStatus.ACTIVE
    sa.activated_at = timezone.now()
    sa.save(update_fields=["status", "activated_at"])
    event_record(smart_account=sa, action="smart_account.activated", actor=actor, obj=sa)
    if sa.contact_id:
        _role_set(user=sa.contact, role=Role.SA_ADMIN, target=sa, smart_account=sa, actor=actor)
    if grant_partner_role and sa.requested_by_id and sa.requested_by_id != sa.contact_id:
        _role_set(user=sa.requested_by, role=grant_partner_role, target=sa, smart_account=sa, actor=actor)
    Invitation.objects.filter(
        smart_account=sa, purpose=InvitationPurpose.ACTIVATE_ACCOUNT, used_at__isnull=True
    ).update(used_at=timezone.now())
    smart_account_activated.send(sender=SmartAccount, smart_account=sa, actor=actor)
    return sa


def _staff_status_change(smart_account: SmartAccount, actor: User | None, frm: str, to: str, action: str) -> SmartAccount:
    if actor is not None and not permissions.can_change_account_status(actor):
        raise PermissionDenied("Only staff can change an account's status.")
    sa = SmartAccount.objects.select_for_update().get(pk=smart_account.pk)
    if sa.status != frm:
        raise ValidationError({"status": f"The account is {sa.status}, not {frm}."})
    sa.status = to
    sa.save(update_fields=["status"])
    event_record(smart_account=sa, action=action, actor=actor, obj=sa)
    return sa


@transaction.atomic
def smart_account_suspend(*, smart_account: SmartAccount, actor: User | None) -> SmartAccount:
    return _staff_status_change(smart_account, actor, SmartAccountStatus.ACTIVE, SmartAccountStatus.SUSPENDED, "smart_account.suspended")


@transaction.atomic
def smart_account_reinstate(*, smart_account: SmartAccount, actor: User | None) -> SmartAccount:
    return _staff_status_change(smart_account, actor, SmartAccountStatus.SUSPENDED, SmartAccountStatus.ACTIVE, "smart_account.reinstated")


@transaction.atomic
def smart_account_set_default_virtual_account(*, virtual_account: VirtualAccount, actor: User | None) -> SmartAccount:
    sa = virtual_account.smart_account
    _require(actor, ADMINISTER, sa)
    sa.default_virtual_account = virtual_account
    sa.save(update_fields=["default_virtual_account"])
    event_record(smart_account=sa, action="smart_account.default_virtual_account_set", actor=actor,
                 virtual_account=virtual_account, obj=virtual_account)
    return sa


@transaction.atomic
def holding_account_create(*, name: str, actor: User, partner: Partner | None = None) -> SmartAccount:
    """Flow 4: a holding account for the actor's partner; the creator joins it."""
    _require_verified(actor)
    partner = partner or partner_of(actor)
    if partner is None:
        raise ValidationError({"kind": "Only partner users can create a holding account."})
    if not permissions.is_staff(actor) and partner_of(actor) != partner:
        raise PermissionDenied("You can create holding accounts only for your own partner.")
    name = _clean_name(name, max_length=200)
    if SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING, partner=partner, name__iexact=name).exists():
        raise ValidationError({"name": f"{partner.name} already has a holding account named {name}."})
    sa = _smart_account_with_root(
        name=name, kind=SmartAccountKind.HOLDING, status=SmartAccountStatus.ACTIVE, partner=partner,
        requested_by=actor, activated_at=timezone.now(),
    )
    event_record(smart_account=sa, action="holding_account.created", actor=actor, obj=sa)
    if partner_of(actor) == partner:
        HoldingMembership.objects.create(smart_account=sa, user=actor, notify=True)
    return sa


@transaction.atomic
def holding_member_add(*, smart_account: SmartAccount, email: str, notify: bool = True, actor: User | None) -> HoldingMembership:
    """A partner user joins a holding account (themselves, or added by a partner admin)."""
    if not smart_account.is_holding:
        raise ValidationError({"smart_account": "Only holding accounts have members."})
    user = _user_by_email(email)
    if partner_of(user) != smart_account.partner:
        raise ValidationError({"email": f"{user.email} is not a member of {smart_account.partner.name}."})
    if actor is not None and actor.pk != user.pk:
        _require_partner_admin(actor, smart_account.partner)
    permissions.require_verified(actor)  # joining it oneself is acting too (None: the system)
    membership, created = HoldingMembership.objects.update_or_create(
        smart_account=smart_account, user=user, defaults={"notify": notify}
    )
    event_record(smart_account=smart_account, action="holding_account.member_added" if created else "holding_account.member_updated",
                 actor=actor, obj=membership, detail={"user": user.email, "notify": notify})
    return membership


@transaction.atomic
def holding_member_remove(*, membership: HoldingMembership, actor: User | None) -> None:
    if actor is not None and actor.pk != membership.user_id:
        _require_partner_admin(actor, membership.smart_account.partner)
    event_record(smart_account=membership.smart_account, action="holding_account.member_removed", actor=actor,
                 detail={"user": membership.user.email})
    membership.delete()


# --- Virtual Accounts -------------------------------------------------------------------


def _lock_tree(smart_account: SmartAccount) -> None:
    """Serialise tree writes per account (MPTT renumbers lft/rght across the tree)."""
    SmartAccount.objects.select_for_update().filter(pk=smart_account.pk).first()


def _check_sibling_name_free(parent: VirtualAccount, name: str, exclude: VirtualAccount | None = None) -> None:
    siblings = VirtualAccount.objects.filter(parent=parent, name__iexact=name)
    if exclude is not None:
        siblings = siblings.exclude(pk=exclude.pk)
    if siblings.exists():
        raise ValidationError({"name": f"{parent.name} already has a Virtual Account named {name}."})


@transaction.atomic
def virtual_account_create(*, parent: VirtualAccount, name: str, actor: User | None, description: str = "") -> VirtualAccount:
    _require(actor, STRUCTURE, parent)
    name = _clean_name(name)
    description = _clean_text(description, field="description", max_length=300)
    _lock_tree(parent.smart_account)
    parent = VirtualAccount.objects.get(pk=parent.pk)  # fresh lft/rght after the lock
    _check_sibling_name_free(parent, name)
    va = VirtualAccount.objects.create(
        smart_account_id=parent.smart_account_id, parent=parent, name=name, description=description
    )
    event_record(smart_account=parent.smart_account, action="virtual_account.created", actor=actor, virtual_account=va,
                 obj=va, detail={"parent": parent.name})
    return va


def _require_restructure(actor: User | None, va: VirtualAccount) -> None:
    if va.parent_id is None:
        raise ValidationError({"name": f"The root Virtual Account {va.name} cannot be renamed, moved or deleted."})
    if actor is not None and not permissions.can_restructure(actor, va):
        raise permissions.refusal(actor, "You may not change this Virtual Account.")


@transaction.atomic
def virtual_account_rename(*, virtual_account: VirtualAccount, name: str, actor: User | None,
                           description: str | None = None) -> VirtualAccount:
    va = virtual_account
    _require_restructure(actor, va)
    name = _clean_name(name)
    if description is not None:
        description = _clean_text(description, field="description", max_length=300)
    _lock_tree(va.smart_account)
    va = VirtualAccount.objects.get(pk=va.pk)
    _check_sibling_name_free(va.parent, name, exclude=va)
    old = va.name
    va.name = name
    if description is not None:
        va.description = description
    va.save()
    event_record(smart_account=va.smart_account, action="virtual_account.renamed", actor=actor, virtual_account=va,
                 obj=va, detail={"from": old, "to": name})
    return va


@transaction.atomic
def virtual_account_move(*, virtual_account: VirtualAccount, parent: VirtualAccount, actor: User | None) -> VirtualAccount:
    """Re-parent within the same Smart Account; never under itself or its own descendant."""
    _require_restructure(actor, virtual_account)
    _require(actor, STRUCTURE, parent)
    _lock_tree(virtual_account.smart_account)
    va = VirtualAccount.objects.get(pk=virtual_account.pk)
    parent = VirtualAccount.objects.get(pk=parent.pk)
    if parent.smart_account_id != va.smart_account_id:
        raise ValidationError({"parent": "A Virtual Account can move only within its own Smart Account."})
    if parent.pk == va.pk or parent.is_descendant_of(va):
        raise ValidationError({"parent": f"{va.name} cannot move under itself or one of its own descendants."})
    _check_sibling_name_free(parent, va.name, exclude=va)
    old_parent = va.parent.name
    va.move_to(parent, "last-child")
    va = VirtualAccount.objects.get(pk=va.pk)
    event_record(smart_account=va.smart_account, action="virtual_account.moved", actor=actor, virtual_account=va,
                 obj=va, detail={"from": old_parent, "to": parent.name})
    return va


@transaction.atomic
def virtual_account_delete(*, virtual_account: VirtualAccount, actor: User | None) -> None:
    """Only an empty Virtual Account goes: no children, licenses or devices."""
    va = virtual_account
    _require_restructure(actor, va)
    _lock_tree(va.smart_account)
    va = VirtualAccount.objects.get(pk=va.pk)
    if va.get_children().exists():
        raise ValidationError({"virtual_account": f"{va.name} still has Virtual Accounts below it; move or delete them first."})
    sa = va.smart_account
    detail = {"name": va.name, "parent": va.parent.name}
    try:
        with transaction.atomic():
            if sa.default_virtual_account_id == va.pk:
                raise ValidationError({"virtual_account": f"{va.name} is the account's default Virtual Account; choose another default first."})
            va.delete()
    except (ProtectedError, RestrictedError):
        raise ValidationError(
            {"virtual_account": f"{va.name} still holds licenses or devices; transfer them to another Virtual Account first."}
        )
    event_record(smart_account=sa, action="virtual_account.deleted", actor=actor, detail=detail)


# --- roles ------------------------------------------------------------------------------


def _permission(role: str) -> Permission:
    app_model = "smartaccount" if role in SA_ROLES else "virtualaccount"
    return Permission.objects.get(codename=role, content_type__app_label="accounts", content_type__model=app_model)


def _lock_roles(*smart_accounts: SmartAccount | int) -> None:
    """Serialise the role changes of these accounts until the end of the transaction: grants,
    revokes and closing a user each read the roles they decide on (the actor's right, the role
    held now, how many SA admins are left) only after this, so two changes at once never both
    act on what was true before the other (two roles on one object; two admins revoking each
    other and leaving none; an admin acting after losing the role).

    The Smart Account rows are NO KEY UPDATE-locked in ascending id, the global order of
    `licensing.services.pool_lock` (accounts first): role changes wait for each other and for
    tree writes (FOR UPDATE), never for pool writers or the inserts that reference the account
    (KEY SHARE). SQLite has no row locks; a writing transaction holds the whole database."""
    ids = sorted({sa if isinstance(sa, int) else sa.pk for sa in smart_accounts})
    list(SmartAccount.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def _sa_admins_left(smart_account: SmartAccount, *, without: Iterable[int]) -> bool:
    """Whether the account keeps an SA admin once these role rows are gone (under `_lock_roles`)."""
    admins = SmartAccountRole.objects.filter(content_object=smart_account, permission__codename=Role.SA_ADMIN)
    return admins.exclude(pk__in=list(without)).exists()


def _role_set(*, user: User, role: str, target, smart_account: SmartAccount, actor: User | None):
    """Give `user` exactly `role` on `target`, replacing any other role they held on it."""
    _lock_roles(smart_account)
    model = SmartAccountRole if role in SA_ROLES else VirtualAccountRole
    others = model.objects.filter(user=user, content_object=target).exclude(permission__codename=role)
    replaced = dict(others.values_list("pk", "permission__codename"))
    if Role.SA_ADMIN in replaced.values() and not _sa_admins_left(target, without=replaced):
        # Replacing an admin's role is revoking it: the account keeps at least one admin.
        raise ValidationError({"role": "An account keeps at least one Smart Account admin."})
    replaced = sorted(replaced.values())
    others.delete()
    row, created = model.objects.get_or_create(
        user=user, content_object=target, permission=_permission(role), defaults={"granted_by": actor}
    )
    if created:
        detail = {"user": user.email, "role": role, "scope": "account" if model is SmartAccountRole else target.name}
        if replaced:
            detail["replaced"] = replaced
        event_record(
            smart_account=smart_account, action="role.granted", actor=actor,
            virtual_account=target if isinstance(target, VirtualAccount) else None, obj=row, detail=detail,
        )
    return row


@transaction.atomic
def role_grant(
    *, smart_account: SmartAccount, email: str, role: str, actor: User | None,
    virtual_account: VirtualAccount | None = None,
):
    """Grant an SA role (whole account) or a VA role (that Virtual Account's subtree)."""
    if role not in Role.values:
        raise ValidationError({"role": "Choose one of " + ", ".join(Role.values) + "."})
    if smart_account.is_holding:
        raise ValidationError({"role": "Holding accounts have members, not roles."})
    if role in VA_ROLES:
        if virtual_account is None:
            raise ValidationError({"virtual_account": "A Virtual Account role needs a Virtual Account."})
        if virtual_account.smart_account_id != smart_account.pk:
            raise ValidationError({"virtual_account": "That Virtual Account is not in this Smart Account."})
    elif virtual_account is not None:
        raise ValidationError({"virtual_account": "Smart Account roles apply to the whole account; leave the Virtual Account empty."})
    # The actor's right is read under the lock: an admin whose role goes at this moment grants nothing.
    _lock_roles(smart_account)
    if actor is not None and not permissions.can_manage_role(actor, smart_account=smart_account, role=role, virtual_account=virtual_account):
        raise permissions.refusal(actor, "You may not grant this role.")
    user = _user_by_email(email, field="user_email")
    target = smart_account if role in SA_ROLES else virtual_account
    return _role_set(user=user, role=role, target=target, smart_account=smart_account, actor=actor)


def role_get(role_id) -> SmartAccountRole | VirtualAccountRole | None:
    for model in (SmartAccountRole, VirtualAccountRole):
        try:
            row = model.objects.select_related("permission", "user", "content_object").filter(pk=role_id).first()
        except (ValidationError, ValueError):
            return None
        if row is not None:
            return row
    return None


@transaction.atomic
def role_revoke(*, role, actor: User | None) -> None:
    """Take a role away; access ends with this transaction. A role revoked already (by someone
    else a moment ago) is a no-op: nothing changes and nothing is recorded."""
    is_sa = isinstance(role, SmartAccountRole)
    sa = role.content_object if is_sa else role.content_object.smart_account
    va = None if is_sa else role.content_object
    codename = role.permission.codename
    # Everything below is decided under the lock, on the roles as they are now.
    _lock_roles(sa)
    if actor is not None and not permissions.can_manage_role(actor, smart_account=sa, role=codename, virtual_account=va):
        raise permissions.refusal(actor, "You may not revoke this role.")
    if not type(role).objects.filter(pk=role.pk).exists():
        return
    if codename == Role.SA_ADMIN and not _sa_admins_left(sa, without=[role.pk]):
        raise ValidationError({"role": "An account keeps at least one Smart Account admin."})
    type(role).objects.filter(pk=role.pk).delete()
    event_record(smart_account=sa, action="role.revoked", actor=actor, virtual_account=va,
                 detail={"user": role.user.email, "role": codename, "scope": va.name if va else "account"})


# --- access requests --------------------------------------------------------------------


@transaction.atomic
def access_request_create(
    *, smart_account: SmartAccount, actor: User, message: str = "", scope_wanted: str = ""
) -> AccessRequest:
    """Flow 1: ask an account's admins for a role. The scope is named in words (empty: the whole
    account): a requester without a role never sees the tree, so the admins choose the real
    scope when they approve."""
    _require_verified(actor)
    if smart_account.is_holding:
        raise ValidationError({"smart_account": "Holding accounts are joined through the partner, not by request."})
    if smart_account.status == SmartAccountStatus.NEW:
        # Nobody could decide: its first admin is the customer contact who activates it.
        raise ValidationError({"smart_account": "This account is not active yet: its customer contact activates it "
                                                "and becomes its first admin. Ask them for access then."})
    scope_wanted = " ".join((scope_wanted or "").split())  # one line, as the admins read it
    if len(scope_wanted) > 200:
        raise ValidationError({"scope_wanted": "Describe the scope in at most 200 characters."})
    scope_wanted = refuse_control_characters(scope_wanted, field="scope_wanted")
    if AccessRequest.objects.filter(smart_account=smart_account, requester=actor, status=AccessRequestStatus.PENDING).exists():
        raise ValidationError({"smart_account": "You already have a pending request for this account."})
    message = _clean_text(message, field="message", max_length=2000)
    request = AccessRequest.objects.create(smart_account=smart_account, requester=actor, message=message,
                                           scope_wanted=scope_wanted)
    event_record(smart_account=smart_account, action="access_request.created", actor=actor, obj=request,
                 detail={"scope": scope_wanted or "account"})
    admins = User.objects.filter(
        smartaccountrole__content_object=smart_account, smartaccountrole__permission__codename=Role.SA_ADMIN
    ).values_list("email", flat=True)
    notification_queue(kind="access_request.created", about=request, recipients=admins, template="access_request_created",
                       context={"request": request, "smart_account": smart_account})
    return request


def _pending_request(access_request: AccessRequest) -> AccessRequest:
    request = AccessRequest.objects.select_for_update().select_related("smart_account", "requester").get(pk=access_request.pk)
    if request.status != AccessRequestStatus.PENDING:
        raise ValidationError({"status": f"This request was already {request.status}."})
    return request


@transaction.atomic
def access_request_approve(
    *, access_request: AccessRequest, role: str, actor: User | None, virtual_accounts: Iterable[VirtualAccount] = ()
) -> AccessRequest:
    """Grant exactly the chosen role and scope (whole account, or each chosen Virtual Account)."""
    request = _pending_request(access_request)
    sa = request.smart_account
    _require(actor, ADMINISTER, sa)
    virtual_accounts = list(virtual_accounts)
    if role in SA_ROLES and virtual_accounts:
        raise ValidationError({"virtual_accounts": "A Smart Account role covers the whole account; choose a VA role for chosen Virtual Accounts."})
    if role in VA_ROLES and not virtual_accounts:
        raise ValidationError({"virtual_accounts": "Choose the Virtual Accounts this role applies to."})
    if role in SA_ROLES:
        role_grant(smart_account=sa, email=request.requester.email, role=role, actor=actor)
    elif role in VA_ROLES:
        for va in virtual_accounts:
            role_grant(smart_account=sa, email=request.requester.email, role=role, actor=actor, virtual_account=va)
    else:
        raise ValidationError({"role": "Choose one of " + ", ".join(Role.values) + "."})
    request.status = AccessRequestStatus.APPROVED
    request.granted_role = role
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "granted_role", "decided_by", "decided_at"])
    event_record(smart_account=sa, action="access_request.approved", actor=actor, obj=request,
                 detail={"role": role, "scope": [va.name for va in virtual_accounts] or "account"})
    notification_queue(kind="access_request.decided", about=request, recipients=[request.requester.email],
                       template="access_request_decided", context={"request": request, "smart_account": sa})
    return request


@transaction.atomic
def access_request_deny(*, access_request: AccessRequest, actor: User | None, reason: str = "") -> AccessRequest:
    reason = _clean_text(reason, field="reason", max_length=2000)
    request = _pending_request(access_request)
    _require(actor, ADMINISTER, request.smart_account)
    request.status = AccessRequestStatus.DENIED
    request.reason = reason
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    event_record(smart_account=request.smart_account, action="access_request.denied", actor=actor, obj=request,
                 detail={"reason": request.reason})
    notification_queue(kind="access_request.decided", about=request, recipients=[request.requester.email],
                       template="access_request_decided", context={"request": request, "smart_account": request.smart_account})
    return request


# --- support cases ----------------------------------------------------------------------


@transaction.atomic
def support_case_open(*, actor: User, subject: str, body: str, smart_account: SmartAccount | None = None,
                      order_number: str = "") -> SupportCase:
    subject = _clean_name(subject, field="subject", max_length=200)
    if not (body or "").strip():
        raise ValidationError({"body": "Describe the problem."})
    body = refuse_control_characters(body.strip(), field="body")
    order_number = refuse_control_characters((order_number or "").strip()[:40], field="order_number")
    if smart_account is not None and not permissions.can(actor, VIEW, smart_account):
        raise ValidationError({"smart_account": "Choose an account you have access to."})
    case = SupportCase.objects.create(user=actor, subject=subject, smart_account=smart_account,
                                      order_number=order_number)
    SupportMessage.objects.create(case=case, author=actor, body=body)
    return case


@transaction.atomic
def support_case_reply(*, case: SupportCase, author: User, body: str, from_staff: bool = False) -> SupportMessage:
    """A message on the case; staff replies are emailed to the user who opened it."""
    if not (body or "").strip():
        raise ValidationError({"body": "Write a message."})
    body = refuse_control_characters(body.strip(), field="body")
    if not from_staff and author.pk != case.user_id:
        raise PermissionDenied("Not your case.")
    message = SupportMessage.objects.create(case=case, author=author, body=body, from_staff=from_staff)
    case.status = SupportCaseStatus.WAITING_ON_CUSTOMER if from_staff else SupportCaseStatus.OPEN
    case.save(update_fields=["status", "updated_at"])
    if from_staff:
        notification_queue(kind="support_case.reply", about=message, recipients=[case.user.email],
                           template="support_case_reply", context={"case": case, "message": message})
    return message


@transaction.atomic
def support_case_set_status(*, case: SupportCase, status: str, actor: User) -> SupportCase:
    if status not in SupportCaseStatus.values:
        raise ValidationError({"status": "Unknown status."})
    if not permissions.can_set_support_case_status(actor, case, status):
        raise PermissionDenied("Only staff can change a case's status.")
    case.status = status
    case.save(update_fields=["status", "updated_at"])
    return case


# --- privacy ----------------------------------------------------------------------------


@transaction.atomic
def user_close(*, user: User, actor: User, confirm_email: str | None = None) -> None:
    """Close an account: roles and memberships go, the login is disabled, and the event log
    keeps a pseudonym instead of the email.

    `confirm_email`: the email address the caller typed to confirm (pages and the API pass it);
    it must be the user's own (case-insensitive, trimmed), else ValidationError keyed `confirm_email`."""
    if actor.pk != user.pk and not permissions.is_staff(actor):
        raise PermissionDenied("You can close only your own account.")
    if confirm_email is not None and confirm_email.strip().lower() != user.email.lower():
        raise ValidationError({"confirm_email": f"Type your email address, {user.email}, exactly."})
    # An account must not be left without an admin: hand it over first. Decided under the role
    # lock of every account the user holds a role in, so two admins closing at once (or one
    # closing while the other is revoked) never leave an account with none.
    _lock_roles(
        *SmartAccountRole.objects.filter(user=user).values_list("content_object_id", flat=True),
        *VirtualAccountRole.objects.filter(user=user).values_list("content_object__smart_account_id", flat=True),
    )
    sole = [
        row.content_object.name
        for row in SmartAccountRole.objects.filter(user=user, permission__codename=Role.SA_ADMIN).select_related("content_object")
        if not SmartAccountRole.objects.filter(content_object=row.content_object, permission__codename=Role.SA_ADMIN)
        .exclude(user=user).exists()
    ]
    if sole:
        raise ValidationError({"confirm_email": "You are the only admin of " + ", ".join(sole)
                               + ". Grant another user Smart Account admin there first."})
    # Likewise a partner keeps an admin (the rule of removing and demoting one).
    membership = PartnerMembership.objects.filter(user=user).select_related("partner").first()
    if membership is not None:
        _check_partner_keeps_an_admin(
            membership, field="confirm_email",
            message=f"You are the only admin of partner {membership.partner.name}. Make another member partner admin first.",
        )
    for row in SmartAccountRole.objects.filter(user=user).select_related("content_object", "permission"):
        event_record(smart_account=row.content_object, action="role.revoked", actor=actor,
                     detail={"user": f"closed-user-{user.pk}", "role": row.permission.codename, "scope": "account"})
    SmartAccountRole.objects.filter(user=user).delete()
    VirtualAccountRole.objects.filter(user=user).delete()
    HoldingMembership.objects.filter(user=user).delete()
    PartnerMembership.objects.filter(user=user).delete()
    ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    pseudonym = f"closed-user-{user.pk}"
    Event.objects.filter(actor=user).update(actor_label=pseudonym)
    user.closed_at = timezone.now()
    user.is_active = False
    user.name = ""
    user.email = f"{pseudonym}@closed.invalid"
    user.set_unusable_password()
    user.save()
    user.emailaddress_set.all().delete()



# --- partner pages (issue 3: partner members) --------------------------------------------


@transaction.atomic
def partner_member_set_admin(*, membership: PartnerMembership, is_admin: bool, actor: User | None) -> PartnerMembership:
    """Make a partner member an admin, or an ordinary member again; a partner keeps at least
    one admin (rows locked so two admins demoting each other cannot both succeed)."""
    _require_partner_admin(actor, membership.partner)
    if not is_admin:
        _check_partner_keeps_an_admin(membership, field="is_admin",
                                      message="A partner keeps at least one admin; make someone else admin first.")
    PartnerMembership.objects.filter(pk=membership.pk).update(is_admin=is_admin)
    membership.is_admin = is_admin
    return membership
