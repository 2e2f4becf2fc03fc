"""Users and their API keys: creating a user, minting and revoking keys, and ending every key
of a user at once (a new password, MFA turned off)."""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import permissions
from ..models import (
    ApiKey,
    EventAction,
    HoldingMembership,
    SmartAccount,
    SmartAccountRole,
    User,
    VirtualAccountRole,
)
from ..validators import clean_email, refuse_control_characters
from ._checks import _clean_name, guard_unique
from .events import event_record
from .outbox import notification_queue


@transaction.atomic
def user_create(*, email: str, password: str, name: str = "", actor: User | None = None, is_staff: bool = False) -> User:
    """A registered user with a verified email (staff onboarding, demo data)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.password_validation import validate_password

    if actor is not None and not permissions.can_manage_users(actor):
        raise permissions.refusal(actor, "Only user staff may register users.")
    email = clean_email(email)
    taken = ValidationError({"email": "A user with this email address already exists."})
    if User.objects.filter(email__iexact=email).exists():
        raise taken
    name = refuse_control_characters(" ".join((name or "").split())[:150], field="name")
    user = User(email=email, name=name, is_staff=is_staff)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages})
    user.set_password(password)
    # The email is stored lower-case (clean_email), so its unique column refuses a twin of a race.
    guard_unique(user.save, constraints=("accounts_user_email_key", "accounts_user.email"), taken=taken)
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
    """Its owner revokes a key (again is a no-op); vendor staff revoke anyone's (the back
    office), once: a key revoked already is refused, and the revocation is recorded in the event
    log of every account its owner holds a role or a holding membership in."""
    if key.user_id == actor.pk:
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason="Revoked by you."
        )
        return
    if not permissions.can_manage_users(actor):
        raise PermissionDenied("Not your API key.")
    # The row is re-read under its lock: a key revoked meanwhile is not revoked twice.
    current = ApiKey.objects.select_for_update().select_related("user").filter(pk=key.pk).first()
    if current is None or current.revoked_at is not None:
        raise ValidationError({"revoked_at": "This API key is revoked already."})
    current.revoked_at, current.revoked_reason = timezone.now(), f"Revoked by vendor staff ({actor.email})."
    current.save(update_fields=["revoked_at", "revoked_reason"])
    key.revoked_at, key.revoked_reason = current.revoked_at, current.revoked_reason
    for smart_account in _accounts_of(current.user):
        event_record(
            smart_account=smart_account, action=EventAction.API_KEY_REVOKED, actor=actor, obj=current,
            detail={"user": current.user.email, "key": current.prefix},
        )


def _accounts_of(user: User) -> list[SmartAccount]:
    """The Smart Accounts a user works in: a role on the account or one of its Virtual Accounts,
    or a holding-account membership."""
    return list(SmartAccount.objects.filter(
        Q(pk__in=SmartAccountRole.objects.filter(user=user).values("content_object_id"))
        | Q(pk__in=VirtualAccountRole.objects.filter(user=user).values("content_object__smart_account_id"))
        | Q(pk__in=HoldingMembership.objects.filter(user=user).values("smart_account_id"))
    ).order_by("pk"))


@transaction.atomic
def mfa_authenticator_remove(*, authenticator, actor: User) -> None:
    """Vendor staff turn off a user's second factor (a lost phone, through support): the
    authenticator goes, with the recovery codes when no other factor is left (as allauth does
    when the user turns it off), and every API key of the user stops (`mfa_removed`)."""
    from allauth.mfa.models import Authenticator

    if not permissions.can_manage_users(actor):
        raise PermissionDenied("Only vendor staff turn off another user's two-factor authentication.")
    user = authenticator.user
    Authenticator.objects.filter(pk=authenticator.pk).delete()
    left = Authenticator.objects.filter(user=user)
    if not left.exclude(type=Authenticator.Type.RECOVERY_CODES).exists():
        left.delete()
    api_credentials_revoke_all(user=user, because="mfa_removed")


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
