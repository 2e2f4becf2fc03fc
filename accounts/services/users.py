"""Users and their API keys: creating a user, minting and revoking keys, and ending every key
of a user at once (a new password, MFA turned off)."""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import ApiKey, User
from ..validators import clean_email, refuse_control_characters
from ._checks import _clean_name
from .outbox import notification_queue


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
